// Real damage to a stopped agent's journal, the way a failing SD card or a
// careless hand does it: bytes flipped, a segment header overwritten, a file
// cut short. Offsets come from scanJournalFiles (agent-process.ts).

import { closeSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';

/** XORs `count` bytes at `at` with 0xff. */
export function flipBytes(path: string, at: number, count: number): void {
  const fd = openSync(path, 'r+');
  try {
    const b = readFileSync(path).subarray(at, at + count);
    writeSync(fd, Buffer.from(b.map((x) => x ^ 0xff)), 0, count, at);
  } finally { closeSync(fd); }
}

/** Overwrites the first 16 bytes (magic, version, base seq) of a segment file, as in issue 11. */
export function destroySegmentHeader(path: string): void {
  const fd = openSync(path, 'r+');
  try { writeSync(fd, Buffer.alloc(16, 0x41), 0, 16, 0); } finally { closeSync(fd); }
}

/** Cuts `bytes` off the end of a file. */
export function cutTail(path: string, bytes: number): void {
  const size = readFileSync(path).length;
  truncateSync(path, Math.max(0, size - bytes));
}
