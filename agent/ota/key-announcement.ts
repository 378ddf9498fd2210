// The device key rollover announcement: the old key vouches for the new one
// and says from which batch on the new one signs. Invariant: batches with
// seq < "seq" are signed by the old key, batches with seq >= "seq" by the new
// one; a verifier that follows the chain refuses the old key from "seq" on.
//
//   COSE_Sign1 by the OLD device key, content type "application/tapwire-key+cbor",
//   published retained, QoS 1, on <prefix>/<dev>/key; payload (CBOR map):
//     "v": 1   "dev": tstr
//     "new":    bstr 32   raw Ed25519 public key that signs from now on
//     "newKid": bstr 8    its kid (first 8 bytes of SHA-256 of "new")
//     "seq":    uint >= 1 first batch seq signed by the new key
//   version 2 adds "epoch": bstr 8 — the seq is one of that restarted chain
//   (see agent/encode/batch.ts); a device's original chain announces v1.
//
//   batches:  ... 41 42 43 │ 44 45 46 ...
//   signer:   old key ─────┤ new key ──────►
//   announcement (signed by old): {new, newKid, seq: 44}

import { decodeCbor, encodeCbor } from '../encode/cbor.js';
import { signSign1 } from '../encode/cose.js';
import { kidOf, type Signer } from '../encode/signer.js';

export const KEY_CONTENT_TYPE = 'application/tapwire-key+cbor';

export interface KeyAnnouncement {
  dev: string;
  newKey: Uint8Array;
  newKid: Uint8Array;
  seq: number;
  /** v2: the chain epoch "seq" belongs to (absent: the original chain). */
  epoch?: Uint8Array;
}

/** Signs an announcement of `newKey` with `oldSigner`; `epoch` when the chain is a restarted one. */
export function signKeyAnnouncement(oldSigner: Signer, dev: string, newKey: Uint8Array, seq: number, epoch?: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new RangeError(`rollover seq must be an integer >= 1, got ${seq}`);
  const restarted = epoch !== undefined && epoch.some((b) => b !== 0);
  return signSign1(oldSigner, encodeCbor({ v: restarted ? 2 : 1, dev, new: newKey, newKid: kidOf(newKey), seq, ...(restarted ? { epoch } : {}) }), KEY_CONTENT_TYPE);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Parses the payload (after the envelope's signature was verified); throws on anything malformed. */
export function parseKeyAnnouncement(payload: Uint8Array): KeyAnnouncement {
  const m = decodeCbor(payload);
  if (!(m instanceof Map)) throw new Error('key announcement: payload is not a map');
  const v: unknown = m.get('v');
  if (v !== 1 && v !== 2) throw new Error(`key announcement: unsupported version ${String(v)}`);
  const epoch: unknown = m.get('epoch');
  if (v === 2 && (!(epoch instanceof Uint8Array) || epoch.length !== 8 || epoch.every((b) => b === 0))) throw new Error('key announcement: version 2 needs an 8-byte, non-zero "epoch"');
  if (v === 1 && epoch !== undefined) throw new Error('key announcement: "epoch" is only allowed in version 2');
  const dev: unknown = m.get('dev');
  const newKey: unknown = m.get('new');
  const newKid: unknown = m.get('newKid');
  const seq: unknown = m.get('seq');
  if (typeof dev !== 'string' || dev === '') throw new Error('key announcement: "dev" must be text');
  if (!(newKey instanceof Uint8Array) || newKey.length !== 32) throw new Error('key announcement: "new" must be a 32-byte key');
  if (!(newKid instanceof Uint8Array) || !same(newKid, kidOf(newKey))) throw new Error('key announcement: "newKid" is not the kid of "new"');
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) throw new Error('key announcement: "seq" must be an integer >= 1');
  return { dev, newKey: new Uint8Array(newKey), newKid: new Uint8Array(newKid), seq, ...(v === 2 ? { epoch: new Uint8Array(epoch as Uint8Array) } : {}) };
}
