// Ed25519 key files. Invariant: a private key file is created 0600 (never
// readable by anyone else, not even briefly), is never overwritten, and is
// refused when group or others have any access to it. Key bytes are never
// put into an error message.
//
//   <key>      PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), mode 0600
//   <key>.pub  64 hex chars of the raw 32-byte public key + "\n"

import { randomBytes, createPrivateKey, createPublicKey } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, openSync, readFileSync, unlinkSync, writeSync, existsSync, fchmodSync } from 'node:fs';
import { dirname } from 'node:path';
import { createCryptoSigner, kidOf, privateKeyFromSeed, PKCS8_ED25519_PREFIX } from './signer.js';
import { fsyncDir, writeFileAtomic } from '../../hal/atomic-file.js';

export interface KeyPair { seed: Uint8Array; publicKey: Uint8Array }

export type KeyErrorCode = 'ERR_KEY_EXISTS' | 'ERR_KEY_MISSING' | 'ERR_KEY_PERMISSIONS' | 'ERR_KEY_INVALID';
export interface KeyError extends Error { code: KeyErrorCode; path?: string }

function keyError(code: KeyErrorCode, message: string, path?: string): KeyError {
  const e = new Error(message) as KeyError;
  e.code = code;
  if (path !== undefined) e.path = path;
  return e;
}

export function generateKeyPair(): KeyPair {
  const seed = new Uint8Array(randomBytes(32));
  return { seed, publicKey: createCryptoSigner(seed).publicKey };
}

const octal = (mode: number): string => '0' + (mode & 0o777).toString(8).padStart(3, '0');

/**
 * Creates `keyPath` (PKCS#8 PEM, 0600, O_EXCL: an existing key is never
 * replaced -> ERR_KEY_EXISTS) and writes `pubPath` (hex + newline, atomically
 * replaced: it is derived from the key).
 */
export function writeKeyPair(keyPath: string, pubPath: string, pair: KeyPair): void {
  const pem = String(privateKeyFromSeed(pair.seed).export({ format: 'pem', type: 'pkcs8' }));
  let fd: number;
  try {
    // the mode applies at creation: the file never exists with wider access
    fd = openSync(keyPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw keyError('ERR_KEY_EXISTS', `key file ${keyPath} already exists; refusing to overwrite it (move it away first)`, keyPath);
    }
    throw err;
  }
  let written = false;
  try {
    fchmodSync(fd, 0o600); // a restrictive umask may have taken the owner's bits too
    writeSync(fd, pem);
    fsyncSync(fd);
    written = true;
  } finally {
    closeSync(fd);
    if (!written) unlinkSync(keyPath); // never leave a half-written key behind
  }
  try {
    writeFileAtomic(pubPath, Buffer.from(pair.publicKey).toString('hex') + '\n', 0o644);
    fsyncDir(dirname(pubPath));
  } catch (err) {
    unlinkSync(keyPath); // no key without its .pub: provisioning can simply be retried
    throw err;
  }
  fsyncDir(dirname(keyPath));
}

/** Creates the key pair unless one exists (also when another provision wins a race); true if created. */
export function ensureKey(paths: { key: string; pub: string }): boolean {
  if (existsSync(paths.key)) return false;
  try {
    writeKeyPair(paths.key, paths.pub, generateKeyPair());
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_KEY_EXISTS') return false;
    throw err;
  }
}

/** Reads a PKCS#8 PEM Ed25519 private key, refusing files others can access. */
export function readPrivateKey(keyPath: string): KeyPair {
  let fd: number;
  try {
    fd = openSync(keyPath, constants.O_RDONLY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw keyError('ERR_KEY_MISSING', `key file ${keyPath} does not exist (run \`tapwire provision\`)`, keyPath);
    if (code === 'EACCES') throw keyError('ERR_KEY_PERMISSIONS', `key file ${keyPath} is not readable by this user`, keyPath);
    throw err;
  }
  let pem: string;
  try {
    // stat the open file, not the path: no window to swap the file in between
    const st = fstatSync(fd);
    if (!st.isFile()) throw keyError('ERR_KEY_INVALID', `key file ${keyPath} is not a regular file`, keyPath);
    if ((st.mode & 0o077) !== 0) {
      throw keyError('ERR_KEY_PERMISSIONS',
        `key file ${keyPath} has mode ${octal(st.mode)}; group and others must have no access (chmod 600 ${keyPath})`, keyPath);
    }
    pem = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  let der: Buffer;
  try {
    const key = createPrivateKey({ key: pem, format: 'pem' });
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
    der = key.export({ format: 'der', type: 'pkcs8' });
  } catch {
    throw keyError('ERR_KEY_INVALID', `key file ${keyPath} is not an unencrypted Ed25519 PKCS#8 PEM private key`, keyPath);
  }
  if (der.length !== 48 || !der.subarray(0, 16).equals(PKCS8_ED25519_PREFIX)) {
    throw keyError('ERR_KEY_INVALID', `key file ${keyPath}: unexpected PKCS#8 layout for an Ed25519 key`, keyPath);
  }
  const seed = new Uint8Array(der.subarray(16));
  return { seed, publicKey: createCryptoSigner(seed).publicKey };
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

/**
 * A raw 32-byte public key from 64 hex chars, or from a file holding them
 * (whitespace trimmed) or holding an Ed25519 SPKI PEM ("BEGIN PUBLIC KEY").
 */
export function parsePublicKey(hexOrPath: string): Uint8Array {
  const arg = hexOrPath.trim();
  if (HEX64.test(arg)) return new Uint8Array(Buffer.from(arg, 'hex'));
  if (!existsSync(hexOrPath)) {
    throw keyError('ERR_KEY_MISSING', `public key ${JSON.stringify(hexOrPath)} is neither 64 hex characters nor an existing file`, hexOrPath);
  }
  const text = readFileSync(hexOrPath, 'utf8').trim();
  if (HEX64.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  if (text.includes('-----BEGIN PUBLIC KEY-----')) {
    try {
      const key = createPublicKey({ key: text, format: 'pem' });
      if (key.asymmetricKeyType === 'ed25519') {
        const spki = key.export({ format: 'der', type: 'spki' });
        return new Uint8Array(spki.subarray(spki.length - 32));
      }
    } catch { /* fall through to the error below */ }
  }
  throw keyError('ERR_KEY_INVALID', `public key file ${hexOrPath} does not hold 64 hex characters (or an Ed25519 PEM public key)`, hexOrPath);
}

/** Key fingerprint for humans: the COSE kid as hex (16 chars). */
export function fingerprint(publicKey: Uint8Array): string {
  return Buffer.from(kidOf(publicKey)).toString('hex');
}
