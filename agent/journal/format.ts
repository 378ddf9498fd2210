// On-disk format of journal segments: a versioned header, then records framed
// with a magic, a length and a CRC-32C, so a scan can tell a torn or corrupt
// record from a good one and resynchronise on the next magic.
//
// Segment file  seg-<first seq, 12+ digits>.twj
//
//   0        4        6        8                        16       20
//   +--------+--------+--------+------------------------+--------+
//   | 89 'T' | version| flags  | base seq               | CRC-32C|
//   | 'W' 'J'| u16 BE | u16 = 0| u64 BE (first record)  | of 4-16|
//   +--------+--------+--------+------------------------+--------+
//   followed by records, back to back, up to the end of the file:
//
// Record (24 bytes of framing + payload)
//
//   0        4        8                        16       20       24
//   +--------+--------+------------------------+--------+--------+=============+
//   | 89 'T' | length | seq                    |readings| CRC-32C| payload     |
//   | 'W' 'R'| u32 BE | u64 BE (< 2^53)        | u32 BE | u32 BE | length bytes|
//   +--------+--------+------------------------+--------+--------+=============+
//   CRC-32C covers bytes 4..20 (length, seq, readings) and then the payload.
//   The payload is one signed batch (COSE_Sign1), opaque to the journal.
//
// Version 1 is the only one so far. A reader rejects versions it does not
// know (the segment is quarantined, never guessed at); a newer agent keeps
// reading every older version.

import { crc32c } from './crc32c.js';

export const FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 20;
export const RECORD_HEADER_BYTES = 24;
/** Largest payload a reader accepts; a length above it is corruption. */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

const SEGMENT_MAGIC = 0x89_54_57_4a; // "\x89TWJ"
const RECORD_MAGIC = 0x89_54_57_52; // "\x89TWR"
const TWO_32 = 0x1_0000_0000;
const MAX_SEQ_HI = Math.floor(Number.MAX_SAFE_INTEGER / TWO_32);

const SEGMENT_NAME = /^seg-(\d{12,16})\.twj$/;

export function segmentName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(12, '0')}.twj`;
}

/** The first seq a segment file name carries, or undefined if it is not a segment. */
export function parseSegmentName(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

function view(b: Uint8Array): DataView { return new DataView(b.buffer, b.byteOffset, b.byteLength); }

function putSeq(dv: DataView, at: number, seq: number): void {
  dv.setUint32(at, Math.floor(seq / TWO_32));
  dv.setUint32(at + 4, seq >>> 0);
}

function getSeq(dv: DataView, at: number): number | undefined {
  const hi = dv.getUint32(at);
  return hi > MAX_SEQ_HI ? undefined : hi * TWO_32 + dv.getUint32(at + 4);
}

export function encodeSegmentHeader(baseSeq: number, version = FORMAT_VERSION): Uint8Array {
  const b = new Uint8Array(SEGMENT_HEADER_BYTES);
  const dv = view(b);
  dv.setUint32(0, SEGMENT_MAGIC);
  dv.setUint16(4, version);
  dv.setUint16(6, 0);
  putSeq(dv, 8, baseSeq);
  dv.setUint32(16, crc32c(b.subarray(4, 16)));
  return b;
}

export type SegmentHeader =
  | { ok: true; version: number; baseSeq: number }
  | { ok: false; reason: string };

export function decodeSegmentHeader(b: Uint8Array): SegmentHeader {
  if (b.length < SEGMENT_HEADER_BYTES) return { ok: false, reason: `short header (${b.length} bytes)` };
  const dv = view(b);
  if (dv.getUint32(0) !== SEGMENT_MAGIC) return { ok: false, reason: 'not a journal segment (bad magic)' };
  if (dv.getUint32(16) !== crc32c(b.subarray(4, 16))) return { ok: false, reason: 'segment header CRC mismatch' };
  const version = dv.getUint16(4);
  if (version !== FORMAT_VERSION) return { ok: false, reason: `unknown segment format version ${version} (this agent reads ${FORMAT_VERSION})` };
  const baseSeq = getSeq(dv, 8);
  if (baseSeq === undefined) return { ok: false, reason: 'segment base seq out of range' };
  return { ok: true, version, baseSeq };
}

/** One framed record: header and payload in one buffer, ready for a single write. */
export function encodeRecord(seq: number, readings: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  const dv = view(b);
  dv.setUint32(0, RECORD_MAGIC);
  dv.setUint32(4, payload.length);
  putSeq(dv, 8, seq);
  dv.setUint32(16, readings);
  b.set(payload, RECORD_HEADER_BYTES);
  dv.setUint32(20, crc32c(b.subarray(RECORD_HEADER_BYTES), crc32c(b.subarray(4, 20))));
  return b;
}

export type ScanItem =
  | { kind: 'record'; offset: number; frameBytes: number; seq: number; readings: number; payload: Uint8Array }
  | { kind: 'damage'; offset: number; bytes: number; tail: boolean };

export type ReadAt = (position: number, length: number) => Promise<Uint8Array>;

const SCAN_CHUNK = 256 * 1024;

function isMagic(b: Uint8Array, i: number): boolean {
  return b[i] === 0x89 && b[i + 1] === 0x54 && b[i + 2] === 0x57 && b[i + 3] === 0x52;
}

/**
 * Walks records in [start, end), reading in chunks (memory stays bounded by
 * the chunk size and the largest record). Bytes that do not form a valid record
 * come out as one `damage` item per run, then the scan resumes at the next
 * magic that starts a record with a valid CRC; `tail` says the damage runs to
 * `end` (a torn write). A record's `payload` is a view valid until the next item.
 */
export async function* scanRecords(read: ReadAt, start: number, end: number, chunkBytes = SCAN_CHUNK): AsyncGenerator<ScanItem> {
  const chunk = Math.max(RECORD_HEADER_BYTES, chunkBytes); // the magic search needs a few bytes in view
  let buf = new Uint8Array(0);
  let bufStart = start;

  /** Makes [pos, pos + n) buffered as far as the file goes; returns how many bytes are. */
  const fill = async (pos: number, n: number): Promise<number> => {
    const need = Math.min(pos + n, end);
    if (pos >= bufStart && need <= bufStart + buf.length) return need - pos;
    const keep = buf.subarray(Math.min(Math.max(0, pos - bufStart), buf.length));
    const from = pos + keep.length;
    const upTo = Math.min(end, Math.max(need, pos + chunk));
    const more = upTo > from ? await read(from, upTo - from) : new Uint8Array(0);
    const next = new Uint8Array(keep.length + more.length);
    next.set(keep);
    next.set(more, keep.length);
    buf = next;
    bufStart = pos;
    return Math.min(buf.length, need - pos);
  };

  /** The frame at pos, if it is a complete record with a valid CRC. */
  const recordAt = async (pos: number): Promise<ScanItem | undefined> => {
    if ((await fill(pos, RECORD_HEADER_BYTES)) < RECORD_HEADER_BYTES) return undefined;
    let i = pos - bufStart;
    if (!isMagic(buf, i)) return undefined;
    let dv = view(buf);
    const length = dv.getUint32(i + 4);
    if (length > MAX_PAYLOAD_BYTES) return undefined;
    const frameBytes = RECORD_HEADER_BYTES + length;
    if ((await fill(pos, frameBytes)) < frameBytes) return undefined;
    i = pos - bufStart;
    dv = view(buf);
    const payload = buf.subarray(i + RECORD_HEADER_BYTES, i + frameBytes);
    if (dv.getUint32(i + 20) !== crc32c(payload, crc32c(buf.subarray(i + 4, i + 20)))) return undefined;
    const seq = getSeq(dv, i + 8);
    if (seq === undefined) return undefined;
    return { kind: 'record', offset: pos, frameBytes, seq, readings: dv.getUint32(i + 16), payload };
  };

  let pos = start;
  let damageAt = -1;
  while (pos < end) {
    const rec = await recordAt(pos);
    if (rec && rec.kind === 'record') {
      if (damageAt >= 0) { yield { kind: 'damage', offset: damageAt, bytes: pos - damageAt, tail: false }; damageAt = -1; }
      yield rec;
      pos += rec.frameBytes;
      continue;
    }
    if (damageAt < 0) damageAt = pos;
    // resynchronise: the next candidate magic after pos
    let next = -1;
    let from = pos + 1;
    while (next < 0 && from < end) {
      await fill(from, chunk);
      let i = buf.indexOf(0x89, from - bufStart);
      while (i >= 0 && i + 4 <= buf.length && !isMagic(buf, i)) i = buf.indexOf(0x89, i + 1);
      if (i >= 0 && i + 4 <= buf.length) next = bufStart + i;
      else if (bufStart + buf.length >= end) break;
      else from = Math.max(from + 1, bufStart + buf.length - 3); // a magic may straddle the chunk edge
    }
    if (next < 0) break;
    pos = next;
  }
  if (damageAt >= 0) yield { kind: 'damage', offset: damageAt, bytes: end - damageAt, tail: true };
}
