// agent/ingest/check: what a worker decides from the device's keys alone —
// topic shape, unenrolled, forged, unknown key (parked, not rejected), wrong
// device, retired key, malformed payload — and that nothing but the envelope
// is parsed before the signature verifies.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBatchEncoder, sha256, ZERO_HASH } from '../../agent/encode/batch.js';
import { encodeCbor } from '../../agent/encode/cbor.js';
import { signSign1 } from '../../agent/encode/cose.js';
import { createCryptoSigner } from '../../agent/encode/signer.js';
import { checkBatch, deviceOfTopic, hexOf, type DeviceKeys } from '../../agent/ingest/check.js';

const DEV = 'pump-7';
const signer = createCryptoSigner(new Uint8Array(32).fill(3));
const other = createCryptoSigner(new Uint8Array(32).fill(4));
const keys = (extra: Partial<{ from: number; until: number }> = {}): DeviceKeys => new Map([[hexOf(signer.kid), { pub: signer.publicKey, ...extra }]]);
const batch = (seq = 1, s = signer, dev = DEV): Uint8Array =>
  createBatchEncoder({ device: dev, signer: s, clockSynced: () => true, nowMs: () => 0 }, { seq: seq - 1, prev: seq === 1 ? ZERO_HASH : sha256(new Uint8Array([seq])) })
    .encodeReadings([{ name: 'env:temp', time: 1_760_000_000, v: 21.5, unit: 'Cel' }, { name: 'env:ok', time: 1_760_000_001, vb: true }]).bytes;
const T = `tapwire/${DEV}/data`;

test('the device comes from <prefix>/<id>/<leaf>, and only a valid device id', () => {
  assert.is(deviceOfTopic('tapwire/pump-7/data', 'tapwire', 'data'), 'pump-7');
  assert.is(deviceOfTopic('site/a/tapwire/pump-7/key', 'site/a/tapwire', 'key'), 'pump-7');
  assert.is(deviceOfTopic('tapwire/pump-7/key', 'tapwire', 'data'), undefined);
  assert.is(deviceOfTopic('tapwire/a/b/data', 'tapwire', 'data'), undefined);
  assert.is(deviceOfTopic('tapwire//data', 'tapwire', 'data'), undefined);
  assert.is(deviceOfTopic('other/pump-7/data', 'tapwire', 'data'), undefined);
});

test('a good batch: seq, hash, prev, kid and resolved readings', () => {
  const bytes = batch(1);
  const c = checkBatch(T, DEV, bytes, keys());
  assert.is(c.kind, 'batch');
  if (c.kind !== 'batch') return;
  assert.equal([c.dev, c.seq, c.clk, c.kidHex], [DEV, 1, 'sync', hexOf(signer.kid)]);
  assert.equal(c.hash, sha256(bytes));
  assert.equal(c.prev, ZERO_HASH);
  assert.equal(c.readings.map((r) => [r.name, r.time, r.v ?? r.vb, r.unit]), [['env:temp', 1_760_000_000, 21.5, 'Cel'], ['env:ok', 1_760_000_001, true, undefined]]);
});

test('unenrolled, forged, wrong device, retired key, malformed: rejected with a code; an unknown key id: parked', () => {
  const code = (c: ReturnType<typeof checkBatch>): string => (c.kind === 'reject' ? c.code : c.kind);
  assert.is(code(checkBatch(T, DEV, batch(), undefined)), 'unenrolled');
  const forged = batch();
  forged[forged.length - 5]! ^= 1;
  assert.is(code(checkBatch(T, DEV, forged, keys())), 'forged');
  assert.is(code(checkBatch(T, DEV, batch(1, other), keys())), 'park');
  assert.is(code(checkBatch(T, DEV, batch(1, signer, 'pump-8'), keys())), 'wrong-device');
  assert.is(code(checkBatch(T, DEV, batch(5), keys({ until: 5 }))), 'retired-key');
  assert.is(code(checkBatch(T, DEV, batch(4), keys({ until: 5 }))), 'batch');
  assert.is(code(checkBatch(T, DEV, batch(2), keys({ from: 3 }))), 'retired-key');
  assert.is(code(checkBatch(T, DEV, new Uint8Array([0xd2, 0x84]), keys())), 'malformed');
  // signed by the device, but the payload is not a batch: refused only after the signature verified
  const notBatch = signSign1(signer, encodeCbor({ v: 1, dev: DEV, seq: 1 }));
  const r = checkBatch(T, DEV, notBatch, keys());
  assert.is(code(r), 'malformed');
  assert.match(r.kind === 'reject' ? r.reason : '', /prev|clk|senml/);
  const v2 = signSign1(signer, encodeCbor({ v: 99, dev: DEV })); // a format from the future
  assert.is(code(checkBatch(T, DEV, v2, keys())), 'version');
  // the same bytes with a bad signature: "forged", never "malformed" — the payload was not looked at
  const v2forged = new Uint8Array(v2);
  v2forged[v2forged.length - 1]! ^= 1;
  assert.is(code(checkBatch(T, DEV, v2forged, keys())), 'forged');
  // a config or key announcement is not a batch
  const ann = signSign1(signer, encodeCbor({ v: 1 }), 'application/tapwire-key+cbor');
  assert.is(code(checkBatch(T, DEV, ann, keys())), 'malformed');
});

test.run();
