// A real small disk for full-disk tests: a tmpfs of a given size mounted on a
// fresh temp dir (mount(8) needs root, which the test machines have). A write
// beyond it fails with ENOSPC exactly as on a full SD card.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  path: string;
  /** Unmounts (processes using it must have exited) and removes the mount point. */
  unmount(): void;
}

/** Mounts a tmpfs of `bytes`; undefined with the reason when this machine cannot (not root, no mount). */
export function mountSmallDisk(bytes: number): SmallDisk | { cannot: string } {
  const path = mkdtempSync(join(tmpdir(), 'tapwire-disk-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', path], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(path, { recursive: true, force: true });
    return { cannot: `mount -t tmpfs failed (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}); these tests need root` };
  }
  return {
    path,
    unmount() {
      // a lazy unmount never fails on a busy mount; the tmpfs goes when its last user does
      const u = spawnSync('umount', [path], { encoding: 'utf8' });
      if (u.status !== 0) spawnSync('umount', ['-l', path]);
      rmSync(path, { recursive: true, force: true });
    },
  };
}
