// An in-memory UplinkJournal for uplink tests: append() makes a record durable
// at once; commit() must only ever move forward (a backwards commit throws,
// so an uplink bug cannot hide).

import type { UplinkJournal, UplinkJournalRecord } from '../../agent/uplink/uplink.js';

export interface FakeJournal extends UplinkJournal {
  records: UplinkJournalRecord[];
  /** Every commit(seq) call, in order. */
  commits: number[];
  append(bytes: Uint8Array, readings?: number): UplinkJournalRecord;
  /** Makes the next readFrom calls reject (a disk error). */
  failReads(n: number): void;
  /** Every sent(seq) the uplink called, and how many rewind() calls. */
  sentSeqs: number[];
  rewinds: number;
  /** Seqs sent() refuses (dropped and told since they were read), and that readFrom no longer returns. */
  dropped: Set<number>;
}

/** A record's payload for tests: "rec-<seq>" (the uplink sends bytes as they are). */
export const recordBytes = (seq: number): Uint8Array => new TextEncoder().encode(`rec-${seq}`);
export const seqOf = (payload: Uint8Array): number => Number(new TextDecoder().decode(payload).replace(/^rec-/, ''));

export function createFakeJournal(opts: { committed?: number } = {}): FakeJournal {
  const records: UplinkJournalRecord[] = [];
  const commits: number[] = [];
  const listeners: Array<(d: number) => void> = [];
  let committed = opts.committed ?? 0;
  let failing = 0;
  const sentSeqs: number[] = [];
  const dropped = new Set<number>();
  return {
    records,
    commits,
    sentSeqs,
    rewinds: 0,
    dropped,
    sent(seq) { sentSeqs.push(seq); return !dropped.has(seq); },
    rewind() { this.rewinds++; },
    append(bytes, readings = 1) {
      const seq = (records.at(-1)?.seq ?? committed) + 1;
      const r = { seq, readings, bytes };
      records.push(r);
      for (const l of listeners) l(seq);
      return r;
    },
    failReads(n) { failing = n; },
    async readFrom(seq, max) {
      if (failing > 0) { failing--; throw new Error('EIO: injected read failure'); }
      return records.filter((r) => r.seq >= seq && !dropped.has(r.seq)).slice(0, max);
    },
    committedSeq: () => committed,
    commit(seq) {
      if (seq < committed) throw new Error(`commit went backwards: ${seq} < ${committed}`);
      committed = seq;
      commits.push(seq);
    },
    durableSeq: () => records.at(-1)?.seq ?? committed,
    onDurable(l) { listeners.push(l); },
  };
}
