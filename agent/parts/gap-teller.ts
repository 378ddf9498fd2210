// Every loss told, once: turns the journal's drop notices (journal or disk
// full, unreadable at open) and batches that were signed but could not be
// journaled into signed gap notices, appended in the agent's append chain.
// Notices raised while the journal opens wait until the chain is known (a
// gap notice needs its seq); notices journaled before a restart and not yet
// acknowledged are recalled, so a range is never told under two seqs. At
// start, every seq above the committed offset must be on disk or told by a
// pending notice: a hole that is neither (a drop or failed write whose notice
// a crash interrupted) is told with reason `lost`.

import type { BatchEncoder } from '../encode/batch.js';
import { parseBatchPayload } from '../encode/batch.js';
import { decodeSign1 } from '../encode/cose.js';
import type { Counters } from '../counters.js';
import { chainStateAfter } from '../encode/batch.js';
import { createGapLedger, mergeRanges, subtract, type GapRange } from './gap-ledger.js';
import type { DropNotice, Journal } from '../journal/journal.js';
import type { Logger } from '../log.js';

export interface GapTellerDeps {
  journal: Pick<Journal, 'append' | 'chainHead' | 'committedSeq' | 'readFrom' | 'onDrop' | 'pendingAtOpen'>;
  /** The encoder in use now (a key rollover replaces it). */
  encoder(): BatchEncoder;
  /** Runs work in the agent's append chain (serialised with the batches). */
  enqueue(work: () => Promise<void>): void;
  counters: Counters;
  log: Logger;
  /** Each record that waits for the broker: journaled now, or found pending at start (journaledNow false). */
  onPending?(seq: number, bytes: number, journaledNow: boolean): void;
}

export interface GapTeller {
  /** Journals a signed batch; if it cannot be journaled, its spent seq is told before the next batch. */
  journalBatch(batch: { seq: number; readings: number; bytes: Uint8Array }): Promise<void>;
  /** Tells what is still to be told: seqs signed but not journaled, drops whose notice failed (run at the head of each append). */
  tellUntold(): Promise<void>;
  /** After the journal opened and the encoder resumed: recall pending notices, tell what open found and any untold hole. */
  start(opts: { newEpoch: boolean }): Promise<void>;
}

const DROP_MESSAGE: Record<DropNotice['reason'], string> = {
  'journal-full': 'journal full: dropped unsent batches',
  'disk-full': 'disk full: dropped unsent batches',
  corrupt: 'journal: unreadable batches lost',
};

const epochHex = (bytes: Uint8Array): string => {
  try { return Buffer.from(chainStateAfter(bytes).epoch ?? []).toString('hex'); } catch { return '?'; }
};

export function createGapTeller(deps: GapTellerDeps): GapTeller {
  const { journal, counters, log } = deps;
  const ledger = createGapLedger();
  let untold: GapRange[] = [];
  let chainKnown = false;
  const early: Array<{ notice: DropNotice; emit: () => void }> = [];

  async function journalBatch(batch: { seq: number; readings: number; bytes: Uint8Array }): Promise<void> {
    try {
      await journal.append({ seq: batch.seq, readings: batch.readings, bytes: batch.bytes });
      deps.onPending?.(batch.seq, batch.bytes.length, true);
    } catch (err) {
      if (batch.seq > journal.chainHead().seq) { // signed, so spent: it must be told, never reused
        const reason = (err as { code?: unknown }).code === 'ENOSPC' ? 'disk-full' : 'write-error';
        untold = mergeRanges([...untold, { first: batch.seq, last: batch.seq, reason }]);
        counters.inc('readings.lost', batch.readings);
        log.warn('batch signed but not journaled: it will be told in a gap notice', { seq: batch.seq, readings: batch.readings, reason });
      }
      throw err;
    }
  }

  async function tellRange(range: GapRange): Promise<void> {
    const gap = deps.encoder().encodeGap(range.first, range.last, range.reason);
    await journalBatch({ seq: gap.seq, readings: 0, bytes: gap.bytes });
    counters.inc('gaps.notices');
    ledger.announced({ ...range, seq: gap.seq });
  }

  journal.onDrop((notice) => {
    log.warn(DROP_MESSAGE[notice.reason], {
      first: notice.first, last: notice.last, batches: notice.batches, readings: notice.readings, reason: notice.reason,
    });
    const emit = (): void => deps.enqueue(async () => {
      // the drop may have taken earlier, unsent gap notices with it: tell those ranges again
      untold = mergeRanges([...untold, ...ledger.dropped(notice, journal.committedSeq())]);
      await tellUntold();
    });
    if (chainKnown) emit(); else early.push({ notice, emit });
  });

  /** One record's bytes, read by seq (the few that recall needs: the records around a hole). */
  async function bytesOf(seq: number): Promise<Uint8Array | undefined> {
    const [rec] = await journal.readFrom(seq, 1);
    return rec?.seq === seq ? rec.bytes : undefined;
  }

  /**
   * Gap notices journaled before a restart and not yet acknowledged go back
   * into the ledger; returns the seqs above the committed offset that are not
   * on disk (between records of one chain epoch, and after the last one).
   * Works from what the journal's open already scanned (seq, readings, size,
   * and the payloads of notices): only the records on either side of a hole
   * (after damage or a crash mid-drop) are read again.
   */
  async function recall(withTail: boolean): Promise<GapRange[]> {
    const holes: GapRange[] = [];
    let expect = journal.committedSeq() + 1;
    let prevSeq: number | undefined;
    for (const rec of journal.pendingAtOpen()) {
      if (rec.seq < expect) continue;
      if (rec.seq > expect) {
        const a = prevSeq === undefined ? undefined : await bytesOf(prevSeq);
        const b = a === undefined ? undefined : await bytesOf(rec.seq);
        if (prevSeq === undefined || (a !== undefined && b !== undefined && epochHex(a) === epochHex(b))) holes.push({ first: expect, last: rec.seq - 1, reason: 'lost' });
      }
      expect = rec.seq + 1;
      prevSeq = rec.seq;
      deps.onPending?.(rec.seq, rec.bytes, false);
      if (rec.readings !== 0) continue;
      const bytes = rec.payload ?? await bytesOf(rec.seq);
      try {
        const p = bytes && parseBatchPayload(decodeSign1(bytes).payload);
        if (p && p.gap) ledger.announced({ seq: rec.seq, first: p.gap[0], last: p.gap[1], reason: p.gap[2] });
      } catch { /* not a gap notice we can read: nothing to recall */ }
    }
    const head = journal.chainHead().seq;
    if (withTail && head >= expect) holes.push({ first: expect, last: head, reason: 'lost' });
    return holes;
  }

  /** Tells every range still to be told; one that cannot be journaled stays (with the notice's own spent seq). */
  async function tellUntold(): Promise<void> {
    while (untold.length > 0) {
      const range = untold[0]!;
      untold = untold.slice(1);
      try {
        await tellRange(range);
      } catch (err) {
        untold = mergeRanges([...untold, range]);
        throw err;
      }
    }
  }

  return {
    journalBatch,
    tellUntold,
    async start(opts) {
      // a new epoch starts after every seq in evidence: the old chain's holes are not its to tell
      const holes = await recall(!opts.newEpoch);
      chainKnown = true;
      const told = mergeRanges([
        ...ledger.pending(journal.committedSeq()).map(({ first, last }) => ({ first, last, reason: '' })),
        ...early.map(({ notice }) => ({ first: notice.first, last: notice.last, reason: '' })),
      ]);
      const lost = opts.newEpoch ? [] : holes.flatMap((h) => subtract(h, told));
      if (lost.length > 0) {
        log.warn('seqs found missing and never told (a drop or failed write cut short by a crash): told now', { ranges: lost.map((r) => `${r.first}..${r.last}`).join(',') });
        untold = mergeRanges([...untold, ...lost]);
      }
      const emits = early.splice(0);
      for (const e of emits) e.emit();
      if (emits.length === 0 && untold.length > 0) deps.enqueue(async () => undefined); // tellUntold runs first
    },
  };
}
