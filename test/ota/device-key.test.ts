// agent/ota/device-key: the rollover on disk (real files in a temp dir), the
// recovery of a rollover a crash interrupted, and refusing unusable keys.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, linkSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSign1, verifySign1 } from '../../agent/encode/cose.js';
import { generateKeyPair, readPrivateKey, writeKeyPair, type KeyPair } from '../../agent/encode/keys.js';
import { createCryptoSigner, kidOf } from '../../agent/encode/signer.js';
import { createDeviceKeys } from '../../agent/ota/device-key.js';
import { parseKeyAnnouncement } from '../../agent/ota/key-announcement.js';
import { tempDir } from '../helpers.js';

function provisioned(): { dir: { path: string; remove(): void }; keys: ReturnType<typeof createDeviceKeys>; first: KeyPair } {
  const dir = tempDir('tapwire-devkey-');
  const first = generateKeyPair();
  writeKeyPair(join(dir.path, 'device.key'), join(dir.path, 'device.pub'), first);
  return { dir, keys: createDeviceKeys(dir.path, { device: 'dk-1' }), first };
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('a missing device key or one readable by group/others refuses to load, with a clear error', () => {
  const dir = tempDir('tapwire-devkey-');
  try {
    const keys = createDeviceKeys(dir.path, { device: 'dk-1' });
    assert.throws(() => keys.load(), (e: NodeJS.ErrnoException) => e.code === 'ERR_KEY_MISSING' && /does not exist/.test(e.message));
    writeKeyPair(join(dir.path, 'device.key'), join(dir.path, 'device.pub'), generateKeyPair());
    chmodSync(join(dir.path, 'device.key'), 0o640);
    assert.throws(() => keys.load(), (e: NodeJS.ErrnoException) => e.code === 'ERR_KEY_PERMISSIONS' && /chmod 600/.test(e.message));
  } finally { dir.remove(); }
});

test('no pending rollover without device.key.next; a group-readable next key is refused', () => {
  const { dir, keys, first } = provisioned();
  try {
    assert.is(keys.pendingNext(first), undefined);
    writeKeyPair(keys.paths.next, keys.paths.nextPub, generateKeyPair());
    chmodSync(keys.paths.next, 0o644);
    assert.throws(() => keys.pendingNext(first), (e: NodeJS.ErrnoException) => e.code === 'ERR_KEY_PERMISSIONS');
  } finally { dir.remove(); }
});

test('rollover: announcement signed by the old key, old key kept 0600 until announced, new key in place', () => {
  const { dir, keys, first } = provisioned();
  try {
    const next = generateKeyPair();
    writeKeyPair(keys.paths.next, keys.paths.nextPub, next);
    const pending = keys.pendingNext(first);
    assert.ok(pending);
    assert.equal(pending!.publicKey, next.publicKey);
    const bytes = keys.rollOver(createCryptoSigner(first.seed), pending!, 42);

    const s = verifySign1(bytes, (kid) => (hexOf(kid) === hexOf(kidOf(first.publicKey)) ? first.publicKey : undefined));
    const a = parseKeyAnnouncement(s.payload);
    assert.equal([a.dev, hexOf(a.newKey), a.seq], ['dk-1', hexOf(next.publicKey), 42]);
    assert.equal(keys.announcement(), bytes, 'kept for re-publishing');

    assert.equal(readPrivateKey(keys.paths.key).publicKey, next.publicKey, 'device.key is the new key');
    assert.is(readFileSync(keys.paths.pub, 'utf8'), hexOf(next.publicKey) + '\n');
    assert.not.ok(existsSync(keys.paths.next));
    assert.not.ok(existsSync(keys.paths.nextPub));
    assert.is(statSync(keys.paths.old).mode & 0o777, 0o600);
    assert.equal(readPrivateKey(keys.paths.old).publicKey, first.publicKey, 'device.key.old is the old key');

    // another rotation waits until the broker has the announcement
    writeKeyPair(keys.paths.next, keys.paths.nextPub, generateKeyPair());
    assert.is(keys.pendingNext(next), undefined, 'not while the old key is still kept');
    assert.ok(keys.announced());
    assert.not.ok(existsSync(keys.paths.old));
    assert.ok(keys.pendingNext(next), 'then it can go ahead');
  } finally { dir.remove(); }
});

test('a crash after the announcement was written, before the switch, is finished by load() (with the same seq)', () => {
  for (const linked of [false, true]) {
    const { dir, keys, first } = provisioned();
    try {
      const next = generateKeyPair();
      writeKeyPair(keys.paths.next, keys.paths.nextPub, next);
      const bytes = keys.rollOver(createCryptoSigner(first.seed), next, 7);
      // the files as the power cut left them: after step 1, or after step 2 (old key linked)
      renameSync(keys.paths.key, keys.paths.next);
      renameSync(keys.paths.old, keys.paths.key);
      if (linked) linkSync(keys.paths.key, keys.paths.old);
      writeFileSync(keys.paths.pub, hexOf(first.publicKey) + '\n');

      const again = createDeviceKeys(dir.path, { device: 'dk-1' });
      const loaded = again.load();
      assert.equal(loaded.publicKey, next.publicKey, `finished (old key ${linked ? 'already' : 'not yet'} linked)`);
      assert.not.ok(existsSync(keys.paths.next));
      assert.equal(readPrivateKey(keys.paths.old).publicKey, first.publicKey);
      assert.equal(again.announcement(), bytes);
      assert.is(parseKeyAnnouncement(decodeSign1(again.announcement()!).payload).seq, 7);
    } finally { dir.remove(); }
  }
});

test('a next key written before any announcement stays pending at load(); the current key is used', () => {
  const { dir, keys, first } = provisioned();
  try {
    writeKeyPair(keys.paths.next, keys.paths.nextPub, generateKeyPair());
    assert.equal(keys.load().publicKey, first.publicKey);
    assert.ok(existsSync(keys.paths.next));
    assert.ok(keys.pendingNext(first));
  } finally { dir.remove(); }
});

test.run();
