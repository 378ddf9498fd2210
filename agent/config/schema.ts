// The config schema: the single source of truth for the config file. It yields
// the TypeScript types (Static), the runtime validation and the JSON Schema
// that `tapwire config schema` prints. Add fields; never rename them.

import { Type, type Static, type TSchema } from '@sinclair/typebox';

const strict = { additionalProperties: false } as const;

// Patterns are exported so that validation errors can explain them in words.
/** Used in MQTT topics and SenML names: no '/', '+', '#', spaces. */
export const IDENTIFIER_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
export const URL_PATTERN = '^mqtts?://[^\\s]+$';
export const TOPIC_PREFIX_PATTERN = '^[^+#\\s]+$';

const Identifier = (description: string) =>
  Type.String({ pattern: IDENTIFIER_PATTERN, description });

const Units = Type.Record(Type.String(), Type.String(), {
  description: 'SenML unit per field name, e.g. {"temp": "Cel"}',
});

export const PortSchema = Type.Object({
  path: Type.String({ minLength: 1, description: 'serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...' }),
  baudRate: Type.Integer({ minimum: 50, maximum: 4_000_000, description: 'bits per second' }),
  dataBits: Type.Optional(Type.Union([Type.Literal(5), Type.Literal(6), Type.Literal(7), Type.Literal(8)], { default: 8 })),
  stopBits: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)], { default: 1 })),
  parity: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('even'), Type.Literal('odd')], { default: 'none' })),
}, { ...strict, description: 'serial port settings (8N1 unless stated)' });

// ── line decoders ──────────────────────────────────────────────────────────
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

export const LinesSourceSchema = Type.Object({
  id: Identifier('source id; reading names are "<id>:<field>"'),
  type: Type.Literal('lines'),
  port: PortSchema,
  decoder: DecoderSchema,
  delimiter: Type.Optional(Type.String({ minLength: 1, default: '\n', description: 'line delimiter; a trailing \\r is always stripped' })),
  maxLineBytes: Type.Optional(Type.Integer({ minimum: 16, maximum: 65536, default: 1024, description: 'longer lines are counted and dropped' })),
}, strict);

// ── Modbus ─────────────────────────────────────────────────────────────────
export const RegisterSchema = Type.Object({
  name: Identifier('reading name; the SenML name is "<source id>:<name>"'),
  // Only read function codes exist in the schema: 1 coils, 2 discrete inputs,
  // 3 holding registers, 4 input registers.
  fc: Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(3), Type.Literal(4)], { description: 'read function code 1-4; nothing else exists' }),
  address: Type.Integer({ minimum: 0, maximum: 65535, description: 'zero-based PDU address' }),
  type: Type.Union([
    Type.Literal('bool'), Type.Literal('u16'), Type.Literal('i16'), Type.Literal('u32'), Type.Literal('i32'),
    Type.Literal('f32'), Type.Literal('u64'), Type.Literal('i64'), Type.Literal('f64'),
  ], {
    description: 'bool for FC 1/2; u16 i16 u32 i32 f32 u64 i64 f64 for FC 3/4 (width gives the register count)',
  }),
  wordOrder: Type.Optional(Type.Union([Type.Literal('big'), Type.Literal('little')], { default: 'big', description: 'big: high word first' })),
  scale: Type.Optional(Type.Number({ default: 1 })),
  offset: Type.Optional(Type.Number({ default: 0 })),
  unit: Type.Optional(Type.String({ description: 'SenML unit, e.g. "V", "A", "Cel"' })),
}, strict);

const UnitId = Type.Integer({ minimum: 1, maximum: 247, description: 'Modbus slave address' });

export const ModbusDeviceSchema = Type.Object({
  unit: UnitId,
  timeoutMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 10_000, default: 200, description: 'response timeout per request' })),
  retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 5, default: 1, description: 'retries per request before the unit counts as failed this cycle' })),
  backoffMaxMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000, default: 60_000, description: 'cap for skipping a failing unit (exponential backoff)' })),
  registers: Type.Array(RegisterSchema, { minItems: 1 }),
}, strict);

export const SniffDeviceSchema = Type.Object({
  unit: UnitId,
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
  maxGap: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, default: 4, description: 'merge registers at most this many addresses apart into one request' })),
  devices: Type.Array(ModbusDeviceSchema, { minItems: 1 }),
}, strict);

export const ModbusSniffSourceSchema = Type.Object({
  id: Identifier('source id'),
  type: Type.Literal('modbus-sniff'),
  port: PortSchema,
  responseWindowMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 60_000, default: 1000, description: 'a response pairs with the request before it only if it comes within this time; set it above the master\'s timeout' })),
  devices: Type.Array(SniffDeviceSchema, { minItems: 1 }),
}, strict);

export const SourceSchema = Type.Union([LinesSourceSchema, ModbusRtuSourceSchema, ModbusSniffSourceSchema]);

// ── uplink, batching, journal ──────────────────────────────────────────────
export const UplinkSchema = Type.Object({
  url: Type.String({ pattern: URL_PATTERN, description: 'mqtts://host:8883 (or mqtt:// for tests: unencrypted)' }),
  protocolVersion: Type.Optional(Type.Union([Type.Literal(4), Type.Literal(5)], { default: 5, description: '5 = MQTT 5, 4 = MQTT 3.1.1' })),
  clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'default tapwire-<device>' })),
  ca: Type.Optional(Type.String({ minLength: 1, description: 'CA bundle file (PEM)' })),
  cert: Type.Optional(Type.String({ minLength: 1, description: 'client certificate file (PEM); reloaded on change' })),
  key: Type.Optional(Type.String({ minLength: 1, description: 'client key file (PEM, mode 0600); reloaded on change' })),
  username: Type.Optional(Type.String({ minLength: 1, description: 'MQTT username; the password comes from passwordFile' })),
  passwordFile: Type.Optional(Type.String({ minLength: 1, description: 'file holding the password (mode 0600); never inline' })),
  topicPrefix: Type.Optional(Type.String({ pattern: TOPIC_PREFIX_PATTERN, default: 'tapwire', description: 'topics are <prefix>/<device>/...' })),
  keepaliveS: Type.Optional(Type.Integer({ minimum: 5, maximum: 3600, default: 60 })),
  inflight: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 16, description: 'unacknowledged batches at most' })),
  reconnect: Type.Optional(Type.Object({
    initialMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 600_000, default: 500, description: 'first retry delay (full jitter); at most maxMs' })),
    maxMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000, description: 'cap of the exponential backoff' })),
  }, { ...strict, default: {}, description: 'exponential backoff with full jitter between connection attempts' })),
}, { ...strict, description: 'the one outbound MQTT connection' });

export const BatchSchema = Type.Object({
  maxRecords: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 100 })),
  maxAgeMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 3_600_000, default: 1000 })),
}, { ...strict, default: {}, description: 'a batch is closed at maxRecords readings or maxAgeMs after its first reading' });

export const JournalSchema = Type.Object({
  maxBytes: Type.Optional(Type.Integer({ minimum: 65_536, maximum: 2 ** 40, default: 67_108_864, description: 'disk bound; the oldest unsent batches are dropped (and a gap notice sent) beyond it' })),
  segmentBytes: Type.Optional(Type.Integer({ minimum: 4096, maximum: 2 ** 30, default: 4_194_304, description: 'size of one segment file, at most maxBytes; the default is 4194304 or maxBytes / 4, whichever is smaller' })),
  fsyncIntervalMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000, default: 1000, description: '0 = fsync every batch' })),
  fsyncEveryRecords: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000, description: 'fsync after this many batches even before the interval' })),
}, { ...strict, default: {}, description: 'on-disk store and forward of signed batches' });

// ── local console (issue 14) ───────────────────────────────────────────────
export const ConsoleSchema = Type.Object({
  port: PortSchema,
}, { ...strict, description: 'read-only diagnostics console for a technician on a serial port (e.g. /dev/ttyS0 at 115200); off when absent; never the port of a source' });

export const ConfigSchema = Type.Object({
  $schema: Type.Optional(Type.String({ description: 'ignored by the agent; lets editors find this schema' })),
  device: Identifier('device id; topics are <prefix>/<device>/...; may be a template expanded on the device when the config is loaded: ${machine-id}, ${serial}, ${hostname}, ${file:<path>} (e.g. "pump-${serial}")'),
  stateDir: Type.String({ minLength: 1, description: 'keys, journal and state live here' }),
  clock: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('sync'), Type.Literal('free')], { default: 'auto', description: 'is the wall clock synchronised? auto asks systemd-timesyncd' })),
  uplink: UplinkSchema,
  batch: Type.Optional(BatchSchema),
  journal: Type.Optional(JournalSchema),
  sources: Type.Array(SourceSchema, { minItems: 1 }),
  console: Type.Optional(ConsoleSchema),
}, { ...strict, $id: 'https://tapwire.dev/schema/config-v1.json', title: 'Tapwire agent config' });

export type PortConfig = Static<typeof PortSchema>;
export type MasterPortConfig = Static<typeof MasterPortSchema>;
export type KvDecoderConfig = Static<typeof KvDecoderSchema>;
export type CsvDecoderConfig = Static<typeof CsvDecoderSchema>;
export type RegexDecoderConfig = Static<typeof RegexDecoderSchema>;
export type JsonDecoderConfig = Static<typeof JsonDecoderSchema>;
export type NmeaDecoderConfig = Static<typeof NmeaDecoderSchema>;
export type DecoderConfig = Static<typeof DecoderSchema>;
export type LinesSourceConfig = Static<typeof LinesSourceSchema>;
export type RegisterConfig = Static<typeof RegisterSchema>;
export type RegisterType = RegisterConfig['type'];
export type ModbusDeviceConfig = Static<typeof ModbusDeviceSchema>;
export type SniffDeviceConfig = Static<typeof SniffDeviceSchema>;
export type ModbusRtuSourceConfig = Static<typeof ModbusRtuSourceSchema>;
export type ModbusSniffSourceConfig = Static<typeof ModbusSniffSourceSchema>;
export type SourceConfig = Static<typeof SourceSchema>;
export type UplinkConfig = Static<typeof UplinkSchema>;
export type ReconnectConfig = NonNullable<UplinkConfig['reconnect']>;
export type BatchConfig = Static<typeof BatchSchema>;
export type JournalConfig = Static<typeof JournalSchema>;
export type ConsoleConfig = Static<typeof ConsoleSchema>;
export type Config = Static<typeof ConfigSchema>;

/** The JSON Schema users see (`tapwire config schema`). */
export function jsonSchema(): TSchema {
  return JSON.parse(JSON.stringify(ConfigSchema)) as TSchema;
}

/** The JSON Schema as pretty-printed text, newline-terminated. */
export function schemaJson(): string {
  return JSON.stringify(ConfigSchema, null, 2) + '\n';
}
