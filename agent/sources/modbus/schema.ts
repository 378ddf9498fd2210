// Config schema shared by the Modbus source types: a register and a unit id.

import { Type, type Static } from '@sinclair/typebox';
import { Identifier, strict } from '../../schema-parts.js';

export const RegisterSchema = Type.Object({
  name: Identifier('reading name; the SenML name is "<source id>:<name>"'),
  // Only read function codes exist in the schema: 1 coils, 2 discrete inputs,
  // 3 holding registers, 4 input registers.
  // x-expected / x-why: how a wrong value is explained (config/errors.ts reads them).
  fc: Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(3), Type.Literal(4)], {
    description: 'read function code 1-4; nothing else exists',
    'x-expected': 'a read function code 1, 2, 3 or 4',
    'x-why-number': 'tapwire never writes to field devices',
  }),
  address: Type.Integer({ minimum: 0, maximum: 65535, description: 'zero-based PDU address' }),
  type: Type.Optional(Type.Union([
    Type.Literal('bool'), Type.Literal('u16'), Type.Literal('i16'), Type.Literal('u32'), Type.Literal('i32'),
    Type.Literal('f32'), Type.Literal('u64'), Type.Literal('i64'), Type.Literal('f64'),
  ], {
    description: 'FC 1/2: bool (may be omitted: a bit is a bool). FC 3/4: required; u16 i16 u32 i32 f32 u64 i64 f64 (width gives the register count) or bool (true when the register is non-zero, or when `bit` is set)',
  })),
  bit: Type.Optional(Type.Integer({ minimum: 0, maximum: 15, description: 'only for type bool on FC 3/4: the bit of the 16-bit register (0 = least significant); without it, non-zero is true' })),
  wordOrder: Type.Optional(Type.Union([Type.Literal('big'), Type.Literal('little')], { default: 'big', description: 'big: high word first' })),
  scale: Type.Optional(Type.Number({ default: 1 })),
  offset: Type.Optional(Type.Number({ default: 0 })),
  unit: Type.Optional(Type.String({ description: 'SenML unit, e.g. "V", "A", "Cel"' })),
}, strict);

export const UnitId = Type.Integer({ minimum: 1, maximum: 247, description: 'Modbus slave address' });

export const MaxGap = Type.Integer({ minimum: 0, maximum: 100, default: 4, description: 'merge registers at most this many addresses apart into one request' });

export type RegisterConfig = Static<typeof RegisterSchema>;
