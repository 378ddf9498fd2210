// Trusted operator keys: <stateDir>/operators/<kid hex>.pub, each 64 hex chars
// of a raw Ed25519 public key (written by `tapwire provision --operator`).
// Invariant: a key is trusted only if its file name is its own kid, so a file
// cannot vouch for a different key than it names. Read fresh per message: a key
// installed or removed takes effect without a restart.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kidOf } from '../encode/signer.js';
import type { Logger } from '../log.js';

export function operatorsDir(stateDir: string): string {
  return join(stateDir, 'operators');
}

const FILE = /^([0-9a-f]{16})\.pub$/;
const HEX64 = /^[0-9a-fA-F]{64}$/;

/** kid hex -> public key. A missing directory is no keys (nothing can be accepted). */
export function loadOperatorKeys(stateDir: string, log?: Logger): Map<string, Uint8Array> {
  const dir = operatorsDir(stateDir);
  const keys = new Map<string, Uint8Array>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return keys;
  }
  for (const name of names) {
    const m = FILE.exec(name);
    if (!m) continue;
    try {
      const text = readFileSync(join(dir, name), 'utf8').trim();
      if (!HEX64.test(text)) throw new Error('not 64 hex characters');
      const pub = new Uint8Array(Buffer.from(text, 'hex'));
      const kid = Buffer.from(kidOf(pub)).toString('hex');
      if (kid !== m[1]) throw new Error(`holds the key with kid ${kid}, not ${m[1]}`);
      keys.set(kid, pub);
    } catch (err) {
      log?.warn('operator key file ignored', { file: join(dir, name), cause: (err as Error).message });
    }
  }
  return keys;
}
