// A real kernel pty pair from socat: `agentPath` is what the agent opens
// through serialport, `peerPath` is the field side (the demo's simulated
// sensor, or a test). Unplug = kill socat (both ends vanish).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyPair {
  agentPath: string;
  peerPath: string;
  /** Kill socat: both pty ends disappear (a real unplug). */
  unplug(): Promise<void>;
  close(): Promise<void>;
}

async function waitForPaths(paths: string[], child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!paths.every((p) => existsSync(p))) {
    if (child.exitCode !== null) throw new Error(`socat exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`socat did not create ${paths.join(', ')} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface PtyPairOptions {
  /**
   * Put the two links in this existing directory (kept on close) instead of a
   * new temp dir: a pair made again in the same dir has the same paths — the
   * same adapter plugged back in.
   */
  dir?: string;
}

export async function createPtyPair(opts: PtyPairOptions = {}): Promise<PtyPair> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tapwire-pty-'));
  const agentPath = join(dir, 'agent');
  const peerPath = join(dir, 'peer');
  // raw, no echo on both ends: bytes pass through untouched (binary Modbus too)
  const child = spawn('socat', [
    '-d', '-d',
    `pty,raw,echo=0,link=${agentPath}`,
    `pty,raw,echo=0,link=${peerPath}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  try {
    await waitForPaths([agentPath, peerPath], child, 5000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  // socat must not outlive us, even when we exit abnormally (an uncaught
  // error, EPIPE on a closed stdout): 'exit' handlers run synchronously then.
  const killOnExit = (): void => { child.kill('SIGKILL'); };
  process.once('exit', killOnExit);
  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
  };
  return {
    agentPath,
    peerPath,
    unplug: stop,
    async close() {
      await stop();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Is socat on PATH? */
export function socatAvailable(): boolean {
  const dirs = (process.env.PATH ?? '').split(':');
  return dirs.some((d) => d && existsSync(join(d, 'socat')));
}
