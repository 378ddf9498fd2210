// The sd_notify protocol on a real NOTIFY_SOCKET (a unix datagram socket the
// test listens on, as systemd does), sent by the real systemd-notify binary
// from the real CLI: READY=1 once journal and sources are up, WATCHDOG=1 at
// half of WATCHDOG_USEC while readings flow, none when WATCHDOG_PID names
// another process, STOPPING=1 on SIGTERM, exit 0.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readdirSync, readlinkSync, realpathSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, prepareDevice, watchCloud } from '../peers/agent-process.js';
import { startAedes, type AedesPeer } from '../peers/aedes.js';
import { startNotifySocket, type NotifySocket } from '../peers/notify-socket.js';
import { createPtyPair, type PtyPair } from '../peers/socat.js';
import { tempDir, waitFor } from '../helpers.js';

const DEVICE = 'notify-1';

interface Rig {
  broker: AedesPeer;
  pty: PtyPair;
  fd: number;
  notify: NotifySocket;
  dir: { path: string; remove(): void };
  configPath: string;
  publicKey: Uint8Array;
  close(): Promise<void>;
}

async function rig(): Promise<Rig> {
  const broker = await startAedes();
  const pty = await createPtyPair();
  const fd = openSync(pty.peerPath, constants.O_RDWR | constants.O_NOCTTY);
  const dir = tempDir('tapwire-notify-');
  const notify = await startNotifySocket(dir.path);
  const configPath = join(dir.path, 'config.json');
  const publicKey = prepareDevice(configPath, {
    device: DEVICE,
    stateDir: join(dir.path, 'state'),
    uplink: { url: broker.url, protocolVersion: 4, reconnect: { initialMs: 100, maxMs: 1000 } },
    batch: { maxRecords: 5, maxAgeMs: 100 },
    journal: { fsyncIntervalMs: 50 },
    sources: [{ id: 'field', type: 'lines', port: { path: pty.agentPath, baudRate: 115200 }, decoder: { type: 'kv' } }],
  });
  return {
    broker, pty, fd, notify, dir, configPath, publicKey,
    async close() { await notify.close(); closeSync(fd); await pty.close(); await broker.close(); dir.remove(); },
  };
}

/** `tapwire run` as systemd starts it: NOTIFY_SOCKET, WATCHDOG_USEC, and WATCHDOG_PID = the pid of the agent itself (sh execs it) unless given. */
function startUnderSystemd(r: Rig, watchdogUsec: number, watchdogPid?: string): { child: ChildProcess; stderr(): string; exited: Promise<number | null> } {
  const pid = watchdogPid ?? '$$';
  const child = spawn('sh', ['-c', `WATCHDOG_PID=${pid} exec "$0" --import tsx "$1" run --config "$2"`, process.execPath, CLI, r.configPath], {
    env: { ...process.env, NOTIFY_SOCKET: r.notify.path, WATCHDOG_USEC: String(watchdogUsec), TAPWIRE_LOG: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

/** What a process has open: its fds' targets. */
const openFiles = (pid: number): string[] =>
  readdirSync(`/proc/${pid}/fd`).flatMap((fd) => { try { return [readlinkSync(`/proc/${pid}/fd/${fd}`)]; } catch { return []; } });

test('READY=1 after journal and source are open, WATCHDOG=1 every half WATCHDOG_USEC while readings flow, STOPPING=1 and exit 0 on SIGTERM', async () => {
  const r = await rig();
  const cloud = watchCloud({ url: r.broker.url, device: DEVICE, publicKey: r.publicKey, protocolVersion: 4 });
  await cloud.ready;
  const agent = startUnderSystemd(r, 1_000_000); // 1 s: a ping every 500 ms
  try {
    await waitFor(() => r.notify.fields().includes('READY=1') || agent.child.exitCode !== null, 30_000, 'READY=1');
    // looked at as soon as READY arrived: the port is open, the journal has been opened (an empty one keeps no file open)
    const files = openFiles(agent.child.pid!);
    assert.ok(files.includes(realpathSync(r.pty.agentPath)), `the serial port is open at READY: ${files.join(' ')}`);
    assert.ok(existsSync(join(r.dir.path, 'state', 'journal')), 'the journal directory exists at READY');
    assert.is(r.notify.fields()[0], 'READY=1', 'nothing before READY');
    assert.match(agent.stderr(), /agent running/);

    for (let n = 1; n <= 30; n++) {
      writeSync(r.fd, `n=${n}\n`);
      await waitFor(() => cloud.values('field:n').length >= n, 20_000, `reading ${n} verified`);
    }
    await waitFor(() => r.notify.fields().filter((f) => f === 'WATCHDOG=1').length >= 3, 20_000, 'three watchdog pings');
    assert.match(agent.stderr(), /info watchdog watchdog armed interval_ms=500 stall_limit_ms=1000/);
    assert.not.match(agent.stderr(), /pipeline stuck/);

    agent.child.kill('SIGTERM');
    assert.is(await agent.exited, 0, agent.stderr());
    const fields = r.notify.fields();
    assert.is(fields.at(-1), 'STOPPING=1', `last message: ${fields.slice(-3).join(', ')}`);
    assert.is(fields.filter((f) => f === 'READY=1').length, 1);
    assert.equal([...new Set(fields)].sort(), ['READY=1', 'STOPPING=1', 'WATCHDOG=1']);
    assert.is(r.notify.barriers(), r.notify.messages.length, 'each systemd-notify waited until its message was read (sd_notify_barrier)');
    const s = cloud.summary();
    assert.is(s.readings, 30);
    assert.is(s.rejected, 0);
    assert.equal(s.missing, []);
  } finally {
    if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    await cloud.close();
    await r.close();
  }
});

test('a watchdog meant for another pid (WATCHDOG_PID) is not fed: READY and STOPPING only', async () => {
  const r = await rig();
  const cloud = watchCloud({ url: r.broker.url, device: DEVICE, publicKey: r.publicKey, protocolVersion: 4 });
  await cloud.ready;
  const agent = startUnderSystemd(r, 200_000, '1'); // pid 1 is not us; 200 ms would mean a ping every 100 ms
  try {
    await waitFor(() => r.notify.fields().includes('READY=1') || agent.child.exitCode !== null, 30_000, 'READY=1');
    for (let n = 1; n <= 20; n++) {
      writeSync(r.fd, `n=${n}\n`);
      await waitFor(() => cloud.values('field:n').length >= n, 20_000, `reading ${n} verified`);
    }
    agent.child.kill('SIGTERM');
    assert.is(await agent.exited, 0, agent.stderr());
    assert.equal(r.notify.fields(), ['READY=1', 'STOPPING=1']);
    assert.not.match(agent.stderr(), /watchdog armed/);
  } finally {
    if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    await cloud.close();
    await r.close();
  }
});

test.run();
