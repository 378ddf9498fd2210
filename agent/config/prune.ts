// The well-formed part of a value that fails its schema, so that semantic
// checks can run on it and config validation reports every problem at once:
// unknown keys and invalid optional properties are dropped, invalid list items
// are dropped (their indices remembered), anything else invalid gives up.
// `remap` turns a path in the pruned value back into a path in the original.

import { Kind, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { isPlainObject, type PathSegment } from './errors.js';

export interface Pruned {
  value: unknown;
  remap(path: readonly PathSegment[]): PathSegment[];
}

const FAIL = Symbol('unrepairable');

/** Value.Check without narrowing `value` (a failed check would make it `never`). */
const valid = (schema: TSchema, value: unknown): boolean => Value.Check(schema, value);

/** The pruned value (valid against `schema`), or undefined when no well-formed part is left. */
export function prune(schema: TSchema, value: unknown): Pruned | undefined {
  // pruned list path -> original index of each kept item
  const kept = new Map<string, number[]>();
  const repaired = repair(schema, value, [], kept);
  if (repaired === FAIL) return undefined;
  return {
    value: repaired,
    remap(path) {
      const out: PathSegment[] = [];
      path.forEach((segment, k) => {
        const indices = typeof segment === 'number' ? kept.get(JSON.stringify(path.slice(0, k))) : undefined;
        out.push(indices?.[segment as number] ?? segment);
      });
      return out;
    },
  };
}

function repair(schema: TSchema, value: unknown, at: PathSegment[], kept: Map<string, number[]>): unknown {
  if (valid(schema, value)) return value;
  const kind: unknown = schema[Kind];
  if (kind === 'Union') {
    for (const member of schema['anyOf'] as TSchema[]) {
      const r = repair(member, value, at, kept);
      if (r !== FAIL) return r;
    }
    return FAIL;
  }
  if (kind === 'Array' && Array.isArray(value)) {
    const items: unknown[] = [];
    const indices: number[] = [];
    value.forEach((item: unknown, i) => {
      const r = repair(schema['items'] as TSchema, item, [...at, items.length], kept);
      if (r === FAIL) return;
      items.push(r);
      indices.push(i);
    });
    kept.set(JSON.stringify(at), indices);
    return valid(schema, items) ? items : FAIL;
  }
  if (kind === 'Object' && isPlainObject(value)) {
    const properties = schema['properties'] as Record<string, TSchema>;
    const required = new Set((schema['required'] as string[] | undefined) ?? []);
    const out: Record<string, unknown> = {};
    for (const [key, prop] of Object.entries(properties)) {
      if (!Object.hasOwn(value, key)) continue;
      const r = repair(prop, value[key], [...at, key], kept);
      if (r !== FAIL) out[key] = r;
      else if (required.has(key)) return FAIL;
    }
    return valid(schema, out) ? out : FAIL;
  }
  return FAIL;
}
