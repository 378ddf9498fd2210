// PGlite is one process's database: a lock file in the directory names the
// process that holds it, so a second `ingest` or a `fleet report` says plainly
// who has it instead of corrupting it. A lock left by a process that is gone
// (kill -9, power cut) on this host is taken over.
//
//   <dir>/tapwire.lock   JSON: {"pid": 1234, "host": "ingest-1", "command": "tapwire ingest", "since": "<ISO time>"}

import { closeSync, constants, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DbError } from './db.js';

export interface LockHolder { pid: number; host: string; command: string; since: string }
export interface DirLock { path: string; release(): void }

export const LOCK_FILE = 'tapwire.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string') {
      return { pid: h.pid, host: h.host, command: String(h.command ?? 'unknown'), since: String(h.since ?? '?') };
    }
  } catch { /* unreadable or half-written: treated below */ }
  return undefined;
}

/** Takes `<dir>/tapwire.lock` or throws DbError ERR_DB_IN_USE naming the holder. */
export function lockDir(dir: string, command: string): DirLock {
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const h = readHolder(path);
      if (h && h.host === me.host && !alive(h.pid)) {
        unlinkSync(path); // its holder is gone: stale
        continue;
      }
      const who = h ? `${h.command} (pid ${h.pid} on ${h.host}, since ${h.since})` : 'another process (unreadable lock file)';
      throw new DbError('ERR_DB_IN_USE',
        `database ${dir} is in use by ${who}: PGlite is one process's database — stop that process first, or use PostgreSQL (--db postgres://...) to share it` +
        (h ? '' : `; if nothing uses it, remove ${path}`));
    }
    try { writeSync(fd, JSON.stringify(me) + '\n'); } finally { closeSync(fd); }
    return {
      path,
      release() {
        if (readHolder(path)?.pid === process.pid) {
          try { unlinkSync(path); } catch { /* already gone */ }
        }
      },
    };
  }
  throw new DbError('ERR_DB_IN_USE', `database ${dir}: could not take ${path}`);
}
