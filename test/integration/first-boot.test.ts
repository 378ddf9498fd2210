// First boot of a flashed card, as tapwire.service does it: `provision
// --if-missing` makes the device's own key once (0600), logs what to enrol,
// and is idempotent, also when several run at once; one templated config
// names each device, and check, provision and run agree on the name.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprint, readPrivateKey } from '../../agent/encode/keys.js';
import { runCli, startAgentProcess } from '../peers/agent-process.js';
import { watchCloud } from '../peers/cloud.js';
import { startAedes } from '../peers/aedes.js';
import { openFieldPty } from '../peers/field-pty.js';
import { tempDir, waitFor } from '../helpers.js';

const config = (stateDir: string, device: string, url = 'mqtt://127.0.0.1:1883', port = '/dev/ttyUSB0') => ({
  device, stateDir,
  uplink: { url, protocolVersion: 4 as const },
  batch: { maxRecords: 1, maxAgeMs: 100 },
  sources: [{ id: 'env', type: 'lines', port: { path: port, baudRate: 9600 }, decoder: { type: 'kv' } }],
});

test('provision --if-missing makes the key once (0600) and logs device, fingerprint and public key; later starts only log it; racing starts agree on one key', async () => {
  const dir = tempDir();
  try {
    const stateDir = join(dir.path, 'state'); // does not exist yet: first boot
    const file = join(dir.path, 'config.json');
    writeFileSync(file, JSON.stringify(config(stateDir, 'pump-1')));
    const first = await runCli(['provision', '--if-missing', '--config', file]);
    assert.is(first.code, 0, first.stderr);
    const key = join(stateDir, 'device.key');
    assert.is(statSync(key).mode & 0o777, 0o600);
    const pair = readPrivateKey(key);
    const pub = Buffer.from(pair.publicKey).toString('hex');
    assert.is(readFileSync(join(stateDir, 'device.pub'), 'utf8'), `${pub}\n`);
    assert.is(first.stdout, '');
    assert.is(first.stderr, `info provision device key created: enrol this device with its public key device=pump-1 fingerprint=${fingerprint(pair.publicKey)} public_key=${pub} file=${key}\n`);
    const again = await runCli(['provision', '--if-missing', '--config', file]);
    assert.is(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`^info provision device key present device=pump-1 fingerprint=${fingerprint(pair.publicKey)} `));
    assert.equal(readPrivateKey(key).seed, pair.seed, 'never replaced');

    // three services starting at once on a fresh card: one key, every one of them reports it
    const fresh = join(dir.path, 'fresh');
    const file2 = join(dir.path, 'config2.json');
    writeFileSync(file2, JSON.stringify(config(fresh, 'pump-2')));
    const runs = await Promise.all([1, 2, 3].map(() => runCli(['provision', '--if-missing', '--config', file2])));
    for (const r of runs) assert.is(r.code, 0, r.stderr);
    const kid = fingerprint(readPrivateKey(join(fresh, 'device.key')).publicKey);
    for (const r of runs) assert.match(r.stderr, `fingerprint=${kid} `);
    assert.is(runs.filter((r) => r.stderr.includes('device key created')).length, 1, 'exactly one made it');
  } finally {
    dir.remove();
  }
});

test('provision --if-missing with a broken config exits 2 and writes nothing (the unit ignores it; run then says why)', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'config.json');
    writeFileSync(file, JSON.stringify({ ...config(join(dir.path, 'state'), 'pump-1'), device: 'pump-${serial-number}' }));
    const r = await runCli(['provision', '--if-missing', '--config', file]);
    assert.is(r.code, 2);
    assert.match(r.stderr, /device: cannot expand "pump-\$\{serial-number\}": unknown variable/);
    assert.not.ok(existsSync(join(dir.path, 'state')));
  } finally {
    dir.remove();
  }
});

test('one templated config, expanded on the device: check, provision and run use the same id, and batches arrive under it', async () => {
  const dir = tempDir();
  const broker = await startAedes();
  const pty = await openFieldPty();
  try {
    const idFile = join(dir.path, 'tapwire-device');
    writeFileSync(idFile, 'unit-0042\n'); // a per-device file, written when the card was prepared
    const machineId = readFileSync('/etc/machine-id', 'utf8').trim();
    const device = `pump-unit-0042-${machineId}`;
    const file = join(dir.path, 'config.json');
    const stateDir = join(dir.path, 'state');
    writeFileSync(file, JSON.stringify(config(stateDir, `pump-\${file:${idFile}}-\${machine-id}`, broker.url, pty.agentPath)));

    const check = await runCli(['config', 'check', file]);
    assert.is(check.code, 0, check.stderr);
    assert.match(check.stdout, `(device ${device}, 1 source)`);
    const prov = await runCli(['provision', '--if-missing', '--config', file]);
    assert.is(prov.code, 0, prov.stderr);
    assert.match(prov.stderr, ` device=${device} `);
    const publicKey = readPrivateKey(join(stateDir, 'device.key')).publicKey;
    const cloud = watchCloud({ url: broker.url, device, publicKey, protocolVersion: 4 });
    await cloud.ready;
    const agent = await startAgentProcess(file);
    try {
      pty.write('level=3.5\n');
      await waitFor(() => cloud.values('env:level').length > 0, 20_000, 'the reading under the expanded id');
      assert.equal(cloud.values('env:level'), [3.5]);
      assert.match(agent.stderr(), `agent running device=${device} `);
      assert.is(await agent.stop(), 0);
    } finally {
      await cloud.close();
    }
  } finally {
    await pty.close();
    await broker.close();
    dir.remove();
  }
});

test.run();
