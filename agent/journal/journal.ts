// Store and forward: signed batches appended to segment files, fsynced in batches, handed to the
// uplink only once durable, deleted once committed or (disk full) dropped oldest first and told.
// Invariants: seqs strictly increase; nothing durable is lost; the persisted commit <= durable.

import { join } from 'node:path';
import type { Clock, Timer } from '../../hal/clock.js';
import { errorCode } from '../../hal/file.js';
import type { FileHandle, FileSystem } from '../../hal/file.js';
import type { Counters } from '../counters.js';
import type { Logger } from '../log.js';
import { createCommitFile } from './commit-file.js';
import type { CommitLoad } from './commit-file.js';
import {
  RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, decodeSegmentHeader, encodeRecord, encodeSegmentHeader,
  parseSegmentName, scanRecords, segmentName,
} from './format.js';

export interface JournalOptions {
  dir: string;
  /** Bound on the bytes of all segment files together (the small commit file is not counted). */
  maxBytes: number;
  /** Roll over to a new segment beyond this size; capped at maxBytes / 4 so dropping one segment frees room. */
  segmentBytes: number;
  /** 0 = fsync every append. */
  fsyncIntervalMs: number;
  fsyncEveryRecords: number;
}
export interface JournalRecord { seq: number; readings: number; bytes: Uint8Array }
export interface DropNotice { first: number; last: number; batches: number; readings: number; reason: 'journal-full' | 'corrupt' }
export interface RecoveryReport {
  segments: number; records: number; firstSeq?: number; lastSeq?: number; truncatedBytes: number;
  corruptRecords: number; quarantined: string[]; commitFallback?: string /* why the commit offset was reset */
}
export interface JournalStats {
  segments: number; diskBytes: number; appended: number; appendedBytes: number; bytesWritten: number; fsyncs: number;
  durableSeq: number; committedSeq: number; lastSeq: number; droppedBatches: number; droppedReadings: number; corruptRecords: number;
}
export interface Journal {
  /** Scan and recover; never throws for corrupt content (only for e.g. an unwritable dir). Register onDrop first. */
  open(): Promise<RecoveryReport>;
  /** Newest record on disk (after open: the last intact one). */
  last(): JournalRecord | undefined;
  /** seq must be > last().seq; written now (page cache), durable after the next fsync. */
  append(rec: JournalRecord): Promise<void>;
  /** fsync now (data, then commit file), fires onDurable. */
  sync(): Promise<void>;
  durableSeq(): number;
  committedSeq(): number;
  /** Everything <= seq is acknowledged; never moves backwards; clamps to durableSeq. Persisted with the next data fsync. */
  commit(seq: number): void;
  /** Durable records with seq >= seq, ascending, at most max (skips holes). */
  readFrom(seq: number, max: number): Promise<JournalRecord[]>;
  onDurable(listener: (durableSeq: number) => void): void;
  /** Unsent (seq > committedSeq) records were deleted to respect maxBytes, or found corrupt at open. */
  onDrop(listener: (notice: DropNotice) => void): void;
  stats(): JournalStats;
  /** Final fsync (data and commit offset), close files. */
  close(): Promise<void>;
}

export interface JournalDeps { fs: FileSystem; clock: Clock; log: Logger; counters: Counters }

/** One sparse index entry: the record with `seq` starts at `offset`. */
interface Mark { seq: number; offset: number }

interface Segment {
  name: string;
  firstSeq: number;
  lastSeq: number;
  records: number;
  readings: number;
  /** Valid bytes: header + whole records. */
  size: number;
  /** One mark per INDEX_STRIDE bytes, so a read seeks instead of scanning the segment. */
  marks: Mark[];
}

/** Bytes between sparse index marks: 64 KiB keeps the index at ~1 KiB per 64 MiB of journal. */
const INDEX_STRIDE = 64 * 1024;
const COMMIT_FILE = 'commit';
const MAX_READINGS = 0xffff_ffff;
/** Retry delay for a failed fsync when fsyncIntervalMs is 0 (no interval to reuse). */
const FSYNC_RETRY_MS = 1000;

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
  const commitFile = createCommitFile(join(opts.dir, COMMIT_FILE), fs);

  let segments: Segment[] = [];
  let active: { seg: Segment; handle: FileHandle; dirty: boolean; broken: boolean } | undefined;
  let sealedDirty: Array<{ seg: Segment; handle: FileHandle }> = [];
  let reader: { seg: Segment; handle: FileHandle } | undefined;
  let cursor: { seg: Segment; afterSeq: number; offset: number } | undefined;
  let dirDirty = false;
  let lastRec: JournalRecord | undefined;
  let acceptedSeq = 0; // highest seq handed to append(), checked before queueing
  let durable = 0;
  let committed = 0;
  let persisted = -1; // committed seq as last written to the commit file; -1 = must write
  let commitSynced = -1; // committed seq as last fsynced (on close)
  let unsynced = 0;
  let timer: Timer | undefined;
  let state: 'new' | 'opening' | 'open' | 'closed' = 'new';
  let tail: Promise<unknown> = Promise.resolve();
  const damageSeen = new Set<string>();
  /** Drop notices found by open(), told once open() resolved (so a listener can append its gap notice). */
  let pendingNotices: DropNotice[] = [];
  const durableListeners: Array<(seq: number) => void> = [];
  const dropListeners: Array<(n: DropNotice) => void> = [];
  const st = { appended: 0, appendedBytes: 0, bytesWritten: 0, fsyncs: 0, droppedBatches: 0, droppedReadings: 0, corruptRecords: 0 };

  const diskBytes = (): number => segments.reduce((n, s) => n + s.size, 0);
  const lastSeq = (): number => lastRec?.seq ?? 0;
  const pathOf = (name: string): string => join(opts.dir, name);

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

  async function fsyncHandle(h: FileHandle): Promise<void> {
    await h.sync();
    st.fsyncs++;
    counters.inc('journal.fsyncs');
  }

  async function fsyncDir(): Promise<void> {
    await fs.syncDir(opts.dir);
    st.fsyncs++;
    counters.inc('journal.fsyncs');
    dirDirty = false;
  }

  // ── recovery ────────────────────────────────────────────────────────────

  async function quarantine(name: string, handle: FileHandle | undefined, reason: string, report: RecoveryReport): Promise<void> {
    if (handle) await handle.close().catch(() => undefined);
    let target = `${name}.quarantine`;
    for (let i = 2; await fs.stat(pathOf(target)).then(() => true, () => false); i++) target = `${name}.${i}.quarantine`;
    try {
      await fs.rename(pathOf(name), pathOf(target));
      dirDirty = true;
      report.quarantined.push(target);
      log.error('unreadable segment quarantined; its records are lost', { file: name, to: target, reason });
    } catch (err) {
      // the storage itself is failing: carrying on without this segment could reuse its seqs
      log.error('unreadable segment could not be quarantined', { file: name, reason, err: String(err) });
      throw Object.assign(new Error(`journal ${opts.dir}: cannot quarantine unreadable segment ${name} (${reason}): ${String(err)}`), { code: 'ERR_JOURNAL_IO' });
    }
  }

  /** Where the scan stands between segments: the last kept seq, and whether records may be missing after it. */
  interface ScanState { prevSeq: number; damaged: boolean; holes: Array<{ first: number; last: number }>; corrupt: number }

  /** Reads one segment's records into its index entry; truncates a torn tail. Throws on I/O errors. */
  async function recoverSegment(name: string, handle: FileHandle, size: number, isLast: boolean, scan: ScanState): Promise<{ seg: Segment; lastAt?: number }> {
    const seg: Segment = { name, firstSeq: 0, lastSeq: 0, records: 0, readings: 0, size: SEGMENT_HEADER_BYTES, marks: [] };
    const local: ScanState = { ...scan, holes: [], corrupt: 0 };
    let lastAt: number | undefined;
    for await (const item of scanRecords((p, n) => handle.read(p, n), SEGMENT_HEADER_BYTES, size)) {
      if (item.kind === 'damage') {
        if (item.tail) break; // torn tail: truncated below
        damageSeen.add(`${name}:${item.offset}`);
        local.corrupt++;
        local.damaged = true;
        log.warn('corrupt record skipped', { file: name, offset: item.offset, bytes: item.bytes });
        continue;
      }
      if (item.seq <= local.prevSeq) {
        // intact but out of order: never keep a seq that does not increase
        local.corrupt++;
        local.damaged = true;
        log.warn('record with a non-increasing seq skipped', { file: name, offset: item.offset, seq: item.seq, after: local.prevSeq });
        continue;
      }
      if (local.damaged && item.seq > local.prevSeq + 1) local.holes.push({ first: local.prevSeq + 1, last: item.seq - 1 });
      local.damaged = false;
      if (seg.records === 0) seg.firstSeq = item.seq;
      if (seg.marks.length === 0 || item.offset - seg.marks[seg.marks.length - 1]!.offset >= INDEX_STRIDE) seg.marks.push({ seq: item.seq, offset: item.offset });
      seg.lastSeq = item.seq;
      seg.records++;
      seg.readings += item.readings;
      seg.size = item.offset + item.frameBytes;
      local.prevSeq = item.seq;
      lastAt = item.offset;
    }
    if (seg.size < size) {
      await handle.truncate(seg.size);
      log.warn('torn tail truncated', { file: name, from: size, to: seg.size, bytes: size - seg.size });
      // a torn tail before a later segment: records may be missing in between
      if (!isLast) local.damaged = true;
    }
    // the whole segment was read: its findings count
    scan.prevSeq = local.prevSeq;
    scan.damaged = local.damaged;
    scan.holes.push(...local.holes);
    scan.corrupt += local.corrupt;
    return lastAt === undefined ? { seg } : { seg, lastAt };
  }

  async function doOpen(): Promise<RecoveryReport> {
    await fs.mkdir(opts.dir);
    const report: RecoveryReport = { segments: 0, records: 0, truncatedBytes: 0, corruptRecords: 0, quarantined: [] };
    const names = (await fs.readdir(opts.dir))
      .map((name) => ({ name, seq: parseSegmentName(name) }))
      .filter((e): e is { name: string; seq: number } => e.seq !== undefined)
      .sort((a, b) => a.seq - b.seq);

    const scan: ScanState = { prevSeq: 0, damaged: false, holes: [], corrupt: 0 };
    let lastLoc: { seg: Segment; offset: number } | undefined;
    for (let i = 0; i < names.length; i++) {
      const { name } = names[i]!;
      let handle: FileHandle | undefined;
      try {
        handle = await fs.open(pathOf(name), 'readwrite');
        const size = await handle.size();
        if (size < SEGMENT_HEADER_BYTES) {
          // created, but the header never (fully) reached the disk: a torn creation holding nothing
          await handle.close();
          await fs.unlink(pathOf(name));
          dirDirty = true;
          report.truncatedBytes += size;
          log.warn('removed segment with a torn header', { file: name, bytes: size });
          continue;
        }
        const header = decodeSegmentHeader(await handle.read(0, SEGMENT_HEADER_BYTES));
        if (!header.ok) { scan.damaged = true; await quarantine(name, handle, header.reason, report); continue; }
        const { seg, lastAt } = await recoverSegment(name, handle, size, i === names.length - 1, scan);
        report.truncatedBytes += size - seg.size;
        await handle.close();
        handle = undefined;
        if (seg.records === 0) {
          await fs.unlink(pathOf(name));
          dirDirty = true;
          log.info('removed empty segment', { file: name });
          continue;
        }
        segments.push(seg);
        if (lastAt !== undefined) lastLoc = { seg, offset: lastAt };
      } catch (err) {
        if (errorCode(err) === 'ERR_JOURNAL_IO') throw err;
        // EIO and friends while reading: the whole segment is suspect
        scan.damaged = true;
        await quarantine(name, handle, `read failed: ${errorCode(err) ?? String(err)}`, report);
      }
    }
    if (scan.damaged && report.quarantined.length > 0) {
      log.error('records after the last intact one may be lost; their seqs may be reused', { after: scan.prevSeq });
    }
    report.corruptRecords = scan.corrupt;

    if (lastLoc) {
      const h = await fs.open(pathOf(lastLoc.seg.name), 'read');
      try {
        const frame = await h.read(lastLoc.offset, lastLoc.seg.size - lastLoc.offset);
        lastRec = { seq: lastLoc.seg.lastSeq, readings: new DataView(frame.buffer, frame.byteOffset).getUint32(16), bytes: frame.slice(RECORD_HEADER_BYTES) };
      } finally { await h.close(); }
    }
    acceptedSeq = lastSeq();
    resolveCommitted(await commitFile.load(), report);

    // records a previous process wrote but did not fsync are in the page cache only: make them durable now
    for (const seg of segments) {
      const h = await fs.open(pathOf(seg.name), 'readwrite');
      try { await fsyncHandle(h); } finally { await h.close(); }
    }
    if (dirDirty) await fsyncDir();
    durable = lastSeq();

    const last = segments[segments.length - 1];
    if (last) active = { seg: last, handle: await fs.open(pathOf(last.name), 'readwrite'), dirty: false, broken: false };
    await retain();

    report.segments = segments.length;
    report.records = segments.reduce((n, s) => n + s.records, 0);
    if (segments[0]) report.firstSeq = segments[0].firstSeq;
    if (lastRec) report.lastSeq = lastRec.seq;
    if (report.corruptRecords > 0) countCorrupt(report.corruptRecords);
    if (report.truncatedBytes > 0) counters.inc('journal.truncated_bytes', report.truncatedBytes);
    for (const hole of scan.holes) {
      const first = Math.max(hole.first, committed + 1);
      if (first <= hole.last) pendingNotices.push({ first, last: hole.last, batches: hole.last - first + 1, readings: 0, reason: 'corrupt' });
    }
    log.info('journal opened', {
      dir: opts.dir, segments: report.segments, records: report.records, first: report.firstSeq, last: report.lastSeq,
      committed, truncated: report.truncatedBytes, corrupt: report.corruptRecords, quarantined: report.quarantined.length,
    });
    return report;
  }

  /** The committed offset after a restart: never ahead of what is on disk, never guessed forward. */
  function resolveCommitted(loaded: CommitLoad, report: RecoveryReport): void {
    const oldest = segments[0]?.firstSeq;
    if (loaded.ok && loaded.seq <= lastSeq()) {
      committed = loaded.seq;
      persisted = loaded.seq;
    } else if (oldest === undefined) {
      committed = 0; // nothing on disk, nothing to resend; the first fsync writes the commit file
      persisted = -1;
    } else {
      // missing or corrupt: resend everything. Beyond the newest record (segments were lost):
      // everything that is left had been acknowledged.
      committed = loaded.ok ? lastSeq() : oldest - 1;
      persisted = -1;
      report.commitFallback = loaded.ok ? `commit offset ${loaded.seq} is beyond the newest record ${lastSeq()}` : loaded.reason;
      log.warn('commit offset reset', { reason: report.commitFallback, committed, resendFrom: committed + 1 });
    }
  }

  // ── segments ────────────────────────────────────────────────────────────

  async function removeSegment(seg: Segment): Promise<void> {
    if (reader?.seg === seg) { await reader.handle.close().catch(() => undefined); reader = undefined; }
    if (cursor?.seg === seg) cursor = undefined;
    const dirty = sealedDirty.find((d) => d.seg === seg);
    if (dirty) { sealedDirty = sealedDirty.filter((d) => d !== dirty); await dirty.handle.close().catch(() => undefined); }
    segments = segments.filter((s) => s !== seg);
    dirDirty = true;
    try { await fs.unlink(pathOf(seg.name)); }
    catch (err) {
      if (errorCode(err) !== 'ENOENT') log.error('could not delete segment', { file: seg.name, err: String(err) });
    }
  }

  /** Deletes sealed segments the uplink has fully committed (oldest first). */
  async function retain(): Promise<void> {
    for (;;) {
      const seg = segments[0];
      if (!seg || seg === active?.seg || seg.lastSeq > committed || seg.lastSeq === lastSeq()) return;
      await removeSegment(seg);
      log.debug('committed segment deleted', { file: seg.name, last: seg.lastSeq });
    }
  }

  /** Records in `seg` with seq > committed: their range and counts, read from disk if only part is unsent. */
  async function unsentIn(seg: Segment): Promise<{ first: number; batches: number; readings: number } | undefined> {
    if (seg.records === 0 || seg.lastSeq <= committed) return undefined;
    if (seg.firstSeq > committed) return { first: seg.firstSeq, batches: seg.records, readings: seg.readings };
    const out = { first: 0, batches: 0, readings: 0 };
    try {
      const h = await fs.open(pathOf(seg.name), 'read');
      try {
        for await (const item of scanRecords((p, n) => h.read(p, n), SEGMENT_HEADER_BYTES, seg.size)) {
          if (item.kind !== 'record' || item.seq <= committed) continue;
          if (out.batches === 0) out.first = item.seq;
          out.batches++;
          out.readings += item.readings;
        }
      } finally { await h.close(); }
    } catch (err) {
      log.warn('could not count readings of a dropped segment', { file: seg.name, err: String(err) });
    }
    if (out.batches === 0) return { first: committed + 1, batches: seg.lastSeq - committed, readings: 0 };
    return out;
  }

  /** Makes room for a frame: rolls over to a new segment when needed, drops oldest segments beyond maxBytes. */
  async function prepare(seq: number, frameBytes: number): Promise<void> {
    const roll = !active || active.broken || (active.seg.records > 0 && active.seg.size + frameBytes > segLimit);
    if (roll && active) {
      if (active.dirty) sealedDirty.push({ seg: active.seg, handle: active.handle });
      else await active.handle.close();
      if (active.seg.records === 0) await removeSegment(active.seg);
      active = undefined;
    }
    const need = roll ? SEGMENT_HEADER_BYTES + frameBytes : frameBytes;
    let notice: DropNotice | undefined;
    while (diskBytes() + need > opts.maxBytes) {
      const oldest = segments[0];
      if (!oldest || oldest === active?.seg) break; // cannot happen: a segment is at most maxBytes / 4
      const unsent = await unsentIn(oldest);
      await removeSegment(oldest);
      if (!unsent) continue;
      notice = notice
        ? { ...notice, last: oldest.lastSeq, batches: notice.batches + unsent.batches, readings: notice.readings + unsent.readings }
        : { first: unsent.first, last: oldest.lastSeq, batches: unsent.batches, readings: unsent.readings, reason: 'journal-full' };
    }
    if (notice) emitDrop(notice);
    if (!roll) return;
    const name = segmentName(seq);
    const handle = await fs.open(pathOf(name), 'create');
    const header = encodeSegmentHeader(seq);
    try {
      await handle.append(header);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await fs.unlink(pathOf(name)).catch(() => undefined);
      throw err;
    }
    st.bytesWritten += header.length;
    const seg: Segment = { name, firstSeq: seq, lastSeq: 0, records: 0, readings: 0, size: SEGMENT_HEADER_BYTES, marks: [] };
    segments.push(seg);
    active = { seg, handle, dirty: true, broken: false };
    dirDirty = true;
  }

  // ── write path ──────────────────────────────────────────────────────────

  /** The fsync timer: started by the first unsynced write, never running while nothing is unsynced. */
  function armTimer(ms = opts.fsyncIntervalMs): void {
    if (timer || ms === 0) return;
    timer = clock.setTimeout(() => {
      timer = undefined;
      if (state === 'open') enqueue(doSync).catch(() => undefined); // doSync logs and re-arms
    }, ms);
  }

  async function doAppend(rec: JournalRecord): Promise<void> {
    const frame = encodeRecord(rec.seq, rec.readings, rec.bytes);
    await prepare(rec.seq, frame.length);
    const a = active!;
    const at = a.seg.size;
    try {
      await a.handle.append(frame);
    } catch (err) {
      // take back a partial write so the segment stays a run of whole records; if even that fails, seal it
      try { await a.handle.truncate(at); } catch { a.broken = true; }
      throw err;
    }
    const seg = a.seg;
    if (seg.records === 0) seg.firstSeq = rec.seq;
    if (seg.marks.length === 0 || at - seg.marks[seg.marks.length - 1]!.offset >= INDEX_STRIDE) seg.marks.push({ seq: rec.seq, offset: at });
    seg.lastSeq = rec.seq;
    seg.records++;
    seg.readings += rec.readings;
    seg.size = at + frame.length;
    a.dirty = true;
    lastRec = { seq: rec.seq, readings: rec.readings, bytes: frame.subarray(RECORD_HEADER_BYTES) };
    st.appended++;
    st.appendedBytes += rec.bytes.length;
    st.bytesWritten += frame.length;
    unsynced++;
    if (opts.fsyncIntervalMs === 0 || unsynced >= opts.fsyncEveryRecords) {
      // the record is written; a failed fsync is logged, counted and retried, and the record stays non-durable
      await doSync().catch(() => undefined);
    } else {
      armTimer();
    }
  }

  /** fsync data (sealed segments, the active one, the directory), write the commit offset; then report durable. */
  async function doSync(): Promise<void> {
    if (timer) { timer.cancel(); timer = undefined; }
    try {
      await syncOnce();
    } catch (err) {
      log.error('fsync failed; retrying', { dir: opts.dir, err: String(err) });
      counters.inc('journal.fsync_errors');
      if (unsynced > 0 || sealedDirty.length > 0) armTimer(opts.fsyncIntervalMs || FSYNC_RETRY_MS);
      throw err;
    }
  }

  async function syncOnce(): Promise<void> {
    const target = lastSeq();
    for (const d of [...sealedDirty]) {
      await fsyncHandle(d.handle);
      sealedDirty = sealedDirty.filter((x) => x !== d);
      await d.handle.close();
    }
    if (active?.dirty) { await fsyncHandle(active.handle); active.dirty = false; }
    // The commit offset is written next to each data fsync but not fsynced
    // itself (only on close): SD wear. A power cut can only leave it older —
    // its two slots keep the last complete value — and an older offset means
    // resending acknowledged batches, which the cloud deduplicates. Never skip.
    if (committed !== persisted) {
      const seq = committed;
      const w = await commitFile.store(seq);
      st.bytesWritten += w.bytes;
      if (w.created) dirDirty = true;
      persisted = seq;
    }
    if (dirDirty) await fsyncDir();
    unsynced = 0;
    if (target > durable) {
      durable = target;
      for (const l of durableListeners) {
        try { l(durable); } catch (err) { log.error('durable listener failed', { err: String(err) }); }
      }
    }
  }

  // ── read path ───────────────────────────────────────────────────────────

  async function handleFor(seg: Segment): Promise<FileHandle> {
    if (active?.seg === seg) return active.handle;
    if (reader?.seg === seg) return reader.handle;
    if (reader) { await reader.handle.close().catch(() => undefined); reader = undefined; }
    reader = { seg, handle: await fs.open(pathOf(seg.name), 'read') };
    return reader.handle;
  }

  async function doRead(from: number, max: number): Promise<JournalRecord[]> {
    const out: JournalRecord[] = [];
    let prev = from - 1; // a record open() skipped for a non-increasing seq is still in the file
    for (const seg of [...segments]) {
      if (out.length >= max) break;
      if (seg.records === 0 || seg.lastSeq < from) continue;
      if (seg.firstSeq > durable) break;
      // start at the nearest known record at or before `from`: the cursor of the last read, or an index mark
      let start = SEGMENT_HEADER_BYTES;
      for (const m of seg.marks) { if (m.seq > from) break; start = m.offset; }
      if (cursor?.seg === seg && cursor.afterSeq < from && cursor.offset > start) start = cursor.offset;
      const avgFrame = (seg.size - SEGMENT_HEADER_BYTES) / seg.records;
      const chunk = Math.min(256 * 1024, Math.max(4096, Math.ceil(avgFrame * (max - out.length + 1))));
      const h = await handleFor(seg);
      for await (const item of scanRecords((p, n) => h.read(p, n), start, seg.size, chunk)) {
        if (item.kind === 'damage') {
          const key = `${seg.name}:${item.offset}`;
          if (!damageSeen.has(key)) {
            damageSeen.add(key);
            countCorrupt(1);
            log.error('corrupt record skipped while reading', { file: seg.name, offset: item.offset, bytes: item.bytes });
          }
          continue;
        }
        if (item.seq > durable) return out;
        if (item.seq <= prev) continue;
        prev = item.seq;
        out.push({ seq: item.seq, readings: item.readings, bytes: item.payload.slice() });
        cursor = { seg, afterSeq: item.seq, offset: item.offset + item.frameBytes };
        if (out.length >= max) return out;
      }
    }
    return out;
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
        if (acceptedSeq === rec.seq) acceptedSeq = lastSeq(); // the caller may retry this seq
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
      const oldest = segments[0];
      if (oldest && oldest !== active?.seg && oldest.lastSeq <= committed) {
        enqueue(retain).catch((err: unknown) => log.error('retention failed', { err: String(err) }));
      }
    },
    readFrom(seq, max) {
      if (state !== 'open' || !(max >= 1)) return Promise.resolve([]);
      return enqueue(() => doRead(Math.max(1, Math.ceil(seq)), Math.floor(max)));
    },
    onDurable(l) { durableListeners.push(l); },
    onDrop(l) { dropListeners.push(l); },
    stats: () => ({
      segments: segments.length, diskBytes: diskBytes(), appended: st.appended, appendedBytes: st.appendedBytes,
      bytesWritten: st.bytesWritten, fsyncs: st.fsyncs, durableSeq: durable, committedSeq: committed, lastSeq: lastSeq(),
      droppedBatches: st.droppedBatches, droppedReadings: st.droppedReadings, corruptRecords: st.corruptRecords,
    }),
    close() {
      if (state === 'closed') return Promise.resolve();
      if (state !== 'open') { state = 'closed'; return Promise.resolve(); }
      return enqueue(async () => {
        if (timer) { timer.cancel(); timer = undefined; }
        try {
          await doSync();
          if (persisted !== commitSynced) { // a clean stop resends nothing
            await commitFile.sync();
            st.fsyncs++;
            counters.inc('journal.fsyncs');
          }
        } finally {
          state = 'closed';
          for (const d of sealedDirty) await d.handle.close().catch(() => undefined);
          sealedDirty = [];
          if (active) await active.handle.close().catch(() => undefined);
          if (reader) await reader.handle.close().catch(() => undefined);
          await commitFile.close().catch(() => undefined);
          active = undefined;
          reader = undefined;
        }
      });
    },
  };
}
