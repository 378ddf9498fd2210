// The journal's segment files: which exist, which one is written, rolling
// over, fsync of written data, and making room — deleting committed segments
// and dropping the oldest unsent ones when the bound (maxBytes or the disk)
// is reached. Invariant: a segment file is a header plus whole records only.

import type { FileHandle, FileSystem } from '../../hal/file.js';
import { errorCode } from '../../hal/file.js';
import type { Counters } from '../counters.js';
import type { Logger } from '../log.js';
import { SEGMENT_HEADER_BYTES, encodeSegmentHeader, scanRecords, segmentName } from './format.js';
import { emptySegment, indexRecord, type Segment } from './segment.js';
import type { SpaceBound } from './space.js';

/** A write that hits ENOSPC is retried after dropping the oldest segment, at most this often. */
const MAX_ENOSPC_RETRIES = 64;

export interface SeqSpan { first: number; last: number; batches: number; readings: number }
/** A record the uplink had published and the broker not yet acknowledged. */
export interface InFlightRecord { seq: number; readings: number }
/**
 * What dropping segments took beyond the committed offset: records in flight
 * (seq <= sentUpTo, always the oldest) and the unsent ones after them.
 */
export interface Drop { reason: 'journal-full' | 'disk-full'; inFlight: InFlightRecord[]; unsent?: SeqSpan }

export interface SegmentStoreDeps {
  fs: FileSystem;
  log: Logger;
  counters: Counters;
  pathOf(name: string): string;
  bound: SpaceBound;
  /** Largest segment size (before the bound's quarter cap). */
  segLimit: number;
  committed(): number;
  /** Records in (committed, sentUpTo] are in flight: published, not yet acknowledged. */
  sentUpTo(): number;
  /** The newest record's seq: its segment is never deleted as committed. */
  lastSeq(): number;
  /** A segment is going away: the reader drops its handle. */
  forget(seg: Segment): Promise<void>;
  /** Counts one fsync. */
  fsync(sync: () => Promise<void>): Promise<void>;
  wrote(bytes: number): void;
  /** Records not yet committed were dropped to respect the bound while writing. */
  onDrop(drop: Drop): void;
}

export interface SegmentStore {
  list(): Segment[];
  /** After recovery: these segments exist, the last one is written next. */
  adopt(segs: Segment[]): Promise<void>;
  diskBytes(): number;
  /** The writer's handle when `seg` is the one being written. */
  activeHandle(seg: Segment): FileHandle | undefined;
  /**
   * Appends one framed record, rolling over and making room first. ENOSPC is
   * the disk being full: the oldest segment is dropped (told) and the write
   * tried again. Throws on other write errors (the partial write taken back).
   */
  write(seq: number, readings: number, frame: Uint8Array): Promise<void>;
  /**
   * Drops oldest segments until `need` more bytes fit the bound (and at least
   * `atLeast` segments); the one being written only when `force`. Returns
   * the records among them not yet committed (in flight, and unsent: to be told).
   */
  makeRoom(need: number, force: boolean, atLeast?: number): Promise<Drop | undefined>;
  /** Deletes sealed segments the uplink has fully committed (oldest first). */
  deleteCommitted(): Promise<void>;
  /** fsync of every segment written to since the last one (not the directory: see dirDirty). */
  syncData(): Promise<void>;
  dirDirty(): boolean;
  markDir(dirty: boolean): void;
  close(): Promise<void>;
}

export function createSegmentStore(deps: SegmentStoreDeps): SegmentStore {
  const { fs, log, pathOf, bound } = deps;
  let segments: Segment[] = [];
  let active: { seg: Segment; handle: FileHandle; dirty: boolean; broken: boolean } | undefined;
  let sealedDirty: Array<{ seg: Segment; handle: FileHandle }> = [];
  let dirDirty = false;

  const diskBytes = (): number => segments.reduce((n, s) => n + s.size, 0);

  async function removeSegment(seg: Segment): Promise<void> {
    await deps.forget(seg);
    const dirty = sealedDirty.find((d) => d.seg === seg);
    if (dirty) { sealedDirty = sealedDirty.filter((d) => d !== dirty); await dirty.handle.close().catch(() => undefined); }
    if (active?.seg === seg) { await active.handle.close().catch(() => undefined); active = undefined; }
    segments = segments.filter((s) => s !== seg);
    dirDirty = true;
    try { await fs.unlink(pathOf(seg.name)); }
    catch (err) {
      if (errorCode(err) !== 'ENOENT') log.error('could not delete segment', { file: seg.name, err: String(err) });
    }
  }

  /** Records in `seg` with seq > committed: those in flight one by one, the unsent as a span; read from disk unless all are unsent. */
  async function pendingIn(seg: Segment): Promise<{ inFlight: InFlightRecord[]; unsent?: SeqSpan }> {
    const committed = deps.committed();
    const sent = Math.max(committed, deps.sentUpTo());
    if (seg.records === 0 || seg.lastSeq <= committed) return { inFlight: [] };
    if (seg.firstSeq > sent) return { inFlight: [], unsent: { first: seg.firstSeq, last: seg.lastSeq, batches: seg.records, readings: seg.readings } };
    const inFlight: InFlightRecord[] = [];
    let unsent: SeqSpan | undefined;
    try {
      const h = await fs.open(pathOf(seg.name), 'read');
      try {
        for await (const item of scanRecords((p, n) => h.read(p, n), SEGMENT_HEADER_BYTES, seg.size)) {
          if (item.kind !== 'record' || item.seq <= committed) continue;
          if (item.seq <= sent) inFlight.push({ seq: item.seq, readings: item.readings });
          else if (unsent) { unsent.batches++; unsent.readings += item.readings; }
          else unsent = { first: item.seq, last: seg.lastSeq, batches: 1, readings: item.readings };
        }
      } finally { await h.close(); }
    } catch (err) {
      log.warn('could not count readings of a dropped segment', { file: seg.name, err: String(err) });
    }
    if (inFlight.length > 0 || unsent) return { inFlight, ...(unsent ? { unsent } : {}) };
    // unreadable: every seq of the segment above the committed offset counts, without its readings
    const from = Math.max(committed + 1, seg.firstSeq);
    for (let seq = from; seq <= Math.min(sent, seg.lastSeq); seq++) inFlight.push({ seq, readings: 0 });
    const first = Math.max(from, sent + 1);
    return first <= seg.lastSeq ? { inFlight, unsent: { first, last: seg.lastSeq, batches: seg.lastSeq - first + 1, readings: 0 } } : { inFlight };
  }

  /** Seals the segment being written: later writes go to a new one. */
  async function seal(): Promise<void> {
    const a = active;
    if (!a) return;
    active = undefined;
    if (a.seg.records === 0) { await a.handle.close().catch(() => undefined); await removeSegment(a.seg); return; }
    if (a.dirty) sealedDirty.push({ seg: a.seg, handle: a.handle });
    else await a.handle.close();
  }

  async function makeRoom(need: number, force: boolean, atLeast = 0): Promise<Drop | undefined> {
    const reason = force || bound.limitedBy() === 'disk' ? 'disk-full' : 'journal-full';
    const inFlight: InFlightRecord[] = [];
    let unsent: SeqSpan | undefined;
    for (let dropped = 0; segments.length > 0 && (dropped < atLeast || diskBytes() + need > bound.limit()); dropped++) {
      const oldest = segments[0]!;
      if (oldest === active?.seg) { if (!force) break; await seal(); }
      const p = await pendingIn(oldest);
      await removeSegment(oldest);
      inFlight.push(...p.inFlight);
      if (!p.unsent) continue;
      unsent = unsent
        ? { ...unsent, last: p.unsent.last, batches: unsent.batches + p.unsent.batches, readings: unsent.readings + p.unsent.readings }
        : p.unsent;
    }
    return inFlight.length > 0 || unsent ? { reason, inFlight, ...(unsent ? { unsent } : {}) } : undefined;
  }

  /** Rolls over to a new segment when needed; drops oldest segments beyond the bound (told via onDrop). */
  async function rollOverAndMakeRoom(seq: number, frameBytes: number): Promise<void> {
    // a quarter of what the segments may occupy (the disk's room when it holds less than the bound): one drop frees a quarter
    const segCap = Math.min(deps.segLimit, Math.max(SEGMENT_HEADER_BYTES + frameBytes, Math.floor(bound.room() / 4)));
    const roll = !active || active.broken || (active.seg.records > 0 && active.seg.size + frameBytes > segCap);
    if (roll) { await seal(); await bound.refresh(diskBytes()); }
    const drop = await makeRoom(roll ? SEGMENT_HEADER_BYTES + frameBytes : frameBytes, false);
    if (drop) deps.onDrop(drop);
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
    deps.wrote(header.length);
    const seg = emptySegment(name, SEGMENT_HEADER_BYTES);
    seg.firstSeq = seq;
    segments.push(seg);
    active = { seg, handle, dirty: true, broken: false };
    dirDirty = true;
  }

  /** One try at appending a record (write() tries again after ENOSPC, with room made). */
  async function attemptWrite(seq: number, readings: number, frame: Uint8Array): Promise<void> {
    await rollOverAndMakeRoom(seq, frame.length);
    const a = active!;
    const at = a.seg.size;
    try {
      await a.handle.append(frame);
    } catch (err) {
      // take back a partial write so the segment stays a run of whole records; if even that fails, seal it
      try { await a.handle.truncate(at); } catch { a.broken = true; }
      throw err;
    }
    indexRecord(a.seg, seq, readings, at, frame.length);
    a.dirty = true;
  }

  return {
    list: () => segments,
    async adopt(segs) {
      segments = segs;
      const last = segments[segments.length - 1];
      if (last) active = { seg: last, handle: await fs.open(pathOf(last.name), 'readwrite'), dirty: false, broken: false };
    },
    diskBytes,
    activeHandle: (seg) => (active?.seg === seg ? active.handle : undefined),
    async write(seq, readings, frame) {
      for (let attempt = 0; ; attempt++) {
        try {
          await attemptWrite(seq, readings, frame);
          return;
        } catch (err) {
          if (errorCode(err) !== 'ENOSPC' || attempt >= MAX_ENOSPC_RETRIES || segments.length === 0) throw err;
          deps.counters.inc('journal.disk_full');
          if (attempt === 0) log.warn('disk full: dropping the oldest segment to make room', { seq, journalBytes: diskBytes() });
          await bound.refresh(diskBytes());
          // at least one segment goes, even if the file system cannot say how full it is
          const drop = await makeRoom(SEGMENT_HEADER_BYTES + frame.length, true, 1);
          if (drop) deps.onDrop(drop);
        }
      }
    },
    makeRoom,
    async deleteCommitted() {
      for (;;) {
        const seg = segments[0];
        if (!seg || seg === active?.seg || seg.lastSeq > deps.committed() || seg.lastSeq === deps.lastSeq()) return;
        await removeSegment(seg);
        log.debug('committed segment deleted', { file: seg.name, last: seg.lastSeq });
      }
    },
    async syncData() {
      for (const d of [...sealedDirty]) {
        await deps.fsync(() => d.handle.sync());
        sealedDirty = sealedDirty.filter((x) => x !== d);
        await d.handle.close();
      }
      if (active?.dirty) { const a = active; await deps.fsync(() => a.handle.sync()); a.dirty = false; }
    },
    dirDirty: () => dirDirty,
    markDir(dirty) { dirDirty = dirty; },
    async close() {
      for (const d of sealedDirty) await d.handle.close().catch(() => undefined);
      sealedDirty = [];
      if (active) await active.handle.close().catch(() => undefined);
      active = undefined;
    },
  };
}
