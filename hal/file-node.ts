// hal/file on node:fs. pread/pwrite are synchronous: they only touch the page cache (a 2 KiB
// writeSync takes ~1.6 µs here, the libuv thread-pool hop ~30 µs). Whatever waits on the device
// (fsync, open, rename, unlink) is async, so a slow SD card never stalls the event loop.

import * as fs from 'node:fs';
import { promisify } from 'node:util';
import type { FileHandle, FileSystem, OpenMode } from './file.js';

const openAsync = promisify(fs.open);
const closeAsync = promisify(fs.close);
const fdatasyncAsync = promisify(fs.fdatasync);
const fsyncAsync = promisify(fs.fsync);

const FLAGS: Record<OpenMode, number> = {
  read: fs.constants.O_RDONLY,
  readwrite: fs.constants.O_RDWR,
  create: fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL,
};

function nodeHandle(path: string, fd: number, initialSize: number): FileHandle {
  let size = initialSize;
  let open = true;
  const check = (): void => {
    if (!open) throw Object.assign(new Error(`EBADF: file is closed ${path}`), { code: 'EBADF' });
  };
  const writeAll = (position: number, data: Uint8Array): void => {
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, position + done);
  };
  return {
    path,
    async size() { check(); size = fs.fstatSync(fd).size; return size; },
    async read(position, length) {
      check();
      const buf = Buffer.allocUnsafe(Math.max(0, length));
      let got = 0;
      while (got < buf.length) {
        const n = fs.readSync(fd, buf, got, buf.length - got, position + got);
        if (n === 0) break;
        got += n;
      }
      return got === buf.length ? buf : buf.subarray(0, got);
    },
    async append(data) {
      check();
      try { writeAll(size, data); size += data.length; }
      catch (err) { size = fs.fstatSync(fd).size; throw err; } // a failed write may have left part of the data
    },
    async write(position, data) {
      check();
      try { writeAll(position, data); size = Math.max(size, position + data.length); }
      catch (err) { size = fs.fstatSync(fd).size; throw err; }
    },
    async truncate(length) { check(); fs.ftruncateSync(fd, length); size = length; },
    async sync() { check(); await fdatasyncAsync(fd); },
    async close() { if (!open) return; open = false; await closeAsync(fd); },
  };
}

export const nodeFileSystem: FileSystem = {
  async open(path, mode, perm = 0o600) {
    const fd = await openAsync(path, FLAGS[mode], perm);
    try { return nodeHandle(path, fd, fs.fstatSync(fd).size); }
    catch (err) { fs.closeSync(fd); throw err; }
  },
  readdir: (dir) => fs.promises.readdir(dir),
  async stat(path) {
    const s = await fs.promises.stat(path);
    return { size: s.size, isFile: s.isFile() };
  },
  rename: (from, to) => fs.promises.rename(from, to),
  unlink: (path) => fs.promises.unlink(path),
  async mkdir(path, perm = 0o700) { await fs.promises.mkdir(path, { recursive: true, mode: perm }); },
  async space(dir) {
    const s = await fs.promises.statfs(dir);
    return { total: s.blocks * s.bsize, free: s.bavail * s.bsize };
  },
  async syncDir(dir) {
    const fd = await openAsync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try { await fsyncAsync(fd); } finally { await closeAsync(fd); }
  },
};
