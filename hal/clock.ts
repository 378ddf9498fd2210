// The clock boundary: wall time for readings, timers for batching and polling,
// and whether the wall clock is synchronised (a Pi has no RTC; `clk` in every
// batch says which it was).

import { existsSync } from 'node:fs';

export interface Timer { cancel(): void }

export interface Clock {
  /** Wall time, ms since the Unix epoch. */
  now(): number;
  /** Monotonic ms, for intervals and timeouts. */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  /** Resolves after `ms` (monotonic). */
  sleep(ms: number): Promise<void>;
  /** Is the wall clock synchronised (NTP / PTP / GPS)? */
  synced(): boolean;
}

// systemd-timesyncd touches this file once the clock is synchronised; chrony
// and ntpd users can force it with TAPWIRE_CLOCK=sync.
const TIMESYNC_FLAG = '/run/systemd/timesync/synchronized';

export function createSystemClock(mode: 'auto' | 'sync' | 'free' = 'auto'): Clock {
  return {
    now: () => Date.now(),
    monotonic: () => performance.now(),
    setTimeout(fn, ms) {
      const t = setTimeout(fn, ms);
      return { cancel: () => clearTimeout(t) };
    },
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    synced() {
      const forced = process.env.TAPWIRE_CLOCK;
      const m = forced === 'sync' || forced === 'free' ? forced : mode;
      if (m !== 'auto') return m === 'sync';
      return existsSync(TIMESYNC_FLAG);
    },
  };
}

/** A manual clock for unit tests: time moves only when the test says so. */
export function createManualClock(startMs = 1_700_000_000_000): Clock & { advance(ms: number): Promise<void> } {
  let wall = startMs;
  let mono = 0;
  let timers: Array<{ at: number; fn: () => void; id: number }> = [];
  let nextId = 1;
  const clock = {
    now: () => wall,
    monotonic: () => mono,
    setTimeout(fn: () => void, ms: number): Timer {
      const id = nextId++;
      timers.push({ at: mono + Math.max(0, ms), fn, id });
      return { cancel: () => { timers = timers.filter((t) => t.id !== id); } };
    },
    sleep(ms: number) { return new Promise<void>((r) => { clock.setTimeout(r, ms); }); },
    synced: () => true,
    async advance(ms: number) {
      const target = mono + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at || a.id - b.id);
        const t = timers[0];
        if (!t || t.at > target) break;
        timers.shift();
        wall += t.at - mono;
        mono = t.at;
        t.fn();
        await Promise.resolve();
      }
      wall += target - mono;
      mono = target;
      await Promise.resolve();
    },
  };
  return clock;
}
