// Batches in flight: published by the uplink, not yet acknowledged by the
// broker. A drop (journal or disk full) that takes one cannot call it unsent:
// the broker may have it, and its PUBACK may still come. Such a drop is held
// here until the PUBACK (the commit passes it: delivered, nothing to tell) or
// until the uplink rewinds to resend from the committed offset (its
// connection is gone and the batch is no longer on disk to send again: told
// then). A batch dropped and told as unsent is never published afterwards.

import type { Counters } from '../counters.js';
import type { Logger } from '../log.js';
import type { Drop, InFlightRecord } from './segments.js';

export interface DropNotice { first: number; last: number; batches: number; readings: number; reason: 'journal-full' | 'disk-full' | 'corrupt' }

export interface InFlightDeps {
  log: Logger;
  counters: Counters;
  committed(): number;
  /** The oldest seq still on disk (Infinity when none). */
  oldestOnDisk(): number;
  /** Tells a loss (the journal's drop notice). */
  tell(notice: DropNotice): void;
}

export interface InFlight {
  /** Seqs in (committed, upTo()] are in flight. */
  upTo(): number;
  /** The uplink publishes `seq` now; false when it was dropped (and told) since it was read: do not publish it. */
  sent(seq: number): boolean;
  /** Segments were dropped: the unsent part is told now, the part in flight held. */
  dropped(drop: Drop): void;
  /** The commit offset moved: held records up to it were acknowledged. */
  committed(seq: number): void;
  /** The uplink resends from the committed offset: held records were not acknowledged and are told now. */
  rewind(): void;
}

/** The unsent part of a drop as a notice. */
export const unsentNotice = (d: Drop): DropNotice | undefined => (d.unsent ? { ...d.unsent, reason: d.reason } : undefined);

export function createInFlight(deps: InFlightDeps): InFlight {
  let upTo = 0;
  let held: Array<InFlightRecord & { reason: Drop['reason'] }> = [];

  return {
    upTo: () => Math.max(upTo, deps.committed()),
    sent(seq) {
      if (seq < deps.oldestOnDisk()) return false;
      upTo = Math.max(upTo, seq);
      return true;
    },
    dropped(drop) {
      if (drop.inFlight.length > 0) {
        held.push(...drop.inFlight.map((r) => ({ ...r, reason: drop.reason })));
        deps.counters.inc('journal.dropped_in_flight', drop.inFlight.length);
        deps.log.info('dropped batches in flight: told only if the broker does not acknowledge them', {
          first: drop.inFlight[0]!.seq, last: drop.inFlight[drop.inFlight.length - 1]!.seq, reason: drop.reason,
        });
      }
      const notice = unsentNotice(drop);
      if (notice) deps.tell(notice);
    },
    committed(seq) {
      if (held.length > 0) held = held.filter((r) => r.seq > seq);
    },
    rewind() {
      upTo = deps.committed();
      const lost = held;
      held = [];
      let run: DropNotice | undefined;
      for (const r of lost) {
        if (run && r.seq === run.last + 1 && r.reason === run.reason) {
          run.last = r.seq;
          run.batches++;
          run.readings += r.readings;
          continue;
        }
        if (run) deps.tell(run);
        run = { first: r.seq, last: r.seq, batches: 1, readings: r.readings, reason: r.reason };
      }
      if (run) deps.tell(run);
    },
  };
}
