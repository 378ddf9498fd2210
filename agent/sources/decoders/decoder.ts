// The line-decoder contract and the factory that picks one by config type.
// A decoder never throws on a line: a malformed line is `{ ok: false, error }`
// (counted by the source); only a bad config throws, at createDecoder time.

import type { DecoderConfig } from '../../config/schema.js';
import type { Reading } from '../../reading.js';
import { createCsvDecoder } from './csv.js';
import { createJsonDecoder } from './json.js';
import { createKvDecoder } from './kv.js';
import { createNmeaDecoder } from './nmea.js';
import { createRegexDecoder } from './regex.js';

/** One decoded field. Exactly one of v / vs / vb is set. */
export interface DecodedValue { field: string; v?: number; vs?: string; vb?: boolean; unit?: string }

export type DecodeResult = { ok: true; values: DecodedValue[] } | { ok: false; error: string };

export interface LineDecoder {
  /** `line` has no trailing "\n"; a trailing "\r" is tolerated. Never throws. */
  decode(line: string): DecodeResult;
}

/** Thrown by createDecoder for a config no line could ever satisfy. */
export interface DecoderConfigError extends Error { code: 'ERR_DECODER_CONFIG' }

/** Builds the decoder for `config`. Throws a DecoderConfigError (config-time) if it is unusable. */
export function createDecoder(config: DecoderConfig, sourceId?: string): LineDecoder {
  const where = sourceId === undefined ? 'decoder' : `source ${sourceId}: decoder`;
  switch (config.type) {
    case 'kv': return createKvDecoder(config);
    case 'csv': return createCsvDecoder(config, where);
    case 'regex': return createRegexDecoder(config, where);
    case 'json': return createJsonDecoder(config);
    case 'nmea': return createNmeaDecoder();
  }
}

/** Turns decoded values into Readings named `<sourceId>:<field>` at `timeSec`. */
export function toReadings(sourceId: string, timeSec: number, values: DecodedValue[]): Reading[] {
  const out: Reading[] = new Array<Reading>(values.length);
  for (let i = 0; i < values.length; i++) {
    const d = values[i]!;
    const r: Reading = { name: `${sourceId}:${d.field}`, time: timeSec };
    if (d.v !== undefined) r.v = d.v;
    else if (d.vs !== undefined) r.vs = d.vs;
    else if (d.vb !== undefined) r.vb = d.vb;
    if (d.unit !== undefined) r.unit = d.unit;
    out[i] = r;
  }
  return out;
}

// ── helpers shared by the decoders in this folder ──────────────────────────

/** A line that carries nothing (blank, or NMEA chatter we do not decode). */
export function none(): DecodeResult {
  return { ok: true, values: [] };
}

export function fail(error: string): DecodeResult {
  return { ok: false, error };
}

export function configError(message: string): DecoderConfigError {
  return Object.assign(new Error(message), { code: 'ERR_DECODER_CONFIG' as const });
}

// Decimal only: Number() alone would also take "", " 1", "0x10", "Infinity".
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The number `s` spells in plain decimal (e.g. "21.5", "-3", "1e3"), else undefined. */
export function parseNumber(s: string): number | undefined {
  if (!NUMBER.test(s)) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

// SenML (RFC 8428 §4.5.1) allows only these characters in a name.
const FIELD_NAME = /^[A-Za-z0-9_.\-:/]+$/;

/** True if `name` may end a SenML record name. */
export function isFieldName(name: string): boolean {
  return FIELD_NAME.test(name);
}

/** Short, printable quote of untrusted text for an error reason. */
export function quote(s: string): string {
  const cut = s.length > 32 ? s.slice(0, 32) + '...' : s;
  return JSON.stringify(cut);
}

/** Strips the one trailing "\r" a CRLF device leaves. */
export function stripCr(line: string): string {
  return line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}

/** True for "" or whitespace only. */
export function isBlank(line: string): boolean {
  return line.trim().length === 0;
}
