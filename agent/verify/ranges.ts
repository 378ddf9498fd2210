// Completeness arithmetic shared by the verifiers: which seqs between the
// batches held are neither held nor covered by a signed gap notice.

export interface GapNotice { first: number; last: number; reason: string }

/**
 * Holes between consecutive `held` ranges (sorted, disjoint, inclusive) minus
 * what the gap notices cover, as sorted inclusive [first, last] ranges.
 */
export function missingRanges(held: ReadonlyArray<readonly [number, number]>, gaps: readonly GapNotice[]): Array<[number, number]> {
  const sortedGaps = [...gaps].sort((a, b) => a.first - b.first || a.last - b.last);
  const missing: Array<[number, number]> = [];
  for (let i = 1; i < held.length; i++) {
    let from = held[i - 1]![1] + 1;
    const to = held[i]![0] - 1;
    for (const g of sortedGaps) {
      if (g.last < from || g.first > to) continue;
      if (g.first > from) missing.push([from, g.first - 1]);
      from = Math.max(from, g.last + 1);
    }
    if (from <= to) missing.push([from, to]);
  }
  return missing;
}
