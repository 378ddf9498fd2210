// The journal as a part: its options from the config, and the chain's
// resumption at start: open (recovery scan), the encoder continues from the
// journal's chain head, the gap notices recall what was pending and tell
// what open found. Closed last of the pipeline at stop.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/load.js';
import { chainStateAfter, isOriginalEpoch, type ChainState } from '../encode/batch.js';
import type { Journal, JournalOptions, RecoveryReport } from '../journal/journal.js';
import type { Logger } from '../log.js';
import type { Signing } from '../signing.js';
import type { GapTeller } from './gap-teller.js';
import type { Part } from './part.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The kernel's boot id: the same id means a restart lost no page cache (a process crash, not a power cut). */
function readBootId(): string | undefined {
  try { return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'); } catch { return undefined; }
}

export function journalOptions(config: Pick<ResolvedConfig, 'stateDir' | 'journal'>): JournalOptions {
  return {
    dir: join(config.stateDir, 'journal'),
    maxBytes: config.journal.maxBytes,
    segmentBytes: config.journal.segmentBytes,
    fsyncIntervalMs: config.journal.fsyncIntervalMs,
    fsyncEveryRecords: config.journal.fsyncEveryRecords,
    // beside the device key, outside the journal: damage to (or deletion of) the journal cannot reset the chain
    chainPath: join(config.stateDir, 'chain'),
    bootId: readBootId(),
    epochOf: (bytes) => {
      try { return chainStateAfter(bytes).epoch ?? new Uint8Array(8); } catch { return new Uint8Array(8); }
    },
  };
}

export interface JournalPart extends Part {
  /** What the journal's open found; undefined before it opened. */
  report(): RecoveryReport | undefined;
}

export function createJournalPart(journal: Journal, deps: { signing: Signing; gaps: Pick<GapTeller, 'start'>; log: Logger }): JournalPart {
  let opened: RecoveryReport | undefined;
  return {
    name: 'journal',
    report: () => opened,
    async start() {
      const report = await journal.open();
      opened = report;
      // the journal keeps the chain position (its state file survives damage to segments)
      const head = journal.chainHead();
      const chain: ChainState = { seq: head.seq, prev: head.hash, ...(isOriginalEpoch(head.epoch) ? {} : { epoch: head.epoch }) };
      deps.signing.resume(chain);
      await deps.gaps.start({ newEpoch: report.chain.source === 'new-epoch' });
      // the journal logged its own recovery report; this is what the chain resumes from
      deps.log.info('chain resumes', {
        next_seq: chain.seq + 1, committed: journal.committedSeq(), records: report.records, from: report.chain.source,
        ...(chain.epoch ? { epoch: hex(chain.epoch) } : {}),
      });
    },
    stop: () => journal.close(),
  };
}
