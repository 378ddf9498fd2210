// The ingest core, transport-free: a data message or a key announcement in,
// a promise that settles once its outcome is committed (acknowledge it then).
// Checks what it can from a per-worker cache of device keys first (a cache
// miss or an unknown key id asks the store again), then hands the message to
// the committer, which re-checks under the device's lock. Also sweeps parked
// batches: stored when their key turns up, rejected when it never does.

import type { Clock, Timer } from '../../hal/clock.js';
import { createCounters } from '../counters.js';
import { createKeyedRateLimitedWarn, type Logger } from '../log.js';
import { deviceOfTopic, DEFAULT_TOPIC_PREFIX } from '../uplink/topics.js';
import { checkBatch, reject } from './check.js';
import { createCommitter, type Committer } from './committer.js';
import type { Db } from './db.js';
import { createKeyCache } from './key-cache.js';
import { sweepParked } from './parked.js';
import { recordRollover, type RolloverOutcome } from './rollover.js';
import { insertRejects, type Outcome } from './store.js';

export interface IngestOptions {
  db: Db;
  /** Names this worker in rows it writes and in logs. */
  worker: string;
  topicPrefix?: string;
  /** Most data messages stored in one transaction (default 16). */
  maxGroup?: number;
  /** How long a batch signed by an unannounced key waits for its announcement (default 1 h). */
  parkTimeoutMs?: number;
  /** How often parked batches are looked at (default 5 s). */
  sweepIntervalMs?: number;
  clock: Clock;
  log: Logger;
}

export interface Ingest {
  /** A message from <prefix>/<dev>/data; resolves once its outcome is committed. */
  data(topic: string, payload: Uint8Array): Promise<Outcome>;
  /** A message from <prefix>/<dev>/key; resolves once recorded (or refused). */
  key(topic: string, payload: Uint8Array): Promise<RolloverOutcome | undefined>;
  counters(): Record<string, number>;
  start(): void;
  /** Stops sweeping and waits (up to timeoutMs) for what is queued to commit. */
  stop(timeoutMs?: number): Promise<void>;
}

export function createIngest(opts: IngestOptions): Ingest {
  const { db, worker, clock, log } = opts;
  const prefix = opts.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
  const parkTimeoutS = Math.max(1, Math.round((opts.parkTimeoutMs ?? 3_600_000) / 1000));
  const counters = createCounters();
  const committer: Committer = createCommitter({ db, worker, maxGroup: opts.maxGroup ?? 16, clock, log });
  const keys = createKeyCache({ sql: db, clock, log });
  const warnLimited = createKeyedRateLimitedWarn(log, 10_000, () => clock.monotonic());
  let sweepTimer: Timer | undefined;
  let stopped = false;

  function count(o: Outcome | RolloverOutcome, what: 'data' | 'key'): void {
    counters.inc(`${what}.${o.kind === 'reject' ? `rejected.${o.code}` : o.kind}`);
    if (o.kind === 'stored') { counters.inc('readings', o.readings); log.debug('stored', { dev: o.dev, seq: o.seq, readings: o.readings }); }
    if (o.kind === 'duplicate') log.debug('duplicate, ignored', { dev: o.dev, seq: o.seq });
    if (o.kind === 'parked') log.info('parked: signed by a key not announced yet', { dev: o.dev, kid: o.kidHex });
    // all of them are in tapwire_rejects; the log gets one line per kind per 10 s (a flood of forgeries is not a log flood)
    if (o.kind === 'reject') warnLimited(`${what} message rejected (${o.code})`, { topic: o.topic, seq: o.seq ?? undefined, reason: o.reason });
    if (o.kind === 'rollover' && !o.duplicate) log.info('key rollover recorded', { dev: o.dev, from_seq: o.from, new_kid: o.newKid, signed_by: o.signedBy });
    if (o.kind === 'rollover') for (const u of o.unparked) count(u, 'data');
  }

  async function data(topic: string, payload: Uint8Array): Promise<Outcome> {
    counters.inc('data.messages');
    const dev = deviceOfTopic(topic, prefix, 'data');
    let checked;
    if (dev === undefined) {
      checked = reject(topic, null, null, 'malformed', `topic ${topic} is not ${prefix}/<device id>/data`);
    } else {
      let entry = await keys.get(dev, false);
      checked = checkBatch(topic, dev, payload, entry.keys);
      if (checked.kind === 'park' && entry.at < clock.monotonic()) {
        // the key may have been announced since we cached the device's keys
        entry = await keys.get(dev, true);
        checked = checkBatch(topic, dev, payload, entry.keys);
      }
    }
    const outcome = await committer.submit(checked);
    count(outcome, 'data');
    return outcome;
  }

  async function key(topic: string, payload: Uint8Array): Promise<RolloverOutcome | undefined> {
    if (payload.length === 0) return undefined; // a cleared retained message
    counters.inc('key.messages');
    const dev = deviceOfTopic(topic, prefix, 'key');
    const outcome = await committer.exclusive('key announcement', async (tx): Promise<RolloverOutcome> => {
      if (dev === undefined) {
        const r = reject(topic, null, null, 'malformed', `topic ${topic} is not ${prefix}/<device id>/key`);
        await insertRejects(tx, [r], worker, true);
        return r;
      }
      return recordRollover(tx, topic, dev, payload, worker);
    });
    if (dev !== undefined) keys.drop(dev);
    count(outcome, 'key');
    return outcome;
  }

  function scheduleSweep(): void {
    if (stopped) return;
    sweepTimer = clock.setTimeout(() => {
      committer.exclusive('sweep of parked batches', (tx) => sweepParked(tx, parkTimeoutS, worker)).then(
        (outs) => { for (const o of outs) count(o, 'data'); },
        (err: Error) => log.warn('sweep of parked batches failed', { error: err.message }),
      ).finally(scheduleSweep);
    }, opts.sweepIntervalMs ?? 5_000);
  }

  return {
    data, key,
    counters: () => counters.snapshot(),
    start: scheduleSweep,
    async stop(timeoutMs = 10_000) {
      stopped = true;
      sweepTimer?.cancel();
      keys.stop();
      await committer.stop(timeoutMs);
    },
  };
}
