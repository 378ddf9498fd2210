// The journal as it lies in an agent's stateDir, read without recovery
// (nothing on disk is changed): segment files, their bytes, intact records.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseSegmentName, scanRecords, SEGMENT_HEADER_BYTES } from '../../agent/journal/format.js';

/** One intact record of a segment file, found without recovery (nothing on disk is changed). */
export interface DiskRecord { file: string; offset: number; frameBytes: number; seq: number; readings: number; bytes: Uint8Array }

/** The journal directory of an agent's stateDir. */
export function journalDir(stateDir: string): string {
  return join(stateDir, 'journal');
}

/** Segment files of the journal in seq order (names only). */
export function segmentFiles(stateDir: string): string[] {
  const dir = journalDir(stateDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => ({ name, seq: parseSegmentName(name) }))
    .filter((e): e is { name: string; seq: number } => e.seq !== undefined)
    .sort((a, b) => a.seq - b.seq)
    .map((e) => e.name);
}

/** Bytes of all segment files together: what journal.maxBytes bounds. Files vanishing meanwhile count 0. */
export function segmentBytesOnDisk(stateDir: string): number {
  // One consistent look: files only grow until deleted, so a sum over one listing
  // can only overstate what was on disk when a file counted was deleted (and its
  // room appended elsewhere) while the files were read — then the listing differs
  // and the look is taken again.
  for (;;) {
    const names = segmentFiles(stateDir);
    let total = 0;
    for (const name of names) {
      try { total += statSync(join(journalDir(stateDir), name)).size; } catch { /* deleted meanwhile */ }
    }
    if (segmentFiles(stateDir).join('\n') === names.join('\n')) return total;
  }
}

/** Reads every segment file read-only and returns its intact records in file order (damage is skipped, not repaired). */
export async function scanJournalFiles(stateDir: string): Promise<DiskRecord[]> {
  const out: DiskRecord[] = [];
  for (const file of segmentFiles(stateDir)) {
    let data: Buffer;
    try { data = readFileSync(join(journalDir(stateDir), file)); } catch { continue; }
    if (data.length < SEGMENT_HEADER_BYTES) continue;
    const read = async (p: number, n: number): Promise<Uint8Array> => data.subarray(p, Math.min(data.length, p + n));
    for await (const item of scanRecords(read, SEGMENT_HEADER_BYTES, data.length)) {
      if (item.kind !== 'record') continue;
      out.push({ file, offset: item.offset, frameBytes: item.frameBytes, seq: item.seq, readings: item.readings, bytes: Uint8Array.from(item.payload) });
    }
  }
  return out;
}
