// One worker's road into the store: transactions run one at a time, in
// arrival order; data messages waiting together are stored in one transaction
// (group commit — one fsync for several batches). A transaction that fails for
// a passing reason (connection lost, deadlock, server shutting down) is retried
// with backoff, holding its messages (unacknowledged, so intake waits: a slow
// database slows intake instead of growing memory); one the database refuses
// as data is split, and a message it refuses alone is recorded as a reject.

import type { Clock, Timer } from '../../hal/clock.js';
import type { Logger } from '../log.js';
import { createBackoff } from '../uplink/backoff.js';
import { reject, type Checked } from './check.js';
import type { Db, Sql } from './db.js';
import { insertRejects, storeChecked, type Outcome } from './store.js';

export class StoppedError extends Error {
  constructor() { super('ingest worker stopped before this message was stored'); this.name = 'StoppedError'; }
}

export interface Committer {
  /** Stores one checked data message; resolves once committed (then acknowledge it). */
  submit(item: Checked): Promise<Outcome>;
  /** Runs `fn` in a transaction of its own, in queue order (key announcements, sweeps). */
  exclusive<T>(what: string, fn: (tx: Sql) => Promise<T>): Promise<T>;
  /** Waits until everything queued is committed (or `timeoutMs` passes: the rest is refused with StoppedError). */
  stop(timeoutMs: number): Promise<void>;
}

export interface CommitterOptions { db: Db; worker: string; maxGroup: number; clock: Clock; log: Logger }

type Entry =
  | { kind: 'data'; item: Checked; resolve(o: Outcome): void; reject(e: Error): void }
  | { kind: 'exclusive'; what: string; fn: (tx: Sql) => Promise<unknown>; resolve(v: unknown): void; reject(e: Error): void };

/** SQLSTATE classes that are about the data, not the moment: retrying the same rows cannot help. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23)/.test(code);
}

export function createCommitter(opts: CommitterOptions): Committer {
  const { db, worker, clock, log } = opts;
  const queue: Entry[] = [];
  const backoff = createBackoff({ initialMs: 250, maxMs: 10_000 });
  let running = false;
  let stopping = false;
  let wake: { timer: Timer; resolve(): void } | undefined;
  let idle: Array<() => void> = [];

  async function storeGroup(entries: Array<Extract<Entry, { kind: 'data' }>>): Promise<void> {
    const outcomes = await db.transaction((tx) => storeChecked(tx, entries.map((e) => e.item), worker));
    entries.forEach((e, i) => e.resolve(outcomes[i]!));
  }

  /** A message the database refuses on its own: recorded as a reject (and acknowledged). */
  async function refuseOne(e: Extract<Entry, { kind: 'data' }>, err: Error): Promise<void> {
    const it = e.item;
    const r = reject(it.topic, it.dev, it.kind === 'park' ? null : it.seq, 'malformed', `the database refused it: ${err.message}`);
    await db.transaction((tx) => insertRejects(tx, [r], worker));
    e.resolve(r);
  }

  async function runHead(): Promise<void> {
    const head = queue[0]!;
    if (head.kind === 'exclusive') {
      try {
        head.resolve(await db.transaction(head.fn));
      } catch (err) {
        if (!isDataError(err)) throw err;
        head.reject(err as Error);
      }
      queue.shift();
      return;
    }
    let n = 1;
    while (n < opts.maxGroup && queue[n]?.kind === 'data') n++;
    const group = queue.slice(0, n) as Array<Extract<Entry, { kind: 'data' }>>;
    try {
      await storeGroup(group);
    } catch (err) {
      if (!isDataError(err)) throw err;
      // one bad message must not hold the others: one transaction each
      for (const e of group) {
        try { await storeGroup([e]); } catch (one) {
          if (!isDataError(one)) throw one;
          log.warn('message refused by the database', { topic: e.item.topic, error: (one as Error).message });
          await refuseOne(e, one as Error);
        }
        queue.shift();
      }
      return;
    }
    queue.splice(0, n);
  }

  let deadlinePassed = false;

  async function pump(): Promise<void> {
    if (running) return;
    running = true;
    try {
      while (queue.length > 0 && !deadlinePassed) {
        try {
          await runHead();
          backoff.reset();
        } catch (err) {
          const ms = backoff.next();
          const head = queue[0];
          log.warn('store failed, retrying', { what: head?.kind === 'exclusive' ? head.what : 'data', error: (err as Error).message, retryMs: ms, waiting: queue.length });
          await new Promise<void>((resolve) => { wake = { timer: clock.setTimeout(resolve, ms), resolve }; });
          wake = undefined;
        }
      }
    } finally {
      running = false;
    }
    if (queue.length === 0) { const w = idle; idle = []; w.forEach((f) => f()); }
  }

  const enqueue = (e: Entry): void => {
    if (stopping) { e.reject(new StoppedError()); return; }
    queue.push(e);
    void pump();
  };

  return {
    submit: (item) => new Promise<Outcome>((resolve, rej) => enqueue({ kind: 'data', item, resolve, reject: rej })),
    exclusive: <T>(what: string, fn: (tx: Sql) => Promise<T>) => new Promise<T>((resolve, rej) => {
      enqueue({ kind: 'exclusive', what, fn, resolve: resolve as (v: unknown) => void, reject: rej });
    }),
    async stop(timeoutMs) {
      stopping = true;
      if (queue.length === 0 && !running) return;
      let timer: Timer | undefined;
      await new Promise<void>((resolve) => {
        idle.push(resolve);
        timer = clock.setTimeout(() => {
          deadlinePassed = true;
          if (wake) { wake.timer.cancel(); wake.resolve(); }
          resolve();
        }, timeoutMs);
      });
      timer?.cancel();
      // what is left was never stored: refused, so it stays unacknowledged at the broker
      for (const e of queue.splice(0)) e.reject(new StoppedError());
    },
  };
}
