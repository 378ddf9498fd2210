// The one CBOR codec of Tapwire: plain RFC 8949 CBOR that any decoder reads.
// Invariant: encoding is preferred serialization (shortest heads; floats in the
// shortest of f16/f32/f64 that round-trips EXACTLY, never rounded) and emits no
// tags except an explicit `Tag`; decoding goes through one cbor-x Decoder
// configured for plain CBOR (Maps for maps, no records, no packing).
//
// Why not cbor-x's Encoder: its defaults are not plain CBOR (records, tag 259
// for Maps, tag 64 for Uint8Array), and even configured it cannot write f16
// and writes integers beyond 2^32 as f64 and -0 as the integer 0. A writer for
// the small data model below is ~150 lines and has no surprises.
//
//   JS value                     CBOR
//   safe integer (not -0)        major 0 / 1, shortest head (up to 8 bytes)
//   other number                 f9 half | fa single | fb double (first exact)
//     NaN                        f9 7e00 (canonical quiet NaN; payload dropped)
//     +/-Infinity, -0            f9 7c00 / f9 fc00, f9 8000
//   bigint (64-bit range)        major 0 / 1 (no tags 2/3: out of range throws)
//   string                       major 3 (UTF-8)
//   Uint8Array / Buffer          major 2 (other typed arrays throw: no tag 64)
//   Array                        major 4
//   Map                          major 5, keys in insertion order
//   plain object                 major 5, text keys; undefined values skipped
//   Tag (from cbor-x)            major 6 + value
//   boolean / null               f5 f4 / f6  (undefined outside objects throws)

import { Decoder, Tag } from 'cbor-x';
import { definiteStrings } from './cbor-definite.js';

export { Tag };

const decoder = new Decoder({
  useRecords: false,
  mapsAsObjects: false,
  // byte strings are copies, never views pinning (or aliasing) the input
  copyBuffers: true,
  // useFloat32 left unset: f32 values decode to their exact double, no rounding
});

// --- writer state: one growable scratch buffer, copied out per encode --------
let buf = new Uint8Array(4096);
let view = new DataView(buf.buffer);
let pos = 0;

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);
const textEncoder = new TextEncoder();

function ensure(extra: number): void {
  const need = pos + extra;
  if (need <= buf.length) return;
  let size = buf.length * 2;
  while (size < need) size *= 2;
  const next = new Uint8Array(size);
  next.set(buf.subarray(0, pos));
  buf = next;
  view = new DataView(buf.buffer);
}

/** Major type `major` (0..7 << 5) with argument `n`, shortest form. */
function writeHead(major: number, n: number): void {
  ensure(9);
  if (n < 24) {
    buf[pos++] = major | n;
  } else if (n < 0x100) {
    buf[pos++] = major | 24;
    buf[pos++] = n;
  } else if (n < 0x10000) {
    buf[pos++] = major | 25;
    view.setUint16(pos, n);
    pos += 2;
  } else if (n < 0x100000000) {
    buf[pos++] = major | 26;
    view.setUint32(pos, n);
    pos += 4;
  } else {
    buf[pos++] = major | 27;
    // n is a safe integer here (< 2^53): split without BigInt
    view.setUint32(pos, Math.floor(n / 0x100000000));
    view.setUint32(pos + 4, n >>> 0);
    pos += 8;
  }
}

/**
 * f32 bit pattern -> f16 bit pattern if the value is exactly representable as
 * a half (normal or subnormal), else -1. NaN is handled by the caller.
 */
function halfOf(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00; // infinity (mant is 0: NaN never gets here)
  if (exp === 0) return mant === 0 ? sign : -1; // zero; f32 subnormals are far below f16
  const e = exp - 127;
  if (e >= -14 && e <= 15) {
    return (mant & 0x1fff) === 0 ? sign | ((e + 15) << 10) | (mant >>> 13) : -1;
  }
  if (e >= -24 && e < -14) {
    // half subnormal: value = m * 2^-24, m = significand * 2^(e+1)
    const sig = 0x800000 | mant;
    const shift = -(e + 1); // 14..23
    return (sig & ((1 << shift) - 1)) === 0 ? sign | (sig >>> shift) : -1;
  }
  return -1;
}

function writeFloat(v: number): void {
  ensure(9);
  if (v !== v) {
    buf[pos++] = 0xf9; buf[pos++] = 0x7e; buf[pos++] = 0x00;
    return;
  }
  f32[0] = v;
  // Object.is-exact: f32 keeps the sign of zero, so -0 passes as -0
  if (f32[0] === v) {
    const bits = f32Bits[0]!;
    const half = halfOf(bits);
    if (half >= 0) {
      buf[pos++] = 0xf9;
      view.setUint16(pos, half);
      pos += 2;
    } else {
      buf[pos++] = 0xfa;
      view.setUint32(pos, bits);
      pos += 4;
    }
    return;
  }
  buf[pos++] = 0xfb;
  view.setFloat64(pos, v);
  pos += 8;
}

function writeNumber(v: number): void {
  if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
    if (v >= 0) writeHead(0x00, v);
    else writeHead(0x20, -1 - v);
  } else {
    writeFloat(v);
  }
}

const TWO_64 = 1n << 64n;

function writeBigInt(v: bigint): void {
  const major = v >= 0n ? 0x00 : 0x20;
  const n = v >= 0n ? v : -1n - v;
  if (n >= TWO_64) throw new RangeError(`CBOR: bigint ${v} does not fit in 64 bits`);
  if (n <= BigInt(Number.MAX_SAFE_INTEGER)) {
    writeHead(major, Number(n));
    return;
  }
  ensure(9);
  buf[pos++] = major | 27;
  view.setBigUint64(pos, n);
  pos += 8;
}

function writeString(s: string): void {
  const len = s.length;
  // fast path: ASCII is the common case (names, units, device ids)
  let ascii = true;
  for (let i = 0; i < len; i++) {
    if (s.charCodeAt(i) > 0x7f) { ascii = false; break; }
  }
  if (ascii) {
    writeHead(0x60, len);
    ensure(len);
    for (let i = 0; i < len; i++) buf[pos++] = s.charCodeAt(i);
    return;
  }
  const bytes = textEncoder.encode(s);
  writeHead(0x60, bytes.length);
  writeBytes(bytes);
}

function writeBytes(bytes: Uint8Array): void {
  ensure(bytes.length);
  buf.set(bytes, pos);
  pos += bytes.length;
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function write(v: unknown): void {
  switch (typeof v) {
    case 'number': writeNumber(v); return;
    case 'string': writeString(v); return;
    case 'boolean': ensure(1); buf[pos++] = v ? 0xf5 : 0xf4; return;
    case 'bigint': writeBigInt(v); return;
    case 'object': break;
    default: throw new TypeError(`CBOR: cannot encode a value of type ${typeof v}`);
  }
  if (v === null) { ensure(1); buf[pos++] = 0xf6; return; }
  if (v instanceof Uint8Array) {
    writeHead(0x40, v.length);
    writeBytes(v);
    return;
  }
  if (Array.isArray(v)) {
    writeHead(0x80, v.length);
    for (let i = 0; i < v.length; i++) write(v[i]);
    return;
  }
  if (v instanceof Map) {
    writeHead(0xa0, v.size);
    for (const [k, val] of v) { write(k); write(val); }
    return;
  }
  if (v instanceof Tag) {
    const tag: unknown = v.tag;
    if (typeof tag !== 'number' || !Number.isSafeInteger(tag) || tag < 0) throw new TypeError(`CBOR: bad tag number ${String(tag)}`);
    writeHead(0xc0, tag);
    write(v.value);
    return;
  }
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
    throw new TypeError('CBOR: only Uint8Array is encoded as a byte string (no typed-array tags)');
  }
  if (isPlainObject(v)) {
    let n = 0;
    for (const k in v) if (v[k] !== undefined) n++;
    writeHead(0xa0, n);
    for (const k in v) {
      const val = v[k];
      if (val === undefined) continue;
      writeString(k);
      write(val);
    }
    return;
  }
  throw new TypeError('CBOR: cannot encode this object (only plain objects, Maps, arrays, Uint8Array, Tag)');
}

/** Encodes `value` as plain CBOR (see the table above). Returns fresh bytes. */
export function encodeCbor(value: unknown): Uint8Array {
  pos = 0;
  try {
    write(value);
    return buf.slice(0, pos);
  } finally {
    pos = 0;
    // do not pin a huge scratch buffer after an exceptional payload
    if (buf.length > 1 << 20) { buf = new Uint8Array(4096); view = new DataView(buf.buffer); }
  }
}

export interface CborError extends Error { code: 'ERR_CBOR_INVALID' }

/**
 * Decodes exactly one CBOR item (trailing bytes are an error). Maps come back
 * as `Map`, byte strings as fresh Uint8Arrays (Buffer),
 * unknown tags as `Tag`; integers as numbers, or bigint beyond 2^53 (exact).
 */
export function decodeCbor(bytes: Uint8Array): unknown {
  if (bytes.length === 0) throw cborError('empty input');
  try {
    return safeInts(decoder.decode(bytes));
  } catch (err) {
    // cbor-x refuses indefinite-length strings, which are valid CBOR: make them definite and read again
    if (!/indefinite length/i.test((err as Error).message)) throw cborError((err as Error).message);
  }
  try {
    return safeInts(decoder.decode(definiteStrings(bytes)));
  } catch (err) {
    throw cborError((err as Error).message);
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

// cbor-x returns every 8-byte integer as bigint, even small ones (another
// encoder may use a long head). Bring the safe ones back to numbers so a value
// decodes the same whatever head width it was written with.
function safeInts(v: unknown): unknown {
  if (typeof v === 'bigint') return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v;
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = safeInts(v[i]);
    return v;
  }
  if (v instanceof Map) {
    let rekey = false;
    for (const [k, val] of v) {
      if (typeof k === 'bigint') rekey = true;
      const nv = safeInts(val);
      if (nv !== val) v.set(k, nv);
    }
    return rekey ? new Map([...v].map(([k, val]) => [safeInts(k), val])) : v;
  }
  if (v instanceof Tag) v.value = safeInts(v.value);
  return v;
}

function cborError(why: string): CborError {
  const e = new Error(`invalid CBOR: ${why}`) as CborError;
  e.code = 'ERR_CBOR_INVALID';
  return e;
}
