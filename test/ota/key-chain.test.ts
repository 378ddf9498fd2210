// agent/verify/chain following device key rollovers: batches before and after
// are accepted, the old key is refused from the rollover seq on, the new key
// before it, forged and stale announcements are refused, and batches that
// arrived before their key's announcement are accepted once it comes.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBatchEncoder, ZERO_HASH, type BatchEncoder } from '../../agent/encode/batch.js';
import type { Reading } from '../../agent/reading.js';
import { createCryptoSigner, type Signer } from '../../agent/encode/signer.js';
import { signKeyAnnouncement } from '../../agent/ota/key-announcement.js';
import { createChainVerifier, type VerifyEvent } from '../../agent/verify/chain.js';

const DEV = 'rot-1';
const k1 = createCryptoSigner(new Uint8Array(32).fill(1));
const k2 = createCryptoSigner(new Uint8Array(32).fill(2));
const k3 = createCryptoSigner(new Uint8Array(32).fill(3));
const reading = (i: number): Reading => ({ name: 'a:x', time: 1_700_000_000 + i, v: i });
const kinds = (evs: VerifyEvent[]): string[] => evs.map((e) => e.kind);

/**
 * Batches 1..n; the encoder switches from k1 to k2 at `rollAt` (as the agent does:
 * same chain state, new signer). Returns the batches and the announcement.
 */
function rotatedChain(n: number, rollAt: number): { batches: Uint8Array[]; announcement: Uint8Array; oldAfter: Uint8Array } {
  const opts = (signer: Signer) => ({ device: DEV, signer, clockSynced: () => true, nowMs: () => 0 });
  let enc: BatchEncoder = createBatchEncoder(opts(k1), { seq: 0, prev: ZERO_HASH });
  const batches: Uint8Array[] = [];
  let oldAfter: Uint8Array = new Uint8Array(0);
  for (let i = 1; i <= n; i++) {
    if (i === rollAt) {
      // what a thief holding the old key could sign in place of batch rollAt
      oldAfter = createBatchEncoder(opts(k1), enc.state()).encodeReadings([reading(999)]).bytes;
      enc = createBatchEncoder(opts(k2), enc.state());
    }
    batches.push(enc.encodeReadings([reading(i)]).bytes);
  }
  return { batches, announcement: signKeyAnnouncement(k1, DEV, k2.publicKey, rollAt), oldAfter };
}

test('the verifier accepts batches before and after a rollover, and the chain stays complete', () => {
  const { batches, announcement } = rotatedChain(8, 5);
  const v = createChainVerifier({ device: DEV, publicKeys: [k1.publicKey] });
  for (const b of batches.slice(0, 4)) assert.equal(kinds(v.accept(b)), ['batch']);
  const { key, events } = v.acceptKey(announcement);
  assert.ok(key.ok, JSON.stringify(key));
  if (key.ok) assert.equal([key.seq, key.duplicate], [5, false]);
  assert.equal(events, []);
  for (const b of batches.slice(4)) assert.equal(kinds(v.accept(b)), ['batch']);
  const s = v.summary();
  assert.ok(s.complete, JSON.stringify(s));
  assert.equal([s.batches, s.rejected, s.keyRollovers], [8, 0, 1]);
});

test('after the rollover the old key is refused from the rollover seq on (a thief with the old key gets nothing in)', () => {
  const { batches, announcement, oldAfter } = rotatedChain(6, 4);
  const v = createChainVerifier({ device: DEV, publicKeys: [k1.publicKey] });
  for (const b of batches.slice(0, 3)) v.accept(b);
  v.acceptKey(announcement);
  const evs = v.accept(oldAfter);
  assert.equal(kinds(evs), ['rejected']);
  assert.match((evs[0] as { reason: string }).reason, 'retired from seq 4');
  for (const b of batches.slice(3)) assert.equal(kinds(v.accept(b)), ['batch']);
  assert.is(v.summary().conflicts, 0, 'the forged batch never took a seq');
});

test('a batch signed by the new key before the rollover seq is refused', () => {
  const { announcement } = rotatedChain(3, 3);
  const v = createChainVerifier({ device: DEV, publicKeys: [k1.publicKey] });
  v.acceptKey(announcement);
  const early = createBatchEncoder({ device: DEV, signer: k2, clockSynced: () => true, nowMs: () => 0 }, { seq: 0, prev: ZERO_HASH }).encodeReadings([reading(1)]).bytes;
  const evs = v.accept(early);
  assert.equal(kinds(evs), ['rejected']);
  assert.match((evs[0] as { reason: string }).reason, 'signs only from seq 3');
});

test('batches of the new key that arrive before the announcement are accepted when it arrives', () => {
  const { batches, announcement } = rotatedChain(6, 4);
  const v = createChainVerifier({ device: DEV, publicKeys: [k1.publicKey] });
  for (const b of batches.slice(0, 3)) v.accept(b);
  assert.equal(kinds(v.accept(batches[3]!)), ['rejected'], 'unknown key for now');
  assert.equal(kinds(v.accept(batches[4]!)), ['rejected']);
  const { key, events } = v.acceptKey(announcement);
  assert.ok(key.ok);
  assert.equal(kinds(events), ['batch', 'batch']);
  v.accept(batches[5]!);
  const s = v.summary();
  assert.equal([s.batches, s.rejected], [6, 0]);
  assert.ok(s.complete);
});

test('announcements: a forged one (unknown signer), one for another device, a stale one from a retired key are refused; a repeat is a duplicate', () => {
  const v = createChainVerifier({ device: DEV, publicKeys: [k1.publicKey] });
  const forged = v.acceptKey(signKeyAnnouncement(k3, DEV, k3.publicKey, 1)).key;
  assert.not.ok(forged.ok);
  if (!forged.ok) assert.match(forged.reason, 'unknown key id');
  const other = v.acceptKey(signKeyAnnouncement(k1, 'other', k2.publicKey, 5)).key;
  assert.not.ok(other.ok);
  const real = signKeyAnnouncement(k1, DEV, k2.publicKey, 5);
  assert.ok(v.acceptKey(real).key.ok);
  const again = v.acceptKey(real).key;
  assert.ok(again.ok && again.duplicate, 'retained redelivery');
  const stale = v.acceptKey(signKeyAnnouncement(k1, DEV, k3.publicKey, 9)).key;
  assert.not.ok(stale.ok, 'the retired key cannot announce another key');
  if (!stale.ok) assert.match(stale.reason, 'retired');
  // the chain goes on: k2 announces k3
  assert.ok(v.acceptKey(signKeyAnnouncement(k2, DEV, k3.publicKey, 9)).key.ok);
  assert.is(v.summary().keyRollovers, 2);
});

test('an announcement contradicted by what the old key already signed is refused', () => {
  const { batches } = rotatedChain(5, 99);
  const v = createChainVerifier({ device: DEV, publicKeys: [k1.publicKey] });
  for (const b of batches) v.accept(b);
  const late = v.acceptKey(signKeyAnnouncement(k1, DEV, k2.publicKey, 3)).key;
  assert.not.ok(late.ok);
  if (!late.ok) assert.match(late.reason, 'signed seq 5');
});

test('status and acks signed by the announced key verify through keyForKid', () => {
  const v = createChainVerifier({ device: DEV, publicKeys: [k1.publicKey] });
  assert.is(v.keyForKid(k2.kid), undefined);
  v.acceptKey(signKeyAnnouncement(k1, DEV, k2.publicKey, 2));
  assert.equal(v.keyForKid(k2.kid), k2.publicKey);
});

test.run();
