// What a fleet worker can decide about one data message from the device's
// keys alone, before the database is asked: the envelope, the signature by a
// key of the device named in the topic, then (and only then) the payload, its
// device, the key's span and the SenML. Pure: no clock, no I/O.
// Invariant: nothing but the envelope is parsed before the signature verifies.

import { BatchError, isOriginalEpoch, parseBatchPayload, sha256 } from '../encode/batch.js';
import { COSE_ALG_EDDSA, decodeSign1, DEFAULT_CONTENT_TYPE, verifySign1, type Sign1 } from '../encode/cose.js';
import { resolveSenml, type ResolvedReading } from '../encode/senml.js';
import { keySpanProblem } from '../verify/key-rules.js';

/** Why a message was refused (tapwire_rejects.code). */
export type RejectCode =
  | 'malformed' // not a COSE_Sign1 batch, bad payload or SenML, bad topic
  | 'version' // a batch format this tapwire does not read
  | 'unenrolled' // no such device in tapwire_devices
  | 'forged' // signature does not verify with the device's key
  | 'wrong-device' // signed by the device, but names another device
  | 'retired-key' // signed by a key outside the seqs it may sign
  | 'unknown-key' // signed by a key the device never announced (after waiting)
  | 'conflict' // same (dev, seq) as a stored batch, different bytes
  | 'chain' // prev-hash does not link to the stored neighbour
  | 'key-rule'; // a key announcement breaking the rollover rules

export interface DeviceKey {
  pub: Uint8Array;
  from?: number;
  until?: number;
}
/** A device's keys by kid (hex): the enrolled one and those it rolled over to. */
export type DeviceKeys = Map<string, DeviceKey>;

export interface Reject { kind: 'reject'; topic: string; dev: string | null; seq: number | null; code: RejectCode; reason: string }

export interface CheckedBatch {
  kind: 'batch';
  topic: string;
  dev: string;
  seq: number;
  kid: Uint8Array;
  kidHex: string;
  hash: Uint8Array;
  prev: Uint8Array;
  clk: 'sync' | 'free';
  /** The chain epoch (hex) of a restarted chain (payload v2); '' for the device's original chain. */
  epoch: string;
  readings: ResolvedReading[];
  gap?: [number, number, string];
}

/** Signed by a key this device has not announced (yet): kept until it is, or until it is too late. */
export interface Parked { kind: 'park'; topic: string; dev: string; kid: Uint8Array; kidHex: string; hash: Uint8Array; bytes: Uint8Array }

export type Checked = CheckedBatch | Parked | Reject;

export const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Where a topic names its device: agent/uplink/topics.ts (re-exported for the ingest's callers). */
export { deviceOfTopic } from '../uplink/topics.js';

export function reject(topic: string, dev: string | null, seq: number | null, code: RejectCode, reason: string): Reject {
  return { kind: 'reject', topic, dev, seq, code, reason };
}

/** The envelope and its kid, or a reject: enough to find the key. */
export function envelopeOf(topic: string, dev: string, bytes: Uint8Array): Sign1 | Reject {
  let s: Sign1;
  try {
    s = decodeSign1(bytes);
  } catch (err) {
    return reject(topic, dev, null, 'malformed', (err as Error).message);
  }
  if (s.alg !== COSE_ALG_EDDSA) return reject(topic, dev, null, 'malformed', `unsupported COSE alg ${s.alg} (only EdDSA, -8)`);
  if (s.contentType !== DEFAULT_CONTENT_TYPE) {
    return reject(topic, dev, null, 'malformed', `content type ${JSON.stringify(s.contentType)} is not a batch (${DEFAULT_CONTENT_TYPE})`);
  }
  return s;
}

/**
 * Checks one data message of `dev` (from its topic) against the device's keys
 * (undefined: not enrolled). A kid the device has not announced parks it.
 */
export function checkBatch(topic: string, dev: string, bytes: Uint8Array, keys: DeviceKeys | undefined): Checked {
  if (!keys) return reject(topic, dev, null, 'unenrolled', `device ${dev} is not enrolled (tapwire fleet enroll)`);
  const env = envelopeOf(topic, dev, bytes);
  if ('kind' in env) return env;
  const kidHex = hexOf(env.kid);
  const key = keys.get(kidHex);
  if (!key) return { kind: 'park', topic, dev, kid: env.kid, kidHex, hash: sha256(bytes), bytes };
  try {
    verifySign1(bytes, () => key.pub);
  } catch (err) {
    return reject(topic, dev, null, 'forged', (err as Error).message);
  }
  let p: ReturnType<typeof parseBatchPayload>;
  try {
    p = parseBatchPayload(env.payload);
  } catch (err) {
    return reject(topic, dev, null, err instanceof BatchError && err.code === 'ERR_BATCH_VERSION' ? 'version' : 'malformed', (err as Error).message);
  }
  if (p.dev !== dev) {
    return reject(topic, dev, p.seq, 'wrong-device', `batch seq ${p.seq} names device ${JSON.stringify(p.dev)} but came on the topic of ${dev}`);
  }
  const span = keySpanProblem(kidHex, key, p.seq);
  if (span) return reject(topic, dev, p.seq, 'retired-key', span);
  let readings: ResolvedReading[] = [];
  if (p.senml) {
    try {
      readings = resolveSenml(p.senml, dev);
    } catch (err) {
      return reject(topic, dev, p.seq, 'malformed', `batch seq ${p.seq}: ${(err as Error).message}`);
    }
  }
  return {
    kind: 'batch', topic, dev, seq: p.seq, kid: env.kid, kidHex, hash: sha256(bytes), prev: p.prev, clk: p.clk,
    epoch: isOriginalEpoch(p.epoch) ? '' : hexOf(p.epoch!), readings,
    ...(p.gap ? { gap: p.gap } : {}),
  };
}
