// agent/encode/batch: seq/prev chaining across data batches and gap notices,
// chain state recovery from the last journaled batch, payload validation.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import type { Reading } from '../../agent/reading.js';
import { encodeCbor } from '../../agent/encode/cbor.js';
import { decodeSign1, signSign1, verifySign1 } from '../../agent/encode/cose.js';
import { chainStateAfter, createBatchEncoder, parseBatchPayload, ZERO_HASH, type ChainState } from '../../agent/encode/batch.js';
import { resolveSenml } from '../../agent/encode/senml.js';
import { createCryptoSigner } from '../../agent/encode/signer.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const signer = createCryptoSigner(new Uint8Array(32).fill(42));
const keyForKid = (): Uint8Array => signer.publicKey;

function encoder(start: ChainState = { seq: 0, prev: ZERO_HASH }, synced = true, now = 1_700_000_000_000) {
  return createBatchEncoder({ device: 'pump-7', signer, clockSynced: () => synced, nowMs: () => now }, start);
}
const readings = (n: number, t0 = 1_700_000_000.5): Reading[] =>
  Array.from({ length: n }, (_, i) => ({ name: 'weather:temp', time: t0 + i / 1000, v: 20 + i / 4, unit: 'Cel' }));
const payloadOf = (bytes: Uint8Array) => parseBatchPayload(verifySign1(bytes, keyForKid).payload);

test('the first batch has seq 1 and prev 32 zero bytes; the payload carries v, dev, clk, senml', () => {
  const b = encoder().encodeReadings(readings(3));
  assert.is(b.seq, 1);
  assert.is(b.readings, 3);
  const p = payloadOf(b.bytes);
  assert.equal({ v: p.v, dev: p.dev, seq: p.seq, prev: hex(p.prev), clk: p.clk }, { v: 1, dev: 'pump-7', seq: 1, prev: '00'.repeat(32), clk: 'sync' });
  assert.is(p.gap, undefined);
  assert.equal(resolveSenml(p.senml, 'pump-7').map((r) => r.v), [20, 20.25, 20.5]);
});

test('seq increases by one and prev is SHA-256 of the previous complete COSE_Sign1, across data and gap batches', () => {
  const enc = encoder();
  const b1 = enc.encodeReadings(readings(2));
  const b2 = enc.encodeReadings(readings(1));
  const g3 = enc.encodeGap(1, 2, 'journal-full');
  const b4 = enc.encodeReadings(readings(1));
  assert.equal([b1.seq, b2.seq, g3.seq, b4.seq], [1, 2, 3, 4]);
  assert.is(hex(payloadOf(b2.bytes).prev), sha(b1.bytes));
  assert.is(hex(payloadOf(g3.bytes).prev), sha(b2.bytes));
  assert.is(hex(payloadOf(b4.bytes).prev), sha(g3.bytes));
  const gp = payloadOf(g3.bytes);
  assert.equal(gp.gap, [1, 2, 'journal-full']);
  assert.is(gp.senml, undefined);
  assert.is(g3.readings, 0);
  assert.equal(enc.state(), { seq: 4, prev: new Uint8Array(Buffer.from(sha(b4.bytes), 'hex')) });
});

test('clk says "free" when the clock is not synchronised', () => {
  assert.is(payloadOf(encoder(undefined, false).encodeReadings(readings(1)).bytes).clk, 'free');
});

test('an encoder started from a chain state continues it', () => {
  const prev = new Uint8Array(32).fill(0xab);
  const b = encoder({ seq: 41, prev }).encodeReadings(readings(1));
  assert.is(b.seq, 42);
  assert.is(hex(payloadOf(b.bytes).prev), hex(prev));
});

test('chainStateAfter recovers seq and hash from the last batch without a key, and the chain continues seamlessly', () => {
  const first = encoder();
  first.encodeReadings(readings(1));
  const last = first.encodeGap(1, 1, 'journal-full');
  const recovered = chainStateAfter(last.bytes);
  assert.equal(recovered, first.state());
  const next = encoder(recovered).encodeReadings(readings(1));
  assert.is(next.seq, 3);
  assert.is(hex(payloadOf(next.bytes).prev), sha(last.bytes));
});

test('state() returns a copy: mutating it does not change the chain', () => {
  const enc = encoder();
  enc.encodeReadings(readings(1));
  const s = enc.state();
  s.prev.fill(0);
  assert.is.not(hex(enc.state().prev), '00'.repeat(32));
});

test('a reading with a non-finite time is stamped with the encoder clock', () => {
  const b = encoder(undefined, true, 1_700_000_123_456).encodeReadings([{ name: 's:x', time: NaN, v: 1 }, { name: 's:y', time: 1_700_000_123.5, v: 2 }]);
  assert.equal(resolveSenml(payloadOf(b.bytes).senml).map((r) => r.time), [1_700_000_123.456, 1_700_000_123.5]);
});

test('empty batches and impossible gap ranges are refused', () => {
  const enc = encoder({ seq: 10, prev: ZERO_HASH });
  assert.throws(() => enc.encodeReadings([]), /at least one reading/);
  assert.throws(() => enc.encodeGap(5, 4, 'x'), /first <= last/);
  assert.throws(() => enc.encodeGap(0, 4, 'x'), /first <= last/);
  assert.throws(() => enc.encodeGap(5, 11, 'x'), /beyond the last seq 10/);
  assert.is(enc.state().seq, 10, 'a refused call uses no seq');
  assert.throws(() => encoder({ seq: 0, prev: new Uint8Array(31) }), /32 bytes/);
});

function payloadError(p: Record<string, unknown>): { code?: string; message: string } {
  try {
    parseBatchPayload(encodeCbor(p));
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error(`payload ${JSON.stringify(Object.keys(p))} was accepted`);
}

const GOOD = { v: 1, dev: 'd', seq: 3, prev: new Uint8Array(32), clk: 'sync', senml: [new Map<number, unknown>([[0, 'x'], [2, 1]])] };

test('parseBatchPayload refuses an unknown version with a clear message', () => {
  const e = payloadError({ ...GOOD, v: 3 });
  assert.is(e.code, 'ERR_BATCH_VERSION');
  assert.match(e.message, 'unsupported batch version 3');
  assert.is(parseBatchPayload(encodeCbor(GOOD)).seq, 3, 'the same payload with v 1 is accepted');
});

test('version 2 is a restarted chain: it must carry an 8-byte, non-zero epoch; version 1 must not carry one', () => {
  const epoch = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const p = parseBatchPayload(encodeCbor({ ...GOOD, v: 2, epoch }));
  assert.is(p.v, 2);
  assert.equal(p.epoch, epoch);
  assert.is(parseBatchPayload(encodeCbor(GOOD)).epoch, undefined, 'v1: the original chain');
  assert.is(payloadError({ ...GOOD, v: 2 }).code, 'ERR_BATCH_INVALID', 'v2 without an epoch');
  assert.match(payloadError({ ...GOOD, v: 2, epoch: new Uint8Array(8) }).message, /not all zero/);
  assert.match(payloadError({ ...GOOD, v: 2, epoch: new Uint8Array(7).fill(1) }).message, /8 bytes/);
  assert.match(payloadError({ ...GOOD, epoch }).message, /only allowed in version 2/);
});

test('an encoder resumed in an epoch writes version 2 with it; the original chain stays version 1', () => {
  const epoch = Uint8Array.from([9, 9, 9, 9, 1, 2, 3, 4]);
  const enc = encoder({ seq: 40, prev: ZERO_HASH, epoch });
  const b = enc.encodeReadings(readings(1));
  const p = payloadOf(b.bytes);
  assert.equal([p.v, p.seq, p.epoch], [2, 41, epoch]);
  assert.equal(chainStateAfter(b.bytes).epoch, epoch);
  assert.equal(enc.state().epoch, epoch);
  const orig = encoder({ seq: 40, prev: ZERO_HASH, epoch: new Uint8Array(8) });
  assert.is(payloadOf(orig.encodeReadings(readings(1)).bytes).v, 1, 'a zero epoch is the original chain');
});

test('parseBatchPayload refuses malformed payloads with ERR_BATCH_INVALID', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ ...GOOD, v: undefined }, /"v"/],
    [{ ...GOOD, dev: 7 }, /"dev"/],
    [{ ...GOOD, seq: 0 }, /"seq"/],
    [{ ...GOOD, seq: 1.5 }, /"seq"/],
    [{ ...GOOD, prev: new Uint8Array(31) }, /"prev"/],
    [{ ...GOOD, clk: 'maybe' }, /"clk"/],
    [{ ...GOOD, senml: undefined }, /exactly one of "senml" and "gap"/],
    [{ ...GOOD, gap: [1, 2, 'x'] }, /exactly one of "senml" and "gap"/],
    [{ ...GOOD, senml: [] }, /non-empty array/],
    [{ ...GOOD, senml: undefined, gap: [2, 1, 'x'] }, /first <= last/],
    [{ ...GOOD, senml: undefined, gap: [1, 3, 'x'] }, /before the notice's own seq 3/],
    [{ ...GOOD, senml: undefined, gap: [1, 2] }, /\[first, last, reason\]/],
    [{ ...GOOD, senml: undefined, gap: [1, 2, 3] }, /reason must be a string/],
  ];
  for (const [p, re] of cases) {
    const e = payloadError(p);
    assert.is(e.code, 'ERR_BATCH_INVALID');
    assert.match(e.message, re);
  }
  try { parseBatchPayload(encodeCbor([1, 2])); assert.unreachable(); } catch (err) { assert.match((err as Error).message, /not a CBOR map/); }
});

test('chainStateAfter refuses bytes that are not a batch', () => {
  assert.throws(() => chainStateAfter(signSign1(signer, encodeCbor({ v: 1, dev: 'd' }))), /invalid batch payload/);
  assert.throws(() => chainStateAfter(new Uint8Array([1, 2, 3])), /COSE_Sign1/);
});

test('a typical batch of 100 weather readings is a single compact COSE_Sign1', () => {
  const names = ['weather:temp', 'weather:pressure', 'weather:hum', 'weather:wind'];
  const rs: Reading[] = Array.from({ length: 100 }, (_, i) => ({
    name: names[i % 4]!, time: Math.round((1_700_000_000.123 + i / 100) * 1000) / 1000,
    v: [21.5, 1013.25, 40, 3.5][i % 4]!, unit: ['Cel', 'hPa', '%RH', 'm/s'][i % 4]!,
  }));
  const b = encoder().encodeReadings(rs);
  // bn + bt once, then per record: map, n, u, v, t — well under 40 bytes a reading
  assert.ok(b.bytes.length < 100 * 40, `${b.bytes.length} bytes`);
  assert.is(decodeSign1(b.bytes).signature.length, 64);
});

test.run();
