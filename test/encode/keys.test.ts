// agent/encode/keys: key files are created 0600, never overwritten, refused
// when others can read them; public keys parse from hex or a file.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { fingerprint, generateKeyPair, parsePublicKey, readPrivateKey, writeKeyPair } from '../../agent/encode/keys.js';
import { createCryptoSigner, kidOf } from '../../agent/encode/signer.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function withDir(fn: (dir: string) => void): () => void {
  return () => {
    const d = tempDir();
    try { fn(d.path); } finally { d.remove(); }
  };
}

function codeOf(fn: () => unknown): { code?: string; message: string } {
  try { fn(); } catch (err) { return err as { code?: string; message: string }; }
  throw new Error('expected an error');
}

test('a key pair is written 0600 as PKCS#8 PEM with a hex .pub, and reads back identically', withDir((dir) => {
  const key = join(dir, 'device.key');
  const pair = generateKeyPair();
  assert.is(hex(createCryptoSigner(pair.seed).publicKey), hex(pair.publicKey));
  writeKeyPair(key, `${key}.pub`, pair);
  assert.is(statSync(key).mode & 0o777, 0o600);
  assert.match(readFileSync(key, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
  assert.is(readFileSync(`${key}.pub`, 'utf8'), hex(pair.publicKey) + '\n');
  const back = readPrivateKey(key);
  assert.is(hex(back.seed), hex(pair.seed));
  assert.is(hex(back.publicKey), hex(pair.publicKey));
}));

test('openssl reads the key file as an ED25519 private key with the same public key', withDir((dir) => {
  const key = join(dir, 'k');
  const pair = generateKeyPair();
  writeKeyPair(key, join(dir, 'k.pub'), pair);
  const der = execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-outform', 'DER']);
  assert.is(hex(der.subarray(der.length - 32)), hex(pair.publicKey));
}));

test('the key file is 0600 even under a permissive umask', withDir((dir) => {
  const old = process.umask(0o000);
  try {
    writeKeyPair(join(dir, 'k'), join(dir, 'k.pub'), generateKeyPair());
  } finally {
    process.umask(old);
  }
  assert.is(statSync(join(dir, 'k')).mode & 0o777, 0o600);
}));

test('an existing key file is never overwritten (ERR_KEY_EXISTS)', withDir((dir) => {
  const key = join(dir, 'k');
  const first = generateKeyPair();
  writeKeyPair(key, `${key}.pub`, first);
  const e = codeOf(() => writeKeyPair(key, `${key}.pub`, generateKeyPair()));
  assert.is(e.code, 'ERR_KEY_EXISTS');
  assert.match(e.message, key);
  assert.is(hex(readPrivateKey(key).seed), hex(first.seed));
  assert.is(readFileSync(`${key}.pub`, 'utf8').trim(), hex(first.publicKey), 'the .pub is untouched too');
}));

test('readPrivateKey refuses a key readable by group or others, naming path and mode', withDir((dir) => {
  const key = join(dir, 'k');
  writeKeyPair(key, `${key}.pub`, generateKeyPair());
  for (const mode of [0o644, 0o640, 0o604, 0o620]) {
    chmodSync(key, mode);
    const e = codeOf(() => readPrivateKey(key));
    assert.is(e.code, 'ERR_KEY_PERMISSIONS');
    assert.match(e.message, key);
    assert.match(e.message, '0' + mode.toString(8));
  }
  chmodSync(key, 0o400);
  assert.is(readPrivateKey(key).seed.length, 32, 'owner-only read-only is fine');
}));

test('readPrivateKey reports a missing file as ERR_KEY_MISSING', withDir((dir) => {
  const e = codeOf(() => readPrivateKey(join(dir, 'nope.key')));
  assert.is(e.code, 'ERR_KEY_MISSING');
  assert.match(e.message, 'nope.key');
}));

test('readPrivateKey refuses garbage and non-Ed25519 keys (ERR_KEY_INVALID) without echoing the content', withDir((dir) => {
  const garbage = join(dir, 'garbage');
  writeFileSync(garbage, 'SECRET-LOOKING-STUFF\n', { mode: 0o600 });
  const ec = join(dir, 'ec');
  writeFileSync(ec, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  for (const path of [garbage, ec]) {
    const e = codeOf(() => readPrivateKey(path));
    assert.is(e.code, 'ERR_KEY_INVALID');
    assert.match(e.message, path);
    assert.not.match(e.message, 'SECRET');
    assert.not.match(e.message, 'BEGIN');
  }
}));

test('parsePublicKey takes 64 hex chars, a file of them (whitespace trimmed), or an Ed25519 PEM', withDir((dir) => {
  const pair = generateKeyPair();
  const h = hex(pair.publicKey);
  assert.is(hex(parsePublicKey(h)), h);
  assert.is(hex(parsePublicKey(h.toUpperCase())), h);
  const file = join(dir, 'op.pub');
  writeFileSync(file, `  ${h}\n\n`);
  assert.is(hex(parsePublicKey(file)), h);
  const pem = join(dir, 'op.pem');
  writeFileSync(pem, execFileSync('openssl', ['pkey', '-pubout'], { input: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) }));
  assert.is(parsePublicKey(pem).length, 32);
}));

test('parsePublicKey refuses short hex, a missing file and a file without a key', withDir((dir) => {
  assert.is(codeOf(() => parsePublicKey('abcd')).code, 'ERR_KEY_MISSING');
  assert.is(codeOf(() => parsePublicKey(join(dir, 'absent.pub'))).code, 'ERR_KEY_MISSING');
  const bad = join(dir, 'bad.pub');
  writeFileSync(bad, 'zz'.repeat(32));
  assert.is(codeOf(() => parsePublicKey(bad)).code, 'ERR_KEY_INVALID');
  assert.not.ok(existsSync(join(dir, 'absent.pub')));
}));

test('fingerprint is the kid in hex (16 chars)', () => {
  const pair = generateKeyPair();
  assert.is(fingerprint(pair.publicKey), hex(kidOf(pair.publicKey)));
  assert.match(fingerprint(pair.publicKey), /^[0-9a-f]{16}$/);
});

test.run();
