// agent/runtime: apply, health check, rollback, acks and redelivery rules,
// driven with Agent doubles (a config whose first source path contains
// "missing" never becomes healthy) and the crash-simulating file system.
// The real Agent against real brokers: test/integration/ota.test.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSystemClock } from '../../hal/clock.js';
import type { FileSystem } from '../../hal/file.js';
import { createFileSystemDouble, type FileSystemDouble } from '../../hal/file-double.js';
import { nodeSerial } from '../../hal/serial-node.js';
import type { Agent, AgentDeps, AgentHealth, AgentStatus } from '../../agent/agent.js';
import { validateConfig, type ResolvedConfig } from '../../agent/config/load.js';
import { createCounters } from '../../agent/counters.js';
import { silentLogger } from '../../agent/log.js';
import type { Ack } from '../../agent/ota/ack.js';
import { createOtaStore } from '../../agent/ota/store.js';
import { createRuntime, type Runtime } from '../../agent/runtime.js';
import type { InboundMeta } from '../../agent/uplink/uplink.js';
import { tempDir, waitFor } from '../helpers.js';
import { onEveryWrite, operator, rawConfig, signConfig, stranger, trustOperators } from './fixtures.js';

interface FakeAgent extends Agent {
  config: ResolvedConfig;
  deps: AgentDeps;
  started: boolean;
  stopped: boolean;
  connected: boolean;
  sent: Ack[];
  connect(): void;
}

interface Rig {
  dir: { path: string; remove(): void };
  fs: FileSystem;
  runtime: Runtime;
  agents: FakeAgent[];
  events: string[];
  /** Every ack any agent published, in order. */
  acks(): Ack[];
  deliver(bytes: Uint8Array, meta?: Partial<InboundMeta>): void;
  current(): FakeAgent;
  raw(over?: Record<string, unknown>): Record<string, unknown>;
  msg(version: number, over?: Record<string, unknown>): Uint8Array;
}

function rig(opts: { fs?: FileSystem; dir?: { path: string; remove(): void }; healthTimeoutMs?: number; startConnected?: boolean; acksLost?: boolean; failStarts?: { now: boolean } } = {}): Rig {
  const dir = opts.dir ?? tempDir('tapwire-runtime-');
  const fs = opts.fs ?? createFileSystemDouble();
  trustOperators(dir.path, [operator]);
  const raw = (over: Record<string, unknown> = {}): Record<string, unknown> => rawConfig(dir.path, over);
  const local = validateConfig(raw());
  if (!local.ok) throw new Error('bad local config');
  const agents: FakeAgent[] = [];
  const events: string[] = [];
  const createAgent = (config: ResolvedConfig, deps: AgentDeps): Agent => {
    const listeners: Array<() => void> = [];
    const healthy = !config.sources[0]!.port.path.includes('missing');
    const n = agents.length;
    const a: FakeAgent = {
      config, deps, started: false, stopped: false, connected: false, sent: [],
      counters: deps.counters ?? createCounters(),
      publicKey: new Uint8Array(32),
      async start() {
        if (opts.failStarts?.now) throw Object.assign(new Error('uplink.key: cannot read /etc/tapwire/client.key'), { code: 'ERR_UPLINK_FILE_READ' });
        events.push(`start ${n} v${deps.configVersion}`);
        a.started = true;
        if (opts.startConnected !== false && healthy) a.connect();
        return { records: 0, truncatedBytes: 0, corruptRecords: 0, quarantined: [], commitFallback: false } as unknown as Awaited<ReturnType<Agent['start']>>;
      },
      async stop() { events.push(`stop ${n}`); a.stopped = true; a.connected = false; },
      status: () => ({}) as AgentStatus,
      health(): AgentHealth {
        const problems = [...(healthy ? [] : ['source env not open']), ...(a.connected ? [] : ['uplink not connected'])];
        return { ok: a.started && !a.stopped && problems.length === 0, problems };
      },
      stalled: () => undefined,
      onConnect(l) { listeners.push(l); },
      async sendAck(ack) {
        if (!a.connected || a.stopped || opts.acksLost) return false;
        a.sent.push(ack);
        return true;
      },
      connect() { a.connected = true; for (const l of listeners) l(); },
    };
    agents.push(a);
    return a;
  };
  const runtime = createRuntime({ local: local.config, healthTimeoutMs: opts.healthTimeoutMs ?? 300 }, {
    serial: nodeSerial, clock: createSystemClock('sync'), fs, log: silentLogger, createAgent,
  });
  const current = (): FakeAgent => {
    const live = agents.filter((a) => a.started && !a.stopped);
    assert.is(live.length, 1, 'exactly one agent runs');
    return live[0]!;
  };
  return {
    dir, fs, runtime, agents, events, current, raw,
    acks: () => agents.flatMap((a) => a.sent),
    deliver(bytes, meta = {}) {
      const hook = current().deps.onConfigMessage;
      assert.ok(hook, 'the agent is given a config hook');
      hook!(bytes, { retained: false, dup: false, ...meta });
    },
    msg: (version, over = {}) => signConfig(operator, { dev: 'ota-1', version, config: raw(over) }),
  };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 30));

test('a newer signed config is stored, the old agent is stopped (flushed) before the new one starts, health passes, ack accepted', async () => {
  const r = rig();
  try {
    await r.runtime.start();
    assert.is(r.runtime.version(), 0);
    r.deliver(r.msg(1, { batch: { maxRecords: 7 } }));
    await waitFor(() => r.acks().length === 1, 3000, 'ack');
    assert.equal(r.acks().map((a) => [a.result, a.version]), [['accepted', 1]]);
    assert.equal(r.events, ['start 0 v0', 'stop 0', 'start 1 v1']);
    assert.is(r.current().config.batch.maxRecords, 7, 'the new config runs');
    assert.is(r.runtime.version(), 1);
    const { state } = await createOtaStore(r.dir.path, { fs: r.fs }).load();
    assert.equal([state.current, state.good, state.highest, state.trial], [1, 1, 1, false]);
    assert.is(r.runtime.counters.get('ota.accepted'), 1);
  } finally { await r.runtime.stop(); r.dir.remove(); }
});

test('rejected messages leave the running agent untouched and each gets a rejected ack with its reason', async () => {
  const r = rig();
  try {
    await r.runtime.start();
    r.deliver(r.msg(2));
    await waitFor(() => r.acks().length === 1, 3000, 'first ack');
    const cases: Array<[Uint8Array, string]> = [
      [r.msg(1), 'not-newer'],
      [r.msg(2), 'not-newer'],
      [signConfig(stranger, { dev: 'ota-1', version: 9, config: r.raw() }), 'unknown-key'],
      [signConfig(operator, { dev: 'pump-9', version: 9, config: r.raw() }), 'wrong-device'],
      [signConfig(operator, { dev: 'ota-1', version: 9, config: { device: 'ota-1' } }), 'schema'],
      // `config check` would refuse it too: what `run` needs of the file system (here a CA file that is not there)
      [signConfig(operator, { dev: 'ota-1', version: 9, config: r.raw({ uplink: { url: 'mqtts://127.0.0.1:8883', protocolVersion: 4, ca: '/nonexistent/tapwire/no-such-ca.pem' } }) }), 'preflight'],
      [new TextEncoder().encode('{"config":{}}'), 'not-cose'],
      [new Uint8Array(70_000), 'too-large'],
    ];
    const running = r.current();
    for (const [bytes] of cases) r.deliver(bytes);
    await waitFor(() => r.acks().length === 1 + cases.length, 3000, 'all acks');
    const acks = r.acks().slice(1);
    assert.equal(acks.map((a) => [a.result, a.code]), cases.map(([, code]) => ['rejected', code]));
    for (const a of acks) assert.ok(a.reason && a.reason.length > 0);
    assert.match(acks[1]!.reason!, 'replay');
    assert.match(acks[5]!.reason!, /^uplink\.ca: .*no-such-ca\.pem/);
    assert.is(r.current(), running, 'same agent still running');
    assert.is(r.agents.length, 2, 'no agent was started for a rejected config');
    assert.is(r.runtime.version(), 2);
    assert.is(r.runtime.counters.get('ota.rejected.not-newer'), 2);
  } finally { await r.runtime.stop(); r.dir.remove(); }
});

test('a config that never becomes healthy is rolled back after the deadline; the ack says so; the version is burnt', async () => {
  const r = rig({ healthTimeoutMs: 250 });
  try {
    await r.runtime.start();
    const bad = r.msg(1, { sources: [{ id: 'env', type: 'lines', port: { path: '/dev/missing0', baudRate: 9600 }, decoder: { type: 'kv' } }] });
    r.deliver(bad);
    await waitFor(() => r.acks().length === 1, 3000, 'ack');
    const ack = r.acks()[0]!;
    assert.equal([ack.result, ack.version, ack.code], ['rolled-back', 1, 'health']);
    assert.match(ack.reason!, 'source env not open');
    assert.match(ack.reason!, 'running version 0 again');
    assert.equal(r.events, ['start 0 v0', 'stop 0', 'start 1 v1', 'stop 1', 'start 2 v0']);
    assert.is(r.current().config.sources[0]!.port.path, '/dev/ttyUSB0', 'the last good config runs');
    const { state } = await createOtaStore(r.dir.path, { fs: r.fs }).load();
    assert.equal([state.current, state.good, state.highest, state.trial, state.rolledBack], [0, 0, 1, false, 1]);
    assert.is(r.runtime.counters.get('ota.rolled_back'), 1);

    r.deliver(bad, { retained: true });
    await settle();
    assert.is(r.acks().length, 1, 'a retained redelivery of the decided message is silent');
    r.deliver(bad);
    await waitFor(() => r.acks().length === 2, 3000, 'live replay ack');
    assert.equal([r.acks()[1]!.result, r.acks()[1]!.code], ['rejected', 'not-newer']);
    r.deliver(r.msg(2));
    await waitFor(() => r.acks().length === 3, 3000, 'newer accepted');
    assert.is(r.acks()[2]!.result, 'accepted');
  } finally { await r.runtime.stop(); r.dir.remove(); }
});

test('redeliveries: retained or DUP copies of a decided message are silent, a live replay is answered, a forged retained message is answered once', async () => {
  const r = rig();
  try {
    await r.runtime.start();
    const m = r.msg(1);
    r.deliver(m);
    await waitFor(() => r.acks().length === 1, 3000, 'ack');
    r.deliver(m, { retained: true });
    r.deliver(m, { dup: true });
    const forged = signConfig(stranger, { dev: 'ota-1', version: 5, config: r.raw() });
    r.deliver(forged, { retained: true });
    await waitFor(() => r.acks().length === 2, 3000, 'forged answered');
    r.deliver(forged, { retained: true });
    r.deliver(new Uint8Array(0), { retained: true });
    await settle();
    assert.equal(r.acks().map((a) => a.result), ['accepted', 'rejected']);
    assert.is(r.runtime.counters.get('ota.redelivered'), 3);
    r.deliver(m);
    await waitFor(() => r.acks().length === 3, 3000, 'live replay answered');
    assert.is(r.acks()[2]!.code, 'not-newer');
  } finally { await r.runtime.stop(); r.dir.remove(); }
});

test('acks wait for a connection: a rollback whose old config starts disconnected is acked at the next connect', async () => {
  const r = rig({ healthTimeoutMs: 200, startConnected: false });
  try {
    await r.runtime.start();
    r.current().connect();
    r.deliver(r.msg(1));
    await waitFor(() => r.agents.length === 3, 3000, 'rollback agent');
    await settle();
    assert.is(r.acks().length, 0, 'nothing sent while disconnected');
    r.current().connect();
    await waitFor(() => r.acks().length === 1, 3000, 'ack after connect');
    assert.is(r.acks()[0]!.result, 'rolled-back');
    assert.match(r.acks()[0]!.reason!, 'uplink not connected');
  } finally { await r.runtime.stop(); r.dir.remove(); }
});

test('an agent that fails to start is rolled back at once; if the last good one cannot start either, onFatal tells the caller', async () => {
  const failStarts = { now: false };
  const r = rig({ failStarts, healthTimeoutMs: 60_000 });
  const fatal: Error[] = [];
  r.runtime.onFatal((e) => fatal.push(e));
  try {
    await r.runtime.start();
    failStarts.now = true;
    r.deliver(r.msg(1));
    await waitFor(() => fatal.length === 1, 3000, 'fatal');
    assert.match(fatal[0]!.message, 'cannot read');
    assert.is(r.runtime.agent(), undefined, 'nothing runs');
    const { state } = await createOtaStore(r.dir.path, { fs: r.fs }).load();
    assert.equal([state.current, state.rolledBack, state.pendingAck?.code], [0, 1, 'health'], 'the rollback is on disk for the next start');
    assert.match(state.pendingAck!.reason!, 'start failed');
  } finally { await r.runtime.stop(); r.dir.remove(); }
});

test('an outcome whose ack never reached the broker is kept in state.json and acked at the next start, then forgotten', async () => {
  const fs = createFileSystemDouble();
  const dir = tempDir('tapwire-runtime-');
  const first = rig({ fs, dir, acksLost: true });
  await first.runtime.start();
  first.deliver(first.msg(1));
  await waitFor(() => first.runtime.counters.get('ota.accepted') === 1, 3000, 'applied');
  await first.runtime.stop();
  const store = createOtaStore(dir.path, { fs });
  assert.equal((await store.load()).state.pendingAck, { version: 1, result: 'accepted' });

  const second = rig({ fs, dir });
  await second.runtime.start();
  await waitFor(() => second.acks().length === 1, 3000, 'ack at start');
  assert.equal([second.acks()[0]!.result, second.acks()[0]!.version], ['accepted', 1]);
  await waitFor(async () => (await store.load()).state.pendingAck === undefined, 3000, 'pending ack cleared');
  await second.runtime.stop();

  const third = rig({ fs, dir });
  await third.runtime.start();
  await settle();
  assert.is(third.acks().length, 0, 'not sent twice');
  await third.runtime.stop();
  dir.remove();
});

test('at start: an applied config wins over the local file; an interrupted trial is rolled back and acked', async () => {
  const fs = createFileSystemDouble();
  const dir = tempDir('tapwire-runtime-');
  const first = rig({ fs, dir });
  await first.runtime.start();
  first.deliver(first.msg(3, { batch: { maxRecords: 3 } }));
  await waitFor(() => first.acks().length === 1, 3000, 'accepted');
  await first.runtime.stop();

  const second = rig({ fs, dir });
  await second.runtime.start();
  assert.is(second.runtime.version(), 3);
  assert.is(second.current().config.batch.maxRecords, 3, 'the over-the-air config runs after a restart');
  assert.is(second.current().deps.configVersion, 3);
  // stop while version 4 is in its health check: the trial stays on disk
  second.deliver(second.msg(4, { sources: [{ id: 'env', type: 'lines', port: { path: '/dev/missing1', baudRate: 9600 }, decoder: { type: 'kv' } }] }));
  await waitFor(() => second.agents.length === 2, 3000, 'trial agent');
  await second.runtime.stop();
  const { state } = await createOtaStore(dir.path, { fs }).load();
  assert.equal([state.current, state.trial], [4, true]);

  const third = rig({ fs, dir });
  await third.runtime.start();
  assert.is(third.runtime.version(), 3, 'rolled back to the last good config');
  assert.is(third.current().config.batch.maxRecords, 3);
  await waitFor(() => third.acks().length === 1, 3000, 'ack');
  assert.equal([third.acks()[0]!.result, third.acks()[0]!.version, third.acks()[0]!.code], ['rolled-back', 4, 'interrupted']);
  await third.runtime.stop();
  dir.remove();
});

/** The file system as the old process sees it: operation `at` and everything after it fail (the power is gone). */
function cutAt(inner: FileSystemDouble, at: number): { fs: FileSystem; ops(): number } {
  return onEveryWrite(inner, (n) => {
    if (n === at) inner.crash({ torn: true, random: () => 0.5 });
    if (n >= at) throw new Error('power cut');
  });
}

test('a power cut at every file operation of an apply comes back on the old or the new config, never anything else', async () => {
  const outcomes = new Set<number>();
  let total = Infinity;
  for (let at = 1; at <= total + 1; at++) {
    const raw = createFileSystemDouble();
    const dir = tempDir('tapwire-runtime-');
    const cut = cutAt(raw, at);
    const a = rig({ fs: cut.fs, dir });
    await a.runtime.start().catch(() => undefined);
    if (a.agents.length > 0) {
      a.deliver(a.msg(1, { batch: { maxRecords: 11 } }));
      await waitFor(async () => { await settle(); return a.acks().length > 0 || cut.ops() >= at; }, 3000, 'apply done or cut');
      await settle();
    }
    await a.runtime.stop().catch(() => undefined);
    if (total === Infinity && cut.ops() < at) total = cut.ops(); // the first run tells how many operations an apply has
    const b = rig({ fs: raw, dir });
    await b.runtime.start();
    const v = b.runtime.version();
    const records = b.current().config.batch.maxRecords;
    assert.ok((v === 0 && records === 100) || (v === 1 && records === 11), `cut at ${at}: version ${v} with maxRecords ${records}`);
    outcomes.add(v);
    await b.runtime.stop();
    dir.remove();
  }
  assert.ok(total >= 8 && total < 50, `an apply is a handful of file operations (${total}), each one was cut`);
  assert.equal([...outcomes].sort(), [0, 1], 'both outcomes occur');
});

test.run();
