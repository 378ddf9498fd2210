// The verifier's core, pure (no network, no clock): signed batches in, events
// and a completeness summary out. Batches may arrive late, out of order or
// twice. Invariant: every seq between the first and last seen is accounted
// for as received, covered by a gap notice, or reported missing; memory is one
// 32-byte hash per seq (plus the prev of batches whose predecessor is absent).
//
// Key chain: the device may roll its key over (agent/ota/key-announcement.ts).
// An announcement signed by a trusted key that is not retired adds the new key
// from its seq on and retires the signing key from that seq on:
//
//   batch seq:    ... S-2  S-1 │ S   S+1 ...
//   old key:      accepted ────┤ rejected (retired at S)
//   new key:      rejected     ├──── accepted (valid from S)
//
// A batch rejected only because its key was unknown is kept (bounded) and
// checked again when an announcement introduces that key.

import { parseBatchPayload, sha256, ZERO_HASH, type BatchPayload } from '../encode/batch.js';
import { decodeSign1, DEFAULT_CONTENT_TYPE, verifySign1 } from '../encode/cose.js';
import { KEY_CONTENT_TYPE, parseKeyAnnouncement } from '../ota/key-announcement.js';
import { resolveSenml, type ResolvedReading } from '../encode/senml.js';
import { kidOf } from '../encode/signer.js';
import { judgeRollover, keySpanProblem, type KeySpan } from './key-rules.js';
import { missingRanges } from './ranges.js';

export type VerifyEvent =
  | { kind: 'batch'; seq: number; readings: ResolvedReading[]; clk: 'sync' | 'free' }
  | { kind: 'gap'; seq: number; first: number; last: number; reason: string }
  /** same (dev, seq) and identical bytes seen before: dropped */
  | { kind: 'duplicate'; seq: number }
  /** same seq, different (validly signed) bytes: serious */
  | { kind: 'conflict'; seq: number }
  /** bad envelope / signature / wrong dev / unknown version / malformed payload */
  | { kind: 'rejected'; reason: string }
  /** prev of `seq` is not the hash of `expectedPrevOf` (= seq-1) we hold, or that batch was dropped */
  | { kind: 'chain-break'; seq: number; expectedPrevOf: number; explained: boolean };

export interface ChainSummary {
  /** distinct batches accepted (data batches and gap notices) */
  batches: number;
  readings: number;
  duplicates: number;
  rejected: number;
  /** seqs seen with two different validly signed contents */
  conflicts: number;
  gaps: Array<{ first: number; last: number; reason: string }>;
  /** seq ranges between firstSeq and lastSeq neither received nor covered by a gap notice */
  missing: Array<[number, number]>;
  explainedBreaks: number;
  unexplainedBreaks: number;
  firstSeq?: number;
  lastSeq?: number;
  /** no missing ranges, no unexplained breaks, no conflicts (vacuously true before any batch) */
  complete: boolean;
  /** Key rollovers followed (present once there was one). */
  keyRollovers?: number;
}

/** The outcome of a key announcement. */
export type KeyEvent =
  | { kind: 'key'; ok: true; newKid: string; signedBy: string; seq: number; duplicate: boolean }
  | { kind: 'key'; ok: false; reason: string };

export interface ChainVerifier {
  accept(bytes: Uint8Array): VerifyEvent[];
  /**
   * A key announcement (from <prefix>/<dev>/key). `events` are those of batches
   * that had been rejected for an unknown key and verify now.
   */
  acceptKey(bytes: Uint8Array): { key: KeyEvent; events: VerifyEvent[] };
  /** A public key of the chain (initial or announced) by kid, retired or not: for status and acks. */
  keyForKid(kid: Uint8Array): Uint8Array | undefined;
  summary(): ChainSummary;
}

interface ChainKey extends KeySpan {
  pub: Uint8Array;
}

/** Batches rejected for an unknown kid, kept for a later announcement. */
const MAX_UNKNOWN_KID_KEPT = 256;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function createChainVerifier(opts: { device: string; publicKeys: Uint8Array[] }): ChainVerifier {
  const keys = new Map<string, ChainKey>(opts.publicKeys.map((k) => [hex(kidOf(k)), { pub: k, minSeq: Infinity, maxSeq: 0 }]));
  const keyForKid = (kid: Uint8Array): Uint8Array | undefined => keys.get(hex(kid))?.pub;
  const unknownKid: Array<{ kid: string; bytes: Uint8Array }> = [];
  let keyRollovers = 0;
  const hashes = new Map<number, Uint8Array>();
  /** received seqs as sorted, disjoint, non-adjacent inclusive ranges */
  const held: Array<[number, number]> = [];
  /** prev of batches whose predecessor was not held when they arrived (seq > 1) */
  const pendingPrev = new Map<number, Uint8Array>();
  /** seqs whose prev differs from the hash of the predecessor we hold */
  const mismatches = new Set<number>();
  const gaps: Array<{ first: number; last: number; reason: string }> = [];
  let batches = 0, readings = 0, duplicates = 0, rejected = 0, conflicts = 0;

  const covered = (seq: number): boolean => gaps.some((g) => seq >= g.first && seq <= g.last);

  function hold(seq: number): void {
    let lo = 0, hi = held.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (held[mid]![1] < seq - 1) lo = mid + 1; else hi = mid;
    }
    const iv = held[lo];
    if (iv && iv[0] <= seq + 1) {
      iv[0] = Math.min(iv[0], seq);
      iv[1] = Math.max(iv[1], seq);
      const next = held[lo + 1];
      if (next && next[0] <= iv[1] + 1) {
        iv[1] = Math.max(iv[1], next[1]);
        held.splice(lo + 1, 1);
      }
    } else {
      held.splice(lo, 0, [seq, seq]);
    }
  }

  function reject(reason: string): VerifyEvent[] {
    rejected++;
    return [{ kind: 'rejected', reason }];
  }

  function keepUnknown(bytes: Uint8Array): void {
    try {
      const kid = hex(decodeSign1(bytes).kid);
      if (keys.has(kid)) return;
      unknownKid.push({ kid, bytes: new Uint8Array(bytes) });
      if (unknownKid.length > MAX_UNKNOWN_KID_KEPT) unknownKid.shift();
    } catch { /* not even an envelope */ }
  }

  function accept(bytes: Uint8Array): VerifyEvent[] {
    let p: BatchPayload;
    let signer: ChainKey;
    try {
      const sign1 = verifySign1(bytes, keyForKid);
      if (sign1.contentType !== DEFAULT_CONTENT_TYPE) {
        return reject(`content type ${JSON.stringify(sign1.contentType)} is not a batch (${DEFAULT_CONTENT_TYPE})`);
      }
      p = parseBatchPayload(sign1.payload);
      signer = keys.get(hex(sign1.kid))!;
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ERR_COSE_KID_UNKNOWN') keepUnknown(bytes);
      return reject((err as Error).message);
    }
    if (p.dev !== opts.device) return reject(`batch seq ${p.seq} is for device ${JSON.stringify(p.dev)}, expected ${JSON.stringify(opts.device)}`);
    const spanProblem = keySpanProblem(hex(kidOf(signer.pub)), signer, p.seq);
    if (spanProblem) return reject(spanProblem);
    const hash = sha256(bytes);
    const seen = hashes.get(p.seq);
    if (seen) {
      if (sameBytes(seen, hash)) { duplicates++; return [{ kind: 'duplicate', seq: p.seq }]; }
      conflicts++;
      return [{ kind: 'conflict', seq: p.seq }];
    }
    let resolved: ResolvedReading[] = [];
    if (p.senml) {
      try {
        resolved = resolveSenml(p.senml, opts.device);
      } catch (err) {
        return reject(`batch seq ${p.seq}: ${(err as Error).message}`);
      }
    }

    const seq = p.seq;
    const events: VerifyEvent[] = [];
    signer.minSeq = Math.min(signer.minSeq, seq);
    signer.maxSeq = Math.max(signer.maxSeq, seq);
    hashes.set(seq, hash);
    hold(seq);
    batches++;
    readings += resolved.length;
    if (p.gap) {
      const [first, last, reason] = p.gap;
      events.push({ kind: 'gap', seq, first, last, reason });
      // batches already waiting for a predecessor that this notice says was dropped
      for (const n of pendingPrev.keys()) {
        const before = n - 1;
        if (before >= first && before <= last && !covered(before) && n !== seq) {
          events.push({ kind: 'chain-break', seq: n, expectedPrevOf: before, explained: true });
        }
      }
      gaps.push({ first, last, reason });
    } else {
      events.push({ kind: 'batch', seq, readings: resolved, clk: p.clk });
    }

    // link to the predecessor
    const before = seq === 1 ? ZERO_HASH : hashes.get(seq - 1);
    if (before) {
      if (!sameBytes(before, p.prev)) {
        mismatches.add(seq);
        events.push({ kind: 'chain-break', seq, expectedPrevOf: seq - 1, explained: seq > 1 && covered(seq - 1) });
      }
    } else {
      pendingPrev.set(seq, new Uint8Array(p.prev));
      // the predecessor was dropped on the device: it will never come
      if (covered(seq - 1)) events.push({ kind: 'chain-break', seq, expectedPrevOf: seq - 1, explained: true });
    }
    // link to a successor that arrived first
    const succPrev = pendingPrev.get(seq + 1);
    if (succPrev) {
      pendingPrev.delete(seq + 1);
      if (!sameBytes(succPrev, hash)) {
        mismatches.add(seq + 1);
        events.push({ kind: 'chain-break', seq: seq + 1, expectedPrevOf: seq, explained: covered(seq) });
      }
    }
    return events;
  }

  function acceptKey(bytes: Uint8Array): { key: KeyEvent; events: VerifyEvent[] } {
    const fail = (reason: string): { key: KeyEvent; events: VerifyEvent[] } => {
      rejected++;
      return { key: { kind: 'key', ok: false, reason }, events: [] };
    };
    let signerKid: string;
    let a: ReturnType<typeof parseKeyAnnouncement>;
    try {
      const sign1 = verifySign1(bytes, keyForKid);
      if (sign1.contentType !== KEY_CONTENT_TYPE) return fail(`content type ${JSON.stringify(sign1.contentType)} is not a key announcement`);
      a = parseKeyAnnouncement(sign1.payload);
      signerKid = hex(sign1.kid);
    } catch (err) {
      return fail((err as Error).message);
    }
    if (a.dev !== opts.device) return fail(`key announcement is for device ${JSON.stringify(a.dev)}, expected ${JSON.stringify(opts.device)}`);
    const signer = keys.get(signerKid)!;
    const newKid = hex(a.newKid);
    const known = keys.get(newKid);
    const verdict = judgeRollover(signerKid, signer, newKid, known, a.seq);
    if (!verdict.ok) return fail(verdict.reason);
    if (verdict.duplicate) {
      return { key: { kind: 'key', ok: true, newKid, signedBy: signerKid, seq: a.seq, duplicate: true }, events: [] };
    }
    signer.until = a.seq;
    keys.set(newKid, { pub: a.newKey, from: a.seq, minSeq: known?.minSeq ?? Infinity, maxSeq: known?.maxSeq ?? 0 });
    keyRollovers++;
    // batches that were rejected only because this key was not known yet
    const events: VerifyEvent[] = [];
    for (let i = 0; i < unknownKid.length;) {
      const u = unknownKid[i]!;
      if (u.kid !== newKid) { i++; continue; }
      unknownKid.splice(i, 1);
      rejected--; // its earlier rejection is revised by what accept() says now
      events.push(...accept(u.bytes));
    }
    return { key: { kind: 'key', ok: true, newKid, signedBy: signerKid, seq: a.seq, duplicate: false }, events };
  }

  function summary(): ChainSummary {
    const firstSeq = held[0]?.[0];
    const lastSeq = held[held.length - 1]?.[1];
    const sortedGaps = [...gaps].sort((a, b) => a.first - b.first || a.last - b.last);
    // holes between received ranges, minus what gap notices cover
    const missing = missingRanges(held, sortedGaps);

    let explainedBreaks = 0, unexplainedBreaks = 0;
    const count = (seq: number): void => {
      if (seq > 1 && covered(seq - 1)) explainedBreaks++; else unexplainedBreaks++;
    };
    for (const seq of mismatches) count(seq);
    // a predecessor never received: a break, unless it is before everything we
    // hold (joined mid-stream) and no gap notice says it was dropped
    for (const seq of pendingPrev.keys()) if (covered(seq - 1) || (firstSeq !== undefined && seq > firstSeq)) count(seq);

    return {
      batches, readings, duplicates, rejected, conflicts,
      gaps: sortedGaps.map((g) => ({ ...g })),
      missing,
      explainedBreaks, unexplainedBreaks,
      ...(firstSeq !== undefined ? { firstSeq } : {}),
      ...(lastSeq !== undefined ? { lastSeq } : {}),
      complete: missing.length === 0 && unexplainedBreaks === 0 && conflicts === 0,
      ...(keyRollovers > 0 ? { keyRollovers } : {}),
    };
  }

  return { accept, acceptKey, keyForKid, summary };
}
