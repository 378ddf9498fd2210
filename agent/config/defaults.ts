// Fills schema defaults into a copy of a schema-valid value: the schema is the
// one home of every default (config loading, the sources and the printed
// schema all read it there).

import { Kind, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { isPlainObject } from './errors.js';

type Obj = Record<string, unknown>;

export /**
 * Copies a schema-valid value, adding each absent property's schema default
 * (objects defaulting to {} get their own defaults in turn). Not
 * Value.Default: its clone drops own "__proto__" keys (a units map may have
 * any name), and copying with Object.fromEntries keeps them.
 */
function withDefaults(schema: TSchema, value: unknown): unknown {
  const kind: unknown = schema[Kind];
  if (kind === 'Union') {
    const member = (schema['anyOf'] as TSchema[]).find((m) => Value.Check(m, value));
    return member ? withDefaults(member, value) : value;
  }
  if (kind === 'Array' && Array.isArray(value)) return value.map((v: unknown) => withDefaults(schema['items'] as TSchema, v));
  if ((kind !== 'Object' && kind !== 'Record') || !isPlainObject(value)) return value;
  const out: Obj = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
  if (kind === 'Object') {
    for (const [key, prop] of Object.entries(schema['properties'] as Record<string, TSchema>)) {
      const present = Object.hasOwn(out, key);
      if (!present && !Object.hasOwn(prop, 'default')) continue;
      out[key] = withDefaults(prop, present ? out[key] : structuredClone(prop['default']));
    }
  }
  return out;
}
