// One tick for the agent's periodic side jobs (status file, key watch): one
// hal clock timer, due at the next job's time; each job runs at its own
// period. A job that throws is logged and runs again at its next time.

import type { Clock, Timer } from '../../hal/clock.js';
import type { Logger } from '../log.js';
import type { Part } from './part.js';

export interface PeriodicJob {
  readonly name: string;
  readonly everyMs: number;
  /** When its first run comes after start; without it the job runs at start (waited for). */
  readonly firstMs?: number;
  /** Runs on the tick; a promise it returns is waited for only at start (the job serialises itself). */
  tick(): void | Promise<void>;
}

/** A part that runs every job once at start (or `firstMs` after it), then each every `everyMs` (monotonic), until stop. */
export function createTicker(jobs: readonly PeriodicJob[], deps: { clock: Clock; log: Logger }): Part {
  const { clock, log } = deps;
  const last = jobs.map(() => 0);
  let timer: Timer | undefined;
  let running = false;

  const failed = (job: PeriodicJob) => (err: unknown): void => {
    log.warn('side job failed', { job: job.name, cause: err instanceof Error ? err.message : String(err) });
  };
  const run = (i: number): Promise<void> => {
    const job = jobs[i]!;
    last[i] = clock.monotonic();
    try {
      return Promise.resolve(job.tick()).catch(failed(job));
    } catch (err) {
      failed(job)(err);
      return Promise.resolve();
    }
  };

  const schedule = (): void => {
    if (!running || jobs.length === 0) return;
    const next = Math.min(...jobs.map((j, i) => last[i]! + j.everyMs));
    timer = clock.setTimeout(tick, Math.max(0, next - clock.monotonic()));
  };

  function tick(): void {
    timer = undefined;
    if (!running) return;
    const now = clock.monotonic();
    jobs.forEach((j, i) => { if (running && now >= last[i]! + j.everyMs) void run(i); });
    schedule();
  }

  return {
    name: 'ticker',
    /** Runs every job once (and waits for it: status.json is there when the agent has started), then ticks. */
    async start() {
      running = true;
      const now = clock.monotonic();
      await Promise.all(jobs.map((j, i) => {
        if (j.firstMs === undefined) return run(i);
        last[i] = now + j.firstMs - j.everyMs; // due firstMs from now
        return undefined;
      }));
      schedule();
    },
    stop() {
      running = false;
      timer?.cancel();
      timer = undefined;
    },
  };
}
