// `regex` decoder: each named group of one JavaScript regular expression is a
// field. The pattern is compiled once; an invalid pattern, one without named
// groups or with a group name SenML cannot carry is a config error (throws).
// No match -> malformed line; a group that matched nothing is skipped.

import type { DecoderConfig } from '../../config/schema.js';
import { type DecodedValue, type DecodeResult, type LineDecoder, configError, fail, isBlank, isFieldName, none, parseNumber, stripCr } from './line-decoder.js';

type RegexConfig = Extract<DecoderConfig, { type: 'regex' }>;

export function createRegexDecoder(config: RegexConfig, where = 'decoder'): LineDecoder {
  let re: RegExp;
  try {
    re = new RegExp(config.pattern);
  } catch (err) {
    throw configError(`${where}: pattern is not a valid regular expression: ${(err as Error).message}`);
  }
  // `(?:P)|` matches the empty string, so exec('') lists every named group of P.
  const names = Object.keys(new RegExp(`(?:${config.pattern})|`).exec('')?.groups ?? {});
  if (names.length === 0) throw configError(`${where}: pattern has no named groups (?<name>...), so it could yield no field`);
  for (const n of names) {
    if (!isFieldName(n)) throw configError(`${where}: group name ${JSON.stringify(n)} may only use A-Z a-z 0-9 _`);
  }
  const units = config.units ?? {};
  const fields = names.map((name) => ({ name, unit: Object.hasOwn(units, name) ? units[name] : undefined }));
  return {
    decode(raw: string): DecodeResult {
      const line = stripCr(raw);
      if (isBlank(line)) return none();
      const groups = re.exec(line)?.groups;
      if (groups === undefined) return fail('no match');
      const values: DecodedValue[] = [];
      for (const f of fields) {
        const text = groups[f.name];
        if (text === undefined || text === '') continue;
        const v = parseNumber(text);
        if (v === undefined) values.push({ field: f.name, vs: text });
        else values.push(f.unit === undefined ? { field: f.name, v } : { field: f.name, v, unit: f.unit });
      }
      return { ok: true, values };
    },
  };
}
