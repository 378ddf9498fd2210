// Replaces a small volatile file (status.json) so a reader never sees half of
// it: write a temp file beside it, rename it over the target. No fsync: the
// content is rewritten soon anyway, and a power cut may keep the old one.
// A failed write (a full disk) leaves no temp file behind.

import { errorCode, type FileSystem } from './file.js';

export async function replaceFile(fs: FileSystem, path: string, data: Uint8Array, perm: number): Promise<void> {
  const tmp = `${path}.tmp`;
  await fs.unlink(tmp).catch((err: unknown) => { if (errorCode(err) !== 'ENOENT') throw err; });
  try {
    const h = await fs.open(tmp, 'create', perm);
    try { await h.append(data); } finally { await h.close(); }
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
}
