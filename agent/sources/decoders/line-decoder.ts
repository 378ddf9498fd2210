// The line-decoder contract and the helpers every decoder in this folder
// shares. Decoders import only this file; decoder.ts (the factory) imports
// the decoders — so imports run one way.
import { escapeJson } from '../../escape.js';

/** One decoded field. Exactly one of v / vs / vb is set. */
export interface DecodedValue { field: string; v?: number; vs?: string; vb?: boolean; unit?: string }

export type DecodeResult = { ok: true; values: DecodedValue[] } | { ok: false; error: string };

export interface LineDecoder {
  /** `line` has no trailing "\n"; a trailing "\r" is tolerated. Never throws. */
  decode(line: string): DecodeResult;
}


/** A line that carries nothing (blank, or NMEA chatter we do not decode). */
export function none(): DecodeResult {
  return { ok: true, values: [] };
}

export function fail(error: string): DecodeResult {
  return { ok: false, error };
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
  return escapeJson(JSON.stringify(cut));
}

/**
 * Why `line` is bad if it carries a C0 control byte other than tab (NUL
 * padding, a terminal escape): such a line never becomes a reading.
 */
export function controlByte(line: string): string | undefined {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 9) || c === 0x7f) return `control byte 0x${c.toString(16).padStart(2, '0')} at ${i}`;
  }
  return undefined;
}

/** Strips the one trailing "\r" a CRLF device leaves. */
export function stripCr(line: string): string {
  return line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}

/** True for "" or whitespace only. */
export function isBlank(line: string): boolean {
  return line.trim().length === 0;
}
