// `tapwire verify` is the reference for the cloud side (issue 11): started
// before the agent, it keeps a persistent session, so a broker restart (or its
// own) loses nothing it subscribed to; it exits non-zero when it rejected
// anything and says what. Real Mosquitto (persistence on), the real CLI for
// both the agent and the verifier, a socat pty.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import { createBatchEncoder, ZERO_HASH } from '../../agent/encode/batch.js';
import { createCryptoSigner } from '../../agent/encode/signer.js';
import { startVerifyProcess, type AgentProcess, type VerifyProcess } from '../peers/agent-process.js';
import { startFieldRig } from '../peers/field-rig.js';
import { waitFor } from '../helpers.js';

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('verify, started before the agent, through five broker restarts while lines stream: every reading once, COMPLETE, exit 0', async () => {
  const r = await startFieldRig({ device: 'verify-1', batch: { maxRecords: 10, maxAgeMs: 100 }, journal: { fsyncIntervalMs: 50 }, cloud: false });
  let agent: AgentProcess;
  let verify: VerifyProcess | undefined;
  try {
    verify = await startVerifyProcess(['--url', r.broker.url, '--device', r.device, '--pubkey', hex(r.publicKey), '--protocol', '5', '--json']);
    const v = verify;
    const seen = (): number[] => v.lines().filter((l) => l.name === 'field:n').map((l) => l.v as number);
    agent = await r.startAgent();
    const streaming = r.stream(1200, 100); // 12 s of lines, through every restart
    for (let i = 0; i < 5; i++) {
      await pause(800);
      await r.broker.stop();
      await pause(400);
      await r.broker.start();
    }
    await streaming;
    const last = r.written[r.written.length - 1]!;
    await waitFor(() => seen().includes(last), 30_000, 'the last reading at the verifier');
    assert.is(await agent.stop(), 0);
    const code = await verify.stop('SIGINT');
    const summary = v.lines().find((l) => l.kind === 'summary') as { complete: boolean; missing: unknown[]; rejected: number; duplicates: number } | undefined;
    assert.ok(summary, v.stderr());
    assert.equal(summary!.missing, [], `nothing missing: ${JSON.stringify(summary)}`);
    assert.ok(summary!.complete, JSON.stringify(summary));
    assert.is(code, 0, v.stderr());
    const values = seen();
    assert.equal([...new Set(values)].sort((a, b) => a - b), r.written, 'every reading written arrived');
    assert.is(new Set(values).size, values.length, 'each once (duplicates are dropped by the verifier)');
    assert.ok(summary!.rejected === 0);
  } finally {
    if (verify) await verify.stop('SIGKILL');
    await r.close();
  }
});

test('verify exits 1 when it rejected anything, and says what (a forged batch and a malformed message on the data topic)', async () => {
  const r = await startFieldRig({ device: 'verify-2', batch: { maxRecords: 10, maxAgeMs: 100 }, journal: { fsyncIntervalMs: 50 }, cloud: false });
  let agent: AgentProcess;
  let verify: VerifyProcess | undefined;
  const attacker = mqtt.connect(r.broker.url, { protocolVersion: 5 });
  try {
    verify = await startVerifyProcess(['--url', r.broker.url, '--device', r.device, '--pubkey', hex(r.publicKey), '--protocol', '5']);
    const v = verify;
    agent = await r.startAgent();
    await r.stream(30, 100);
    await waitFor(() => v.stdout().includes('field:n = 30'), 15_000, 'readings at the verifier');
    // a well-formed batch signed by a key that is not the device's
    const forger = createCryptoSigner(new Uint8Array(32).fill(0x66));
    const forged = createBatchEncoder({ device: r.device, signer: forger, clockSynced: () => true, nowMs: () => Date.now() }, { seq: 999, prev: ZERO_HASH })
      .encodeReadings([{ name: 'field:n', time: Date.now() / 1000, v: -1 }]).bytes;
    await waitFor(() => attacker.connected, 5000, 'attacker connected');
    await attacker.publishAsync(`tapwire/${r.device}/data`, Buffer.from(forged), { qos: 1 });
    await attacker.publishAsync(`tapwire/${r.device}/data`, Buffer.from('not cbor at all'), { qos: 1 });
    await waitFor(() => (v.stdout().match(/REJECTED/g) ?? []).length >= 2, 10_000, 'both rejected');
    assert.is(await agent.stop(), 0);
    const code = await verify.stop('SIGINT');
    assert.is(code, 1, 'a complete chain, but something was rejected');
    assert.match(v.stderr(), /COMPLETE/, 'the device\'s own chain is complete');
    assert.match(v.stderr(), /REJECTED 2 message\(s\):/);
    assert.match(v.stderr(), /unknown key id/, 'says why');
    assert.not.match(v.stdout(), /field:n = -1/, 'the forged reading is never printed');
  } finally {
    attacker.end(true);
    if (verify) await verify.stop('SIGKILL');
    await r.close();
  }
});

test.run();
