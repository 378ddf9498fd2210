// Store and forward: signed batches appended to segment files, fsynced in batches, handed to the
// uplink only once durable, deleted once committed or (journal or disk full) dropped oldest first and told.
// Invariants: seqs strictly increase and never go back, even past damage (the chain state file);
// nothing durable is lost untold; the persisted commit <= durable.

import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Clock, Timer } from '../../hal/clock.js';
import type { FileSystem } from '../../hal/file.js';
import type { Counters } from '../counters.js';
import type { Logger } from '../log.js';
import { parseBootId } from './chain-file.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, encodeRecord } from './format.js';
import { createInFlight, unsentNotice } from './in-flight.js';
import { createJournalReader } from './read.js';
import { keptOnDisk, lostAtOpen, recoverSegments, resolveChain, resolveCommitted, type ChainHead, type KeptRecord } from './recover.js';
import { createSegmentStore } from './segments.js';
import { createSpaceBound } from './space.js';
import { createJournalState } from './state.js';
import type { DropNotice, Journal, JournalOptions, JournalRecord, RecoveryReport } from './types.js';

export type { ChainHead, KeptRecord } from './recover.js';
export type * from './types.js';
export { CHAIN_LEASE } from './state.js';

export interface JournalDeps {
  fs: FileSystem; clock: Clock; log: Logger; counters: Counters;
  /** Randomness for a new epoch id; default node:crypto. */
  randomBytes?(n: number): Uint8Array;
}

const MAX_READINGS = 0xffff_ffff;
/** Retry delay for a failed fsync when fsyncIntervalMs is 0 (no interval to reuse). */
const FSYNC_RETRY_MS = 1000;

const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function createJournal(opts: JournalOptions, deps: JournalDeps): Journal {
  const { fs, clock, counters } = deps;
  const log = deps.log.child('journal');
  if (!(opts.maxBytes >= 4096)) throw new RangeError(`journal.maxBytes must be >= 4096 (got ${opts.maxBytes})`);
  if (!(opts.segmentBytes >= 256)) throw new RangeError(`journal.segmentBytes must be >= 256 (got ${opts.segmentBytes})`);
  if (!(opts.fsyncIntervalMs >= 0)) throw new RangeError(`journal.fsyncIntervalMs must be >= 0 (got ${opts.fsyncIntervalMs})`);
  if (!(opts.fsyncEveryRecords >= 1)) throw new RangeError(`journal.fsyncEveryRecords must be >= 1 (got ${opts.fsyncEveryRecords})`);
  // dropping the oldest segment must always make room for one more: never more than a quarter of the bound per segment
  const segLimit = Math.min(opts.segmentBytes, Math.floor(opts.maxBytes / 4));
  const maxFrame = segLimit - SEGMENT_HEADER_BYTES;
  const chainPath = opts.chainPath ?? join(opts.dir, 'chain');
  const bound = createSpaceBound(opts.dir, opts.maxBytes, fs);
  const bootId = parseBootId(opts.bootId);
  const epochOf = opts.epochOf ?? (() => new Uint8Array(8));
  const random = deps.randomBytes ?? ((n: number) => new Uint8Array(randomBytes(n)));
  const pathOf = (name: string): string => join(opts.dir, name);

  let lastRec: JournalRecord | undefined;
  let chain: ChainHead = { seq: 0, hash: new Uint8Array(32), epoch: new Uint8Array(8) };
  let acceptedSeq = 0; // highest seq handed to append(), checked before queueing
  let durable = 0;
  let committed = 0;
  let unsynced = 0;
  let timer: Timer | undefined;
  let state: 'new' | 'opening' | 'open' | 'closed' = 'new';
  let tail: Promise<unknown> = Promise.resolve();
  const dirtyDirs = new Set<string>(); // directories whose entries changed (state files created)
  /** What open() scanned, until pendingAtOpen() hands it over (or the journal closes). */
  let keptAtOpen: KeptRecord[] = [];
  /** Drop notices found by open(), told once open() resolved (so a listener can append its gap notice). */
  let pendingNotices: DropNotice[] = [];
  const durableListeners: Array<(seq: number) => void> = [];
  const dropListeners: Array<(n: DropNotice) => void> = [];
  const st = { appended: 0, appendedBytes: 0, bytesWritten: 0, fsyncs: 0, droppedBatches: 0, droppedReadings: 0, corruptRecords: 0 };

  const lastSeq = (): number => lastRec?.seq ?? 0;
  const fsyncOf = async (sync: () => Promise<void>): Promise<void> => {
    await sync();
    st.fsyncs++;
    counters.inc('journal.fsyncs');
  };
  const wrote = (n: number): void => { st.bytesWritten += n; };
  const inFlight = createInFlight({ log, counters, committed: () => committed, oldestOnDisk: () => store.list()[0]?.firstSeq ?? Infinity, tell: emitDrop });
  const store = createSegmentStore({
    fs, log, counters, pathOf, bound, segLimit, committed: () => committed, sentUpTo: inFlight.upTo, lastSeq, forget: (seg) => reader.forget(seg),
    fsync: fsyncOf, wrote, onDrop: inFlight.dropped,
  });
  const reader = createJournalReader({ fs, log, pathOf, countCorrupt, segments: store.list, durable: () => durable, activeHandle: store.activeHandle });
  const files = createJournalState({
    fs, log, counters, commitPath: pathOf('commit'), chainPath, bootId, fsync: fsyncOf, wrote, created: (dir) => dirtyDirs.add(dir),
  });

  /** Journal operations run one at a time, in call order. */
  function enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = tail.then(fn);
    tail = p.catch(() => undefined);
    return p;
  }

  function emitDrop(n: DropNotice): void {
    st.droppedBatches += n.batches;
    st.droppedReadings += n.readings;
    counters.inc('journal.dropped_batches', n.batches);
    counters.inc('journal.dropped_readings', n.readings);
    log.warn('dropped unsent batches', { first: n.first, last: n.last, batches: n.batches, readings: n.readings, reason: n.reason });
    for (const l of dropListeners) {
      try { l(n); } catch (err) { log.error('drop listener failed', { err: String(err) }); }
    }
  }

  function countCorrupt(n: number): void {
    st.corruptRecords += n;
    counters.inc('journal.corrupt_records', n);
  }

  /** fsync of the directories whose entries changed: segments created or removed, state files created. */
  async function syncDirs(): Promise<void> {
    if (store.dirDirty()) { store.markDir(false); dirtyDirs.add(opts.dir); }
    for (const dir of [...dirtyDirs]) {
      await fsyncOf(() => fs.syncDir(dir));
      dirtyDirs.delete(dir);
    }
  }

  // ── open ────────────────────────────────────────────────────────────────

  async function doOpen(): Promise<RecoveryReport> {
    await fs.mkdir(opts.dir);
    const scan = await recoverSegments(opts.dir, fs, log);
    lastRec = scan.last;
    keptAtOpen = scan.kept;
    if (scan.dirDirty) dirtyDirs.add(opts.dir);
    for (const k of scan.damageSeen) reader.damageSeen.add(k);
    const loaded = await files.load();
    const res = resolveChain({
      scan, lastHash: lastRec ? sha256(lastRec.bytes) : new Uint8Array(32), lastEpoch: lastRec ? epochOf(lastRec.bytes) : new Uint8Array(8),
      chain: loaded.chain, committed: loaded.commit.ok ? loaded.commit.seq : undefined,
      commitFileSeen: loaded.commit.ok || loaded.commit.missing !== true,
      bootId, newEpoch: () => { const e = random(8); if (e.every((x) => x === 0)) e[0] = 1; return e; },
    });
    chain = res.head;
    acceptedSeq = Math.max(lastSeq(), chain.seq);
    const report: RecoveryReport = {
      segments: 0, records: 0, truncatedBytes: scan.truncatedBytes, corruptRecords: scan.corruptRecords, quarantined: scan.quarantined,
      chain: { seq: chain.seq, source: res.source, epoch: hex(chain.epoch), lost: res.lost, ...(res.why ? { why: res.why } : {}) },
    };
    const c = resolveCommitted(loaded.commit, Math.max(lastSeq(), chain.seq), lastSeq(), scan.segments[0]?.firstSeq);
    committed = c.committed;
    if (c.adopted) files.adoptCommitted(committed);
    if (c.fallback) {
      report.commitFallback = c.fallback;
      log.warn('commit offset reset', { reason: c.fallback, committed, resendFrom: committed + 1 });
    }

    // records a previous process wrote but did not fsync are in the page cache only: make them durable now
    for (const seg of scan.segments) {
      const h = await fs.open(pathOf(seg.name), 'readwrite');
      try { await fsyncOf(() => h.sync()); } finally { await h.close(); }
    }
    durable = lastSeq();
    await store.adopt(scan.segments);
    await store.deleteCommitted();
    // a full disk (or a lowered maxBytes) is enforced before anything new is written
    await bound.refresh(store.diskBytes());
    const full = await store.makeRoom(0, false);
    const unsent = full && unsentNotice(full); // nothing is in flight yet
    if (unsent) pendingNotices.push(unsent);
    // the state files exist from now on, at their full size: rewriting them never needs space
    try {
      await files.open(chain, committed);
    } catch (err) {
      counters.inc('journal.state_write_errors');
      log.error('cannot write the chain state file; the chain position is only in the journal until it can', { file: chainPath, err: String(err) });
    }
    await syncDirs();

    const segments = store.list();
    report.segments = segments.length;
    report.records = segments.reduce((n, s) => n + s.records, 0);
    if (segments[0]) report.firstSeq = segments[0].firstSeq;
    if (lastRec) report.lastSeq = lastRec.seq;
    if (report.corruptRecords > 0) countCorrupt(report.corruptRecords);
    if (report.truncatedBytes > 0) counters.inc('journal.truncated_bytes', report.truncatedBytes);
    pendingNotices.push(...lostAtOpen(res, committed, { log, counters, chainPath }));
    log.info('journal opened', {
      dir: opts.dir, segments: report.segments, records: report.records, first: report.firstSeq, last: report.lastSeq,
      chain: chain.seq, committed, truncated: report.truncatedBytes, corrupt: report.corruptRecords, quarantined: report.quarantined.length,
      limit: bound.limit(), limitedBy: bound.limitedBy(),
    });
    return report;
  }

  // ── write path ──────────────────────────────────────────────────────────

  /** The fsync timer: started by the first unsynced write, never running while nothing is unsynced. */
  function armFsyncTimer(ms = opts.fsyncIntervalMs): void {
    if (timer || ms === 0) return;
    timer = clock.setTimeout(() => {
      timer = undefined;
      if (state === 'open') enqueue(doSync).catch(() => undefined); // doSync logs and re-arms
    }, ms);
  }

  async function doAppend(rec: JournalRecord): Promise<void> {
    const frame = encodeRecord(rec.seq, rec.readings, rec.bytes);
    await store.write(rec.seq, rec.readings, frame); // a full disk drops (and tells) the oldest segment
    // the chain position is the last batch journaled (signed), not the last fsynced: a lost tail is told, never reused
    chain = { seq: rec.seq, hash: sha256(rec.bytes), epoch: chain.epoch };
    await files.afterAppend(chain);
    lastRec = { seq: rec.seq, readings: rec.readings, bytes: frame.subarray(RECORD_HEADER_BYTES) };
    st.appended++;
    st.appendedBytes += rec.bytes.length;
    st.bytesWritten += frame.length;
    unsynced++;
    if (opts.fsyncIntervalMs === 0 || unsynced >= opts.fsyncEveryRecords) {
      // the record is written; a failed fsync is logged, counted and retried, and the record stays non-durable
      await doSync().catch(() => undefined);
    } else {
      armFsyncTimer();
    }
  }

  /** fsync data (written segments, the directory), write the state files; then report durable. */
  async function doSync(): Promise<void> {
    if (timer) { timer.cancel(); timer = undefined; }
    try {
      await syncOnce();
    } catch (err) {
      log.error('fsync failed; retrying', { dir: opts.dir, err: String(err) });
      counters.inc('journal.fsync_errors');
      if (unsynced > 0) armFsyncTimer(opts.fsyncIntervalMs || FSYNC_RETRY_MS);
      throw err;
    }
  }

  async function syncOnce(): Promise<void> {
    const target = lastSeq();
    await store.syncData();
    // new segment files are durable only with their directory entry: before the chain state names their records
    await syncDirs();
    // The commit offset is written after each data fsync but fsynced only at
    // close (SD wear): a power cut can only leave it older (a resend,
    // deduplicated by the cloud). The chain position was written at append.
    await files.afterSync(committed);
    await syncDirs(); // a state file was created
    unsynced = 0;
    if (target > durable) {
      durable = target;
      for (const l of durableListeners) {
        try { l(durable); } catch (err) { log.error('durable listener failed', { err: String(err) }); }
      }
    }
  }

  // ── the interface ───────────────────────────────────────────────────────

  const mustBeOpen = (what: string): void => {
    if (state !== 'open') throw Object.assign(new Error(`journal ${opts.dir}: ${what} while ${state}`), { code: 'ERR_JOURNAL_STATE' });
  };

  return {
    open() {
      if (state !== 'new') return Promise.reject(new Error(`journal ${opts.dir}: open() called twice`));
      state = 'opening';
      return enqueue(doOpen).then(
        (r) => {
          state = 'open';
          const notices = pendingNotices;
          pendingNotices = [];
          for (const n of notices) emitDrop(n);
          return r;
        },
        (err: unknown) => { state = 'new'; throw err; },
      );
    },
    last: () => lastRec,
    chainHead: () => ({ seq: chain.seq, hash: new Uint8Array(chain.hash), epoch: new Uint8Array(chain.epoch) }),
    append(rec) {
      try {
        mustBeOpen('append');
        if (!Number.isSafeInteger(rec.seq) || rec.seq < 1) throw new RangeError(`journal: seq must be a positive safe integer (got ${rec.seq})`);
        if (rec.seq <= acceptedSeq) throw Object.assign(new RangeError(`journal: seq ${rec.seq} is not above the last seq ${acceptedSeq}`), { code: 'ERR_JOURNAL_SEQ' });
        if (!Number.isInteger(rec.readings) || rec.readings < 0 || rec.readings > MAX_READINGS) throw new RangeError(`journal: bad readings count ${rec.readings}`);
        if (RECORD_HEADER_BYTES + rec.bytes.length > maxFrame) {
          throw Object.assign(new RangeError(`journal: record of ${rec.bytes.length} bytes does not fit a ${segLimit}-byte segment`), { code: 'ERR_JOURNAL_RECORD_TOO_LARGE' });
        }
      } catch (err) { return Promise.reject(err); }
      acceptedSeq = rec.seq;
      return enqueue(() => doAppend(rec)).catch((err: unknown) => {
        if (acceptedSeq === rec.seq) acceptedSeq = Math.max(lastSeq(), chain.seq); // the caller may retry this seq
        throw err;
      });
    },
    sync() {
      if (state !== 'open') return Promise.resolve();
      return enqueue(doSync);
    },
    durableSeq: () => durable,
    committedSeq: () => committed,
    commit(seq) {
      if (state !== 'open' || !Number.isFinite(seq)) return;
      const c = Math.min(Math.floor(seq), durable);
      if (c <= committed) return;
      committed = c;
      inFlight.committed(c);
      const oldest = store.list()[0];
      if (oldest && store.activeHandle(oldest) === undefined && oldest.lastSeq <= committed) {
        enqueue(store.deleteCommitted).catch((err: unknown) => log.error('deleting committed segments failed', { err: String(err) }));
      }
    },
    sent: inFlight.sent,
    rewind: inFlight.rewind,
    readFrom(seq, max) {
      if (state !== 'open' || !(max >= 1)) return Promise.resolve([]);
      return enqueue(() => reader.read(Math.max(1, Math.ceil(seq)), Math.floor(max)));
    },
    pendingAtOpen() {
      const kept = keptAtOpen;
      keptAtOpen = [];
      return keptOnDisk(kept, store.list(), committed, durable);
    },
    onDurable(l) { durableListeners.push(l); },
    onDrop(l) { dropListeners.push(l); },
    stats: () => ({
      segments: store.list().length, diskBytes: store.diskBytes(), appended: st.appended, appendedBytes: st.appendedBytes,
      bytesWritten: st.bytesWritten, fsyncs: st.fsyncs, durableSeq: durable, committedSeq: committed, lastSeq: lastSeq(),
      droppedBatches: st.droppedBatches, droppedReadings: st.droppedReadings, corruptRecords: st.corruptRecords,
      maxBytes: opts.maxBytes, limitBytes: bound.limit(), limitedBy: bound.limitedBy(),
    }),
    close() {
      if (state === 'closed') return Promise.resolve();
      if (state !== 'open') { state = 'closed'; return Promise.resolve(); }
      return enqueue(async () => {
        if (timer) { timer.cancel(); timer = undefined; }
        try {
          await doSync();
          // a clean stop: the chain position is exact, the commit offset current (nothing resent)
          await files.closeClean(chain, committed);
        } finally {
          state = 'closed';
          keptAtOpen = [];
          await store.close();
          await reader.close();
          await files.close();
        }
      });
    },
  };
}
