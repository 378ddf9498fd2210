// Ed25519 signing behind one small interface, two implementations: node:crypto
// (OpenSSL; the default, fast, no warm-up) and tweetnacl (pure JS, the second
// opinion). Ed25519 is deterministic: both give byte-identical signatures.

import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';

export interface Signer {
  /** raw 32-byte Ed25519 public key */
  readonly publicKey: Uint8Array;
  /** COSE kid: first 8 bytes of SHA-256 of the raw public key */
  readonly kid: Uint8Array;
  /** 64-byte Ed25519 signature of `message` */
  sign(message: Uint8Array): Uint8Array;
}

// DER wrappers around raw Ed25519 keys (RFC 8410):
//   PKCS#8: 30 2e 02 01 00 30 05 06 03 2b 65 70 04 22 04 20 <32-byte seed>
//   SPKI:   30 2a 30 05 06 03 2b 65 70 03 21 00 <32-byte public key>
export const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function checkLength(what: string, bytes: Uint8Array, n: number): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
    throw new RangeError(`Ed25519 ${what} must be ${n} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`);
  }
}

export function kidOf(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(publicKey).digest().subarray(0, 8));
}

/** node:crypto private KeyObject from a raw 32-byte seed. */
export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  checkLength('seed', seed, 32);
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function rawPublicKey(key: KeyObject): Uint8Array {
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 32));
}

export function createCryptoSigner(seed: Uint8Array): Signer {
  const key = privateKeyFromSeed(seed);
  const publicKey = rawPublicKey(key);
  return {
    publicKey,
    kid: kidOf(publicKey),
    sign: (message) => new Uint8Array(cryptoSign(null, message, key)),
  };
}

export function createNaclSigner(seed: Uint8Array): Signer {
  checkLength('seed', seed, 32);
  const pair = nacl.sign.keyPair.fromSeed(seed);
  return {
    publicKey: pair.publicKey,
    kid: kidOf(pair.publicKey),
    sign: (message) => nacl.sign.detached(message, pair.secretKey),
  };
}

// A verifier checks many messages against the same few keys: keep their
// KeyObjects (bounded, oldest evicted first).
const publicKeyCache = new Map<string, KeyObject>();
const PUBLIC_KEY_CACHE_MAX = 64;

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey).toString('hex');
  let key = publicKeyCache.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
    if (publicKeyCache.size >= PUBLIC_KEY_CACHE_MAX) {
      const oldest = publicKeyCache.keys().next().value;
      if (oldest !== undefined) publicKeyCache.delete(oldest);
    }
    publicKeyCache.set(id, key);
  }
  return key;
}

/** True iff `signature` is a valid Ed25519 signature of `message` by `publicKey`. Never throws on bad input. */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return cryptoVerify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false; // e.g. a public key that is not a valid curve point
  }
}
