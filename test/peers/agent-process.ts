// Runs the real `tapwire` CLI as a child process (through tsx, from source),
// for end-to-end tests: one launcher (spawnCli) under `run` (stop with
// SIGTERM, or kill -9 for crash tests), `verify` and run-to-completion.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { generateKeyPair, writeKeyPair } from '../../agent/encode/keys.js';
import { parseSegmentName, scanRecords, SEGMENT_HEADER_BYTES } from '../../agent/journal/format.js';
import { waitFor } from '../helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(root, 'agent', 'cli', 'main.ts');

export interface CliResult { code: number | null; stdout: string; stderr: string }

export interface CliProcess {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Resolves with the first stderr line matching `re` that appears after character `from` of stderr. */
  waitLine(re: RegExp, timeoutMs?: number, from?: number): Promise<string>;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  /** An environment variable set to the process's own pid, as systemd sets WATCHDOG_PID (a shell execs tapwire). */
  selfPidEnv?: string;
}

/** `tapwire <args>` through tsx, from source, its stdout and stderr kept: the one launcher of every CLI process. */
export function spawnCli(args: string[], opts: CliOptions = {}): CliProcess {
  const argv = ['--import', 'tsx', CLI, ...args];
  const [file, all] = opts.selfPidEnv === undefined
    ? [process.execPath, argv]
    : ['sh', ['-c', `${opts.selfPidEnv}=$$ exec "$0" "$@"`, process.execPath, ...argv]];
  const child = spawn(file, all, { cwd: root, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const findLine = (re: RegExp, from: number): string | undefined => err.slice(from).split('\n').find((l) => re.test(l));
  return {
    child, exited,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    waitLine: (re, timeoutMs = 15_000, from = 0) => waitFor(() => findLine(re, from), timeoutMs, `log line ${re}\n--- stderr:\n${err.slice(-3000)}`),
  };
}

/** Sends `signal` unless the process has exited; resolves with the exit code. */
function signalled(p: CliProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  return p.exited;
}

/** Waits until stderr holds `marker`; throws with stderr if the process exits first. */
async function started(p: CliProcess, what: string, marker: string): Promise<void> {
  await waitFor(() => p.stderr().includes(marker) || p.child.exitCode !== null, 20_000, `${what} start`);
  if (p.child.exitCode !== null) throw new Error(`${what} exited with ${p.child.exitCode}:\n${p.stderr()}`);
}

/** Runs `tapwire <args>` to completion. */
export async function runCli(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const p = spawnCli(args, { env: opts.env });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { p.child.kill('SIGKILL'); reject(new Error(`tapwire ${args.join(' ')} timed out\n${p.stderr()}`)); }, opts.timeoutMs ?? 30_000);
  });
  try {
    const code = await Promise.race([p.exited, timeout]);
    return { code, stdout: p.stdout(), stderr: p.stderr() };
  } finally { clearTimeout(timer); }
}

export interface AgentProcess extends CliProcess {
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** kill -9 and wait. */
  kill9(): Promise<void>;
}

export interface AgentProcessOptions extends CliOptions {
  /** More `run` options. */
  args?: string[];
}

/** `tapwire run --config <file> <args>` (TAPWIRE_LOG defaults to debug); resolves once "agent running" is logged. */
export async function startAgentProcess(configPath: string, opts: AgentProcessOptions = {}): Promise<AgentProcess> {
  const p = spawnCli(['run', '--config', configPath, ...(opts.args ?? [])], { ...opts, env: { TAPWIRE_LOG: 'debug', ...opts.env } });
  await started(p, 'agent', 'agent running');
  return {
    ...p,
    stop: () => signalled(p, 'SIGTERM'),
    async kill9() { await signalled(p, 'SIGKILL'); },
  };
}

export interface VerifyProcess extends CliProcess {
  /** Each stdout line parsed as JSON (run with --json). */
  lines(): Array<Record<string, unknown>>;
  /** Sends `signal` (default SIGINT: print the summary) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `tapwire verify <args>` and waits until it has subscribed. */
export async function startVerifyProcess(args: string[]): Promise<VerifyProcess> {
  const p = spawnCli(['verify', ...args]);
  await started(p, 'verify', 'info verify subscribed');
  return {
    ...p,
    lines: () => p.stdout().split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>),
    stop: (signal = 'SIGINT') => signalled(p, signal),
  };
}

/** Writes a config file and a fresh device key into stateDir; returns the public key. */
export function prepareDevice(configPath: string, config: Record<string, unknown> & { stateDir: string }): Uint8Array {
  const pair = generateKeyPair();
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  writeKeyPair(join(config.stateDir, 'device.key'), join(config.stateDir, 'device.pub'), pair);
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  return pair.publicKey;
}

// ── Agent-level fault tests (issue 4): the journal as it lies on disk, and a
// cloud-side observer with a persistent session that keeps every batch's hash.

/** One intact record of a segment file, found without recovery (nothing on disk is changed). */
export interface DiskRecord { file: string; offset: number; frameBytes: number; seq: number; readings: number; bytes: Uint8Array }

/** The journal directory of an agent's stateDir. */
export function journalDir(stateDir: string): string {
  return join(stateDir, 'journal');
}

/** Segment files of the journal in seq order (names only). */
export function segmentFiles(stateDir: string): string[] {
  const dir = journalDir(stateDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => ({ name, seq: parseSegmentName(name) }))
    .filter((e): e is { name: string; seq: number } => e.seq !== undefined)
    .sort((a, b) => a.seq - b.seq)
    .map((e) => e.name);
}

/** Bytes of all segment files together: what journal.maxBytes bounds. Files vanishing meanwhile count 0. */
export function segmentBytesOnDisk(stateDir: string): number {
  let total = 0;
  for (const name of segmentFiles(stateDir)) {
    try { total += statSync(join(journalDir(stateDir), name)).size; } catch { /* deleted meanwhile */ }
  }
  return total;
}

/** Reads every segment file read-only and returns its intact records in file order (damage is skipped, not repaired). */
export async function scanJournalFiles(stateDir: string): Promise<DiskRecord[]> {
  const out: DiskRecord[] = [];
  for (const file of segmentFiles(stateDir)) {
    let data: Buffer;
    try { data = readFileSync(join(journalDir(stateDir), file)); } catch { continue; }
    if (data.length < SEGMENT_HEADER_BYTES) continue;
    const read = async (p: number, n: number): Promise<Uint8Array> => data.subarray(p, Math.min(data.length, p + n));
    for await (const item of scanRecords(read, SEGMENT_HEADER_BYTES, data.length)) {
      if (item.kind !== 'record') continue;
      out.push({ file, offset: item.offset, frameBytes: item.frameBytes, seq: item.seq, readings: item.readings, bytes: Uint8Array.from(item.payload) });
    }
  }
  return out;
}

// the fake cloud client lives in cloud.ts; re-exported for the soak rig
export { sha256Hex, watchCloud, type CloudWatch } from './cloud.js';
