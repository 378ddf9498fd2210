// Runs the real `tapwire` CLI as a child process (through tsx, from source),
// for end-to-end tests: one launcher (spawnCli) under `run` (stop with
// SIGTERM, or kill -9 for crash tests), `verify` and run-to-completion.

import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { generateKeyPair, writeKeyPair } from '../../agent/encode/keys.js';
import { waitFor } from '../helpers.js';
import { runProcess, signalProcess, spawnProcess, type Launch, type ProcessResult, type Spawned } from './process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(root, 'agent', 'cli', 'main.ts');

export type CliResult = ProcessResult;
export type CliProcess = Spawned;

/** How `tapwire <args>` is started: from source through tsx (default), or an installed release's command. */
export type Tapwire = (args: string[]) => Launch;
export const fromSource: Tapwire = (args) => ({ file: process.execPath, args: ['--import', 'tsx', CLI, ...args], cwd: root });

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  /** An environment variable set to the process's own pid, as systemd sets WATCHDOG_PID. */
  selfPidEnv?: string;
  tapwire?: Tapwire;
}

const launchOf = (args: string[], opts: CliOptions): Launch => {
  const l = (opts.tapwire ?? fromSource)(args);
  return { ...l, env: { ...l.env, ...opts.env } };
};

/** `tapwire <args>`, its stdout and stderr kept: the one launcher of every CLI process. */
export function spawnCli(args: string[], opts: CliOptions = {}): CliProcess {
  return spawnProcess(launchOf(args, opts), opts.selfPidEnv === undefined ? {} : { selfPidEnv: opts.selfPidEnv });
}

/** Waits until stderr holds `marker`; throws with stderr if the process exits first. */
async function started(p: CliProcess, what: string, marker: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(() => p.stderr().includes(marker) || p.child.exitCode !== null, timeoutMs, `${what} start`);
  if (p.child.exitCode !== null) throw new Error(`${what} exited with ${p.child.exitCode}:\n${p.stderr()}`);
}

/** Runs `tapwire <args>` to completion. */
export function runCli(args: string[], opts: CliOptions & { timeoutMs?: number } = {}): Promise<CliResult> {
  return runProcess(launchOf(args, opts), opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs });
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
  /** How long it may take to log "agent running" (default 20 s). */
  startTimeoutMs?: number;
}

/** `tapwire run --config <file> <args>` (TAPWIRE_LOG defaults to debug); resolves once "agent running" is logged. */
export async function startAgentProcess(configPath: string, opts: AgentProcessOptions = {}): Promise<AgentProcess> {
  const p = spawnCli(['run', '--config', configPath, ...(opts.args ?? [])], { ...opts, env: { TAPWIRE_LOG: 'debug', ...opts.env } });
  await started(p, 'agent', 'agent running', opts.startTimeoutMs);
  return {
    ...p,
    stop: () => signalProcess(p, 'SIGTERM'),
    async kill9() { await signalProcess(p, 'SIGKILL'); },
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
    stop: (signal = 'SIGINT') => signalProcess(p, signal),
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

// the journal on disk (journal-disk.ts) and the fake cloud client (cloud.ts), re-exported for the soak rig
export { journalDir, scanJournalFiles, segmentBytesOnDisk, segmentFiles, type DiskRecord } from './journal-disk.js';
export { sha256Hex, watchCloud, type CloudWatch } from './cloud.js';
