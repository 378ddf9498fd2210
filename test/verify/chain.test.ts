// agent/verify/chain: signatures, duplicates, out-of-order arrival, gap
// notices explaining breaks, unexplained breaks, conflicts, completeness.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Reading } from '../../agent/reading.js';
import { encodeCbor } from '../../agent/encode/cbor.js';
import { signSign1 } from '../../agent/encode/cose.js';
import { createBatchEncoder, ZERO_HASH, type BatchEncoder, type ChainState } from '../../agent/encode/batch.js';
import { createCryptoSigner, createNaclSigner, type Signer } from '../../agent/encode/signer.js';
import { createChainVerifier, type VerifyEvent } from '../../agent/verify/chain.js';

const DEV = 'pump-7';
const signer = createCryptoSigner(new Uint8Array(32).fill(5));
const stranger = createCryptoSigner(new Uint8Array(32).fill(6));

function encoder(start: ChainState = { seq: 0, prev: ZERO_HASH }, s: Signer = signer, device = DEV): BatchEncoder {
  return createBatchEncoder({ device, signer: s, clockSynced: () => true, nowMs: () => 0 }, start);
}
const reading = (i: number): Reading => ({ name: 'weather:temp', time: 1_700_000_000 + i, v: 20 + i / 2, unit: 'Cel' });
const verifier = () => createChainVerifier({ device: DEV, publicKeys: [signer.publicKey] });
const kinds = (evs: VerifyEvent[]): string[] => evs.map((e) => e.kind);

/** Batches 1..n from one encoder. */
function chain(n: number): Uint8Array[] {
  const enc = encoder();
  return Array.from({ length: n }, (_, i) => enc.encodeReadings([reading(i), reading(i + 100)]).bytes);
}

test('in-order batches are accepted with their readings resolved, and the chain is complete', () => {
  const v = verifier();
  const evs = chain(3).map((b) => v.accept(b));
  assert.equal(evs.map(kinds), [['batch'], ['batch'], ['batch']]);
  const first = evs[0]![0]!;
  assert.ok(first.kind === 'batch');
  if (first.kind !== 'batch') return;
  assert.is(first.seq, 1);
  assert.is(first.clk, 'sync');
  assert.equal(first.readings.map((r) => [r.name, r.time, r.v, r.unit]), [['weather:temp', 1_700_000_000, 20, 'Cel'], ['weather:temp', 1_700_000_100, 70, 'Cel']]);
  const s = v.summary();
  assert.equal(s, {
    batches: 3, readings: 6, duplicates: 0, rejected: 0, conflicts: 0, gaps: [], missing: [],
    explainedBreaks: 0, unexplainedBreaks: 0, firstSeq: 1, lastSeq: 3, complete: true,
  });
});

test('a resent batch (identical bytes) is a duplicate and counted once', () => {
  const v = verifier();
  const [b1, b2] = chain(2);
  v.accept(b1!);
  v.accept(b2!);
  assert.equal(v.accept(b2!), [{ kind: 'duplicate', seq: 2 }]);
  assert.equal(v.accept(b1!), [{ kind: 'duplicate', seq: 1 }]);
  const s = v.summary();
  assert.is(s.duplicates, 2);
  assert.is(s.batches, 2);
  assert.is(s.readings, 4);
  assert.ok(s.complete);
});

test('out-of-order arrival: a hole is missing until it is filled, then the chain is complete', () => {
  const v = verifier();
  const [b1, b2, b3, b4] = chain(4);
  v.accept(b1!);
  assert.equal(kinds(v.accept(b4!)), ['batch'], 'no break reported for a batch that may still come');
  assert.equal(kinds(v.accept(b3!)), ['batch']);
  let s = v.summary();
  assert.equal(s.missing, [[2, 2]]);
  assert.is(s.unexplainedBreaks, 1);
  assert.not.ok(s.complete);
  assert.equal(kinds(v.accept(b2!)), ['batch'], 'the late batch links both ways without a break');
  s = v.summary();
  assert.equal(s.missing, []);
  assert.is(s.unexplainedBreaks, 0);
  assert.equal([s.firstSeq, s.lastSeq, s.batches], [1, 4, 4]);
  assert.ok(s.complete);
});

test('reverse order arrival ends complete', () => {
  const v = verifier();
  for (const b of chain(5).reverse()) v.accept(b);
  const s = v.summary();
  assert.ok(s.complete);
  assert.equal([s.firstSeq, s.lastSeq, s.batches, s.explainedBreaks, s.unexplainedBreaks], [1, 5, 5, 0, 0]);
});

test('a gap notice explains the break its dropped batches leave, even when it arrives after', () => {
  const enc = encoder();
  const b = [1, 2, 3, 4, 5].map((i) => enc.encodeReadings([reading(i)]).bytes);
  const notice = enc.encodeGap(3, 4, 'journal-full').bytes; // seq 6
  const v = verifier();
  v.accept(b[0]!);
  v.accept(b[1]!);
  v.accept(b[4]!); // seq 5: prev = hash(4), which never arrives
  let s = v.summary();
  assert.equal(s.missing, [[3, 4]]);
  assert.is(s.unexplainedBreaks, 1);
  assert.not.ok(s.complete);
  const evs = v.accept(notice);
  assert.equal(evs, [
    { kind: 'gap', seq: 6, first: 3, last: 4, reason: 'journal-full' },
    { kind: 'chain-break', seq: 5, expectedPrevOf: 4, explained: true },
  ]);
  s = v.summary();
  assert.equal(s.gaps, [{ first: 3, last: 4, reason: 'journal-full' }]);
  assert.equal(s.missing, []);
  assert.equal([s.explainedBreaks, s.unexplainedBreaks], [1, 0]);
  assert.equal([s.firstSeq, s.lastSeq], [1, 6]);
  assert.ok(s.complete);
});

test('a gap notice that arrives first makes the later break explained at once', () => {
  const enc = encoder();
  const b = [1, 2, 3].map((i) => enc.encodeReadings([reading(i)]).bytes);
  const notice = enc.encodeGap(2, 2, 'journal-full').bytes; // seq 4
  const v = verifier();
  v.accept(b[0]!);
  v.accept(notice);
  assert.equal(v.accept(b[2]!).slice(1), [{ kind: 'chain-break', seq: 3, expectedPrevOf: 2, explained: true }]);
  assert.ok(v.summary().complete);
});

test('a batch whose prev is not the hash of the batch before is an unexplained break', () => {
  const [b1] = chain(1);
  const forged = encoder({ seq: 1, prev: new Uint8Array(32).fill(0xee) }).encodeReadings([reading(9)]).bytes; // seq 2, wrong prev
  const v = verifier();
  v.accept(b1!);
  const evs = v.accept(forged);
  assert.equal(evs[1], { kind: 'chain-break', seq: 2, expectedPrevOf: 1, explained: false });
  const s = v.summary();
  assert.equal([s.unexplainedBreaks, s.missing.length], [1, 0]);
  assert.not.ok(s.complete);
});

test('the same break is found when the successor arrives before its predecessor', () => {
  const [b1] = chain(1);
  const forged = encoder({ seq: 1, prev: new Uint8Array(32).fill(0xee) }).encodeReadings([reading(9)]).bytes;
  const v = verifier();
  assert.equal(kinds(v.accept(forged)), ['batch']);
  assert.equal(v.accept(b1!).slice(1), [{ kind: 'chain-break', seq: 2, expectedPrevOf: 1, explained: false }]);
  assert.is(v.summary().unexplainedBreaks, 1);
});

test('seq 1 must link to 32 zero bytes', () => {
  const bad = encoder({ seq: 0, prev: new Uint8Array(32).fill(1) }).encodeReadings([reading(1)]).bytes;
  const v = verifier();
  assert.equal(v.accept(bad).slice(1), [{ kind: 'chain-break', seq: 1, expectedPrevOf: 0, explained: false }]);
  assert.not.ok(v.summary().complete);
});

test('a stream joined mid-way (first seq 10) is complete from there on', () => {
  const enc = encoder({ seq: 9, prev: new Uint8Array(32).fill(3) });
  const v = verifier();
  for (let i = 0; i < 3; i++) assert.equal(kinds(v.accept(enc.encodeReadings([reading(i)]).bytes)), ['batch']);
  const s = v.summary();
  assert.equal([s.firstSeq, s.lastSeq, s.unexplainedBreaks], [10, 12, 0]);
  assert.ok(s.complete);
});

test('joined mid-way right after dropped batches: the gap notice counts the break as explained', () => {
  const enc = encoder({ seq: 9, prev: new Uint8Array(32).fill(3) });
  const b10 = enc.encodeReadings([reading(10)]).bytes;
  const notice = enc.encodeGap(8, 9, 'journal-full').bytes; // seq 11
  const v = verifier();
  assert.equal(kinds(v.accept(b10)), ['batch']);
  assert.equal(v.summary().explainedBreaks, 0, 'before the notice: simply the first batch we saw');
  v.accept(notice);
  const s = v.summary();
  assert.equal([s.explainedBreaks, s.unexplainedBreaks, s.firstSeq, s.lastSeq], [1, 0, 10, 11]);
  assert.ok(s.complete);
});

test('two different validly signed batches with one seq are a conflict', () => {
  const [b1, b2] = chain(2);
  const fork = encoder({ seq: 1, prev: new Uint8Array(32) }).encodeReadings([reading(77)]).bytes; // another seq 2
  const v = verifier();
  v.accept(b1!);
  v.accept(b2!);
  assert.equal(v.accept(fork), [{ kind: 'conflict', seq: 2 }]);
  const s = v.summary();
  assert.is(s.conflicts, 1);
  assert.is(s.batches, 2, 'the first seen content stays');
  assert.not.ok(s.complete);
});

function rejectReason(v: ReturnType<typeof verifier>, bytes: Uint8Array): string {
  const evs = v.accept(bytes);
  assert.is(evs.length, 1);
  const e = evs[0]!;
  if (e.kind !== 'rejected') throw new Error(`expected rejected, got ${e.kind}`);
  return e.reason;
}

test('bad signatures, unknown keys, other devices, unknown versions and non-batches are rejected', () => {
  const v = verifier();
  const [b1] = chain(1);
  const flipped = new Uint8Array(b1!);
  flipped[flipped.length - 10]! ^= 1;
  assert.match(rejectReason(v, flipped), /bad signature/);
  assert.match(rejectReason(v, encoder(undefined, stranger).encodeReadings([reading(1)]).bytes), /unknown key id/);
  assert.match(rejectReason(v, encoder(undefined, signer, 'other-dev').encodeReadings([reading(1)]).bytes), /for device "other-dev", expected "pump-7"/);
  const v3 = encodeCbor({ v: 3, dev: DEV, seq: 1, prev: new Uint8Array(32), clk: 'sync', senml: [] });
  assert.match(rejectReason(v, signSign1(signer, v3)), /unsupported batch version 3/);
  assert.match(rejectReason(v, signSign1(signer, encodeCbor({ v: 1, dev: DEV, state: 'online' }), 'application/tapwire-status+cbor')), /is not a batch/);
  const badSenml = encodeCbor({ v: 1, dev: DEV, seq: 1, prev: new Uint8Array(32), clk: 'sync', senml: [new Map<number, unknown>([[0, 'x'], [2, 1]])] });
  assert.match(rejectReason(v, signSign1(signer, badSenml)), /not under urn:dev:tapwire:pump-7:/);
  assert.match(rejectReason(v, new Uint8Array([1, 2, 3])), /COSE_Sign1/);
  const s = v.summary();
  assert.equal([s.rejected, s.batches, s.firstSeq], [7, 0, undefined]);
  assert.equal(kinds(v.accept(b1!)), ['batch'], 'the genuine batch is still accepted after the junk');
});

test('several trusted keys (rotation): a batch by any of them verifies', () => {
  const naclOther = createNaclSigner(new Uint8Array(32).fill(6));
  const v = createChainVerifier({ device: DEV, publicKeys: [signer.publicKey, stranger.publicKey] });
  const enc1 = encoder();
  const b1 = enc1.encodeReadings([reading(1)]);
  const b2 = encoder(enc1.state(), naclOther).encodeReadings([reading(2)]);
  assert.equal(kinds(v.accept(b1.bytes)), ['batch']);
  assert.equal(kinds(v.accept(b2.bytes)), ['batch']);
  assert.ok(v.summary().complete);
});

test('missing ranges are reported precisely around partial gap coverage', () => {
  const enc = encoder();
  const b = Array.from({ length: 10 }, (_, i) => enc.encodeReadings([reading(i)]).bytes); // seq 1..10
  const notice = enc.encodeGap(4, 5, 'journal-full').bytes; // seq 11
  const v = verifier();
  for (const i of [0, 1, 8, 9]) v.accept(b[i]!); // 1, 2, 9, 10
  v.accept(notice);
  const s = v.summary();
  assert.equal(s.missing, [[3, 3], [6, 8]]);
  assert.equal([s.explainedBreaks, s.unexplainedBreaks], [0, 1], 'seq 9 follows 8, which nobody explained');
  assert.not.ok(s.complete);
});

test.run();
