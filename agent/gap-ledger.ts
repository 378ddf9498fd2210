// Keeps every loss told. A gap notice is itself a journal record, so a later
// drop (the bound overflowing again during a long outage) can delete a gap
// notice before it was sent. The ledger remembers the notices not yet
// acknowledged; when a drop covers one, what it announced is announced again,
// merged with the new drop, so the cloud always learns every dropped seq.

export interface GapRange { first: number; last: number; reason: string }
export interface PendingGap extends GapRange { /** seq of the gap notice batch */ seq: number }

export interface GapLedger {
  /**
   * A drop of `drop.first..drop.last` happened; returns the ranges to
   * announce now: the drop plus the ranges of dropped, unacknowledged notices,
   * merged where they touch and share a reason.
   */
  dropped(drop: GapRange, committedSeq: number): GapRange[];
  /** A gap notice was journaled under `seq`. */
  announced(gap: PendingGap): void;
  /** Gap notices not yet acknowledged by the broker. */
  pending(committedSeq: number): PendingGap[];
}

/** Sorted, merged: ranges that overlap or touch and share a reason become one. */
export function mergeRanges(ranges: GapRange[]): GapRange[] {
  const sorted = [...ranges].sort((a, b) => a.first - b.first || a.last - b.last);
  const out: GapRange[] = [];
  for (const r of sorted) {
    const prev = out[out.length - 1];
    if (prev && prev.reason === r.reason && r.first <= prev.last + 1) prev.last = Math.max(prev.last, r.last);
    else out.push({ ...r });
  }
  return out;
}

export function createGapLedger(): GapLedger {
  let pending: PendingGap[] = [];
  const prune = (committedSeq: number): void => { pending = pending.filter((g) => g.seq > committedSeq); };
  return {
    dropped(drop, committedSeq) {
      prune(committedSeq);
      const lost = pending.filter((g) => g.seq >= drop.first && g.seq <= drop.last);
      if (lost.length) pending = pending.filter((g) => !lost.includes(g));
      return mergeRanges([drop, ...lost.map(({ first, last, reason }) => ({ first, last, reason }))]);
    },
    announced(gap) { pending.push(gap); },
    pending(committedSeq) { prune(committedSeq); return [...pending]; },
  };
}
