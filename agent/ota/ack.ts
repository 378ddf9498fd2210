// The config ack: the device's signed answer to every config message it
// processed, accepted or not, so operators see every attempt.
//
//   COSE_Sign1 by the device key, content type "application/tapwire-config-ack+cbor",
//   published QoS 1 (not retained) on <prefix>/<dev>/config/ack; payload (CBOR map):
//     "v": 1   "dev": tstr   "version": uint | null (null: not known, e.g. a forged message)
//     "result": "accepted" | "rejected" | "rolled-back"
//     "reason": tstr        (absent when accepted)
//     "code":   tstr        stable code of the reason (RejectCode, "health", "interrupted", ...)
//     "msg":    bstr 32     SHA-256 of the config message bytes this answers

import { createHash } from 'node:crypto';
import { decodeCbor } from '../encode/cbor.js';

export const ACK_CONTENT_TYPE = 'application/tapwire-config-ack+cbor';

export type AckResult = 'accepted' | 'rejected' | 'rolled-back';

export interface Ack {
  dev: string;
  version: number | null;
  result: AckResult;
  reason?: string;
  code?: string;
  /** SHA-256 of the config message. */
  msg: Uint8Array;
}

export function messageHash(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

/** The payload map to sign (key order fixed: v, dev, version, result, reason, code, msg). */
export function ackPayload(ack: Ack): Record<string, unknown> {
  return {
    v: 1, dev: ack.dev, version: ack.version, result: ack.result,
    ...(ack.reason !== undefined ? { reason: ack.reason } : {}),
    ...(ack.code !== undefined ? { code: ack.code } : {}),
    msg: ack.msg,
  };
}

/** Parses an ack payload (after its signature was verified); throws on anything malformed. */
export function parseAckPayload(payload: Uint8Array): Ack {
  const m = decodeCbor(payload);
  if (!(m instanceof Map) || m.get('v') !== 1) throw new Error('not a v1 config ack');
  const dev: unknown = m.get('dev');
  const version: unknown = m.get('version');
  const result: unknown = m.get('result');
  const reason: unknown = m.get('reason');
  const code: unknown = m.get('code');
  const msg: unknown = m.get('msg');
  if (typeof dev !== 'string') throw new Error('ack: "dev" must be text');
  if (version !== null && typeof version !== 'number') throw new Error('ack: "version" must be a number or null');
  if (result !== 'accepted' && result !== 'rejected' && result !== 'rolled-back') throw new Error('ack: bad "result"');
  if (!(msg instanceof Uint8Array) || msg.length !== 32) throw new Error('ack: "msg" must be 32 bytes');
  return {
    dev, version, result, msg,
    ...(typeof reason === 'string' ? { reason } : {}),
    ...(typeof code === 'string' ? { code } : {}),
  };
}
