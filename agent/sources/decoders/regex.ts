// `regex` decoder: each named group of one JavaScript regular expression is a
// field. The pattern is compiled once; an invalid pattern, one without named
// groups, with a group name SenML cannot carry, or one that can backtrack
// catastrophically (regex-safety.ts) is a config error: checkRegexDecoder says
// so for `config check`, and createRegexDecoder throws with the same words.
// No match, a control byte, or a line over MAX_REGEX_LINE -> malformed line;
// a group that matched nothing is skipped.

import type { DecoderConfig } from './schema.js';
import { type Problem, refuse } from '../problem.js';
import { type DecodedValue, type DecodeResult, type LineDecoder, controlByte, fail, isBlank, isFieldName, none, parseNumber, quote, stripCr } from './line-decoder.js';
import { backtrackingRisk } from './regex-safety.js';

type RegexConfig = Extract<DecoderConfig, { type: 'regex' }>;

/** Lines longer than this are refused before the pattern runs: a second guard against slow patterns. */
export const MAX_REGEX_LINE = 1024;

/** The problems of a regex decoder config; empty when the decoder can be built. The only judge, for check and run. */
export function checkRegexDecoder(config: RegexConfig): Problem[] {
  const at = ['pattern'];
  const refuse = (message: string): Problem[] => [{ path: at, kind: 'semantic', message }];
  try {
    new RegExp(config.pattern);
  } catch (err) {
    return refuse(`expected a JavaScript regular expression, got ${quote(config.pattern)}: ${(err as Error).message}`);
  }
  // `(?:P)|` matches the empty string, so exec('') lists every named group of P.
  const names = Object.keys(new RegExp(`(?:${config.pattern})|`).exec('')?.groups ?? {});
  if (names.length === 0) return refuse(`expected at least one named group like (?<temp>[0-9.]+), got ${quote(config.pattern)}: each named group is a field`);
  const bad = names.find((n) => !isFieldName(n));
  if (bad !== undefined) return refuse(`group name ${JSON.stringify(bad)} may only use A-Z a-z 0-9 _ (it becomes a SenML name)`);
  const risk = backtrackingRisk(config.pattern);
  if (risk !== undefined) return refuse(`pattern refused: ${risk}; write it without the repetition inside a repetition`);
  return [];
}

export function createRegexDecoder(config: RegexConfig, where = 'decoder'): LineDecoder {
  refuse(where, checkRegexDecoder(config));
  const re = new RegExp(config.pattern);
  const names = Object.keys(new RegExp(`(?:${config.pattern})|`).exec('')?.groups ?? {});
  const units = config.units ?? {};
  const fields = names.map((name) => ({ name, unit: Object.hasOwn(units, name) ? units[name] : undefined }));
  return {
    decode(raw: string): DecodeResult {
      const line = stripCr(raw);
      if (isBlank(line)) return none();
      if (line.length > MAX_REGEX_LINE) return fail(`longer than ${MAX_REGEX_LINE} characters (the regex decoder's bound)`);
      const control = controlByte(line);
      if (control !== undefined) return fail(control);
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
