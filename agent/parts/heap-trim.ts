// A full GC every few minutes (issue 16). On a steady load V8 runs its full GC
// rarely and raises the old generation's limit each time, so RSS climbed
// ~1 MB/min from the 7th minute at the 100 ms poll (56 -> 66 MB in 20 min; the
// live heap stays ~7.5 MB: garbage, not a leak). Measured side by side with a
// GC every 60 s: flat at 56.5 MB, at ~20 ms of CPU per GC; every 5 minutes it
// costs ~0.07 ms/s. A periodic job of the ticker; without an exposed GC
// (hal/heap.ts) there is no job.

import type { FullGc } from '../../hal/heap.js';
import type { PeriodicJob } from './ticker.js';

export const HEAP_TRIM_EVERY_MS = 300_000;

export function createHeapTrim(fullGc: FullGc, everyMs = HEAP_TRIM_EVERY_MS): PeriodicJob {
  return { name: 'heap-trim', everyMs, tick: () => fullGc() };
}
