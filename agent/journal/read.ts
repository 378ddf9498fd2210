// The journal's read path: durable records from a seq on, for the uplink.
// Seeks by the segments' sparse index and a cursor left by the last read, so
// reading the next window never rescans what was sent; one read handle at a time.

import type { FileHandle, FileSystem } from '../../hal/file.js';
import type { Logger } from '../log.js';
import { SEGMENT_HEADER_BYTES, scanRecords } from './format.js';
import type { Segment } from './segment.js';

export interface ReadRecord { seq: number; readings: number; bytes: Uint8Array }

export interface JournalReaderDeps {
  fs: FileSystem;
  log: Logger;
  pathOf(name: string): string;
  segments(): Segment[];
  durable(): number;
  /** The writer's handle when `seg` is the active segment (read through it, do not open a second one). */
  activeHandle(seg: Segment): FileHandle | undefined;
  countCorrupt(n: number): void;
}

export interface JournalReader {
  /** Durable records with seq >= from, ascending, at most max (skips holes). */
  read(from: number, max: number): Promise<ReadRecord[]>;
  /** `file:offset` of damage already reported (by recovery or an earlier read). */
  readonly damageSeen: Set<string>;
  /** The segment is going away: drop its handle and cursor. */
  forget(seg: Segment): Promise<void>;
  close(): Promise<void>;
}

export function createJournalReader(deps: JournalReaderDeps): JournalReader {
  let reader: { seg: Segment; handle: FileHandle } | undefined;
  let cursor: { seg: Segment; afterSeq: number; offset: number } | undefined;
  const damageSeen = new Set<string>();

  async function handleFor(seg: Segment): Promise<FileHandle> {
    const a = deps.activeHandle(seg);
    if (a) return a;
    if (reader?.seg === seg) return reader.handle;
    if (reader) { await reader.handle.close().catch(() => undefined); reader = undefined; }
    reader = { seg, handle: await deps.fs.open(deps.pathOf(seg.name), 'read') };
    return reader.handle;
  }

  async function read(from: number, max: number): Promise<ReadRecord[]> {
    const out: ReadRecord[] = [];
    const durable = deps.durable();
    let prev = from - 1; // a record open() skipped for a non-increasing seq is still in the file
    for (const seg of [...deps.segments()]) {
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
            deps.countCorrupt(1);
            deps.log.error('corrupt record skipped while reading', { file: seg.name, offset: item.offset, bytes: item.bytes });
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

  return {
    read,
    damageSeen,
    async forget(seg) {
      if (reader?.seg === seg) { await reader.handle.close().catch(() => undefined); reader = undefined; }
      if (cursor?.seg === seg) cursor = undefined;
    },
    async close() {
      if (reader) await reader.handle.close().catch(() => undefined);
      reader = undefined;
      cursor = undefined;
    },
  };
}
