// Shared pieces for OTA tests: operator keys, a valid config, signing a
// config message exactly as `tapwire config sign` does, opening acks.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeCbor } from '../../agent/encode/cbor.js';
import { signSign1, verifySign1 } from '../../agent/encode/cose.js';
import { fingerprint } from '../../agent/encode/keys.js';
import { createCryptoSigner, type Signer } from '../../agent/encode/signer.js';
import { ACK_CONTENT_TYPE, parseAckPayload, type Ack } from '../../agent/ota/ack.js';
import { CONFIG_CONTENT_TYPE } from '../../agent/ota/envelope.js';
import type { FileHandle, FileSystem } from '../../hal/file.js';

export const operator = createCryptoSigner(new Uint8Array(32).fill(41));
export const stranger = createCryptoSigner(new Uint8Array(32).fill(42));

export function rawConfig(stateDir: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    device: 'ota-1',
    stateDir,
    uplink: { url: 'mqtt://127.0.0.1:1883', protocolVersion: 4 },
    sources: [{ id: 'env', type: 'lines', port: { path: '/dev/ttyUSB0', baudRate: 9600 }, decoder: { type: 'kv' } }],
    ...over,
  };
}

/** A config message as `tapwire config sign` writes it (payload {"v","dev","version","config"}). */
export function signConfig(
  signer: Signer, body: { dev: string; version: number; config: unknown; v?: number }, contentType = CONFIG_CONTENT_TYPE,
): Uint8Array {
  return signSign1(signer, encodeCbor({ v: body.v ?? 1, dev: body.dev, version: body.version, config: body.config }), contentType);
}

/** Installs trusted operator keys as `tapwire provision --operator` does. */
export function trustOperators(stateDir: string, signers: Signer[]): void {
  const dir = join(stateDir, 'operators');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const s of signers) writeFileSync(join(dir, `${fingerprint(s.publicKey)}.pub`), Buffer.from(s.publicKey).toString('hex') + '\n');
}

/** Verifies an ack with the device key(s) and parses it; throws if it is not validly signed. */
export function openAck(bytes: Uint8Array, deviceKeys: Uint8Array[]): Ack {
  const byKid = new Map(deviceKeys.map((k) => [fingerprint(k), k]));
  const s = verifySign1(bytes, (kid) => byKid.get(Buffer.from(kid).toString('hex')));
  if (s.contentType !== ACK_CONTENT_TYPE) throw new Error(`not an ack: ${s.contentType}`);
  return parseAckPayload(s.payload);
}

// ── the real CLI as a child process, with `run` options ─────────────────────

/**
 * Wraps a FileSystem and calls `onWrite(n)` before every operation that
 * changes the disk (n counts them, on handles too): a test throws there to
 * cut the power at operation n.
 */
export function onEveryWrite(inner: FileSystem, onWrite: (n: number) => void): { fs: FileSystem; ops(): number } {
  let n = 0;
  const step = (): void => { onWrite(++n); };
  const h = (x: FileHandle): FileHandle => ({
    path: x.path, size: () => x.size(), read: (p, l) => x.read(p, l), close: () => x.close(),
    async append(d) { step(); return x.append(d); },
    async write(p, d) { step(); return x.write(p, d); },
    async truncate(l) { step(); return x.truncate(l); },
    async sync() { step(); return x.sync(); },
  });
  return {
    ops: () => n,
    fs: {
      async open(p, m) { if (m !== 'read') step(); return h(await inner.open(p, m)); },
      readdir: (d) => inner.readdir(d),
      stat: (p) => inner.stat(p),
      async rename(a, b) { step(); return inner.rename(a, b); },
      async unlink(p) { step(); return inner.unlink(p); },
      async mkdir(p) { step(); return inner.mkdir(p); },
      async syncDir(d) { step(); return inner.syncDir(d); },
    },
  };
}
