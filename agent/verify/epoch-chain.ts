// One chain's accounting for the verifier (one per epoch: a device's original
// chain, or one restarted after it lost its chain state): which seqs arrived,
// duplicates and conflicts, gap notices, and the prev-hash links. Invariant:
// every seq between the first and last seen is received, covered by a gap
// notice, or reported missing; memory is one 32-byte hash per seq (plus the
// prev of batches whose predecessor is absent).

import { ZERO_HASH } from '../encode/batch.js';
import { missingRanges } from './ranges.js';

export type ChainEvent =
  | { kind: 'gap'; seq: number; first: number; last: number; reason: string }
  | { kind: 'duplicate'; seq: number }
  | { kind: 'conflict'; seq: number }
  | { kind: 'chain-break'; seq: number; expectedPrevOf: number; explained: boolean };

export interface EpochSummary {
  /** distinct batches accepted (data batches and gap notices) */
  batches: number;
  readings: number;
  duplicates: number;
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
}

export interface EpochChain {
  /** 'new' for a seq not seen yet; a repeat is counted here. */
  check(seq: number, hash: Uint8Array): 'new' | ChainEvent;
  /** Accepts a new, verified batch: its events (gap and chain-break) in order. */
  add(b: { seq: number; prev: Uint8Array; hash: Uint8Array; readings: number; gap?: [number, number, string] }): ChainEvent[];
  summary(): EpochSummary;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `restarted`: a chain that began after the device lost its chain state; its first batch has prev = zeros at any seq. */
export function createEpochChain(opts: { restarted: boolean }): EpochChain {
  const hashes = new Map<number, Uint8Array>();
  /** received seqs as sorted, disjoint, non-adjacent inclusive ranges */
  const held: Array<[number, number]> = [];
  /** prev of batches whose predecessor was not held when they arrived (seq > 1) */
  const pendingPrev = new Map<number, Uint8Array>();
  /** seqs whose prev differs from the hash of the predecessor we hold */
  const mismatches = new Set<number>();
  const gaps: Array<{ first: number; last: number; reason: string }> = [];
  let batches = 0, readings = 0, duplicates = 0, conflicts = 0;

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

  return {
    check(seq, hash) {
      const seen = hashes.get(seq);
      if (!seen) return 'new';
      if (sameBytes(seen, hash)) { duplicates++; return { kind: 'duplicate', seq }; }
      conflicts++;
      return { kind: 'conflict', seq };
    },

    add({ seq, prev, hash, readings: n, gap }) {
      const events: ChainEvent[] = [];
      hashes.set(seq, hash);
      hold(seq);
      batches++;
      readings += n;
      if (gap) {
        const [first, last, reason] = gap;
        events.push({ kind: 'gap', seq, first, last, reason });
        // batches already waiting for a predecessor that this notice says was dropped
        for (const s of pendingPrev.keys()) {
          const before = s - 1;
          if (before >= first && before <= last && !covered(before) && s !== seq) {
            events.push({ kind: 'chain-break', seq: s, expectedPrevOf: before, explained: true });
          }
        }
        gaps.push({ first, last, reason });
      }
      // link to the predecessor; a restarted chain begins with prev = zeros
      const start = seq === 1 || (opts.restarted && sameBytes(prev, ZERO_HASH));
      const before = start ? ZERO_HASH : hashes.get(seq - 1);
      if (before) {
        if (!sameBytes(before, prev)) {
          mismatches.add(seq);
          events.push({ kind: 'chain-break', seq, expectedPrevOf: seq - 1, explained: seq > 1 && covered(seq - 1) });
        }
      } else {
        pendingPrev.set(seq, new Uint8Array(prev));
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
    },

    summary() {
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
        batches, readings, duplicates, conflicts,
        gaps: sortedGaps.map((g) => ({ ...g })),
        missing, explainedBreaks, unexplainedBreaks,
        ...(firstSeq !== undefined ? { firstSeq } : {}),
        ...(lastSeq !== undefined ? { lastSeq } : {}),
        complete: missing.length === 0 && unexplainedBreaks === 0 && conflicts === 0,
      };
    },
  };
}
