// Config schema of a `modbus-sniff` source (README.md in this folder has a sample).

import { Type, type Static } from '@sinclair/typebox';
import { Identifier, PortSchema, strict } from '../../schema-parts.js';
import { RegisterSchema, UnitId } from '../modbus/schema.js';

export const SniffDeviceSchema = Type.Object({
  unit: UnitId,
  registers: Type.Array(RegisterSchema, { minItems: 1 }),
}, strict);

export const ModbusSniffSourceSchema = Type.Object({
  id: Identifier('source id'),
  type: Type.Literal('modbus-sniff'),
  port: PortSchema,
  responseWindowMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 60_000, default: 1000, description: 'a response pairs with the request before it only if it comes within this time; set it above the master\'s timeout' })),
  devices: Type.Array(SniffDeviceSchema, { minItems: 1 }),
}, strict);

export type SniffDeviceConfig = Static<typeof SniffDeviceSchema>;
export type ModbusSniffSourceConfig = Static<typeof ModbusSniffSourceSchema>;
