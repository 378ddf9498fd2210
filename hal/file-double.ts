// In-memory hal/file with power-cut semantics: `crash()` keeps only what was
// fsynced — file data after its last `sync()` and directory entries after the
// last `syncDir()` are lost (optionally torn at a random byte). An optional
// capacity makes it a small disk: files use whole 4 KiB pages, and a write
// that needs a page beyond it writes what fits and fails with ENOSPC, as
// Linux does. State per instance.

import { posix } from 'node:path';
import { fileError } from './file.js';
import type { FileHandle, FileSystem, OpenMode } from './file.js';

const PAGE = 4096;

/** How to undo one write or truncate that is not yet fsynced. */
interface Undo { pos: number; len: number; oldLen: number; old: Uint8Array; truncate: boolean }

interface Inode {
  buf: Uint8Array;
  length: number;
  pending: Undo[];
}

export interface CrashOptions {
  /** Keep a random prefix of the unsynced writes (in order), the last one cut at a random byte. */
  torn?: boolean;
  /** [0, 1) source for `torn`; pass a seeded PRNG for reproducible tests. */
  random?: () => number;
}

export interface FileDoubleStats {
  /** File and directory fsyncs. */
  fsyncs: number;
  dirSyncs: number;
  writes: number;
  bytesWritten: number;
  /** Distinct 4 KiB pages each fsync had to write: what an SD card actually sees. */
  pagesFlushed: number;
}

export interface FileSystemDouble extends FileSystem {
  readonly stats: FileDoubleStats;
  /** Power cut: everything not fsynced is gone; open handles die (EBADF). */
  crash(opts?: CrashOptions): void;
  /** The next append/write fails with `code`, after writing `afterBytes` of it (a short write). */
  failNextWrite(code: 'ENOSPC' | 'EIO', afterBytes?: number): void;
  /** The next file fsync fails with `code`. */
  failNextSync(code?: 'EIO'): void;
  /** Every read of `path` fails with `code` until cleared with undefined. */
  failReads(path: string, code: 'EIO' | undefined): void;
  /** Current content of a file (what a reader sees now, durable or not). */
  readRaw(path: string): Uint8Array;
  /** Replaces a file's content durably (test setup: plant corruption). */
  writeRaw(path: string, data: Uint8Array): void;
  space(dir: string): Promise<{ total: number; free: number }>;
  /** A disk of `bytes` (whole pages count), or unbounded (undefined, the default). */
  setCapacity(bytes: number | undefined): void;
}

function newInode(): Inode { return { buf: new Uint8Array(256), length: 0, pending: [] }; }

function setLength(n: Inode, len: number): void {
  if (len > n.buf.length) {
    const next = new Uint8Array(Math.max(len, n.buf.length * 2));
    next.set(n.buf.subarray(0, n.length));
    n.buf = next;
  } else if (len > n.length) {
    n.buf.fill(0, n.length, len); // bytes past the old end read as zeros
  }
  n.length = len;
}

function applyWrite(n: Inode, pos: number, data: Uint8Array): void {
  const oldLen = n.length;
  const old = n.buf.slice(pos, Math.min(pos + data.length, oldLen));
  if (pos + data.length > n.length) setLength(n, pos + data.length);
  n.buf.set(data, pos);
  n.pending.push({ pos, len: data.length, oldLen, old, truncate: false });
}

function applyTruncate(n: Inode, len: number): void {
  const oldLen = n.length;
  const old = len < oldLen ? n.buf.slice(len, oldLen) : new Uint8Array(0);
  setLength(n, len);
  n.pending.push({ pos: len, len: 0, oldLen, old, truncate: true });
}

/** Undoes `u`, keeping the first `keep` bytes of a write (0 = undo all of it). */
function rollBack(n: Inode, u: Undo, keep = 0): void {
  if (u.truncate) {
    setLength(n, u.oldLen);
    n.buf.set(u.old, u.pos);
    return;
  }
  // restore what the dropped part of the write overwrote, then the old length
  const from = u.pos + keep;
  const oldEnd = u.pos + u.old.length;
  if (from < oldEnd) n.buf.set(u.old.subarray(keep), from);
  n.length = keep === 0 ? u.oldLen : Math.max(u.oldLen, from);
}

export function createFileSystemDouble(): FileSystemDouble {
  let files = new Map<string, Inode>();
  let durable = new Map<string, Inode>(); // directory entries as of the last syncDir
  const dirs = new Set<string>(['/']);
  let generation = 0;
  let nextWriteFault: { code: string; afterBytes: number } | undefined;
  let nextSyncFault: string | undefined;
  const readFaults = new Map<string, string>();
  const stats: FileDoubleStats = { fsyncs: 0, dirSyncs: 0, writes: 0, bytesWritten: 0, pagesFlushed: 0 };
  let capacity: number | undefined;
  const pagesOf = (len: number): number => Math.ceil(len / PAGE);
  const usedPages = (): number => { let n = 0; for (const inode of new Set(files.values())) n += pagesOf(inode.length); return n; };
  /** How many bytes of a write at `pos` of `len` bytes fit on the disk (all of them without a capacity). */
  const fits = (inode: Inode, pos: number, len: number): number => {
    if (capacity === undefined || pos + len <= inode.length) return len;
    const freePages = Math.floor(capacity / PAGE) - usedPages();
    const maxEnd = (pagesOf(inode.length) + Math.max(0, freePages)) * PAGE;
    return Math.max(0, Math.min(len, maxEnd - pos));
  };

  const norm = (p: string): string => posix.resolve('/', p);
  const parentMustExist = (p: string, op: string): void => {
    if (!dirs.has(posix.dirname(p))) throw fileError('ENOENT', op, p);
  };

  function handle(path: string, inode: Inode, mode: OpenMode): FileHandle {
    const gen = generation;
    let open = true;
    const live = (op: string): void => {
      if (!open || gen !== generation) throw fileError('EBADF', op, path);
    };
    const writable = (op: string): void => {
      live(op);
      if (mode === 'read') throw fileError('EBADF', op, path);
    };
    const doWrite = (pos: number, data: Uint8Array): void => {
      stats.writes++;
      const room = fits(inode, pos, data.length);
      if (room < data.length) {
        if (room > 0) { applyWrite(inode, pos, Uint8Array.from(data.subarray(0, room))); stats.bytesWritten += room; }
        throw fileError('ENOSPC', 'write', path);
      }
      const fault = nextWriteFault;
      if (fault) {
        nextWriteFault = undefined;
        const part = data.subarray(0, Math.min(fault.afterBytes, data.length));
        if (part.length > 0) { applyWrite(inode, pos, part); stats.bytesWritten += part.length; }
        throw fileError(fault.code, 'write', path);
      }
      applyWrite(inode, pos, Uint8Array.from(data));
      stats.bytesWritten += data.length;
    };
    return {
      path,
      async size() { live('fstat'); return inode.length; },
      async read(position, length) {
        live('read');
        const fault = readFaults.get(path);
        if (fault) throw fileError(fault, 'read', path);
        return inode.buf.slice(Math.min(position, inode.length), Math.min(position + length, inode.length));
      },
      async append(data) { writable('write'); doWrite(inode.length, data); },
      async write(position, data) { writable('write'); doWrite(position, data); },
      async truncate(length) { writable('ftruncate'); applyTruncate(inode, length); },
      async sync() {
        live('fdatasync');
        if (nextSyncFault) { const code = nextSyncFault; nextSyncFault = undefined; throw fileError(code, 'fdatasync', path); }
        const pages = new Set<number>();
        for (const u of inode.pending) {
          if (u.truncate) continue;
          for (let p = Math.floor(u.pos / PAGE); p * PAGE < u.pos + u.len; p++) pages.add(p);
        }
        stats.pagesFlushed += pages.size;
        stats.fsyncs++;
        inode.pending = [];
      },
      async close() { open = false; },
    };
  }

  const double: FileSystemDouble = {
    stats,
    async open(p, mode) {
      const path = norm(p);
      parentMustExist(path, 'open');
      if (dirs.has(path)) throw fileError('EISDIR', 'open', path);
      let inode = files.get(path);
      if (mode === 'create') {
        if (inode) throw fileError('EEXIST', 'open', path);
        inode = newInode();
        files.set(path, inode);
      } else if (!inode) {
        throw fileError('ENOENT', 'open', path);
      }
      return handle(path, inode, mode);
    },
    async readdir(d) {
      const dir = norm(d);
      if (!dirs.has(dir)) throw fileError('ENOENT', 'scandir', dir);
      const names: string[] = [];
      for (const p of [...files.keys(), ...dirs]) if (p !== dir && posix.dirname(p) === dir) names.push(posix.basename(p));
      return names.sort();
    },
    async stat(p) {
      const path = norm(p);
      if (dirs.has(path)) return { size: 0, isFile: false };
      const inode = files.get(path);
      if (!inode) throw fileError('ENOENT', 'stat', path);
      return { size: inode.length, isFile: true };
    },
    async rename(f, t) {
      const from = norm(f);
      const to = norm(t);
      const inode = files.get(from);
      if (!inode) throw fileError('ENOENT', 'rename', from);
      parentMustExist(to, 'rename');
      files.delete(from);
      files.set(to, inode);
    },
    async unlink(p) {
      const path = norm(p);
      if (!files.delete(path)) throw fileError('ENOENT', 'unlink', path);
    },
    async mkdir(p) {
      // directories themselves are durable at once (a simplification: the journal's dir exists before it runs)
      for (let d = norm(p); !dirs.has(d); d = posix.dirname(d)) {
        if (files.has(d)) throw fileError('EEXIST', 'mkdir', d);
        dirs.add(d);
      }
    },
    async space() {
      const total = capacity ?? 2 ** 40;
      return { total, free: Math.max(0, total - usedPages() * PAGE) };
    },
    async syncDir(d) {
      const dir = norm(d);
      if (!dirs.has(dir)) throw fileError('ENOENT', 'fsync', dir);
      for (const p of [...durable.keys()]) if (posix.dirname(p) === dir && !files.has(p)) durable.delete(p);
      for (const [p, inode] of files) if (posix.dirname(p) === dir) durable.set(p, inode);
      stats.fsyncs++;
      stats.dirSyncs++;
    },
    crash(opts = {}) {
      const random = opts.random ?? Math.random;
      generation++;
      files = new Map(durable);
      durable = new Map(durable);
      for (const inode of new Set(files.values())) {
        const ops = inode.pending;
        // how many unsynced operations made it to the medium, in order
        const kept = opts.torn ? Math.floor(random() * (ops.length + 1)) : 0;
        for (let i = ops.length - 1; i > kept; i--) rollBack(inode, ops[i]!);
        if (kept < ops.length) {
          const u = ops[kept]!;
          const keep = opts.torn && !u.truncate ? Math.floor(random() * u.len) : 0;
          rollBack(inode, u, keep);
        }
        inode.pending = [];
      }
    },
    setCapacity(bytes) { capacity = bytes; },
    failNextWrite(code, afterBytes = 0) { nextWriteFault = { code, afterBytes }; },
    failNextSync(code = 'EIO') { nextSyncFault = code; },
    failReads(p, code) { if (code) readFaults.set(norm(p), code); else readFaults.delete(norm(p)); },
    readRaw(p) {
      const inode = files.get(norm(p));
      if (!inode) throw fileError('ENOENT', 'open', norm(p));
      return inode.buf.slice(0, inode.length);
    },
    writeRaw(p, data) {
      const path = norm(p);
      parentMustExist(path, 'open');
      const inode = newInode();
      setLength(inode, data.length);
      inode.buf.set(data);
      files.set(path, inode);
      durable.set(path, inode);
    },
  };
  return double;
}
