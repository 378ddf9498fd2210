// The sd_notify protocol on a real NOTIFY_SOCKET (a unix datagram socket the
// test listens on, as systemd does), sent by the real systemd-notify binary
// from the real CLI: READY=1 once journal and sources are up, WATCHDOG=1 at
// half of WATCHDOG_USEC while readings flow, none when WATCHDOG_PID names
// another process, STOPPING=1 on SIGTERM, exit 0.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentProcess } from '../peers/agent-process.js';
import { startAedes, type AedesPeer } from '../peers/aedes.js';
import { startNotifySocket, type NotifySocket } from '../peers/notify-socket.js';
import { startDeviceRig, type DeviceRig } from '../peers/device-rig.js';
import { waitFor } from '../helpers.js';

const DEVICE = 'notify-1';

interface Rig { broker: AedesPeer; device: DeviceRig; notify: NotifySocket; close(): Promise<void> }

async function rig(): Promise<Rig> {
  const broker = await startAedes();
  const device = await startDeviceRig({
    url: broker.url, device: DEVICE, protocolVersion: 4,
    batch: { maxRecords: 5, maxAgeMs: 100 },
    journal: { fsyncIntervalMs: 50 },
  });
  const notify = await startNotifySocket(device.dir.path);
  return {
    broker, device, notify,
    async close() { await notify.close(); await device.close(); await broker.close(); },
  };
}

/** `tapwire run` as systemd starts it: NOTIFY_SOCKET, WATCHDOG_USEC, and WATCHDOG_PID = the pid of the agent itself unless given. */
function startUnderSystemd(r: Rig, watchdogUsec: number, watchdogPid?: string): Promise<AgentProcess> {
  return r.device.startAgent({
    env: { NOTIFY_SOCKET: r.notify.path, WATCHDOG_USEC: String(watchdogUsec), TAPWIRE_LOG: 'info', ...(watchdogPid ? { WATCHDOG_PID: watchdogPid } : {}) },
    ...(watchdogPid ? {} : { selfPidEnv: 'WATCHDOG_PID' }),
  });
}

/** What a process has open: its fds' targets. */
const openFiles = (pid: number): string[] =>
  readdirSync(`/proc/${pid}/fd`).flatMap((fd) => { try { return [readlinkSync(`/proc/${pid}/fd/${fd}`)]; } catch { return []; } });

test('READY=1 after journal and source are open, WATCHDOG=1 every half WATCHDOG_USEC while readings flow, STOPPING=1 and exit 0 on SIGTERM', async () => {
  const r = await rig();
  const { cloud } = r.device;
  try {
    const agent = await startUnderSystemd(r, 1_000_000); // 1 s: a ping every 500 ms
    await waitFor(() => r.notify.fields().includes('READY=1') || agent.child.exitCode !== null, 30_000, 'READY=1');
    // looked at as soon as READY arrived: the port is open, the journal has been opened (an empty one keeps no file open)
    const files = openFiles(agent.child.pid!);
    assert.ok(files.includes(realpathSync(r.device.pty.agentPath)), `the serial port is open at READY: ${files.join(' ')}`);
    assert.ok(existsSync(join(r.device.stateDir, 'journal')), 'the journal directory exists at READY');
    assert.is(r.notify.fields()[0], 'READY=1', 'nothing before READY');
    assert.match(agent.stderr(), /agent running/);

    for (let n = 1; n <= 30; n++) {
      r.device.write(`n=${n}`);
      await waitFor(() => cloud.values('field:n').length >= n, 20_000, `reading ${n} verified`);
    }
    await waitFor(() => r.notify.fields().filter((f) => f === 'WATCHDOG=1').length >= 3, 20_000, 'three watchdog pings');
    assert.match(agent.stderr(), /info watchdog watchdog armed interval_ms=500 stall_limit_ms=1000/);
    assert.not.match(agent.stderr(), /pipeline stuck/);

    assert.is(await agent.stop(), 0, agent.stderr());
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
    await r.close();
  }
});

test('a watchdog meant for another pid (WATCHDOG_PID) is not fed: READY and STOPPING only', async () => {
  const r = await rig();
  const { cloud } = r.device;
  try {
    const agent = await startUnderSystemd(r, 200_000, '1'); // pid 1 is not us; 200 ms would mean a ping every 100 ms
    await waitFor(() => r.notify.fields().includes('READY=1') || agent.child.exitCode !== null, 30_000, 'READY=1');
    for (let n = 1; n <= 20; n++) {
      r.device.write(`n=${n}`);
      await waitFor(() => cloud.values('field:n').length >= n, 20_000, `reading ${n} verified`);
    }
    assert.is(await agent.stop(), 0, agent.stderr());
    assert.equal(r.notify.fields(), ['READY=1', 'STOPPING=1']);
    assert.not.match(agent.stderr(), /watchdog armed/);
  } finally {
    await r.close();
  }
});

test.run();
