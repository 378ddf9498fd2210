// Keeps every loss told, once. A gap notice is itself a journal record, so a
// later drop (the bound overflowing again during a long outage) can delete a
// gap notice before it was sent. The ledger remembers the notices not yet
// acknowledged; when a drop covers one, what it announced is announced again,
// merged with the new drop, so the cloud always learns every dropped seq. A
// range that a pending notice still in the journal already tells (a corrupt
// record found again at the next start) is not told a second time.

export interface GapRange { first: number; last: number; reason: string }
export interface PendingGap extends GapRange { /** seq of the gap notice batch */ seq: number }

export interface GapLedger {
  /**
   * A drop of `drop.first..drop.last` happened; returns the ranges to
   * announce now: the drop plus the ranges of dropped, unacknowledged notices,
   * merged where they touch and share a reason, less what notices still
   * pending in the journal already tell.
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

/** The parts of `r` outside the sorted, disjoint ranges `told`. */
export function subtract(r: GapRange, told: GapRange[]): GapRange[] {
  const out: GapRange[] = [];
  let from = r.first;
  for (const t of told) {
    if (t.last < from || t.first > r.last) continue;
    if (t.first > from) out.push({ ...r, first: from, last: t.first - 1 });
    from = Math.max(from, t.last + 1);
  }
  if (from <= r.last) out.push({ ...r, first: from });
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
      const told = mergeRanges(pending.map(({ first, last }) => ({ first, last, reason: '' })));
      return mergeRanges([drop, ...lost.map(({ first, last, reason }) => ({ first, last, reason }))].flatMap((r) => subtract(r, told)));
    },
    announced(gap) { pending.push(gap); },
    pending(committedSeq) { prune(committedSeq); return [...pending]; },
  };
}
