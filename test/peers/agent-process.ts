// Runs the real `tapwire` CLI as a child process (through tsx, from source),
// for end-to-end tests: stop with SIGTERM, or kill -9 for crash tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { generateKeyPair, writeKeyPair } from '../../agent/encode/keys.js';
import { waitFor } from '../helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(root, 'agent', 'cli', 'main.ts');

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Runs `tapwire <args>` to completion. */
export function runCli(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: root, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`tapwire ${args.join(' ')} timed out\n${stderr}`)); }, opts.timeoutMs ?? 30_000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

export interface AgentProcess {
  child: ChildProcess;
  pid: number;
  stderr(): string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** kill -9 and wait. */
  kill9(): Promise<void>;
}

export async function startAgentProcess(configPath: string, env: NodeJS.ProcessEnv = {}): Promise<AgentProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', '--config', configPath], {
    cwd: root, env: { ...process.env, TAPWIRE_LOG: 'debug', ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await waitFor(() => err.includes('agent running') || child.exitCode !== null, 20_000, 'agent start');
  if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}:\n${err}`);
  return {
    child,
    pid: child.pid!,
    stderr: () => err,
    async stop() { child.kill('SIGTERM'); return exited; },
    async kill9() { child.kill('SIGKILL'); await exited; },
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
