// Is the pipeline moving? Asked before every watchdog ping (agent/watchdog.ts).
// Stuck means work waits on us and nothing of it has moved for longer than the
// limit: readings that no batch takes, a batch the journal does not finish
// appending (a write that never returns), journaled batches no fsync makes
// durable. A broker outage or a silent sensor is not stuck: nothing waits on us.
// Observation-based: each check compares with what the previous check saw, so
// the hot path only counts (queued / settled) and never reads the clock.

import type { Clock } from '../hal/clock.js';

export interface PipelineView {
  /** Readings in the open batch. */
  pendingReadings: number;
  /** Newest seq in the journal (written, maybe not yet durable). */
  lastSeq: number;
  durableSeq: number;
}

export interface ProgressProbe {
  /** A unit of journal work (a batch or a gap notice to sign and append) was queued. */
  queued(): void;
  /** That unit finished, appended or failed (a failure is counted and logged elsewhere: it is not a hang). */
  settled(): void;
  /** Why the pipeline is stuck, in words; undefined while it moves (or has nothing to do). */
  stalled(limitMs: number, view: PipelineView): string | undefined;
}

interface Watch { since: number; mark: number }

export function createProgressProbe(clock: Clock, timing: { batchMaxAgeMs: number; fsyncIntervalMs: number }): ProgressProbe {
  let queued = 0;
  let settled = 0;
  let batchWatch: Watch | undefined;
  let appendWatch: Watch | undefined;
  let syncWatch: Watch | undefined;

  /** Starts or renews a watch while `waiting`; how long `mark` has not moved (0 when it just moved). */
  const observe = (watch: Watch | undefined, waiting: boolean, mark: number, now: number): [Watch | undefined, number] => {
    if (!waiting) return [undefined, 0];
    if (!watch || watch.mark !== mark) return [{ since: now, mark }, 0];
    return [watch, now - watch.since];
  };
  const secs = (ms: number): string => (ms / 1000).toFixed(1);

  return {
    queued() { queued++; },
    settled() { settled++; },
    stalled(limitMs, view) {
      const now = clock.monotonic();
      let idle: number;
      // readings waiting, and no batch queued since: the batch timer does not fire
      [batchWatch, idle] = observe(batchWatch, view.pendingReadings > 0, queued, now);
      const batch = idle > timing.batchMaxAgeMs + limitMs ? `no batch closed for ${secs(idle)} s with ${view.pendingReadings} readings waiting` : undefined;
      // journal work queued, and none of it finished since
      [appendWatch, idle] = observe(appendWatch, queued > settled, settled, now);
      const append = idle > limitMs ? `journal append not finished for ${secs(idle)} s (${queued - settled} waiting)` : undefined;
      // batches in the journal that are not durable, and the durable seq has not moved
      [syncWatch, idle] = observe(syncWatch, view.lastSeq > view.durableSeq, view.durableSeq, now);
      const sync = idle > timing.fsyncIntervalMs + limitMs ? `no journal fsync for ${secs(idle)} s (durable seq ${view.durableSeq}, newest ${view.lastSeq})` : undefined;
      return append ?? sync ?? batch;
    },
  };
}
