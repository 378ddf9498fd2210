// The crash soak's fault mix (issue 11): besides kill -9, damage to the
// stopped agent's journal (a segment header overwritten, a record flipped,
// the tail cut) and a full disk (a ballast file on the state directory's
// small tmpfs, with the broker down so unsent batches pile up). Each fault
// says which seqs it destroyed, so the soak can check they were told.

import { rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { journalDir, segmentFiles, type DiskRecord } from '../peers/agent-process.js';
import { cutTail, destroySegmentHeader, flipBytes } from '../peers/journal-damage.js';

export type Fault = 'kill' | 'header' | 'record' | 'tail' | 'disk-full';
export const ALL_FAULTS: Fault[] = ['kill', 'header', 'record', 'tail', 'disk-full'];

/** Kill-only runs stay the most common: they check the loss bound per crash. */
const WEIGHTS: Record<Fault, number> = { kill: 4, header: 1, record: 1, tail: 1, 'disk-full': 1 };

export function pickFault(random: () => number, allowed: Fault[]): Fault {
  const total = allowed.reduce((n, f) => n + WEIGHTS[f], 0);
  let x = random() * total;
  for (const f of allowed) { x -= WEIGHTS[f]; if (x < 0) return f; }
  return allowed[allowed.length - 1]!;
}

/**
 * Damages the journal of a stopped agent; returns the seqs whose records it
 * destroyed (undefined when there was nothing to damage).
 */
export function damageJournal(fault: 'header' | 'record' | 'tail', stateDir: string, records: DiskRecord[], random: () => number): { seqs: number[]; what: string } | undefined {
  const files = segmentFiles(stateDir);
  if (files.length === 0 || records.length === 0) return undefined;
  const dir = journalDir(stateDir);
  if (fault === 'tail') {
    const last = records[records.length - 1]!;
    const cut = 1 + Math.floor(random() * (last.frameBytes - 1));
    cutTail(join(dir, last.file), cut);
    return { seqs: [last.seq], what: `cut ${cut} bytes off ${last.file}` };
  }
  if (fault === 'header') {
    const file = files[Math.floor(random() * files.length)]!;
    destroySegmentHeader(join(dir, file));
    return { seqs: records.filter((r) => r.file === file).map((r) => r.seq), what: `header of ${file}` };
  }
  const rec = records[Math.floor(random() * records.length)]!;
  flipBytes(join(dir, rec.file), rec.offset + 24 + Math.floor(random() * (rec.frameBytes - 24)), 1);
  return { seqs: [rec.seq], what: `record ${rec.seq} in ${rec.file}` };
}

/** Fills the file system of `dir` until only `leaveBytes` are free; returns the ballast's remover. */
export function fillDisk(dir: string, leaveBytes: number): () => void {
  const path = join(dir, 'ballast.fill');
  const s = statfsSync(dir);
  const free = s.bavail * s.bsize;
  writeFileSync(path, Buffer.alloc(Math.max(0, free - leaveBytes)));
  return () => rmSync(path, { force: true });
}
