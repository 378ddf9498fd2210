// Collects readings into batches: a batch closes at `maxRecords` readings or
// `maxAgeMs` after its first reading, whichever comes first. The age timer
// runs only while a batch is open (an idle agent schedules nothing). The
// first batch of a batcher (a start, a config change) closes at the next
// timer tick instead: it holds what arrived together (one reply, one line),
// and the first reading is journaled within moments of start, not maxAgeMs
// later — one small batch more per start.

import type { Clock, Timer } from '../../hal/clock.js';
import type { Reading } from '../reading.js';

export interface BatcherOptions { maxRecords: number; maxAgeMs: number }

export interface Batcher {
  add(reading: Reading): void;
  /** Closes the open batch now (shutdown). */
  flush(): void;
  /** Readings waiting in the open batch. */
  pending(): number;
}

export function createBatcher(
  opts: BatcherOptions,
  deps: { clock: Clock; onBatch: (readings: Reading[]) => void },
): Batcher {
  let open: Reading[] = [];
  let timer: Timer | undefined;
  let first = true;

  const close = (): void => {
    timer?.cancel();
    timer = undefined;
    if (open.length === 0) return;
    const batch = open;
    open = [];
    deps.onBatch(batch);
  };

  return {
    add(reading) {
      open.push(reading);
      if (open.length >= opts.maxRecords) { close(); return; }
      if (!timer) timer = deps.clock.setTimeout(close, first ? 0 : opts.maxAgeMs);
      first = false;
    },
    flush: close,
    pending: () => open.length,
  };
}
