// The journal's public types (re-exported by journal.ts, which callers import).

import type { DropNotice } from './in-flight.js';
import type { ChainHead, ChainSource, KeptRecord, SeqRange } from './recover.js';

export type { DropNotice } from './in-flight.js';

export interface JournalOptions {
  dir: string;
  /** Bound on the bytes of all segment files together (the small state files are not counted). */
  maxBytes: number;
  /** Roll over to a new segment beyond this size; capped at a quarter of the bound so dropping one segment frees room. */
  segmentBytes: number;
  /** 0 = fsync every append. */
  fsyncIntervalMs: number;
  fsyncEveryRecords: number;
  /** The chain state file; default <dir>/chain. Outside the journal directory, deleting the journal cannot reset the chain. */
  chainPath?: string;
  /** This boot's id (/proc/sys/kernel/random/boot_id): tells a process crash (page cache kept) from a power cut. */
  bootId?: string;
  /** The chain epoch (8 bytes, zeros = the original chain) a stored batch carries; default zeros. */
  epochOf?(payload: Uint8Array): Uint8Array;
}
export interface JournalRecord { seq: number; readings: number; bytes: Uint8Array }
export type DropReason = DropNotice['reason'];
export interface RecoveryReport {
  segments: number; records: number; firstSeq?: number; lastSeq?: number; truncatedBytes: number;
  corruptRecords: number; quarantined: string[]; commitFallback?: string /* why the commit offset was reset */;
  /** Where the chain resumes, and why there (see recover.ts). */
  chain: { seq: number; source: ChainSource; epoch: string; lost: SeqRange[]; why?: string };
}
export interface JournalStats {
  segments: number; diskBytes: number; appended: number; appendedBytes: number; bytesWritten: number; fsyncs: number;
  durableSeq: number; committedSeq: number; lastSeq: number; droppedBatches: number; droppedReadings: number; corruptRecords: number;
  /** journal.maxBytes as configured, and the bound in force: smaller when the disk cannot hold maxBytes. */
  maxBytes: number; limitBytes: number; limitedBy: 'maxBytes' | 'disk';
}
export interface Journal {
  /** Scan and recover; never throws for corrupt content (only for e.g. an unwritable dir). Register onDrop first. */
  open(): Promise<RecoveryReport>;
  /** Newest record on disk (after open: the last intact one). */
  last(): JournalRecord | undefined;
  /** Where the chain stands: the next batch is seq + 1 with prev = hash, in this epoch. */
  chainHead(): ChainHead;
  /** seq must be > chainHead().seq; written now (page cache), durable after the next fsync. */
  append(rec: JournalRecord): Promise<void>;
  /** fsync now (data, then the state files), fires onDurable. */
  sync(): Promise<void>;
  durableSeq(): number;
  committedSeq(): number;
  /** Everything <= seq is acknowledged; never moves backwards; clamps to durableSeq. Persisted with the next data fsync. */
  commit(seq: number): void;
  /** The uplink publishes `seq` now (read by readFrom); false when a drop took and told it since: do not publish it. */
  sent(seq: number): boolean;
  /** The uplink resends from committedSeq() + 1 (its connection is gone): batches dropped while in flight are told now. */
  rewind(): void;
  /** Durable records with seq >= seq, ascending, at most max (skips holes). */
  readFrom(seq: number, max: number): Promise<JournalRecord[]>;
  /** Once, after open(): records open() found, still on disk, above the committed offset (no payloads: start-up reads once). */
  pendingAtOpen(): KeptRecord[];
  onDurable(listener: (durableSeq: number) => void): void;
  /** Unsent records were dropped (journal or disk full; in flight and then not acknowledged), or found unreadable at open. */
  onDrop(listener: (notice: DropNotice) => void): void;
  stats(): JournalStats;
  /** Final fsync (data, commit offset, chain state marked clean), close files. */
  close(): Promise<void>;
}
