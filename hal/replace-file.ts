// Replaces a small file so a reader never sees half of it: write a temp file
// beside it, rename it over the target. A failed write (a full disk) leaves no
// temp file behind. `durable`: the data and the rename survive a power cut
// (fsync the file, then its directory) — for state that must (OTA state); a
// volatile file rewritten soon anyway (status.json) skips both.

import { dirname } from 'node:path';
import { errorCode, type FileSystem } from './file.js';

export interface ReplaceOptions {
  /** Permission bits of a new file (default: the file system's). */
  perm?: number;
  durable?: boolean;
}

export async function replaceFile(fs: FileSystem, path: string, data: Uint8Array, opts: ReplaceOptions = {}): Promise<void> {
  const tmp = `${path}.tmp`;
  await fs.unlink(tmp).catch((err: unknown) => { if (errorCode(err) !== 'ENOENT') throw err; });
  try {
    const h = await fs.open(tmp, 'create', opts.perm);
    try {
      await h.append(data);
      if (opts.durable) await h.sync();
    } finally { await h.close(); }
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (opts.durable) await fs.syncDir(dirname(path));
}
