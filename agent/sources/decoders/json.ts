// `json` decoder: one JSON object per line. Numbers -> v (with the configured
// unit), booleans -> vb, strings -> vs; nested objects flatten to "a.b" names;
// arrays and nulls are skipped. Anything but an object, or invalid JSON, is malformed.

import type { DecoderConfig } from './schema.js';
import { type DecodedValue, type DecodeResult, type LineDecoder, controlByte, fail, isBlank, isFieldName, none, quote, stripCr } from './line-decoder.js';

type JsonConfig = Extract<DecoderConfig, { type: 'json' }>;

// Bounds the flattening recursion; sensors nest two or three levels at most.
const MAX_DEPTH = 32;

export function createJsonDecoder(config: JsonConfig): LineDecoder {
  const units = new Map(Object.entries(config.units ?? {}));

  /** Appends the fields of `obj` under `prefix`; returns an error reason or undefined. */
  function flatten(obj: Record<string, unknown>, prefix: string, depth: number, out: DecodedValue[]): string | undefined {
    if (depth > MAX_DEPTH) return `nested deeper than ${MAX_DEPTH}`;
    for (const key in obj) {
      if (!Object.hasOwn(obj, key)) continue;
      if (key === '') return 'empty key';
      const field = prefix === '' ? key : `${prefix}.${key}`;
      const value = obj[key];
      switch (typeof value) {
        case 'number': {
          if (!isFieldName(field)) return `invalid key ${quote(field)}`;
          const unit = units.get(field);
          out.push(unit === undefined ? { field, v: value } : { field, v: value, unit });
          break;
        }
        case 'boolean':
          if (!isFieldName(field)) return `invalid key ${quote(field)}`;
          out.push({ field, vb: value });
          break;
        case 'string': {
          if (!isFieldName(field)) return `invalid key ${quote(field)}`;
          // "\u001b" in JSON text is an escape byte all the same
          const control = controlByte(value);
          if (control !== undefined) return `${field}: ${control}`;
          out.push({ field, vs: value });
          break;
        }
        case 'object':
          if (value !== null && !Array.isArray(value)) {
            const err = flatten(value as Record<string, unknown>, field, depth + 1, out);
            if (err !== undefined) return err;
          }
          break;
      }
    }
    return undefined;
  }

  return {
    decode(raw: string): DecodeResult {
      const line = stripCr(raw);
      if (isBlank(line)) return none();
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return fail('invalid JSON');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail('not a JSON object');
      const values: DecodedValue[] = [];
      const err = flatten(parsed as Record<string, unknown>, '', 1, values);
      return err === undefined ? { ok: true, values } : fail(err);
    },
  };
}
