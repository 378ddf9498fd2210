// Config schema of the line decoders (the `decoder` of a `lines` source).

import { Type, type Static } from '@sinclair/typebox';
import { strict, Units } from '../../schema-parts.js';

export const KvDecoderSchema = Type.Object({
  type: Type.Literal('kv'),
  units: Type.Optional(Units),
}, { ...strict, description: 'key=value pairs separated by spaces, commas or semicolons: "temp=21.5 hum=40"' });

export const CsvDecoderSchema = Type.Object({
  type: Type.Literal('csv'),
  columns: Type.Array(Type.String({ minLength: 0 }), { minItems: 1, description: 'column names in order; "" skips a column' }),
  delimiter: Type.Optional(Type.String({ minLength: 1, maxLength: 1, default: ',' })),
  units: Type.Optional(Units),
}, strict);

export const RegexDecoderSchema = Type.Object({
  type: Type.Literal('regex'),
  pattern: Type.String({ minLength: 1, description: 'JavaScript regular expression with named groups; each group is a field' }),
  units: Type.Optional(Units),
}, strict);

export const JsonDecoderSchema = Type.Object({
  type: Type.Literal('json'),
  units: Type.Optional(Units),
}, { ...strict, description: 'one JSON object per line; numbers, booleans and strings become readings (nested keys joined with ".")' });

export const NmeaDecoderSchema = Type.Object({
  type: Type.Literal('nmea'),
}, { ...strict, description: 'NMEA 0183: GGA, RMC, MWV, MTW, XDR; checksum required' });

export const DecoderSchema = Type.Union([KvDecoderSchema, CsvDecoderSchema, RegexDecoderSchema, JsonDecoderSchema, NmeaDecoderSchema]);

export type KvDecoderConfig = Static<typeof KvDecoderSchema>;
export type CsvDecoderConfig = Static<typeof CsvDecoderSchema>;
export type RegexDecoderConfig = Static<typeof RegexDecoderSchema>;
export type JsonDecoderConfig = Static<typeof JsonDecoderSchema>;
export type NmeaDecoderConfig = Static<typeof NmeaDecoderSchema>;
export type DecoderConfig = Static<typeof DecoderSchema>;
