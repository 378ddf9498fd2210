// Device key rotation end to end: `tapwire key rotate` while the real agent
// runs (and once while it is stopped), the announcement signed by the old key
// on the retained key topic, a verifier that only ever knew the first key
// following the chain, and a batch forged with the old key after the rollover
// being refused.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { createBatchEncoder, sha256 } from '../../agent/encode/batch.js';
import { decodeSign1 } from '../../agent/encode/cose.js';
import { fingerprint, readPrivateKey } from '../../agent/encode/keys.js';
import { createCryptoSigner } from '../../agent/encode/signer.js';
import { startAedes } from '../peers/aedes.js';
import { prepareDevice, runCli, type AgentProcess } from '../peers/agent-process.js';
import { startDeviceRig } from '../peers/device-rig.js';
import { tempDir, waitFor } from '../helpers.js';

const DEV = 'rot-1';

test('key rotate while running and while stopped: the verifier that knew only the first key follows the chain, accepts every batch, refuses one forged with the old key', async () => {
  const broker = await startAedes();
  const r = await startDeviceRig({
    url: broker.url, device: DEV, protocolVersion: 4,
    uplink: { reconnect: { initialMs: 100, maxMs: 500 } },
    batch: { maxRecords: 4, maxAgeMs: 50 },
    journal: { fsyncIntervalMs: 20 },
    source: { id: 'x' },
  });
  const { configPath, stateDir, cloud } = r;
  const values = (): number[] => cloud.values('x:n');
  let n = 0;
  const writeSome = async (count: number): Promise<void> => {
    const target = n + count;
    for (; n < target; n++) r.write(`n=${n + 1}`);
    await waitFor(() => values().includes(target), 10_000, `reading ${target} verified`);
  };
  let agent: AgentProcess;
  try {
    agent = await r.startAgent({ args: ['--file-poll', '200'] });
    await writeSome(20);
    const oldPair = readPrivateKey(join(stateDir, 'device.key'));

    // 1. rotate while the agent runs
    const rot = await runCli(['key', 'rotate', '--config', configPath]);
    assert.is(rot.code, 0, rot.stderr);
    const nextHex = /next key\s+([0-9a-f]{64})/.exec(rot.stdout)?.[1];
    assert.ok(nextHex, rot.stdout);
    const line = await agent.waitLine(/device key rotated/, 10_000);
    const from = Number(/from_seq=(\d+)/.exec(line)![1]);
    await waitFor(() => cloud.keys.some((k) => k.ok), 10_000, 'announcement at the verifier');
    const k1 = cloud.keys.find((k) => k.ok)!;
    assert.ok(k1.ok && k1.seq === from, `announced rollover at seq ${from}: ${JSON.stringify(k1)}`);
    await writeSome(20);
    await waitFor(() => !existsSync(join(stateDir, 'device.key.old')), 10_000, 'old key removed after the announcement was acknowledged');
    assert.is(readFileSync(join(stateDir, 'device.pub'), 'utf8').trim(), nextHex);
    assert.is(statSync(join(stateDir, 'device.key')).mode & 0o777, 0o600);

    // a thief with the old key signs a batch after the rollover: refused
    const forger = createBatchEncoder({ device: DEV, signer: createCryptoSigner(oldPair.seed), clockSynced: () => true, nowMs: () => Date.now() },
      { seq: from + 1000, prev: sha256(new Uint8Array([1])) });
    const forged = forger.encodeReadings([{ name: 'x:n', time: Date.now() / 1000, v: -1 }]).bytes;
    const thief = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    await thief.publishAsync(`tapwire/${DEV}/data`, Buffer.from(forged), { qos: 1 });
    await thief.endAsync();
    await waitFor(() => cloud.events.some((e) => e.kind === 'rejected' && /retired from seq/.test(e.reason)), 10_000, 'forged batch refused');
    assert.not.ok(values().includes(-1));

    // 2. rotate while the agent is stopped: it rolls over at its next start
    assert.is(await agent.stop(), 0);
    await waitFor(() => cloud.statuses.some((st) => st.ok && st.state === 'offline' && (st.detail?.counters as Map<string, number> | undefined)?.get('key.rotations') === 1),
      10_000, 'the offline status verifies through the key chain');
    const retained = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    const statusBytes = new Promise<Buffer>((resolve) => retained.once('message', (_t, p) => resolve(p)));
    await retained.subscribeAsync(`tapwire/${DEV}/status`, { qos: 1 });
    const kid = Buffer.from(decodeSign1(await statusBytes).kid).toString('hex');
    await retained.endAsync();
    assert.is(kid, fingerprint(new Uint8Array(Buffer.from(nextHex!, 'hex'))), 'the retained status is signed by the new key');
    const rot2 = await runCli(['key', 'rotate', '--config', configPath]);
    assert.is(rot2.code, 0, rot2.stderr);
    agent = await r.startAgent({ args: ['--file-poll', '200'] });
    await agent.waitLine(/device key rotated/, 10_000);
    await waitFor(() => cloud.keys.filter((k) => k.ok && !k.duplicate).length === 2, 10_000, 'second announcement followed');
    await writeSome(20);
    assert.is(await agent.stop(), 0);

    const s = cloud.summary();
    assert.equal([s.rejected, s.keyRollovers, s.readings], [1, 2, 60], JSON.stringify(s));
    assert.ok(s.complete, `every batch accepted across both rollovers: ${JSON.stringify(s)}`);
    assert.equal([...values()].sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i + 1));

    const show = await runCli(['key', 'show', '--config', configPath]);
    assert.is(show.code, 0, show.stderr);
    assert.match(show.stdout, readFileSync(join(stateDir, 'device.pub'), 'utf8').trim());
  } finally {
    await r.close();
    await broker.close();
  }
});

/** A config for a device that has no key yet (no broker, no serial port needed), and `provision()` to give it one. */
async function withUnprovisioned(body: (d: { configPath: string; stateDir: string; provision(): void }) => Promise<void>): Promise<void> {
  const dir = tempDir('tapwire-rot-');
  const configPath = join(dir.path, 'c.json');
  const stateDir = join(dir.path, 'state');
  const cfg = { device: DEV, stateDir, uplink: { url: 'mqtt://127.0.0.1:1' }, sources: [{ id: 'x', type: 'lines', port: { path: '/dev/null', baudRate: 9600 }, decoder: { type: 'kv' } }] };
  writeFileSync(configPath, JSON.stringify(cfg));
  try {
    await body({ configPath, stateDir, provision: () => { prepareDevice(configPath, cfg); } });
  } finally { dir.remove(); }
}

test('run refuses to start without a device key, or with one that group or others can read: exit 2, naming the file and the fix', async () => {
  await withUnprovisioned(async ({ configPath, stateDir, provision }) => {
    const missing = await runCli(['run', '--config', configPath]);
    assert.is(missing.code, 2);
    assert.match(missing.stderr, `${join(stateDir, 'device.key')} does not exist`);
    assert.match(missing.stderr, 'tapwire provision');
    provision();
    for (const mode of [0o640, 0o604]) {
      chmodSync(join(stateDir, 'device.key'), mode);
      const open = await runCli(['run', '--config', configPath]);
      assert.is(open.code, 2, `mode ${mode.toString(8)}`);
      assert.match(open.stderr, 'group and others must have no access');
      assert.match(open.stderr, 'chmod 600');
    }
  });
});

test('key rotate refuses a second pending rollover and an unprovisioned device (exit 2)', async () => {
  await withUnprovisioned(async ({ configPath, stateDir, provision }) => {
    const none = await runCli(['key', 'rotate', '--config', configPath]);
    assert.is(none.code, 2);
    assert.match(none.stderr, 'provision');
    provision();
    assert.is((await runCli(['key', 'rotate', '--config', configPath])).code, 0);
    assert.is(statSync(join(stateDir, 'device.key.next')).mode & 0o777, 0o600);
    const again = await runCli(['key', 'rotate', '--config', configPath]);
    assert.is(again.code, 2);
    assert.match(again.stderr, 'already pending');
  });
});

test.run();
