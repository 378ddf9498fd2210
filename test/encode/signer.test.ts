// agent/encode/signer: node:crypto and tweetnacl agree byte for byte (RFC 8032
// vectors) and verify each other.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import { createCryptoSigner, createNaclSigner, kidOf, verifyEd25519 } from '../../agent/encode/signer.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

// RFC 8032 §7.1, TEST 1 and TEST 2
const VECTORS = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pub: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

test('both signers reproduce the RFC 8032 test vectors', () => {
  for (const v of VECTORS) {
    for (const signer of [createCryptoSigner(unhex(v.seed)), createNaclSigner(unhex(v.seed))]) {
      assert.is(hex(signer.publicKey), v.pub);
      assert.is(hex(signer.sign(unhex(v.msg))), v.sig);
    }
  }
});

test('crypto and nacl signers give byte-identical signatures and verify each other', () => {
  const seed = new Uint8Array(32).map((_, i) => i * 7 + 1);
  const a = createCryptoSigner(seed);
  const b = createNaclSigner(seed);
  assert.equal(a.publicKey, b.publicKey);
  assert.equal(a.kid, b.kid);
  for (const len of [0, 1, 64, 1000, 4096]) {
    const msg = new Uint8Array(len).map((_, i) => (i * 31) & 0xff);
    const sa = a.sign(msg);
    const sb = b.sign(msg);
    assert.is(hex(sa), hex(sb), `signatures over ${len} bytes`);
    assert.ok(verifyEd25519(a.publicKey, msg, sb), 'node:crypto verifies the nacl signature');
    assert.ok(nacl.sign.detached.verify(msg, sa, b.publicKey), 'tweetnacl verifies the node:crypto signature');
  }
});

test('verifyEd25519 is false for a changed message, signature or key, and for bad lengths', () => {
  const s = createCryptoSigner(new Uint8Array(32).fill(3));
  const other = createCryptoSigner(new Uint8Array(32).fill(4));
  const msg = new TextEncoder().encode('hello');
  const sig = s.sign(msg);
  assert.ok(verifyEd25519(s.publicKey, msg, sig));
  assert.not.ok(verifyEd25519(s.publicKey, new TextEncoder().encode('hellp'), sig));
  const bad = new Uint8Array(sig); bad[10]! ^= 1;
  assert.not.ok(verifyEd25519(s.publicKey, msg, bad));
  assert.not.ok(verifyEd25519(other.publicKey, msg, sig));
  assert.not.ok(verifyEd25519(s.publicKey, msg, sig.subarray(0, 63)));
  assert.not.ok(verifyEd25519(s.publicKey.subarray(0, 31), msg, sig));
});

test('kid is the first 8 bytes of SHA-256 of the raw public key', () => {
  const s = createNaclSigner(new Uint8Array(32).fill(9));
  const expected = createHash('sha256').update(s.publicKey).digest().subarray(0, 8);
  assert.is(hex(kidOf(s.publicKey)), hex(expected));
  assert.is(hex(s.kid), hex(expected));
  assert.is(s.kid.length, 8);
});

test('a seed that is not 32 bytes is refused by both signers', () => {
  assert.throws(() => createCryptoSigner(new Uint8Array(31)), /32 bytes/);
  assert.throws(() => createNaclSigner(new Uint8Array(33)), /32 bytes/);
});

test.run();
