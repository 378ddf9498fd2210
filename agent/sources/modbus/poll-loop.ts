// The master's cycle grid: cycle k is due at t0 + k * intervalMs, so a slow
// cycle never shifts the grid (missed slots are skipped and counted); the port
// is (re)opened before each cycle, and nothing a cycle throws escapes the loop.

import type { Clock, Timer } from '../../../hal/clock.js';
import type { SerialPort } from '../../../hal/serial.js';
import type { Counters } from '../../counters.js';
import type { Logger } from '../../log.js';

export interface PollLoopOptions {
  id: string;
  path: string;
  intervalMs: number;
  clock: Clock;
  counters: Counters;
  log: Logger;
  warn(message: string, fields?: Record<string, unknown>): void;
  /** One poll cycle; `running()` turns false on stop. */
  cycle(port: SerialPort, running: () => boolean): Promise<void>;
  /** Cut short whatever the cycle waits on (stop), and allow waits again (start). */
  stopWaits(): void;
  resumeWaits(): void;
}

export interface PollLoop {
  /** First open attempt (a missing port is retried every cycle), then the loop runs. */
  start(port: SerialPort): Promise<void>;
  stop(): Promise<void>;
  running(): boolean;
  cyclesSkipped(): number;
  /** The port's close listener: an error close is counted and the port reopened at the next cycle. */
  portClosed(err?: Error): void;
}

export function createPollLoop(o: PollLoopOptions): PollLoop {
  const { clock, counters, id } = o;
  let running = false;
  let done: Promise<void> = Promise.resolve();
  let wake: (() => void) | undefined;
  let skipped = 0;

  /** A sleep that stop() cuts short. */
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => {
    let timer: Timer | undefined;
    const end = (): void => { timer?.cancel(); wake = undefined; resolve(); };
    wake = end;
    timer = clock.setTimeout(end, Math.max(0, ms));
  });

  const ensureOpen = async (p: SerialPort): Promise<boolean> => {
    if (p.isOpen) return true;
    try {
      await p.open();
      o.log.info('port reopened', { path: o.path });
      return true;
    } catch (err) {
      counters.inc(`source.${id}.open_errors`);
      o.warn('cannot reopen port', { path: o.path, cause: (err as Error).message });
      return false;
    }
  };

  const loop = async (p: SerialPort): Promise<void> => {
    const t0 = clock.monotonic();
    let k = 0;
    while (running) {
      try {
        if (await ensureOpen(p)) await o.cycle(p, () => running);
      } catch (err) {
        // Not expected; but nothing escapes the loop.
        counters.inc(`source.${id}.errors`);
        o.warn('poll cycle failed', { cause: (err as Error).message });
      }
      if (!running) return;
      const next = Math.max(k + 1, Math.ceil((clock.monotonic() - t0) / o.intervalMs));
      if (next > k + 1) {
        skipped += next - k - 1;
        counters.inc(`source.${id}.cycles_skipped`, next - k - 1);
        o.warn('poll cycle overran its interval; skipping', { interval_ms: o.intervalMs, skipped: next - k - 1 });
      }
      k = next;
      await sleep(t0 + k * o.intervalMs - clock.monotonic());
    }
  };

  return {
    running: () => running,
    cyclesSkipped: () => skipped,
    async start(p) {
      if (running) return;
      try { await p.open(); } catch (err) {
        counters.inc(`source.${id}.open_errors`);
        o.log.error('cannot open port; retrying every cycle', { path: o.path, cause: (err as Error).message });
      }
      running = true;
      o.resumeWaits();
      done = loop(p);
    },
    async stop() {
      if (!running) return;
      running = false;
      wake?.();
      o.stopWaits();
      await done;
    },
    portClosed(err) {
      if (!err || !running) return;
      counters.inc(`source.${id}.port_errors`);
      o.warn('port closed; reopening at the next cycle', { path: o.path, cause: err.message });
    },
  };
}
