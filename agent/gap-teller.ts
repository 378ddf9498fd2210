// Every loss told, once: turns the journal's drop notices (journal or disk
// full, unreadable at open) and batches that were signed but could not be
// journaled into signed gap notices, appended in the agent's append chain.
// Notices raised while the journal opens wait until the chain is known (a
// gap notice needs its seq); notices journaled before a restart and not yet
// acknowledged are recalled, so a range is never told under two seqs.

import type { BatchEncoder } from './encode/batch.js';
import { parseBatchPayload } from './encode/batch.js';
import { decodeSign1 } from './encode/cose.js';
import type { Counters } from './counters.js';
import { createGapLedger, mergeRanges, type GapRange } from './gap-ledger.js';
import type { DropNotice, Journal } from './journal/journal.js';
import type { Logger } from './log.js';

export interface GapTellerDeps {
  journal: Pick<Journal, 'append' | 'chainHead' | 'committedSeq' | 'readFrom' | 'onDrop'>;
  /** The encoder in use now (a key rollover replaces it). */
  encoder(): BatchEncoder;
  /** Runs work in the agent's append chain (serialised with the batches). */
  enqueue(work: () => Promise<void>): void;
  counters: Counters;
  log: Logger;
}

export interface GapTeller {
  /** Journals a signed batch; if it cannot be journaled, its spent seq is told before the next batch. */
  journalBatch(batch: { seq: number; readings: number; bytes: Uint8Array }): Promise<void>;
  /** Tells the seqs that were signed but not journaled (run at the head of each append). */
  tellUntold(): Promise<void>;
  /** After the journal opened and the encoder resumed: recall pending notices, tell what open found. */
  start(): Promise<void>;
}

const DROP_MESSAGE: Record<DropNotice['reason'], string> = {
  'journal-full': 'journal full: dropped unsent batches',
  'disk-full': 'disk full: dropped unsent batches',
  corrupt: 'journal: unreadable batches lost',
};

export function createGapTeller(deps: GapTellerDeps): GapTeller {
  const { journal, counters, log } = deps;
  const ledger = createGapLedger();
  let untold: GapRange[] = [];
  let chainKnown = false;
  const early: Array<() => void> = [];

  async function journalBatch(batch: { seq: number; readings: number; bytes: Uint8Array }): Promise<void> {
    try {
      await journal.append({ seq: batch.seq, readings: batch.readings, bytes: batch.bytes });
    } catch (err) {
      if (batch.seq > journal.chainHead().seq) { // signed, so spent: it must be told, never reused
        const reason = (err as { code?: unknown }).code === 'ENOSPC' ? 'disk-full' : 'write-error';
        untold = mergeRanges([...untold, { first: batch.seq, last: batch.seq, reason }]);
        counters.inc('readings.lost', batch.readings);
      }
      throw err;
    }
  }

  async function tellRange(range: GapRange): Promise<void> {
    const gap = deps.encoder().encodeGap(range.first, range.last, range.reason);
    await journalBatch({ seq: gap.seq, readings: 0, bytes: gap.bytes });
    ledger.announced({ ...range, seq: gap.seq });
  }

  journal.onDrop((notice) => {
    counters.inc('gaps.notices');
    log.warn(DROP_MESSAGE[notice.reason], {
      first: notice.first, last: notice.last, batches: notice.batches, readings: notice.readings, reason: notice.reason,
    });
    const emit = (): void => deps.enqueue(async () => {
      // the drop may have taken earlier, unsent gap notices with it: tell those ranges again
      for (const range of ledger.dropped(notice, journal.committedSeq())) await tellRange(range);
    });
    if (chainKnown) emit(); else early.push(emit);
  });

  /** Gap notices journaled before a restart and not yet acknowledged go back into the ledger. */
  async function recall(): Promise<void> {
    let from = journal.committedSeq() + 1;
    for (;;) {
      const records = await journal.readFrom(from, 1000);
      if (records.length === 0) return;
      for (const rec of records) {
        if (rec.readings !== 0) continue;
        try {
          const p = parseBatchPayload(decodeSign1(rec.bytes).payload);
          if (p.gap) ledger.announced({ seq: rec.seq, first: p.gap[0], last: p.gap[1], reason: p.gap[2] });
        } catch { /* not a gap notice we can read: nothing to recall */ }
      }
      from = records[records.length - 1]!.seq + 1;
    }
  }

  return {
    journalBatch,
    async tellUntold() {
      while (untold.length > 0) {
        const range = untold[0]!;
        untold = untold.slice(1);
        counters.inc('gaps.notices');
        log.warn('batch signed but not journaled: told in a gap notice', { first: range.first, last: range.last, reason: range.reason });
        try {
          await tellRange(range);
        } catch (err) {
          untold = mergeRanges([...untold, range]); // with the notice's own spent seq, told next time
          throw err;
        }
      }
    },
    async start() {
      await recall();
      chainKnown = true;
      for (const emit of early.splice(0)) emit();
    },
  };
}
