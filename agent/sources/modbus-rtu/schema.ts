// Config schema of a `modbus-rtu` source (README.md in this folder has a sample).

import { Type, type Static } from '@sinclair/typebox';
import { Identifier, PortSchema, strict } from '../../schema-parts.js';
import { MaxGap, RegisterSchema, UnitId } from '../modbus/schema.js';

export const ModbusDeviceSchema = Type.Object({
  unit: UnitId,
  timeoutMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 10_000, default: 200, description: 'response timeout per request' })),
  retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 5, default: 1, description: 'retries per request before the unit counts as failed this cycle' })),
  backoffMaxMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000, default: 60_000, description: 'cap for skipping a failing unit (exponential backoff)' })),
  registers: Type.Array(RegisterSchema, { minItems: 1 }),
}, strict);

/** The master's port: the serial settings, and whether the adapter echoes what it sends. */
export const MasterPortSchema = Type.Object({
  ...PortSchema.properties,
  echo: Type.Optional(Type.Boolean({ default: false, description: 'the RS-485 adapter hears its own transmission (local echo): skip the copy of each request' })),
}, { ...strict, description: 'serial port settings (8N1 unless stated)' });

export const ModbusRtuSourceSchema = Type.Object({
  id: Identifier('source id'),
  type: Type.Literal('modbus-rtu'),
  port: MasterPortSchema,
  intervalMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400_000, default: 5000, description: 'poll cycle period' })),
  maxGap: Type.Optional(MaxGap),
  devices: Type.Array(ModbusDeviceSchema, { minItems: 1 }),
}, strict);

export type ModbusDeviceConfig = Static<typeof ModbusDeviceSchema>;
export type MasterPortConfig = Static<typeof MasterPortSchema>;
export type ModbusRtuSourceConfig = Static<typeof ModbusRtuSourceSchema>;
