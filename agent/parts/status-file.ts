// status.json: what the agent is doing, for `tapwire status`, the demo and
// people (no socket to ask). Written on the tick only when its content
// changed (the `updated` time aside), and at least every `refreshMs` so
// readers can tell its age; gentle on an SD card when statusDir is the
// stateDir. Replaced whole (tmp + rename): a reader never sees half a file.
// The last write is at stop, after everything else stopped.

import { replaceFile } from '../../hal/replace-file.js';
import type { Clock } from '../../hal/clock.js';
import type { FileSystem } from '../../hal/file.js';
import type { Logger } from '../log.js';
import type { Part } from './part.js';
import type { PeriodicJob } from './ticker.js';

export const STATUS_FILE = 'status.json';
const DEFAULT_EVERY_MS = 5000;
const DEFAULT_REFRESH_MS = 60_000;

export interface StatusFileDeps<T extends { updated: number }> {
  fs: FileSystem;
  clock: Clock;
  log: Logger;
  /** The status now. */
  content(): T;
}

export function createStatusFile<T extends { updated: number }>(
  opts: { dir: string; everyMs?: number; refreshMs?: number },
  deps: StatusFileDeps<T>,
): Part & PeriodicJob {
  const file = `${opts.dir}/${STATUS_FILE}`;
  const refreshMs = opts.refreshMs ?? DEFAULT_REFRESH_MS;
  let written: { key: string; at: number } | undefined;
  let writing: Promise<void> | undefined;

  async function write(force: boolean): Promise<void> {
    const status = deps.content();
    const key = JSON.stringify({ ...status, updated: 0 });
    const now = deps.clock.monotonic();
    if (!force && written && written.key === key && now - written.at < refreshMs) return;
    try {
      await replaceFile(deps.fs, file, Buffer.from(JSON.stringify(status) + '\n'), { perm: 0o644 });
      written = { key, at: now };
    } catch (err) {
      deps.log.debug('cannot write status file', { cause: (err as Error).message });
    }
  }

  return {
    name: 'status-file',
    everyMs: opts.everyMs ?? DEFAULT_EVERY_MS,
    async start() { await deps.fs.mkdir(opts.dir, 0o755); },
    tick() {
      if (writing) return writing; // one write at a time; the next tick catches up
      writing = write(false).finally(() => { writing = undefined; });
      return writing;
    },
    async stop() {
      await writing;
      await write(true);
    },
  };
}
