// Schema pieces shared by the config schema and the source types' fragments
// (agent/sources/<type>/schema.ts): identifiers, units, serial port settings,
// and defaultOf, the one way code reads a default (defaults live in the schema).

import { Type, type Static, type TObject } from '@sinclair/typebox';

export const strict = { additionalProperties: false } as const;

// Patterns are exported so that validation errors can explain them in words.
/** Used in MQTT topics and SenML names: no '/', '+', '#', spaces. */
export const IDENTIFIER_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
export const URL_PATTERN = '^mqtts?://[^\\s]+$';
export const TOPIC_PREFIX_PATTERN = '^[^+#\\s]+$';

export const Identifier = (description: string) =>
  Type.String({ pattern: IDENTIFIER_PATTERN, description });

export const Units = Type.Record(Type.String(), Type.String(), {
  description: 'SenML unit per field name, e.g. {"temp": "Cel"}',
});

export const PortSchema = Type.Object({
  path: Type.String({ minLength: 1, description: 'serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...' }),
  baudRate: Type.Integer({ minimum: 50, maximum: 4_000_000, description: 'bits per second' }),
  dataBits: Type.Optional(Type.Union([Type.Literal(5), Type.Literal(6), Type.Literal(7), Type.Literal(8)], { default: 8 })),
  stopBits: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)], { default: 1 })),
  parity: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('even'), Type.Literal('odd')], { default: 'none' })),
}, { ...strict, description: 'serial port settings (8N1 unless stated)' });

export type PortConfig = Static<typeof PortSchema>;

/** The schema default of `schema.properties[key]`; throws (a bug, not a config mistake) if it has none. */
export function defaultOf<S extends TObject, K extends keyof S['properties'] & string>(schema: S, key: K): NonNullable<Static<S>[K]> {
  const prop: unknown = schema.properties[key];
  const value: unknown = typeof prop === 'object' && prop !== null ? (prop as { default?: unknown }).default : undefined;
  if (value === undefined) throw new Error(`schema property ${key} has no default`);
  return value as NonNullable<Static<S>[K]>;
}
