// What waits in the journal for the broker: batches, bytes and the age of the
// oldest, for `buffer` and the status file. The journal's records have
// consecutive seqs, so the ledger keeps two numbers per seq in a ring: its
// size and when it was journaled (NaN: found on disk at start). Bounded: past
// MAX_TRACKED records the oldest are folded into one total, and the answer
// says its bytes are no longer exact.

export interface PendingSummary {
  batches: number;
  bytes: number;
  /** false once records were folded: `bytes` is then a lower bound. */
  exact: boolean;
  oldestSeq?: number;
  /** Wall ms the oldest pending batch was journaled; absent if it was found on disk at start. */
  oldestAt?: number;
}

export interface PendingLedger {
  /** Record `seq` was journaled with `bytes` (atMs: when; omitted for records found on disk at start). */
  add(seq: number, bytes: number, atMs?: number): void;
  /** Records first..last were dropped unsent (journal full, corrupt): they wait no more. */
  dropped(first: number, last: number): void;
  /** Everything <= committedSeq is acknowledged. */
  summary(committedSeq: number): PendingSummary;
}

const MAX_TRACKED = 1 << 17;
const ABSENT = 0xffff_ffff;

export function createPendingLedger(maxTracked = MAX_TRACKED): PendingLedger {
  let cap = Math.min(1024, maxTracked);
  let sizes = new Uint32Array(cap);
  let times = new Float64Array(cap);
  let head = 0; // ring index of `first`
  let count = 0;
  let first = 0; // seq at head (valid when count > 0)
  let tracked = 0; // records present (not ABSENT) in the ring
  let trackedBytes = 0;
  // folded: the oldest records beyond maxTracked, as one span
  let folded: { first: number; last: number; batches: number; bytes: number; oldestAt?: number } | undefined;

  const at = (i: number): number => (head + i) % cap;

  function grow(): void {
    const n = Math.min(cap * 2, maxTracked);
    const s = new Uint32Array(n);
    const t = new Float64Array(n);
    for (let i = 0; i < count; i++) { s[i] = sizes[at(i)]!; t[i] = times[at(i)]!; }
    sizes = s; times = t; cap = n; head = 0;
  }

  function shift(): { bytes: number; time: number } {
    const k = head;
    const bytes = sizes[k]!;
    const time = times[k]!;
    if (bytes !== ABSENT) { tracked--; trackedBytes -= bytes; }
    head = (head + 1) % cap;
    count--;
    first++;
    return { bytes, time };
  }

  function push(bytes: number, time: number): void {
    if (count === cap) {
      if (cap < maxTracked) grow();
      else {
        const seq = first;
        const old = shift();
        if (old.bytes !== ABSENT) {
          const f = folded ?? { first: seq, last: seq, batches: 0, bytes: 0 };
          f.last = seq;
          f.batches++;
          f.bytes += old.bytes;
          if (f.oldestAt === undefined && !Number.isNaN(old.time)) f.oldestAt = old.time;
          folded = f;
        }
      }
    }
    const k = at(count);
    sizes[k] = bytes;
    times[k] = time;
    count++;
    if (bytes !== ABSENT) { tracked++; trackedBytes += bytes; }
  }

  function settle(committedSeq: number): void {
    if (folded && folded.last <= committedSeq) folded = undefined;
    while (count > 0 && (first <= committedSeq || sizes[head] === ABSENT)) shift();
  }

  return {
    add(seq, bytes, atMs) {
      if (!Number.isSafeInteger(seq) || seq < 1) return;
      if (count === 0 && !folded) first = seq;
      const last = first + count - 1;
      if (count > 0 && seq <= last) return; // known already
      if (count === 0 && folded && seq <= folded.last) return;
      if (count === 0 && folded) first = folded.last + 1;
      // a seq that never reached the journal (a failed append) leaves a hole
      for (let s = count === 0 ? first : last + 1; s < seq; s++) push(ABSENT, NaN);
      push(Math.min(Math.max(0, Math.floor(bytes)), ABSENT - 1), atMs ?? NaN);
    },
    dropped(from, to) {
      for (let s = Math.max(from, first); s <= to && s < first + count; s++) {
        const k = at(s - first);
        if (sizes[k] !== ABSENT) { tracked--; trackedBytes -= sizes[k]!; sizes[k] = ABSENT; }
      }
      if (folded && from <= folded.first && to >= folded.last) folded = undefined;
    },
    summary(committedSeq) {
      settle(committedSeq);
      let batches = tracked;
      let bytes = trackedBytes;
      let oldestSeq: number | undefined = count > 0 ? first : undefined;
      let oldestAt: number | undefined = count > 0 && !Number.isNaN(times[head]!) ? times[head] : undefined;
      if (folded) {
        // part of the span may be acknowledged already: count what cannot be
        const done = Math.max(0, Math.min(folded.last, committedSeq) - folded.first + 1);
        const left = Math.max(0, folded.batches - done);
        batches += left;
        bytes += Math.round((folded.bytes * left) / Math.max(1, folded.batches));
        oldestSeq = Math.max(folded.first, committedSeq + 1);
        oldestAt = folded.oldestAt;
      }
      return { batches, bytes, exact: folded === undefined, ...(oldestSeq !== undefined ? { oldestSeq } : {}), ...(oldestAt !== undefined ? { oldestAt } : {}) };
    },
  };
}
