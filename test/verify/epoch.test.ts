// agent/verify/chain with chain epochs (issue 11): a device that lost its
// chain state restarts its chain as a new epoch (payload v2); the verifier
// keeps each epoch's accounting apart, says when a chain restarts, never
// calls a stream that spans the restart complete, and follows key rollovers
// per epoch.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Reading } from '../../agent/reading.js';
import { createBatchEncoder, ZERO_HASH, type BatchEncoder, type ChainState } from '../../agent/encode/batch.js';
import { createCryptoSigner, type Signer } from '../../agent/encode/signer.js';
import { signKeyAnnouncement } from '../../agent/ota/key-announcement.js';
import { createChainVerifier, type VerifyEvent } from '../../agent/verify/chain.js';

const DEV = 'pump-7';
const oldKey = createCryptoSigner(new Uint8Array(32).fill(5));
const newKey = createCryptoSigner(new Uint8Array(32).fill(6));
const EPOCH = Uint8Array.from([0xe1, 2, 3, 4, 5, 6, 7, 8]);
const EPOCH_HEX = 'e102030405060708';

function encoder(start: ChainState, s: Signer = oldKey): BatchEncoder {
  return createBatchEncoder({ device: DEV, signer: s, clockSynced: () => true, nowMs: () => 0 }, start);
}
const reading = (i: number): Reading => ({ name: 'field:n', time: 1_700_000_000 + i, v: i });
const verifier = (...keys: Signer[]) => createChainVerifier({ device: DEV, publicKeys: (keys.length ? keys : [oldKey]).map((k) => k.publicKey) });
const kinds = (evs: VerifyEvent[]): string[] => evs.map((e) => e.kind);

test('a restarted chain is told apart: its seqs may repeat the old chain\'s without a conflict, the restart is an event, the stream is not complete', () => {
  const v = verifier();
  const orig = encoder({ seq: 0, prev: ZERO_HASH });
  for (let i = 1; i <= 6; i++) v.accept(orig.encodeReadings([reading(i)]).bytes);
  // the device lost its chain state; the evidence it kept reached seq 4, so the new epoch begins at 5
  const restarted = encoder({ seq: 4, prev: ZERO_HASH, epoch: EPOCH });
  const first = v.accept(restarted.encodeReadings([reading(100)]).bytes);
  assert.equal(first[0], { kind: 'epoch', epoch: EPOCH_HEX, seq: 5, previous: '' });
  assert.equal(kinds(first), ['epoch', 'batch'], 'a restart has prev = zeros: no chain break');
  assert.equal(kinds(v.accept(restarted.encodeReadings([reading(101)]).bytes)), ['batch']);
  const s = v.summary();
  assert.is(s.conflicts, 0, 'seq 5 and 6 of the two chains are different batches, not a conflict');
  assert.is(s.batches, 8);
  assert.is(s.unexplainedBreaks, 0);
  assert.ok(!s.complete, 'the old chain\'s tail may be lost untold');
  assert.equal(s.epochs?.map((e) => [e.epoch, e.firstSeq, e.lastSeq, e.complete]), [['', 1, 6, true], [EPOCH_HEX, 5, 6, true]]);
});

test('a verifier that only ever sees the restarted chain checks it like any chain: gaps, duplicates, missing, complete', () => {
  const v = verifier();
  const enc = encoder({ seq: 40, prev: ZERO_HASH, epoch: EPOCH });
  const b = Array.from({ length: 5 }, (_, i) => enc.encodeReadings([reading(i)]).bytes); // 41..45
  const ev = v.accept(b[0]!);
  assert.equal(ev[0], { kind: 'epoch', epoch: EPOCH_HEX, seq: 41 });
  v.accept(b[1]!);
  v.accept(b[1]!);
  v.accept(b[4]!);
  let s = v.summary();
  assert.equal(s.missing, [[43, 44]]);
  assert.ok(!s.complete);
  v.accept(b[2]!);
  v.accept(b[3]!);
  s = v.summary();
  assert.ok(s.complete, JSON.stringify(s));
  assert.is(s.duplicates, 1);
  assert.is(s.firstSeq, 41);
});

test('key rollovers are per epoch: an announcement in the restarted chain retires the old key there, and in every chain that begins later', () => {
  const v = verifier();
  const orig = encoder({ seq: 0, prev: ZERO_HASH });
  const origBatches = Array.from({ length: 3 }, (_, i) => orig.encodeReadings([reading(i)]).bytes);
  v.accept(origBatches[0]!);
  const restarted = encoder({ seq: 10, prev: ZERO_HASH, epoch: EPOCH });
  v.accept(restarted.encodeReadings([reading(11)]).bytes); // seq 11, old key
  const announcement = signKeyAnnouncement(oldKey, DEV, newKey.publicKey, 12, EPOCH);
  const k = v.acceptKey(announcement);
  assert.ok(k.key.ok, JSON.stringify(k.key));
  const rotated = encoder(restarted.state(), newKey);
  assert.equal(kinds(v.accept(rotated.encodeReadings([reading(12)]).bytes)), ['batch'], 'the new key signs seq 12 of the epoch');
  const forged = encoder(restarted.state(), oldKey).encodeReadings([reading(12)]).bytes;
  assert.match((v.accept(forged)[0] as { reason: string }).reason, /retired from seq 12/);
  // late batches of the original chain, signed by the old key before any rollover there, still verify
  assert.equal(kinds(v.accept(origBatches[1]!)), ['batch']);
  // a chain begun after the rollover may not be signed by the retired key at all
  const later = encoder({ seq: 50, prev: ZERO_HASH, epoch: Uint8Array.from([7, 7, 7, 7, 7, 7, 7, 7]) }, oldKey);
  assert.match((v.accept(later.encodeReadings([reading(51)]).bytes)[0] as { reason: string }).reason, /retired/);
  assert.is(v.summary().conflicts, 0);
});

test.run();
