// Readings into signed, journaled batches: the batcher closes batches, the
// append chain signs and journals them one at a time. Appends are
// serialised: a drop notice raised inside one append is signed and appended
// right after it, never interleaved; a batch signed but not journaled is told
// in a gap notice before the next one (gap-teller.ts). At stop: the open
// batch is flushed and everything queued is journaled (or told).

import type { Clock } from '../../hal/clock.js';
import type { ResolvedConfig } from '../config/load.js';
import type { Counters } from '../counters.js';
import { createBatcher } from '../encode/batcher.js';
import type { Logger } from '../log.js';
import { createProgressProbe } from '../progress.js';
import type { Reading } from '../reading.js';
import type { Signing } from '../signing.js';
import type { GapTeller } from './gap-teller.js';
import type { Part } from './part.js';

export interface Batches extends Part {
  add(reading: Reading): void;
  /** Runs `work` in the append chain, after what is still untold. */
  enqueue(work: () => Promise<void>): void;
  /** Resolves once everything queued so far is journaled (or told). */
  idle(): Promise<void>;
  /** Readings in the open batch. */
  pending(): number;
  /** Why the pipeline is stuck (see progress.ts), or undefined. */
  stalled(limitMs: number, journal: { lastSeq: number; durableSeq: number }): string | undefined;
}

export interface BatchesDeps {
  clock: Clock;
  signing: Signing;
  gaps: Pick<GapTeller, 'journalBatch' | 'tellUntold'>;
  counters: Counters;
  log: Logger;
}

export function createBatches(config: Pick<ResolvedConfig, 'batch' | 'journal'>, deps: BatchesDeps): Batches {
  const { signing, gaps, counters, log } = deps;
  let chain: Promise<void> = Promise.resolve();
  let firstJournaled = false;
  const progress = createProgressProbe(deps.clock, { batchMaxAgeMs: config.batch.maxAgeMs, fsyncIntervalMs: config.journal.fsyncIntervalMs });

  const enqueue = (work: () => Promise<void>): void => {
    progress.queued();
    chain = chain.then(() => gaps.tellUntold()).then(work).catch((err: Error) => {
      counters.inc('journal.append_errors');
      log.error('journal append failed: batch lost (told in a gap notice)', { cause: err.message });
    }).finally(progress.settled);
  };

  async function journalReadings(readings: Reading[]): Promise<void> {
    const batch = signing.encoder.encodeReadings(readings);
    await gaps.journalBatch(batch);
    counters.inc('batches.signed');
    counters.inc('readings.journaled', batch.readings);
    if (!firstJournaled) {
      firstJournaled = true;
      log.info('first batch journaled', { seq: batch.seq, uptime_ms: Math.round(process.uptime() * 1000) });
    }
  }

  const batcher = createBatcher(config.batch, { clock: deps.clock, onBatch: (readings) => enqueue(() => journalReadings(readings)) });

  return {
    name: 'batches',
    add: (r) => batcher.add(r),
    enqueue,
    idle: () => chain,
    pending: () => batcher.pending(),
    stalled: (limitMs, j) => progress.stalled(limitMs, { pendingReadings: batcher.pending(), ...j }),
    start() {},
    async stop() {
      batcher.flush();
      enqueue(async () => undefined); // tells what is still untold
      await chain;
    },
  };
}
