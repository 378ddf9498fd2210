// A real terminal for tests: a program runs in a tmux pane (tmux from Debian),
// the test types with send-keys and reads the screen with capture-pane, as a
// person would see it. Each pane has its own tmux server (socket in a temp
// dir); the pane stays after its program exits, so the exit status can be read.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** capture-pane starts a tmux client: poll the screen a few times a second, not a hundred. */
const POLL_MS = 200;

async function poll<T>(probe: () => Promise<T>, timeoutMs: number, what: string): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export interface TmuxPane {
  /** The screen as text, one string per row (trailing spaces trimmed). */
  screen(): Promise<string[]>;
  /** Polls the screen until `match` returns something truthy (bounded), and returns it. */
  waitForScreen<T>(match: (rows: string[]) => T, timeoutMs: number, what: string): Promise<NonNullable<T>>;
  /** Types keys (tmux key names: `b`, `C-c`, `Enter`). */
  keys(...keys: string[]): Promise<void>;
  resize(cols: number, rows: number): Promise<void>;
  /** The program's exit status once it has exited, else undefined. */
  exitStatus(): Promise<number | undefined>;
  waitForExit(timeoutMs: number): Promise<number>;
  /** Kills the tmux server (and with it what still runs in the pane). */
  close(): Promise<void>;
}

export async function startTmux(argv: string[], o: { cols: number; rows: number; cwd: string; env?: NodeJS.ProcessEnv }): Promise<TmuxPane> {
  const dir = mkdtempSync(join(tmpdir(), 'tapwire-tmux-'));
  const socket = join(dir, 'sock');
  const conf = join(dir, 'tmux.conf');
  // remain-on-exit: the pane (and its exit status) stays when the program ends
  writeFileSync(conf, 'set -g remain-on-exit on\nset -g status off\n');
  const tmux = (...args: string[]): Promise<string> => new Promise((resolve, reject) => {
    execFile('tmux', ['-S', socket, '-f', conf, ...args], { env: { ...process.env, ...o.env }, timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`tmux ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
  // argv as separate words: tmux runs the program itself, no shell between (Ctrl-C reaches it alone)
  await tmux('new-session', '-d', '-s', 't', '-x', String(o.cols), '-y', String(o.rows), '-c', o.cwd, ...argv);
  const screen = async (): Promise<string[]> => (await tmux('capture-pane', '-p', '-t', 't')).replace(/\n$/, '').split('\n').map((l) => l.trimEnd());
  const exitStatus = async (): Promise<number | undefined> => {
    const [dead, status, signal] = (await tmux('display-message', '-p', '-t', 't', '#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}')).trim().split(':');
    // the pane is dead when its pty closes; the status comes when tmux has reaped the process
    if (dead !== '1') return undefined;
    if (!status && !signal) {
      // tmux built with libutempter loses the SIGCHLD of a child that exits while utempter's own
      // handler is in (tmux/tmux#311: it swaps it in when the pane's pty closes), and then never
      // reaps it. The maintainers' workaround: send the server a SIGCHLD; the next poll reads the status.
      const serverPid = Number((await tmux('display-message', '-p', '#{pid}')).trim());
      if (serverPid > 0) process.kill(serverPid, 'SIGCHLD');
      return undefined;
    }
    // killed by a signal: the shell's convention, 128 + signal
    return status ? Number(status) : 128 + Number(signal);
  };
  return {
    screen,
    async waitForScreen(match, timeoutMs, what) {
      let last: string[] = [];
      try {
        return await poll(async () => { last = await screen(); return match(last); }, timeoutMs, what);
      } catch (err) {
        throw new Error(`${(err as Error).message}; the screen was:\n${last.join('\n')}`);
      }
    },
    async keys(...keys) { await tmux('send-keys', '-t', 't', ...keys); },
    async resize(cols, rows) { await tmux('resize-window', '-t', 't', '-x', String(cols), '-y', String(rows)); },
    exitStatus,
    async waitForExit(timeoutMs) {
      try {
        return (await poll(async () => { const s = await exitStatus(); return s === undefined ? undefined : { s }; }, timeoutMs, 'the program in the pane to exit')).s;
      } catch (err) {
        const pane = await tmux('display-message', '-p', '-t', 't', 'dead=#{pane_dead} status=#{pane_dead_status} signal=#{pane_dead_signal} pid=#{pane_pid}');
        throw new Error(`${(err as Error).message} (${pane.trim()}); the screen was:\n${(await screen()).join('\n')}`);
      }
    },
    async close() {
      await tmux('kill-server').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
