// hal/watchdog.ts with a recording runner in place of systemd-notify: what is
// sent when, under which environment. The real binary on a real NOTIFY_SOCKET
// is test/integration/systemd-notify.test.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSystemdNotifier, type NotifyRunner } from '../../hal/watchdog.js';

interface Recorder { runner: NotifyRunner; calls: Array<{ assignments: string[]; socket: string }>; release(err?: Error): void; pending(): number }

/** A runner whose calls complete only when the test says so (one systemd-notify at a time is the point). */
function recorder(): Recorder {
  const calls: Recorder['calls'] = [];
  const waiting: Array<(e: Error | undefined) => void> = [];
  return {
    calls,
    runner: (assignments, socket) => new Promise((resolve) => { calls.push({ assignments, socket }); waiting.push(resolve); }),
    release(err) { waiting.shift()?.(err); },
    pending: () => waiting.length,
  };
}

const lines: string[] = [];
const log = { warn: (m: string, f?: Record<string, string>) => { lines.push(`warn ${m} ${JSON.stringify(f)}`); }, info: (m: string) => { lines.push(`info ${m}`); } };
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

test('without NOTIFY_SOCKET nothing is ever sent and no watchdog is armed', async () => {
  const r = recorder();
  const n = createSystemdNotifier({ env: { WATCHDOG_USEC: '1000000' }, pid: 42, log, run: r.runner });
  n.ready(); n.ping(); n.stopping();
  await n.idle();
  assert.equal(r.calls, []);
  assert.is(n.watchdogIntervalMs, undefined);
});

test('WATCHDOG_USEC arms the watchdog at half its period; WATCHDOG_PID of another process disarms it, READY still goes out', async () => {
  const mine = createSystemdNotifier({ env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, pid: 42, log });
  assert.is(mine.watchdogIntervalMs, 15_000);
  assert.is(mine.watchdogTimeoutMs, 30_000);
  const noPid = createSystemdNotifier({ env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '2000000' }, pid: 42, log });
  assert.is(noPid.watchdogIntervalMs, 1000);
  const r = recorder();
  const other = createSystemdNotifier({ env: { NOTIFY_SOCKET: '@/abstract', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, pid: 42, log, run: r.runner });
  assert.is(other.watchdogIntervalMs, undefined);
  other.ready();
  assert.equal(r.calls, [{ assignments: ['READY=1'], socket: '@/abstract' }]);
  r.release();
  await other.idle();
  for (const bad of ['', '0', '-5', 'soon']) {
    assert.is(createSystemdNotifier({ env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: bad }, pid: 1, log }).watchdogIntervalMs, undefined, bad);
  }
});

test('one systemd-notify at a time: what waits meanwhile goes in the next call, pings merged, order kept', async () => {
  const r = recorder();
  const n = createSystemdNotifier({ env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '2000000' }, pid: 1, log, run: r.runner });
  n.ready();
  n.ping(); n.ping(); n.ping(); n.stopping();
  assert.is(r.pending(), 1, 'the second call waits for the first');
  r.release();
  await flush();
  assert.equal(r.calls.map((c) => c.assignments), [['READY=1'], ['WATCHDOG=1', 'STOPPING=1']]);
  r.release();
  await n.idle();
  assert.is(r.pending(), 0);
});

test('a failing systemd-notify is logged once, and once more when it works again', async () => {
  lines.length = 0;
  const r = recorder();
  const n = createSystemdNotifier({ env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '2000000' }, pid: 1, log, run: r.runner });
  for (let i = 0; i < 3; i++) {
    n.ping();
    await flush();
    r.release(new Error('Command failed: systemd-notify WATCHDOG=1: No such file or directory'));
    await n.idle();
  }
  n.ping();
  await flush();
  r.release();
  await n.idle();
  assert.equal(lines, [
    'warn cannot notify the service manager (systemd-notify) {"message":"WATCHDOG=1","cause":"Command failed: systemd-notify WATCHDOG=1: No such file or directory"}',
    'info service manager notifications work again',
  ]);
});

test.run();
