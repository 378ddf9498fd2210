// One child process for tests, the one way suites start programs: kept
// (stdout and stderr collected, waits on log lines) or run to completion with
// a time limit. No stdin; the caller's environment plus `env`.

import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from '../helpers.js';

/** How to start a program: file, arguments, and optionally more environment and a working directory. */
export interface Launch { file: string; args: string[]; env?: NodeJS.ProcessEnv; cwd?: string }

export interface ProcessResult { code: number | null; stdout: string; stderr: string }

export interface Spawned {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Resolves with the first stderr line matching `re` that appears after character `from` of stderr. */
  waitLine(re: RegExp, timeoutMs?: number, from?: number): Promise<string>;
}

export interface SpawnOptions {
  /** Sees the whole stdout so far, each time it grows. */
  onStdout?: (text: string) => void;
  /** An environment variable set to the process's own pid, as systemd sets WATCHDOG_PID (a shell execs the program). */
  selfPidEnv?: string;
}

export function spawnProcess(launch: Launch, opts: SpawnOptions = {}): Spawned {
  const [file, args] = opts.selfPidEnv === undefined
    ? [launch.file, launch.args]
    : ['sh', ['-c', `${opts.selfPidEnv}=$$ exec "$0" "$@"`, launch.file, ...launch.args]];
  const child = spawn(file, args, { cwd: launch.cwd, env: { ...process.env, ...launch.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); opts.onStdout?.(out); });
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
export function signalProcess(p: Spawned, signal: NodeJS.Signals): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  return p.exited;
}

/** Runs `launch` to completion (its output read to the end); after `timeoutMs` it is killed and this rejects, naming it. */
export function runProcess(launch: Launch, opts: { timeoutMs?: number; onStdout?: (text: string) => void } = {}): Promise<ProcessResult> {
  const p = spawnProcess(launch, { onStdout: opts.onStdout });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      p.child.kill('SIGKILL');
      reject(new Error(`${[launch.file, ...launch.args].join(' ')} timed out after ${timeoutMs} ms\n${p.stderr()}`));
    }, timeoutMs);
    p.child.once('error', (err) => { clearTimeout(timer); reject(err); });
    p.child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout: p.stdout(), stderr: p.stderr() }); });
  });
}
