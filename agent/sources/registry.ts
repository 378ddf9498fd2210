// The source types: one line per type. Adding a sensor protocol is one folder
// (agent/sources/<type>/: schema, check, factory, README) plus one line here.

import type { Static } from '@sinclair/typebox';
import { linesSource } from './lines/index.js';
import { modbusRtuSource } from './modbus-rtu/index.js';
import { modbusSniffSource } from './modbus-sniff/index.js';
import type { SourceDescriptor } from './descriptor.js';
import type { Source, SourceContext } from './source.js';

export const SOURCE_TYPES = [
  linesSource,
  modbusRtuSource,
  modbusSniffSource,
] as const;

export type SourceSchemas = (typeof SOURCE_TYPES)[number]['schema'];
export type SourceConfig = Static<SourceSchemas>;

/** The descriptor of `type`, or undefined. */
export function sourceType(type: unknown): SourceDescriptor | undefined {
  return (SOURCE_TYPES as readonly SourceDescriptor[]).find((d) => d.type === type);
}

/** Builds a source; throws a SourceConfigError for a config its type's check refuses. */
export function createSource(config: SourceConfig, ctx: SourceContext): Source {
  const descriptor = sourceType(config.type);
  if (!descriptor) throw new Error(`unknown source type ${JSON.stringify(config.type)}`);
  return descriptor.create(config, ctx);
}
