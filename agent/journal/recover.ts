// Recovery at open: scan the segment files (truncate a torn tail, skip and
// report corrupt records, quarantine an unreadable segment — never refuse to
// start), then decide where the chain resumes. Invariant: the chain never
// moves backwards — a seq that was journaled (signed; it may have been
// published) is never used again; what recovery cannot read back is returned
// as lost ranges to be told in gap notices.

import { join } from 'node:path';
import { errorCode } from '../../hal/file.js';
import type { FileHandle, FileSystem } from '../../hal/file.js';
import type { Counters } from '../counters.js';
import type { Logger } from '../log.js';
import type { ChainRecord } from './chain-file.js';
import type { CommitLoad } from './commit-file.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, decodeSegmentHeader, parseSegmentName, scanRecords } from './format.js';
import { emptySegment, indexRecord, type Segment } from './segment.js';
import type { SlotLoad } from './slot-file.js';

export interface SeqRange { first: number; last: number }
export interface LastRecord { seq: number; readings: number; bytes: Uint8Array }
/**
 * An intact record the scan kept: what start-up needs of it without reading the
 * journal again. A record of no readings (a notice: small and rare) keeps its payload.
 */
export interface KeptRecord { seq: number; readings: number; /** payload bytes */ bytes: number; payload?: Uint8Array }

export interface RecoveredSegments {
  segments: Segment[];
  /** Every record kept in `segments`, in seq order. */
  kept: KeptRecord[];
  /** The newest intact record. */
  last?: LastRecord;
  /** Seqs missing between intact records after damage (corrupt records, a quarantined segment). */
  holes: SeqRange[];
  corruptRecords: number;
  truncatedBytes: number;
  /** Segments quarantined by this scan (new names). */
  quarantined: string[];
  /** Content was found unreadable (not just a torn tail). */
  damaged: boolean;
  /** Highest seq in evidence: journal file names (segments, quarantined ones) and the records of a segment quarantined now. */
  nameSeq: number;
  /** `file:offset` of corrupt records already reported. */
  damageSeen: Set<string>;
  /** Directory entries changed (quarantine, removed files). */
  dirDirty: boolean;
}

const QUARANTINED = /^(seg-\d{12,16}\.twj)(?:\.\d+)?\.quarantine$/;

/** Recovers the segments in `dir` (reads every record; truncates a torn tail, quarantines an unreadable segment); throws only when storage itself fails (ERR_JOURNAL_IO) or the directory is unusable. */
export async function recoverSegments(dir: string, fs: FileSystem, log: Logger): Promise<RecoveredSegments> {
  const pathOf = (name: string): string => join(dir, name);
  const out: RecoveredSegments = {
    segments: [], kept: [], holes: [], corruptRecords: 0, truncatedBytes: 0, quarantined: [], damaged: false, nameSeq: 0,
    damageSeen: new Set(), dirDirty: false,
  };
  const entries = await fs.readdir(dir);
  for (const name of entries) {
    const q = QUARANTINED.exec(name);
    const seq = q ? parseSegmentName(q[1]!) : undefined;
    if (seq !== undefined) out.nameSeq = Math.max(out.nameSeq, seq);
  }
  const names = entries
    .map((name) => ({ name, seq: parseSegmentName(name) }))
    .filter((e): e is { name: string; seq: number } => e.seq !== undefined)
    .sort((a, b) => a.seq - b.seq);

  async function quarantine(name: string, handle: FileHandle | undefined, reason: string): Promise<void> {
    out.damaged = true;
    if (handle) await handle.close().catch(() => undefined);
    let target = `${name}.quarantine`;
    for (let i = 2; await fs.stat(pathOf(target)).then(() => true, () => false); i++) target = `${name}.${i}.quarantine`;
    try {
      await fs.rename(pathOf(name), pathOf(target));
      out.dirDirty = true;
      out.quarantined.push(target);
      log.error('unreadable segment quarantined; its records are lost', { file: name, to: target, reason });
    } catch (err) {
      // the storage itself is failing: carrying on without this segment could reuse its seqs
      log.error('unreadable segment could not be quarantined', { file: name, reason, err: String(err) });
      throw Object.assign(new Error(`journal ${dir}: cannot quarantine unreadable segment ${name} (${reason}): ${String(err)}`), { code: 'ERR_JOURNAL_IO' });
    }
  }

  // Between segments: the last kept seq, and whether records may be missing after it.
  let prevSeq = 0;
  let gapOpen = false;
  let lastLoc: { seg: Segment; offset: number } | undefined;

  /** Reads one segment's records into its index entry; truncates a torn tail. Throws on I/O errors. */
  async function recoverSegment(name: string, handle: FileHandle, size: number, isLast: boolean): Promise<{ seg: Segment; lastAt?: number }> {
    const seg = emptySegment(name, SEGMENT_HEADER_BYTES);
    let prev = prevSeq;
    let open = gapOpen;
    const holes: SeqRange[] = [];
    const seen: string[] = [];
    const kept: KeptRecord[] = [];
    let corrupt = 0;
    let lastAt: number | undefined;
    for await (const item of scanRecords((p, n) => handle.read(p, n), SEGMENT_HEADER_BYTES, size)) {
      if (item.kind === 'damage') {
        if (item.tail) break; // torn tail: truncated below
        seen.push(`${name}:${item.offset}`);
        corrupt++;
        open = true;
        log.warn('corrupt record skipped', { file: name, offset: item.offset, bytes: item.bytes });
        continue;
      }
      if (item.seq <= prev) {
        // intact but out of order: never keep a seq that does not increase
        corrupt++;
        open = true;
        log.warn('record with a non-increasing seq skipped', { file: name, offset: item.offset, seq: item.seq, after: prev });
        continue;
      }
      if (open && item.seq > prev + 1) holes.push({ first: prev + 1, last: item.seq - 1 });
      open = false;
      indexRecord(seg, item.seq, item.readings, item.offset, item.frameBytes);
      kept.push(item.readings === 0
        ? { seq: item.seq, readings: 0, bytes: item.payload.length, payload: item.payload.slice() }
        : { seq: item.seq, readings: item.readings, bytes: item.payload.length });
      prev = item.seq;
      lastAt = item.offset;
    }
    if (seg.size < size) {
      await handle.truncate(seg.size);
      log.warn('torn tail truncated', { file: name, from: size, to: seg.size, bytes: size - seg.size });
      // a torn tail before a later segment: records may be missing in between
      if (!isLast) open = true;
    }
    // the whole segment was read: its findings count
    prevSeq = prev;
    gapOpen = open;
    out.holes.push(...holes);
    for (const k of kept) out.kept.push(k);
    for (const k of seen) out.damageSeen.add(k);
    out.corruptRecords += corrupt;
    if (corrupt > 0) out.damaged = true;
    return lastAt === undefined ? { seg } : { seg, lastAt };
  }

  for (let i = 0; i < names.length; i++) {
    const { name, seq } = names[i]!;
    out.nameSeq = Math.max(out.nameSeq, seq);
    let handle: FileHandle | undefined;
    try {
      handle = await fs.open(pathOf(name), 'readwrite');
      const size = await handle.size();
      if (size < SEGMENT_HEADER_BYTES) {
        // created, but the header never (fully) reached the disk: a torn creation holding nothing
        await handle.close();
        await fs.unlink(pathOf(name));
        out.dirDirty = true;
        out.truncatedBytes += size;
        log.warn('removed segment with a torn header', { file: name, bytes: size });
        continue;
      }
      const header = decodeSegmentHeader(await handle.read(0, SEGMENT_HEADER_BYTES));
      if (!header.ok) {
        // not trusted for delivery, but its intact-looking records still say how far the chain had come
        const h = handle;
        for await (const item of scanRecords((p, n) => h.read(p, n), SEGMENT_HEADER_BYTES, size)) {
          if (item.kind === 'record') out.nameSeq = Math.max(out.nameSeq, item.seq);
        }
        gapOpen = true;
        await quarantine(name, handle, header.reason);
        continue;
      }
      const { seg, lastAt } = await recoverSegment(name, handle, size, i === names.length - 1);
      out.truncatedBytes += size - seg.size;
      await handle.close();
      handle = undefined;
      if (seg.records === 0) {
        await fs.unlink(pathOf(name));
        out.dirDirty = true;
        log.info('removed empty segment', { file: name });
        continue;
      }
      out.segments.push(seg);
      if (lastAt !== undefined) lastLoc = { seg, offset: lastAt };
    } catch (err) {
      if (errorCode(err) === 'ERR_JOURNAL_IO') throw err;
      // EIO and friends while reading: the whole segment is suspect
      gapOpen = true;
      await quarantine(name, handle, `read failed: ${errorCode(err) ?? String(err)}`);
    }
  }

  if (lastLoc) {
    const h = await fs.open(pathOf(lastLoc.seg.name), 'read');
    try {
      const frame = await h.read(lastLoc.offset, lastLoc.seg.size - lastLoc.offset);
      out.last = { seq: lastLoc.seg.lastSeq, readings: new DataView(frame.buffer, frame.byteOffset).getUint32(16), bytes: frame.slice(RECORD_HEADER_BYTES) };
    } finally { await h.close(); }
  }
  return out;
}

/**
 * The kept records still on disk after open (not in a segment quarantined,
 * deleted as committed or dropped for room), above `committed`, up to `durable`.
 */
export function keptOnDisk(kept: KeptRecord[], segments: Segment[], committed: number, durable: number): KeptRecord[] {
  const out: KeptRecord[] = [];
  let i = 0;
  for (const r of kept) {
    if (r.seq <= committed) continue;
    while (i < segments.length && segments[i]!.lastSeq < r.seq) i++;
    if (i === segments.length || r.seq > durable) break;
    if (r.seq >= segments[i]!.firstSeq) out.push(r);
  }
  return out;
}

// ── where the chain resumes ─────────────────────────────────────────────

export interface ChainHead {
  /** The last seq of the chain (the next batch gets seq + 1). */
  seq: number;
  /** SHA-256 of batch `seq` (the next batch's prev); zeros to start a chain. */
  hash: Uint8Array;
  /** 8 bytes; zeros = the device's original chain. */
  epoch: Uint8Array;
}

export type ChainSource =
  /** nothing was ever written here: seq 1 */
  | 'fresh'
  /** the chain state file (and the journal, if it is ahead) */
  | 'chain-state'
  /** the chain state file was lost; the intact journal says where the chain is */
  | 'journal'
  /** an unclean stop and damage: the chain state may lag, so it resumes after its lease */
  | 'lease'
  /** the chain state was lost together with journal content: a new epoch */
  | 'new-epoch';

export interface ChainResolution {
  head: ChainHead;
  source: ChainSource;
  /** Durable batches that cannot be read back (to be told, reason `corrupt`). Empty for a new epoch. */
  lost: SeqRange[];
  /** Why the chain state file could not be used, if it could not. */
  why?: string;
}

export interface ChainInputs {
  scan: Pick<RecoveredSegments, 'last' | 'holes' | 'damaged' | 'nameSeq'>;
  /** SHA-256 and epoch of scan.last (when there is one). */
  lastHash: Uint8Array;
  lastEpoch: Uint8Array;
  chain: SlotLoad<ChainRecord>;
  /** The committed offset as loaded (undefined: missing or unusable) and whether a commit file existed at all. */
  committed: number | undefined;
  commitFileSeen: boolean;
  /** This boot's id (zeros: unknown). */
  bootId: Uint8Array;
  newEpoch: () => Uint8Array;
}

const ZERO32 = new Uint8Array(32);
const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Pure: where the chain resumes and which journaled batches are lost.
 *
 *   chain state  journal           resumes at                      lost (told)
 *   ok           ahead of it       the journal's last              holes
 *   ok           behind it (C>J)   C                               holes, J+1..C
 *   ok, unclean stop of an earlier boot, and damage (durable data destroyed,
 *   so a published seq may be above both J and a lagging C):
 *                                  its lease L                     holes, J+1..C, ..L
 *   lost         intact            the journal's last              -
 *   lost         damaged or empty  new epoch after every seq seen  (cannot be told)
 *   none         none              seq 1 (fresh)                   -
 */
export function resolveChain(inp: ChainInputs): ChainResolution {
  const J = inp.scan.last?.seq ?? 0;
  const lost: SeqRange[] = [...inp.scan.holes];
  if (inp.chain.ok) {
    const c = inp.chain.value;
    let head: ChainHead = c.seq > J
      ? { seq: c.seq, hash: c.hash, epoch: c.epoch }
      : { seq: J, hash: J > 0 ? inp.lastHash : ZERO32, epoch: J > 0 && J > c.seq ? inp.lastEpoch : c.epoch };
    if (c.seq > J) lost.push({ first: J + 1, last: c.seq });
    // the page cache survived (clean stop, or the same boot: a process crash) → c.seq is exact.
    // After a power cut C may lag what was journaled; a power cut alone loses only
    // what was not durable (never published), but damage can destroy durable batches.
    const exact = c.clean || (!isZero(inp.bootId) && sameBytes(c.bootId, inp.bootId));
    if (!exact && inp.scan.damaged && c.lease > head.seq) {
      lost.push({ first: head.seq + 1, last: c.lease });
      head = { ...head, seq: c.lease };
      return { head, source: 'lease', lost };
    }
    return { head, source: 'chain-state', lost };
  }
  const history = J > 0 || inp.scan.nameSeq > 0 || (inp.committed ?? 0) > 0 || (inp.commitFileSeen && inp.committed === undefined);
  if (!history) return { head: { seq: 0, hash: ZERO32, epoch: new Uint8Array(8) }, source: 'fresh', lost: [], why: inp.chain.reason };
  if (J > 0 && !inp.scan.damaged) {
    return { head: { seq: J, hash: inp.lastHash, epoch: inp.lastEpoch }, source: 'journal', lost, why: inp.chain.reason };
  }
  // Nothing says where the chain was. A new epoch: seqs go on after every seq
  // still in evidence (the journal's seq order holds), the hash chain starts
  // over, and the epoch id tells a verifier this is not the old chain.
  const seq = Math.max(J, inp.scan.nameSeq, inp.committed ?? 0);
  return { head: { seq, hash: ZERO32, epoch: inp.newEpoch() }, source: 'new-epoch', lost: [], why: inp.chain.reason };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** What recovery could not read back, as drop notices told once open() resolved (logged here); a new epoch cannot tell the old chain's losses. */
export function lostAtOpen(res: ChainResolution, committed: number, ctx: { log: Logger; counters: Counters; chainPath: string }): ReturnType<typeof lostNotices> {
  const { log, counters, chainPath } = ctx;
  const chain = res.head;
  if (res.source === 'new-epoch') {
    counters.inc('journal.chain_epochs');
    log.error('CHAIN STATE LOST together with journal content: starting a new chain epoch; what the old chain had not sent is lost and cannot be told', {
      epoch: hex(chain.epoch), next_seq: chain.seq + 1, why: res.why, chain_file: chainPath,
    });
    return [];
  }
  if (res.source === 'journal') log.warn('chain state file unusable: rebuilt from the journal', { why: res.why, seq: chain.seq, file: chainPath });
  if (res.source === 'lease') log.error('unclean stop and journal damage: the chain resumes after its lease, so no seq that may have left is reused', { next_seq: chain.seq + 1 });
  return lostNotices(res.lost, committed);
}

/** Lost ranges as drop notices (reason corrupt), less what was acknowledged. */
export function lostNotices(lost: SeqRange[], committed: number): Array<SeqRange & { batches: number; readings: number; reason: 'corrupt' }> {
  return lost
    .map((r) => ({ first: Math.max(r.first, committed + 1), last: r.last }))
    .filter((r) => r.first <= r.last)
    .map((r) => ({ ...r, batches: r.last - r.first + 1, readings: 0, reason: 'corrupt' as const }));
}

/**
 * The committed offset after a restart: never ahead of what was signed
 * (`top`), never guessed forward. `adopted`: the file's value stands as is.
 */
export function resolveCommitted(loaded: CommitLoad, top: number, lastSeq: number, oldest: number | undefined): { committed: number; adopted: boolean; fallback?: string } {
  if (loaded.ok && loaded.seq <= top) return { committed: loaded.seq, adopted: true };
  // nothing on disk, nothing to resend; unknown what was acknowledged: a lost range is told whole
  if (oldest === undefined) return { committed: loaded.ok ? top : 0, adopted: false };
  // missing or corrupt: resend everything. Beyond everything signed: everything left had been acknowledged.
  return loaded.ok
    ? { committed: lastSeq, adopted: false, fallback: `commit offset ${loaded.seq} is beyond the newest seq ${top}` }
    : { committed: oldest - 1, adopted: false, fallback: loaded.reason };
}
