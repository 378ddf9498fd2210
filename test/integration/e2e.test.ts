// End to end with real parts at every boundary: a socat pty pair driven
// through the real serialport binding, the real CLI in a child process, a
// real broker (aedes in-process with MQTT 3.1.1, Mosquitto with MQTT 5), and
// the fake cloud client (test/peers/cloud.ts) subscribed to the broker. Crash = kill -9 of the agent.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { createSystemClock } from '../../hal/clock.js';
import { nodeFileSystem } from '../../hal/file-node.js';
import { createCounters } from '../../agent/counters.js';
import { createJournal, type JournalRecord } from '../../agent/journal/journal.js';
import { silentLogger } from '../../agent/log.js';
import type { VerifyEvent } from '../../agent/verify/chain.js';
import { startVerifyProcess, type AgentProcess, type VerifyProcess } from '../peers/agent-process.js';
import { startAedes } from '../peers/aedes.js';
import { startMosquitto } from '../peers/mosquitto.js';
import { startDeviceRig, type DeviceRig } from '../peers/device-rig.js';
import { socketReport } from '../peers/sockets.js';
import { waitFor } from '../helpers.js';

/** The e2e device (readings field:n and field:t in Cel) on `url`, its fake cloud client subscribed. */
const rig = (url: string, protocolVersion: 4 | 5): Promise<DeviceRig> => startDeviceRig({
  url, device: 'e2e-1', protocolVersion,
  batch: { maxRecords: 20, maxAgeMs: 100 },
  journal: { fsyncIntervalMs: 50 },
  source: { decoder: { type: 'kv', units: { t: 'Cel' } } },
});
const write = (r: DeviceRig, n: number): void => r.write(`n=${n} t=${(20 + n / 10).toFixed(1)}`);
const seen = (r: DeviceRig): number[] => r.cloud.values('field:n');

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function readJournal(stateDir: string): Promise<JournalRecord[]> {
  const j = createJournal({ dir: join(stateDir, 'journal'), maxBytes: 64 << 20, segmentBytes: 4 << 20, fsyncIntervalMs: 1000, fsyncEveryRecords: 1000 },
    { fs: nodeFileSystem, clock: createSystemClock('free'), log: silentLogger, counters: createCounters() });
  await j.open();
  const out = await j.readFrom(0, 1_000_000);
  await j.close();
  return out;
}

test('pty → agent → aedes (MQTT 3.1.1) → verifier: every reading arrives signed, chain intact, no listening socket, SIGTERM exits 0', async () => {
  const broker = await startAedes();
  const r = await rig(broker.url, 4);
  let agent: AgentProcess;
  try {
    agent = await r.startAgent();
    for (let n = 1; n <= 60; n++) { write(r, n); if (n % 10 === 0) await pause(20); }
    await waitFor(() => seen(r).length >= 60, 15_000, '60 readings at the verifier');
    assert.equal([...seen(r)].sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i + 1));
    const temps = r.cloud.events.flatMap((e) => (e.kind === 'batch' ? e.readings.filter((x) => x.name === 'field:t') : []));
    assert.is(temps.length, 60);
    assert.is(temps[0]!.unit, 'Cel');
    assert.is(temps[0]!.v, 20.1, 'values arrive exactly as written');

    const sockets = socketReport(agent.pid);
    assert.ok(sockets.sockets >= 1, 'the agent holds its outbound MQTT connection');
    assert.equal(sockets.listening, [], 'the agent has no listening socket');

    const code = await agent.stop();
    assert.is(code, 0, 'SIGTERM: flush, close, exit 0');
    const s = r.cloud.summary();
    assert.is(s.firstSeq, 1);
    assert.ok(s.complete, `chain complete: ${JSON.stringify(s)}`);
    assert.is(s.unexplainedBreaks, 0);
    assert.is(s.rejected, 0);
  } finally {
    await r.close();
    await broker.close();
  }
});

test('Mosquitto (MQTT 5): kill -9 and restart — seq continues, nothing journaled is lost or renumbered', async () => {
  const broker = await startMosquitto();
  const r = await rig(broker.url, 5);
  let agent: AgentProcess;
  try {
    agent = await r.startAgent();
    let n = 0;
    for (; n < 40; n++) { write(r, n + 1); if (n % 5 === 0) await pause(15); }
    await waitFor(() => seen(r).length >= 40, 15_000, 'first 40 readings');
    // keep writing while the agent dies: some readings may be in no durable batch
    for (let i = 0; i < 20; i++) { write(r, ++n); await pause(5); }
    await agent.kill9();
    const journaled = await readJournal(r.stateDir);
    assert.ok(journaled.length > 0);
    const lastBeforeCrash = journaled[journaled.length - 1]!.seq;

    agent = await r.startAgent();
    await pause(200);
    const firstAfter = n + 1;
    for (let i = 0; i < 40; i++) { write(r, ++n); if (i % 5 === 0) await pause(15); }
    await waitFor(() => seen(r).includes(n), 15_000, 'readings after the restart');
    await agent.stop();
    await pause(200);

    const s = r.cloud.summary();
    assert.is(s.unexplainedBreaks, 0, `no unexplained chain break: ${JSON.stringify(s)}`);
    assert.ok(s.complete, `chain complete across the crash: ${JSON.stringify(s)}`);
    assert.ok((s.lastSeq ?? 0) > lastBeforeCrash, 'seq continued after the restart');
    // every batch that was journaled before the crash reached the cloud with the same bytes
    const received = new Set(r.cloud.events.filter((e): e is Extract<VerifyEvent, { kind: 'batch' }> => e.kind === 'batch').map((e) => e.seq));
    for (const rec of journaled) assert.ok(received.has(rec.seq), `journaled seq ${rec.seq} was delivered`);
    assert.not.ok(r.cloud.events.some((e) => e.kind === 'conflict'), 'no seq names two different batches');
    // readings written after the restart all arrive; before it, at most the last open batch window is lost
    const arrived = new Set(seen(r));
    for (let v = firstAfter; v <= n; v++) assert.ok(arrived.has(v), `reading ${v} written after the restart arrived`);
    const lostBefore = Array.from({ length: firstAfter - 1 }, (_, i) => i + 1).filter((v) => !arrived.has(v));
    // maxRecords 20 readings = 10 lines of two readings each
    assert.ok(lostBefore.length <= 10, `lost at most one batch window (10 lines), lost ${lostBefore.length}: ${lostBefore.join(',')}`);
  } finally {
    await r.close();
    await broker.close();
  }
});

test('`tapwire verify` (the CLI, a separate process) prints every verified reading as JSON and exits 0 on a complete chain', async () => {
  const broker = await startAedes();
  const r = await rig(broker.url, 4);
  let verify: VerifyProcess | undefined;
  try {
    verify = await startVerifyProcess(['--url', broker.url, '--device', 'e2e-1',
      '--pubkey', join(r.stateDir, 'device.pub'), '--json', '--count', '40', '--timeout', '30',
      // never the default (persistent) client id tapwire-verify-e2e-1 that another verifier of the
      // device may hold: a second client with the same id would take the session over, and the two
      // would kick each other off
      '--client-id', 'e2e-cli-verify']);
    await r.startAgent();
    for (let n = 1; n <= 20; n++) write(r, n);
    const code = await verify.exited;
    assert.is(code, 0, verify.stderr());
    const lines = verify.lines() as Array<{ name?: string; v?: number; seq?: number; kind?: string; complete?: boolean }>;
    const ns = lines.filter((l) => l.name === 'field:n').map((l) => l.v);
    assert.equal(ns, Array.from({ length: 20 }, (_, i) => i + 1), 'every reading, in order');
    const summary = lines.find((l) => l.kind === 'summary');
    assert.ok(summary?.complete, 'summary says complete');
  } finally {
    await verify?.stop('SIGKILL');
    await r.close();
    await broker.close();
  }
});

test.run();
