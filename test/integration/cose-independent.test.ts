// Interop with an independent implementation: Debian's python3-cbor2 +
// python3-nacl (test/peers/py_cose_verify.py) verify what we sign, and we
// verify what they sign. Nothing of ours runs on the Python side.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reading } from '../../agent/reading.js';
import { createBatchEncoder, parseBatchPayload, ZERO_HASH } from '../../agent/encode/batch.js';
import { verifySign1 } from '../../agent/encode/cose.js';
import { resolveSenml } from '../../agent/encode/senml.js';
import { createCryptoSigner, createNaclSigner, type Signer } from '../../agent/encode/signer.js';
import { createChainVerifier } from '../../agent/verify/chain.js';
import { tempDir } from '../helpers.js';

const PY = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../peers/py_cose_verify.py', import.meta.url));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const SEED = new Uint8Array(32).map((_, i) => (i * 13 + 5) & 0xff);
const DEV = 'pump-station-7';

interface PyResult { code: number; stdout: string; stderr: string }

function python(args: string[]): Promise<PyResult> {
  return new Promise((resolve, reject) => {
    execFile(PY, [SCRIPT, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') { reject(err); return; }
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

const dir = tempDir('tapwire-py-');
let fileNo = 0;
async function pyVerify(bytes: Uint8Array, pub: Uint8Array): Promise<PyResult> {
  const file = join(dir.path, `b${fileNo++}.cose`);
  writeFileSync(file, bytes);
  return python(['verify', '--pubkey', hex(pub), '--device', DEV, file]);
}

function weatherReadings(): Reading[] {
  const t0 = 1_700_000_000.123;
  const out: Reading[] = [];
  for (let i = 0; i < 96; i++) {
    const time = Math.round((t0 + i / 96) * 1000) / 1000;
    const k = i % 6;
    if (k === 0) out.push({ name: 'weather:temp', time, v: 21.5 + i / 10, unit: 'Cel' });
    else if (k === 1) out.push({ name: 'weather:pressure', time, v: 1013.25, unit: 'hPa' });
    else if (k === 2) out.push({ name: 'weather:hum', time, v: 40 + i, unit: '%RH' });
    else if (k === 3) out.push({ name: 'meter:energy', time, v: 2 ** 40 + i, unit: 'J' }); // 64-bit integer
    else if (k === 4) out.push({ name: 'gps:fix', time, vs: 'dgps' });
    else out.push({ name: 'door:open', time, vb: i % 2 === 0 });
  }
  out.push({ name: 'weather:tiny', time: t0, v: 1e-300 }, { name: 'weather:neg', time: t0 + 5, v: -0.1 });
  out.push({ name: 'weather:third', time: t0 + 0.5, v: 1 / 3 }, { name: 'weather:half', time: t0 + 0.25, v: -0.5 });
  return out;
}

for (const [label, signer] of [['node:crypto', createCryptoSigner(SEED)], ['tweetnacl', createNaclSigner(SEED)]] as Array<[string, Signer]>) {
  test(`python cbor2+nacl verifies batches signed with ${label} and reads every value exactly`, async () => {
    const enc = createBatchEncoder({ device: DEV, signer, clockSynced: () => false, nowMs: () => 0 }, { seq: 0, prev: ZERO_HASH });
    const readings = weatherReadings();
    const b1 = enc.encodeReadings(readings);
    const r = await pyVerify(b1.bytes, signer.publicKey);
    assert.is(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown> & { readings: Array<Record<string, unknown>> };
    assert.equal(
      { ok: out.ok, dev: out.dev, seq: out.seq, clk: out.clk, prev: out.prev, kid: out.kid, contentType: out.contentType },
      { ok: true, dev: DEV, seq: 1, clk: 'free', prev: '00'.repeat(32), kid: hex(signer.kid), contentType: 'application/tapwire+cbor' },
    );
    assert.is(out.sha256, createHash('sha256').update(b1.bytes).digest('hex'));
    assert.is(out.readings.length, readings.length);
    readings.forEach((want, i) => {
      const got = out.readings[i]!;
      assert.is(got.name, want.name);
      assert.is(got.fullName, `urn:dev:tapwire:${DEV}:${want.name}`);
      assert.ok(Object.is(got.time, want.time), `time of #${i}: python ${String(got.time)} != ${want.time}`);
      assert.ok(Object.is(got.v, want.v), `v of #${i}: python ${String(got.v)} != ${String(want.v)}`);
      assert.is(got.vs, want.vs);
      assert.is(got.vb, want.vb);
      assert.is(got.unit, want.unit);
    });

    // the next batch and a gap notice chain on: python sees our prev hashes
    const g2 = enc.encodeGap(1, 1, 'journal-full');
    const r2 = await pyVerify(g2.bytes, signer.publicKey);
    assert.is(r2.code, 0, r2.stderr);
    const out2 = JSON.parse(r2.stdout) as Record<string, unknown>;
    assert.equal([out2.seq, out2.prev, out2.gap], [2, out.sha256, [1, 1, 'journal-full']]);
  });
}

test('bn and bt set again mid-pack (RFC 8428 §4.1): python resolves what we sign, we resolve what python signs', async () => {
  const signer = createCryptoSigner(SEED);
  const enc = createBatchEncoder({ device: DEV, signer, clockSynced: () => true, nowMs: () => 0 }, { seq: 0, prev: ZERO_HASH });
  const t0 = 1_700_000_000.1;
  const readings: Reading[] = [
    { name: 'plc:m1_v', time: t0, v: 230.2, unit: 'V' }, { name: 'plc:m1_i', time: t0, v: 12.35, unit: 'A' },
    { name: 'plc:m2_v', time: t0 + 0.013, v: 230.3, unit: 'V' }, { name: 'weather:temp', time: t0 + 0.013, v: 21.5, unit: 'Cel' },
    { name: 'weather:hum', time: t0 + 0.02, v: 40 }, { name: 'plc:m1_v', time: t0 + 0.1, v: 230.1, unit: 'V' },
  ];
  const b = enc.encodeReadings(readings);
  // the pack really does set bn and bt mid-pack (else this test proves nothing)
  const recs = parseBatchPayload(verifySign1(b.bytes, () => signer.publicKey).payload).senml as Array<Map<number, unknown>>;
  assert.equal(recs.map((r) => [r.has(-2), r.has(-3), r.has(6)]), [
    [true, true, false], [false, false, false], [false, true, false], [true, false, false], [false, true, false], [true, true, false],
  ]);
  const r = await pyVerify(b.bytes, signer.publicKey);
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { readings: Array<Record<string, unknown>> };
  assert.equal(out.readings.map((x) => [x.name, x.time, x.v, x.unit]), readings.map((x) => [x.name, x.time, x.v, x.unit]));
  readings.forEach((want, i) => assert.ok(Object.is(out.readings[i]!.time, want.time), `python time of #${i}`));

  // and a pack python signs, changing bn and bt mid-pack and using t, resolves the same on our side
  const desc = {
    v: 1, dev: DEV, seq: 3, prev: 'cd'.repeat(32), clk: 'sync',
    senml: [
      { '-2': `urn:dev:tapwire:${DEV}:plc:`, '-3': 1_700_000_000.5, '0': 'm1_v', '1': 'V', '2': 230.2 },
      { '0': 'm1_i', '2': 12.35, '6': 0.25 },
      { '-2': `urn:dev:tapwire:${DEV}:gps:`, '0': 'fix', '3': 'rtk' },
      { '-3': 1_700_000_100, '0': 'sats', '2': 9, '6': -1 },
    ],
  };
  const descFile = join(dir.path, 'midpack.json');
  writeFileSync(descFile, JSON.stringify(desc));
  const signed = await python(['sign', '--seed', hex(SEED), '--json-payload', descFile]);
  assert.is(signed.code, 0, signed.stderr);
  const bytes = new Uint8Array(Buffer.from(signed.stdout.trim(), 'hex'));
  const ours = resolveSenml(parseBatchPayload(verifySign1(bytes, () => signer.publicKey).payload).senml, DEV);
  const expected = [['plc:m1_v', 1_700_000_000.5, 230.2], ['plc:m1_i', 1_700_000_000.75, 12.35], ['gps:fix', 1_700_000_000.5, undefined], ['gps:sats', 1_700_000_099, 9]];
  assert.equal(ours.map((x) => [x.name, x.time, x.v]), expected);
  const theirs = await pyVerify(bytes, signer.publicKey);
  assert.is(theirs.code, 0, theirs.stderr);
  assert.equal((JSON.parse(theirs.stdout) as { readings: Array<Record<string, unknown>> }).readings.map((x) => [x.name, x.time, x.v]), expected);
});

test('python refuses a batch with a flipped byte in the payload or the signature, and a wrong key', async () => {
  const signer = createCryptoSigner(SEED);
  const enc = createBatchEncoder({ device: DEV, signer, clockSynced: () => true, nowMs: () => 0 }, { seq: 0, prev: ZERO_HASH });
  const bytes = enc.encodeReadings(weatherReadings().slice(0, 10)).bytes;
  const payloadAt = Buffer.from(bytes).indexOf(Buffer.from(`${DEV}:weather:`));
  assert.ok(payloadAt > 0, 'the base name is in the payload');
  for (const at of [payloadAt, bytes.length - 1]) {
    const bad = new Uint8Array(bytes);
    bad[at]! ^= 0x01;
    const r = await pyVerify(bad, signer.publicKey);
    assert.is(r.code, 1, `flip at ${at} must fail`);
    assert.match(r.stderr, 'bad signature');
  }
  const other = createCryptoSigner(new Uint8Array(32).fill(1));
  const r = await pyVerify(bytes, other.publicKey);
  assert.is(r.code, 1);
  assert.match(r.stderr, 'does not match the public key');
  const ok = await pyVerify(bytes, signer.publicKey);
  assert.is(ok.code, 0, 'the unmodified control verifies');
});

test('we verify a COSE_Sign1 batch signed by python (nacl, cbor2 canonical encoding)', async () => {
  const signer = createCryptoSigner(SEED); // same seed: the public key we trust
  const desc = {
    v: 1, dev: DEV, seq: 7, prev: 'ab'.repeat(32), clk: 'sync',
    senml: [
      { '-2': `urn:dev:tapwire:${DEV}:`, '-3': 1_700_000_000.5, '0': 'weather:temp', '1': 'Cel', '2': 21.5 },
      { '0': 'weather:pressure', '1': 'hPa', '2': 1013.27, '6': 0.25 },
      { '0': 'gps:fix', '3': 'rtk', '6': 1 },
    ],
  };
  const descFile = join(dir.path, 'payload.json');
  writeFileSync(descFile, JSON.stringify(desc));
  const r = await python(['sign', '--seed', hex(SEED), '--json-payload', descFile]);
  assert.is(r.code, 0, r.stderr);
  const bytes = new Uint8Array(Buffer.from(r.stdout.trim(), 'hex'));

  const s = verifySign1(bytes, (kid) => (hex(kid) === hex(signer.kid) ? signer.publicKey : undefined));
  assert.is(s.contentType, 'application/tapwire+cbor');
  const p = parseBatchPayload(s.payload);
  assert.equal([p.dev, p.seq, hex(p.prev), p.clk], [DEV, 7, 'ab'.repeat(32), 'sync']);
  const readings = resolveSenml(p.senml, DEV);
  assert.equal(readings.map((x) => [x.name, x.time, x.v, x.vs, x.unit]), [
    ['weather:temp', 1_700_000_000.5, 21.5, undefined, 'Cel'],
    ['weather:pressure', 1_700_000_000.75, 1013.27, undefined, 'hPa'],
    ['gps:fix', 1_700_000_001.5, undefined, 'rtk', undefined],
  ]);

  // and the chain verifier takes it as a batch (joined mid-stream at seq 7)
  const v = createChainVerifier({ device: DEV, publicKeys: [signer.publicKey] });
  assert.equal(v.accept(bytes).map((e) => e.kind), ['batch']);

  // a flipped payload byte in python's bytes fails our verification too
  const bad = new Uint8Array(bytes);
  bad[Buffer.from(bytes).indexOf(Buffer.from('gps:fix'))]! ^= 0x01;
  assert.throws(() => verifySign1(bad, () => signer.publicKey), /bad signature/);
});

test.after(() => dir.remove());

test.run();
