// `kv` decoder: `temp=21.5 hum=40 door=true` — pairs split by whitespace, ','
// or ';'. A token without '=' or with a bad key makes the whole line malformed;
// an empty value (`k=`) is skipped. Numbers -> v (with the configured unit), true/false -> vb, else vs.

import type { DecoderConfig } from './schema.js';
import { type DecodedValue, type DecodeResult, type LineDecoder, controlByte, fail, isBlank, isFieldName, none, parseNumber, quote, stripCr } from './line-decoder.js';

type KvConfig = Extract<DecoderConfig, { type: 'kv' }>;

const SEPARATORS = /[\s,;]+/;

export function createKvDecoder(config: KvConfig): LineDecoder {
  const units = new Map(Object.entries(config.units ?? {}));
  return {
    decode(raw: string): DecodeResult {
      const line = stripCr(raw);
      if (isBlank(line)) return none();
      const control = controlByte(line);
      if (control !== undefined) return fail(control);
      const tokens = line.split(SEPARATORS);
      const values: DecodedValue[] = [];
      for (const token of tokens) {
        if (token === '') continue; // leading/trailing separators
        const eq = token.indexOf('=');
        if (eq < 0) return fail(`token without '=': ${quote(token)}`);
        if (eq === 0) return fail('empty key');
        const field = token.slice(0, eq);
        if (!isFieldName(field)) return fail(`invalid key ${quote(field)}`);
        const text = token.slice(eq + 1);
        if (text === '') continue;
        const v = parseNumber(text);
        if (v !== undefined) {
          const unit = units.get(field);
          values.push(unit === undefined ? { field, v } : { field, v, unit });
        } else if (text === 'true' || text === 'false') {
          values.push({ field, vb: text === 'true' });
        } else {
          values.push({ field, vs: text });
        }
      }
      return { ok: true, values };
    },
  };
}
