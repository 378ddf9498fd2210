// agent/encode/cose: COSE_Sign1 layout, identical output from both signers,
// and every tampering or header problem is refused with its own code.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeCbor, decodeCbor, Tag } from '../../agent/encode/cbor.js';
import { CoseError, decodeSign1, signSign1, verifySign1, DEFAULT_CONTENT_TYPE } from '../../agent/encode/cose.js';
import { createCryptoSigner, createNaclSigner, type Signer } from '../../agent/encode/signer.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const SEED = new Uint8Array(32).map((_, i) => 200 - i);
const signer = createCryptoSigner(SEED);
const keyOf = (s: Signer) => (kid: Uint8Array): Uint8Array | undefined => (hex(kid) === hex(s.kid) ? s.publicKey : undefined);
const PAYLOAD = encodeCbor({ v: 1, dev: 'pump-7', seq: 1, prev: new Uint8Array(32), clk: 'sync', senml: [] });

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.instance(err, CoseError);
    return (err as CoseError).code;
  }
  throw new Error('expected a CoseError, nothing was thrown');
}

/** Signs an arbitrary envelope by hand (for headers signSign1 would never produce). */
function handMade(s: Signer, prot: Map<number, unknown>, unprot = new Map<number, unknown>(), payload = PAYLOAD, tag = 18): Uint8Array {
  const protBytes = encodeCbor(prot);
  const sig = s.sign(encodeCbor(['Signature1', protBytes, new Uint8Array(0), payload]));
  return encodeCbor(new Tag([protBytes, unprot, payload, sig], tag));
}

test('COSE_Sign1 layout: tag 18, protected {1:-8, 3:ctype, 4:kid}, empty unprotected, payload, 64-byte signature', () => {
  const bytes = signSign1(signer, PAYLOAD);
  const h = hex(bytes);
  // d2 tag 18, 84 array(4), 58 28 protected bstr(40) = a3 01 27 03 78 18 "application/tapwire+cbor" 04 48 <kid>
  const prot = 'a3' + '0127' + '037818' + Buffer.from(DEFAULT_CONTENT_TYPE).toString('hex') + '0448' + hex(signer.kid);
  assert.ok(h.startsWith('d284' + '5828' + prot + 'a0'), h.slice(0, 120));
  const s = decodeSign1(bytes);
  assert.is(s.alg, -8);
  assert.is(s.contentType, 'application/tapwire+cbor');
  assert.is(hex(s.kid), hex(signer.kid));
  assert.is(hex(s.payload), hex(PAYLOAD));
  assert.is(s.signature.length, 64);
  assert.is(hex(s.protectedBytes), prot);
  assert.ok(h.endsWith('5840' + hex(s.signature)));
});

test('crypto and nacl signers produce byte-identical COSE_Sign1 that each verifies', () => {
  const nacl = createNaclSigner(SEED);
  const a = signSign1(signer, PAYLOAD);
  const b = signSign1(nacl, PAYLOAD);
  assert.is(hex(a), hex(b));
  assert.is(hex(verifySign1(b, keyOf(signer)).payload), hex(PAYLOAD));
  assert.is(hex(verifySign1(a, keyOf(nacl)).payload), hex(PAYLOAD));
});

test('any payload bytes can be signed, with a chosen content type', () => {
  const raw = new Uint8Array([0xff, 0x00, 0x13]); // not even CBOR
  const bytes = signSign1(signer, raw, 'application/tapwire-status+cbor');
  const s = verifySign1(bytes, keyOf(signer));
  assert.is(s.contentType, 'application/tapwire-status+cbor');
  assert.equal([...s.payload], [0xff, 0x00, 0x13]);
});

test('a flipped bit at ANY byte of the COSE_Sign1 fails verification', () => {
  const bytes = signSign1(signer, PAYLOAD);
  const codes = new Set<string>();
  for (let i = 0; i < bytes.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const bad = new Uint8Array(bytes);
      bad[i]! ^= bit;
      codes.add(codeOf(() => verifySign1(bad, keyOf(signer))));
    }
  }
  // layout, header, kid and signature failures all show up with their own code
  for (const c of ['ERR_COSE_SIGNATURE', 'ERR_COSE_KID_UNKNOWN', 'ERR_COSE_CBOR', 'ERR_COSE_TAG']) assert.ok(codes.has(c), `saw ${[...codes].join(',')}`);
});

test('a changed payload, protected header or signature is a bad signature', () => {
  const bytes = signSign1(signer, PAYLOAD);
  const s = decodeSign1(bytes);
  const payloadAt = Buffer.from(bytes).indexOf(Buffer.from(s.payload));
  const ctypeAt = Buffer.from(bytes).indexOf(Buffer.from('tapwire'));
  const sigAt = bytes.length - 64;
  for (const [where, i] of [['payload', payloadAt + 5], ['content type', ctypeAt], ['signature', sigAt + 3]] as const) {
    const bad = new Uint8Array(bytes);
    bad[i]! ^= 0x02;
    assert.is(codeOf(() => verifySign1(bad, keyOf(signer))), 'ERR_COSE_SIGNATURE', where);
  }
});

test('an unknown kid is refused and names the kid', () => {
  const other = createCryptoSigner(new Uint8Array(32).fill(1));
  const bytes = signSign1(other, PAYLOAD);
  try {
    verifySign1(bytes, keyOf(signer));
    assert.unreachable();
  } catch (err) {
    assert.is((err as CoseError).code, 'ERR_COSE_KID_UNKNOWN');
    assert.match((err as Error).message, hex(other.kid));
  }
});

test('a kid that maps to the wrong key is a bad signature', () => {
  const other = createCryptoSigner(new Uint8Array(32).fill(1));
  assert.is(codeOf(() => verifySign1(signSign1(other, PAYLOAD), () => signer.publicKey)), 'ERR_COSE_SIGNATURE');
});

test('alg other than EdDSA is refused even when the signature is fine', () => {
  const bytes = handMade(signer, new Map<number, unknown>([[1, -7], [3, DEFAULT_CONTENT_TYPE], [4, signer.kid]]));
  assert.is(decodeSign1(bytes).alg, -7);
  assert.is(codeOf(() => verifySign1(bytes, keyOf(signer))), 'ERR_COSE_ALG');
});

test('header problems are refused: crit, kid only unprotected, missing content type or kid', () => {
  const ok = new Map<number, unknown>([[1, -8], [3, DEFAULT_CONTENT_TYPE], [4, signer.kid]]);
  assert.is(hex(verifySign1(handMade(signer, ok), keyOf(signer)).kid), hex(signer.kid), 'the hand-made control verifies');
  const cases: Array<[string, Uint8Array]> = [
    ['crit', handMade(signer, new Map<number, unknown>([...ok, [2, [99]]]))],
    ['kid unprotected', handMade(signer, new Map<number, unknown>([[1, -8], [3, DEFAULT_CONTENT_TYPE]]), new Map<number, unknown>([[4, signer.kid]]))],
    ['no content type', handMade(signer, new Map<number, unknown>([[1, -8], [4, signer.kid]]))],
    ['numeric content type', handMade(signer, new Map<number, unknown>([[1, -8], [3, 60], [4, signer.kid]]))],
    ['no alg', handMade(signer, new Map<number, unknown>([[3, DEFAULT_CONTENT_TYPE], [4, signer.kid]]))],
  ];
  for (const [what, bytes] of cases) assert.is(codeOf(() => verifySign1(bytes, keyOf(signer))), 'ERR_COSE_HEADER', what);
});

test('envelope problems are refused: wrong tag, untagged, wrong shape, not CBOR, too large', () => {
  const ok = new Map<number, unknown>([[1, -8], [3, DEFAULT_CONTENT_TYPE], [4, signer.kid]]);
  const good = signSign1(signer, PAYLOAD);
  const arr = (decodeCbor(good) as Tag).value as unknown[];
  assert.is(codeOf(() => decodeSign1(handMade(signer, ok, new Map(), PAYLOAD, 17))), 'ERR_COSE_TAG');
  assert.is(codeOf(() => decodeSign1(encodeCbor(arr))), 'ERR_COSE_TAG');
  assert.is(codeOf(() => decodeSign1(encodeCbor(new Tag(arr.slice(0, 3), 18)))), 'ERR_COSE_STRUCTURE');
  assert.is(codeOf(() => decodeSign1(encodeCbor(new Tag([arr[0], arr[1], null, arr[3]], 18)))), 'ERR_COSE_STRUCTURE');
  assert.is(codeOf(() => decodeSign1(encodeCbor(new Tag([arr[0], [], arr[2], arr[3]], 18)))), 'ERR_COSE_STRUCTURE');
  assert.is(codeOf(() => decodeSign1(new Uint8Array([0xd2, 0x84]))), 'ERR_COSE_CBOR');
  assert.is(codeOf(() => decodeSign1(good, good.length - 1)), 'ERR_COSE_TOO_LARGE');
  assert.is(decodeSign1(good, good.length).contentType, DEFAULT_CONTENT_TYPE);
});

test.run();
