// The config schema: the single source of truth for the config file, defaults
// included. It yields the TypeScript types (Static), the runtime validation and
// the JSON Schema that `tapwire config schema` prints. The sources' part is
// assembled from the source types' descriptors (agent/sources/registry.ts).
// Add fields; never rename them.

import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { SOURCE_TYPES, type SourceSchemas } from '../sources/registry.js';
import { Identifier, PortSchema, strict, TOPIC_PREFIX_PATTERN, URL_PATTERN } from '../schema-parts.js';

export { IDENTIFIER_PATTERN, PortSchema, TOPIC_PREFIX_PATTERN, URL_PATTERN, type PortConfig } from '../schema-parts.js';

/** Every source type's schema fragment, from the registry: this file names no source type. */
export const SourceSchema = Type.Union(SOURCE_TYPES.map((d) => d.schema) as SourceSchemas[]);

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
