// Readings -> signed batch (COSE_Sign1 over a versioned payload), chained by
// seq and prev-hash. Invariant: seq goes up by exactly one per batch emitted and
// prev is the SHA-256 of the complete encoded COSE_Sign1 of the batch before.
//
//   payload (CBOR map, text keys), format v1:
//     "v": 1   "dev": tstr   "seq": uint (first = 1)   "prev": bstr 32 (zeros for seq 1)
//     "clk": "sync" | "free"
//     "senml": [records]                         a data batch, or
//     "gap":   [first seq, last seq, reason]     a gap notice (dropped batches, inclusive)

import { createHash } from 'node:crypto';
import type { Reading } from '../reading.js';
import { decodeCbor, encodeCbor } from './cbor.js';
import { decodeSign1, signSign1 } from './cose.js';
import { senmlRecords } from './senml.js';
import type { Signer } from './signer.js';

export const BATCH_VERSION = 1;
export const ZERO_HASH: Uint8Array = new Uint8Array(32);

export interface ChainState {
  /** last used seq, 0 if none */
  seq: number;
  /** 32 bytes: SHA-256 of the batch `seq` (zeros if none) */
  prev: Uint8Array;
}
export interface SignedBatch { seq: number; bytes: Uint8Array; readings: number }
export interface BatchEncoder {
  encodeReadings(readings: Reading[]): SignedBatch;
  encodeGap(first: number, last: number, reason: string): SignedBatch;
  state(): ChainState;
}
export interface BatchEncoderOptions {
  device: string;
  signer: Signer;
  clockSynced: () => boolean;
  /** wall time (ms): stands in for a reading's time that is not a finite number */
  nowMs: () => number;
}

export interface BatchPayload {
  v: 1;
  dev: string;
  seq: number;
  prev: Uint8Array;
  clk: 'sync' | 'free';
  senml?: unknown[];
  gap?: [number, number, string];
}

export type BatchErrorCode = 'ERR_BATCH_VERSION' | 'ERR_BATCH_INVALID';
export class BatchError extends Error {
  readonly code: BatchErrorCode;
  constructor(code: BatchErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'BatchError';
  }
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

const isSeq = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 1;

export function createBatchEncoder(opts: BatchEncoderOptions, start: ChainState): BatchEncoder {
  if (!Number.isSafeInteger(start.seq) || start.seq < 0) throw new RangeError(`chain state seq must be an integer >= 0, got ${start.seq}`);
  if (start.prev.length !== 32) throw new RangeError(`chain state prev must be 32 bytes, got ${start.prev.length}`);
  let seq = start.seq;
  let prev: Uint8Array = new Uint8Array(start.prev);

  function emit(body: { senml: unknown[] } | { gap: [number, number, string] }, readings: number): SignedBatch {
    const next = seq + 1;
    const payload = encodeCbor({
      v: BATCH_VERSION,
      dev: opts.device,
      seq: next,
      prev,
      clk: opts.clockSynced() ? 'sync' : 'free',
      ...body,
    });
    const bytes = signSign1(opts.signer, payload);
    seq = next;
    prev = sha256(bytes);
    return { seq: next, bytes, readings };
  }

  return {
    encodeReadings(readings) {
      if (readings.length === 0) throw new RangeError('a batch needs at least one reading');
      let fixed: Reading[] | undefined;
      for (let i = 0; i < readings.length; i++) {
        const r = readings[i]!;
        if (!Number.isFinite(r.time)) {
          fixed ??= readings.slice();
          fixed[i] = { ...r, time: opts.nowMs() / 1000 };
        }
      }
      return emit({ senml: senmlRecords(opts.device, fixed ?? readings) }, readings.length);
    },
    encodeGap(first, last, reason) {
      if (!isSeq(first) || !isSeq(last) || first > last) throw new RangeError(`gap range ${first}..${last} is not 1 <= first <= last`);
      if (last > seq) throw new RangeError(`gap range ${first}..${last} reaches beyond the last seq ${seq}`);
      return emit({ gap: [first, last, reason] }, 0);
    },
    state: () => ({ seq, prev: new Uint8Array(prev) }),
  };
}

/** Chain state after the (already journaled) batch `bytes`: its seq, its hash. No key needed. */
export function chainStateAfter(bytes: Uint8Array): ChainState {
  const { seq } = parseBatchPayload(decodeSign1(bytes).payload);
  return { seq, prev: sha256(bytes) };
}

function invalid(why: string): BatchError {
  return new BatchError('ERR_BATCH_INVALID', `invalid batch payload: ${why}`);
}

/** Decodes and validates a batch payload. Unknown keys are ignored; an unknown version is refused. */
export function parseBatchPayload(payload: Uint8Array): BatchPayload {
  let m: unknown;
  try {
    m = decodeCbor(payload);
  } catch (err) {
    throw invalid((err as Error).message);
  }
  if (!(m instanceof Map)) throw invalid('not a CBOR map');
  const v: unknown = m.get('v');
  if (v !== BATCH_VERSION) {
    if (typeof v === 'number' || typeof v === 'bigint') {
      throw new BatchError('ERR_BATCH_VERSION', `unsupported batch version ${v} (this verifier reads version ${BATCH_VERSION}; upgrade it)`);
    }
    throw invalid('missing or non-integer "v" (format version)');
  }
  const dev: unknown = m.get('dev');
  if (typeof dev !== 'string' || dev === '') throw invalid('"dev" must be a non-empty string');
  const seq: unknown = m.get('seq');
  if (!isSeq(seq)) throw invalid('"seq" must be an integer >= 1');
  const prev: unknown = m.get('prev');
  if (!(prev instanceof Uint8Array) || prev.length !== 32) throw invalid('"prev" must be a 32-byte byte string');
  const clk: unknown = m.get('clk');
  if (clk !== 'sync' && clk !== 'free') throw invalid('"clk" must be "sync" or "free"');
  const senml: unknown = m.get('senml');
  const gap: unknown = m.get('gap');
  if ((senml === undefined) === (gap === undefined)) throw invalid('exactly one of "senml" and "gap" must be present');
  const out: BatchPayload = { v: BATCH_VERSION, dev, seq, prev, clk };
  if (senml !== undefined) {
    if (!Array.isArray(senml) || senml.length === 0) throw invalid('"senml" must be a non-empty array');
    out.senml = senml;
  } else {
    if (!Array.isArray(gap) || gap.length !== 3) throw invalid('"gap" must be [first, last, reason]');
    const [first, last, reason] = gap as unknown[];
    if (!isSeq(first) || !isSeq(last) || first > last) throw invalid('"gap" range must be integers 1 <= first <= last');
    if (last >= seq) throw invalid(`"gap" range ${first}..${last} must lie before the notice's own seq ${seq}`);
    if (typeof reason !== 'string') throw invalid('"gap" reason must be a string');
    out.gap = [first, last, reason];
  }
  return out;
}
