// A `tapwire ingest` worker as a child process (from source through tsx, or a
// built bundle), for tests and benches: wait until it runs, SIGTERM it (it
// stores what is in flight and exits 0), or kill -9 it. Samples its peak RSS.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI } from './agent-process.js';
import { waitFor } from '../helpers.js';

export interface IngestProcess {
  child: ChildProcess;
  stderr(): string;
  /** Peak resident set (VmHWM) seen so far, MB. */
  peakRssMb(): number;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** kill -9; resolves when it is gone. */
  kill9(): Promise<void>;
}

export interface IngestProcessOptions {
  url: string;
  db: string;
  worker: string;
  share?: string;
  lanes?: number;
  /** Run this bundle (`node <bundle> ingest …`) instead of the sources through tsx. */
  bundle?: string;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
}

export async function startIngestProcess(o: IngestProcessOptions): Promise<IngestProcess> {
  const args = ['ingest', '--url', o.url, '--db', o.db, '--worker', o.worker, '--share', o.share ?? 'test', '--lanes', String(o.lanes ?? 4), ...(o.extraArgs ?? [])];
  const child = spawn(process.execPath, o.bundle ? [o.bundle, ...args] : ['--import', 'tsx', CLI, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...o.env },
  });
  let err = '';
  let peak = 0;
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const sample = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch { /* gone */ }
  }, 200);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => { clearInterval(sample); r(code); }));
  await waitFor(() => err.includes('ingest running') || child.exitCode !== null || child.signalCode !== null, o.startTimeoutMs ?? 30_000, `ingest worker ${o.worker} running`);
  if (!err.includes('ingest running')) throw new Error(`ingest worker ${o.worker} exited (${child.exitCode ?? child.signalCode}):\n${err}`);
  return {
    child,
    stderr: () => err,
    peakRssMb: () => peak,
    stop() { child.kill('SIGTERM'); return exited; },
    async kill9() { child.kill('SIGKILL'); await exited; },
  };
}
