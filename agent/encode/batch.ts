// Readings -> signed batch (COSE_Sign1 over a versioned payload), chained by
// seq and prev-hash. Invariant: seq goes up by exactly one per batch emitted and
// prev is the SHA-256 of the complete encoded COSE_Sign1 of the batch before.
//
//   payload (CBOR map, text keys), format v1:
//     "v": 1   "dev": tstr   "seq": uint (first = 1)   "prev": bstr 32 (zeros for seq 1)
//     "clk": "sync" | "free"
//     "senml": [records]                         a data batch, or
//     "gap":   [first seq, last seq, reason]     a gap notice (dropped batches, inclusive)
//
//   format v2 = v1 + "epoch": bstr 8 (random, not all zeros). Only a chain that
//   started over because the device lost its chain state is an epoch: its first
//   batch has prev = 32 zero bytes and a seq after every seq the device still
//   knew of; (dev, epoch, seq) names one batch. The original chain of a device
//   stays v1 (no "epoch") forever, so a v1-only verifier keeps working and
//   refuses a v2 batch by its version instead of guessing.

import { createHash } from 'node:crypto';
import type { Reading } from '../reading.js';
import { decodeCbor, encodeCbor } from './cbor.js';
import { decodeSign1, signSign1 } from './cose.js';
import { senmlRecords } from './senml.js';
import type { Signer } from './signer.js';

export const BATCH_VERSION = 1;
/** The payload version of a batch in a restarted chain (it carries "epoch"). */
export const BATCH_VERSION_EPOCH = 2;
export const ZERO_HASH: Uint8Array = new Uint8Array(32);
export const EPOCH_BYTES = 8;
/** True for the original chain's epoch (all zeros, or absent). */
export const isOriginalEpoch = (epoch: Uint8Array | undefined): boolean => epoch === undefined || epoch.every((b) => b === 0);

export interface ChainState {
  /** last used seq, 0 if none */
  seq: number;
  /** 32 bytes: SHA-256 of the batch `seq` (zeros if none) */
  prev: Uint8Array;
  /** 8 bytes, when the chain is a restarted epoch (absent or zeros: the original chain, payload v1). */
  epoch?: Uint8Array;
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
  v: 1 | 2;
  /** v2 only: the epoch of a restarted chain. */
  epoch?: Uint8Array;
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
  if (start.epoch !== undefined && start.epoch.length !== EPOCH_BYTES) throw new RangeError(`chain state epoch must be ${EPOCH_BYTES} bytes, got ${start.epoch.length}`);
  let seq = start.seq;
  let prev: Uint8Array = new Uint8Array(start.prev);
  const epoch = isOriginalEpoch(start.epoch) ? undefined : new Uint8Array(start.epoch!);

  function emit(body: { senml: unknown[] } | { gap: [number, number, string] }, readings: number): SignedBatch {
    const next = seq + 1;
    const payload = encodeCbor({
      v: epoch ? BATCH_VERSION_EPOCH : BATCH_VERSION,
      dev: opts.device,
      seq: next,
      prev,
      clk: opts.clockSynced() ? 'sync' : 'free',
      ...(epoch ? { epoch } : {}),
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
    state: () => ({ seq, prev: new Uint8Array(prev), ...(epoch ? { epoch: new Uint8Array(epoch) } : {}) }),
  };
}

/** Chain state after the (already journaled) batch `bytes`: its seq, its hash, its epoch. No key needed. */
export function chainStateAfter(bytes: Uint8Array): ChainState {
  const { seq, epoch } = parseBatchPayload(decodeSign1(bytes).payload);
  return { seq, prev: sha256(bytes), ...(epoch ? { epoch } : {}) };
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
  if (v !== BATCH_VERSION && v !== BATCH_VERSION_EPOCH) {
    if (typeof v === 'number' || typeof v === 'bigint') {
      throw new BatchError('ERR_BATCH_VERSION', `unsupported batch version ${v} (this verifier reads versions ${BATCH_VERSION} and ${BATCH_VERSION_EPOCH}; upgrade it)`);
    }
    throw invalid('missing or non-integer "v" (format version)');
  }
  const epoch: unknown = m.get('epoch');
  if (v === BATCH_VERSION && epoch !== undefined) throw invalid('"epoch" is only allowed in version 2');
  if (v === BATCH_VERSION_EPOCH && (!(epoch instanceof Uint8Array) || epoch.length !== EPOCH_BYTES || isOriginalEpoch(epoch))) {
    throw invalid(`"epoch" must be ${EPOCH_BYTES} bytes, not all zero, in version 2`);
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
  const out: BatchPayload = v === BATCH_VERSION_EPOCH
    ? { v: BATCH_VERSION_EPOCH, dev, seq, prev, clk, epoch: new Uint8Array(epoch as Uint8Array) }
    : { v: BATCH_VERSION, dev, seq, prev, clk };
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
