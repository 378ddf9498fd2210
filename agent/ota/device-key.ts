// The device signing key on disk and its rollover. Invariant: the
// announcement (signed by the old key) is durable before the new key becomes
// device.key, and the old key stays on disk (0600) until the broker has the
// announcement; a crash anywhere leaves either the old key with the rollover
// still pending, or the new key with its announcement ready to (re)publish.
//
//   <stateDir>/device.key            current signing key (PKCS#8 PEM, 0600)
//   <stateDir>/device.pub            its public key (hex)
//   <stateDir>/device.key.next       left by `tapwire key rotate` (0600): the key to switch to
//   <stateDir>/device.pub.next       its public key (hex)
//   <stateDir>/device.key.old        the previous key (hard link, 0600) until the announcement is PUBACKed
//   <stateDir>/key-announcement.cose the latest announcement, re-published (retained) at every connect
//
// Rollover (by the running agent, in its append chain, after a journal sync so
// that seq S-1 is durable and S is the next seq):
//   1. announcement {new, newKid, seq: S} signed by the old key -> key-announcement.cose (atomic)
//   2. link device.key -> device.key.old; fsync dir
//   3. rename device.key.next -> device.key; device.pub rewritten; fsync dir
// A crash after 1 is finished by load() at the next start (same S: nothing was
// signed with the new key yet, everything before S was durable).

import { existsSync, linkSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSign1 } from '../encode/cose.js';
import { readPrivateKey, type KeyPair } from '../encode/keys.js';
import { kidOf, type Signer } from '../encode/signer.js';
import { KEY_CONTENT_TYPE, parseKeyAnnouncement, signKeyAnnouncement } from './key-announcement.js';
import { fsyncDir, writeFileAtomic } from '../../hal/atomic-file.js';

export interface DeviceKeyPaths {
  key: string;
  pub: string;
  next: string;
  nextPub: string;
  old: string;
  announcement: string;
}

export function deviceKeyPaths(stateDir: string): DeviceKeyPaths {
  return {
    key: join(stateDir, 'device.key'),
    pub: join(stateDir, 'device.pub'),
    next: join(stateDir, 'device.key.next'),
    nextPub: join(stateDir, 'device.pub.next'),
    old: join(stateDir, 'device.key.old'),
    announcement: join(stateDir, 'key-announcement.cose'),
  };
}

export interface DeviceKeys {
  readonly paths: DeviceKeyPaths;
  /** The current key, after finishing a rollover that a crash interrupted. Throws KeyError (ERR_KEY_*). */
  load(): KeyPair;
  /** The next key if a rollover can start now (none pending announcement). Throws KeyError for an unusable file. */
  pendingNext(current: KeyPair): KeyPair | undefined;
  /** Steps 1-3 above; returns the announcement bytes. */
  rollOver(oldSigner: Signer, next: KeyPair, seq: number, epoch?: Uint8Array): Uint8Array;
  /** The latest announcement, if any rollover ever happened. */
  announcement(): Uint8Array | undefined;
  /** The broker acknowledged the announcement: the old key is dropped. Returns true if a key was removed. */
  announced(): boolean;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export function createDeviceKeys(stateDir: string, opts: { device: string }): DeviceKeys {
  const paths = deviceKeyPaths(stateDir);

  /** The stored announcement, if it is well-formed: who signed it and what it announces. */
  function storedAnnouncement(): { bytes: Uint8Array; signerKid: Uint8Array; newKid: Uint8Array } | undefined {
    if (!existsSync(paths.announcement)) return undefined;
    try {
      const bytes = new Uint8Array(readFileSync(paths.announcement));
      const env = decodeSign1(bytes);
      if (env.contentType !== KEY_CONTENT_TYPE) return undefined;
      const a = parseKeyAnnouncement(env.payload);
      return { bytes, signerKid: env.kid, newKid: a.newKid };
    } catch {
      return undefined;
    }
  }

  function finish(next: KeyPair): void {
    if (!existsSync(paths.old)) linkSync(paths.key, paths.old);
    fsyncDir(stateDir);
    renameSync(paths.next, paths.key);
    writeFileAtomic(paths.pub, Buffer.from(next.publicKey).toString('hex') + '\n', 0o644);
    try { unlinkSync(paths.nextPub); } catch { /* optional */ }
    fsyncDir(stateDir);
  }

  return {
    paths,
    load() {
      if (existsSync(paths.next)) {
        const ann = storedAnnouncement();
        const current = readPrivateKey(paths.key);
        if (ann && same(ann.signerKid, kidOf(current.publicKey))) {
          const next = readPrivateKey(paths.next);
          if (same(ann.newKid, kidOf(next.publicKey))) finish(next); // a crash between steps 1 and 3
        }
      }
      return readPrivateKey(paths.key);
    },
    pendingNext(current) {
      if (!existsSync(paths.next) || existsSync(paths.old)) return undefined;
      const next = readPrivateKey(paths.next);
      if (same(next.publicKey, current.publicKey)) return undefined;
      return next;
    },
    rollOver(oldSigner, next, seq, epoch) {
      const bytes = signKeyAnnouncement(oldSigner, opts.device, next.publicKey, seq, epoch);
      writeFileAtomic(paths.announcement, bytes, 0o644);
      fsyncDir(stateDir);
      finish(next);
      return bytes;
    },
    announcement() {
      return storedAnnouncement()?.bytes;
    },
    announced() {
      try { unlinkSync(paths.old); } catch { return false; }
      fsyncDir(stateDir);
      return true;
    },
  };
}
