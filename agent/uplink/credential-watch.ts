// Credential-file watch: the uplink's ca, cert, key and passwordFile are
// polled every intervalMs by (mtime, size, inode); a change calls onChange
// once (the uplink then reconnects with the new files — TLS or password
// rotation without a restart).

import { statSync } from 'node:fs';
import type { Clock, Timer } from '../../hal/clock.js';

export interface CredentialWatchOptions {
  /** The files to watch; undefined entries are skipped. */
  paths: Array<string | undefined>;
  intervalMs: number;
  clock: Clock;
  /** A file's stamp; default node:fs statSync (mtime, size, inode), "missing" when absent. */
  statFile?(path: string): string;
  /** Called once per change seen, with the watched files. */
  onChange(files: string[]): void;
}

export interface CredentialWatch {
  /** Takes the current stamp and polls; does nothing without files or with intervalMs 0. */
  start(): void;
  stop(): void;
}

function defaultStatFile(path: string): string {
  try {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return 'missing';
  }
}

export function createCredentialWatch(o: CredentialWatchOptions): CredentialWatch {
  const statFile = o.statFile ?? defaultStatFile;
  const files = o.paths.filter((p): p is string => p !== undefined);
  let timer: Timer | undefined;
  let stopped = false;
  let stamp = '';

  const stampNow = (): string => o.paths.map((p) => (p === undefined ? '-' : statFile(p))).join('|');

  function schedule(): void {
    if (stopped) return;
    timer = o.clock.setTimeout(() => {
      timer = undefined;
      if (stopped) return;
      const now = stampNow();
      if (now !== stamp) {
        stamp = now;
        o.onChange(files);
      }
      schedule();
    }, o.intervalMs);
  }

  return {
    start() {
      if (files.length === 0 || o.intervalMs <= 0) return;
      stamp = stampNow();
      schedule();
    },
    stop() {
      stopped = true;
      timer?.cancel();
      timer = undefined;
    },
  };
}
