// A `tapwire ingest` worker as a child process (from source through tsx, or a
// built bundle), for tests and benches: wait until it runs, SIGTERM it (it
// stores what is in flight and exits 0), or kill -9 it. Samples its peak RSS.

import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { spawnCli } from './agent-process.js';
import { signalProcess } from './process.js';
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
  const bundle = o.bundle;
  const p = spawnCli(args, {
    env: { NODE_OPTIONS: '', ...o.env },
    ...(bundle ? { tapwire: (a: string[]) => ({ file: process.execPath, args: [bundle, ...a] }) } : {}),
  });
  let peak = 0;
  const sample = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch { /* gone */ }
  }, 200);
  void p.exited.then(() => clearInterval(sample));
  const { child } = p;
  await waitFor(() => p.stderr().includes('ingest running') || child.exitCode !== null || child.signalCode !== null, o.startTimeoutMs ?? 30_000, `ingest worker ${o.worker} running`);
  if (!p.stderr().includes('ingest running')) throw new Error(`ingest worker ${o.worker} exited (${child.exitCode ?? child.signalCode}):\n${p.stderr()}`);
  return {
    child,
    stderr: p.stderr,
    peakRssMb: () => peak,
    stop: () => signalProcess(p, 'SIGTERM'),
    async kill9() { await signalProcess(p, 'SIGKILL'); },
  };
}
