// Small files that must never be seen half-written (keys, key announcements):
// write a temp file, fsync it, rename it over the target. Synchronous: these
// are rare and tiny. The caller fsyncs the directory (fsyncDir) when the
// rename itself must survive a power cut.

import { closeSync, constants, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';

export function writeFileAtomic(path: string, data: Uint8Array | string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try { unlinkSync(tmp); } catch { /* none left over */ }
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    let done = 0;
    while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** fsync a directory so a create/rename/unlink in it is durable. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // some filesystems refuse fsync on a directory; the data itself is synced
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
