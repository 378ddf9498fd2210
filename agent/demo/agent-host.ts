// Where the demo's agent runs. With real ptys it is its own process — `tapwire
// run` on the config the demo wrote, started the way the CLI was — so `k` is a
// real kill -9 and the restart reads the journal and chain state from disk,
// as on a device. Without socat it runs in-process on simulated ports (no `k`).

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentStatus } from '../agent.js';
import { selfCommand } from './self-command.js';

export interface AgentHost {
  readonly kind: 'process' | 'in-process';
  /** pid of the agent process (the demo's own in-process). */
  readonly pid: number | undefined;
  start(): Promise<void>;
  /** kill -9 the agent and start it again (process only). */
  crash?(): Promise<{ killed: number; started: number }>;
  /** The agent's last status (the status file it rewrites every 5 s, or live in-process), and how old. */
  status(): { status: AgentStatus; ageMs: number } | undefined;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
const STATUS_CACHE_MS = 500;

const startError = (message: string): Error => Object.assign(new Error(message), { code: 'ERR_DEMO_AGENT' });

export function createAgentProcess(o: {
  configPath: string; stateDir: string;
  /** Each line the agent logs (stderr). */
  onLog(line: string): void;
  /** The agent exited when nobody asked it to. */
  onUnexpectedExit(why: string): void;
}): AgentHost {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let expectingExit = false;
  let cache: { at: number; value: { status: AgentStatus; mtimeMs: number } | undefined } = { at: -Infinity, value: undefined };
  const killOnExit = (): void => { child?.kill('SIGKILL'); };

  function readStatus(): { status: AgentStatus; mtimeMs: number } | undefined {
    const now = Date.now();
    if (now - cache.at < STATUS_CACHE_MS) return cache.value;
    let value: { status: AgentStatus; mtimeMs: number } | undefined;
    try {
      const status = JSON.parse(readFileSync(join(o.stateDir, 'status.json'), 'utf8')) as AgentStatus;
      value = { status, mtimeMs: status.updated * 1000 };
    } catch { value = undefined; } // not written yet, or being replaced
    cache = { at: now, value };
    return value;
  }

  async function start(): Promise<void> {
    const cmd = selfCommand(['run', '--config', o.configPath]);
    const c = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'ignore', 'pipe'], env: process.env });
    child = c;
    expectingExit = false;
    process.once('exit', killOnExit);
    let tail = '';
    let partial = '';
    c.stderr?.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) { tail = `${tail}${l}\n`.slice(-4000); o.onLog(l); }
    });
    exited = new Promise<void>((resolve) => c.once('exit', (code, signal) => {
      process.off('exit', killOnExit);
      cache.at = -Infinity; // its last status (written at a clean stop) is read afresh
      if (!expectingExit) o.onUnexpectedExit(signal ? `killed by ${signal}` : `exit code ${code}`);
      resolve();
    }));
    // running = its status file names this pid in state running (whatever the log level)
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) throw startError(`the demo's agent (tapwire run) exited at start:\n${tail.trim()}`);
      cache.at = -Infinity;
      const s = readStatus()?.status;
      if (s && s.pid === c.pid && s.state === 'running') return;
      if (Date.now() > deadline) throw startError(`the demo's agent (tapwire run) did not start within ${START_TIMEOUT_MS / 1000} s:\n${tail.trim()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function stopChild(signal: NodeJS.Signals): Promise<void> {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    expectingExit = true;
    c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  return {
    kind: 'process',
    get pid() { return child?.pid; },
    start,
    async crash() {
      const killed = child?.pid ?? 0;
      await stopChild('SIGKILL');
      await start();
      return { killed, started: child?.pid ?? 0 };
    },
    status() {
      const v = readStatus();
      // a status file of a killed agent is no news about this one
      if (!v || v.status.pid !== child?.pid) return undefined;
      return { status: v.status, ageMs: Math.max(0, Date.now() - v.mtimeMs) };
    },
    stop: () => stopChild('SIGTERM'),
  };
}
