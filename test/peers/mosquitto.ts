// A real mosquitto broker process with a generated config in a temp dir,
// listening on 127.0.0.1 on a free port. stop()/start() keep the port, so a
// test can take the broker away and bring it back (outage tests).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { launchOnFreePort } from './free-port.js';

export interface MosquittoOptions {
  /** Default true. */
  allowAnonymous?: boolean;
  /** user -> password, written with `mosquitto_passwd -b`. */
  users?: Record<string, string>;
  /** Turns the listener into TLS (the url becomes mqtts://). Paths to PEM files. */
  tls?: { cafile: string; certfile: string; keyfile: string; requireCertificate?: boolean; useIdentityAsUsername?: boolean };
  /**
   * Keep sessions, queued messages and retained messages across stop()/start()
   * (saved to the temp dir on SIGTERM). Default false.
   */
  persistence?: boolean;
  /** Extra config lines, appended as-is. */
  extraConfig?: string[];
}

export interface MosquittoPeer {
  url: string;
  port: number;
  /** SIGTERM the broker and wait for it to exit (an outage). */
  stop(): Promise<void>;
  /** Start it again on the same port and wait until it accepts connections. */
  start(): Promise<void>;
  /** stop() and remove the temp dir. */
  close(): Promise<void>;
  /** What mosquitto printed so far (for failure messages). */
  log(): string;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
  });
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<MosquittoPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'tapwire-mosquitto-'));
  const confPath = join(dir, 'mosquitto.conf');
  const passwdPath = join(dir, 'passwd');
  let child: ChildProcess | undefined;
  let output = '';

  if (opts.users) {
    let first = true;
    for (const [user, password] of Object.entries(opts.users)) {
      const args = first ? ['-b', '-c', passwdPath, user, password] : ['-b', passwdPath, user, password];
      const r = spawnSync('mosquitto_passwd', args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr || r.error?.message}`);
      first = false;
    }
  }

  const writeConfig = (port: number): void => {
    const lines = [
      `listener ${port} 127.0.0.1`,
      `allow_anonymous ${opts.allowAnonymous ?? true}`,
      ...(opts.persistence ? ['persistence true', `persistence_location ${dir}/`] : ['persistence false']),
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      'connection_messages true',
    ];
    // as root, mosquitto drops to user "mosquitto", which cannot read our 0700 temp dir
    if (process.getuid?.() === 0) lines.push(`user ${userInfo().username}`);
    if (opts.users) lines.push(`password_file ${passwdPath}`);
    if (opts.tls) {
      lines.push(`cafile ${opts.tls.cafile}`, `certfile ${opts.tls.certfile}`, `keyfile ${opts.tls.keyfile}`);
      lines.push(`require_certificate ${opts.tls.requireCertificate ?? false}`);
      if (opts.tls.useIdentityAsUsername) lines.push('use_identity_as_username true');
    }
    lines.push(...(opts.extraConfig ?? []));
    writeFileSync(confPath, lines.join('\n') + '\n');
  };

  /** One launch on `port`: resolves once it accepts TCP, rejects if it exits first. */
  const launch = async (port: number): Promise<void> => {
    writeConfig(port);
    const proc = spawn('mosquitto', ['-c', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr?.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-20_000); });
    const deadline = Date.now() + 5000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        child = undefined;
        throw new Error(`mosquitto exited (${proc.exitCode ?? proc.signalCode}) on port ${port}:\n${output}`);
      }
      if (await canConnect(port)) return;
      if (Date.now() > deadline) {
        await stopChild();
        throw new Error(`mosquitto did not accept connections on port ${port} within 5000 ms:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const stopChild = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(killer);
  };

  const port = await launchOnFreePort(launch, dir);

  return {
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    port,
    stop: stopChild,
    async start() {
      if (child) return;
      // the old socket may linger briefly; the port is ours, so retry on it
      let err: unknown;
      for (let i = 0; i < 5; i++) {
        try { await launch(port); return; } catch (e) { err = e; await new Promise((r) => setTimeout(r, 200)); }
      }
      throw err instanceof Error ? err : new Error(String(err));
    },
    async close() {
      await stopChild();
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
}
