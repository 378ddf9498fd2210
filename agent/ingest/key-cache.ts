// A worker's cache of device keys, so a batch's signature is checked before
// its transaction (the transaction re-reads them under the device's lock).
// Keys are only ever added (rollovers), so a cached key stays good; an unknown
// key id asks the store again, and so does a device not enrolled (never
// cached: it may be enrolled any moment). While the store is unreachable,
// lookups are retried with backoff.

import type { Clock } from '../../hal/clock.js';
import type { Logger } from '../log.js';
import { createBackoff } from '../uplink/backoff.js';
import type { DeviceKeys } from './check.js';
import { StoppedError } from './committer.js';
import type { Sql } from './db.js';
import { loadKeys } from './device-keys.js';

export interface KeyLookup {
  /** keys undefined: not enrolled. `at`: monotonic ms of the lookup. */
  keys: DeviceKeys | undefined;
  at: number;
}

export interface KeyCache {
  /** The device's keys; `fresh` asks the store even when cached. */
  get(dev: string, fresh: boolean): Promise<KeyLookup>;
  /** Forget a device (after a rollover). */
  drop(dev: string): void;
  /** Lookups waiting on an unreachable store give up (StoppedError). */
  stop(): void;
}

export function createKeyCache(o: { sql: Sql; clock: Clock; log: Logger }): KeyCache {
  const { clock, log } = o;
  const cache = new Map<string, KeyLookup>();
  const loading = new Map<string, Promise<KeyLookup>>();
  let stopped = false;

  async function fetch(dev: string): Promise<KeyLookup> {
    const backoff = createBackoff({ initialMs: 250, maxMs: 10_000 });
    for (;;) {
      try {
        const keys = (await loadKeys(o.sql, [dev])).get(dev);
        const e = { keys, at: clock.monotonic() };
        if (keys) cache.set(dev, e);
        return e;
      } catch (err) {
        if (stopped) throw new StoppedError();
        const ms = backoff.next();
        if (backoff.attempt() === 1 || ms >= 5_000) log.warn('reading device keys failed, retrying', { dev, error: (err as Error).message, retryMs: ms });
        await clock.sleep(ms);
      }
    }
  }

  return {
    get(dev, fresh) {
      const e = cache.get(dev);
      if (!fresh && e) return Promise.resolve(e);
      let p = loading.get(dev);
      if (!p) {
        p = fetch(dev).finally(() => loading.delete(dev));
        loading.set(dev, p);
      }
      return p;
    },
    drop: (dev) => { cache.delete(dev); },
    stop: () => { stopped = true; },
  };
}
