// The verifier's core, pure (no network, no clock): signed batches in, events
// and a completeness summary out. Batches may arrive late, out of order or
// twice. Invariant: every seq between the first and last seen is accounted
// for as received, covered by a gap notice, or reported missing, per chain
// epoch (epoch-chain.ts). A device that lost its chain state starts a new
// epoch (payload v2, "epoch"): its seqs are a chain of their own, and the
// verifier says so — what the old chain had not sent is lost untold, so a
// stream that spans two epochs is never called complete.
//
// Key chain: the device may roll its key over (agent/ota/key-announcement.ts).
// An announcement signed by a trusted key that is not retired adds the new key
// from its seq on and retires the signing key from that seq on:
//
//   batch seq:    ... S-2  S-1 │ S   S+1 ...
//   old key:      accepted ────┤ rejected (retired at S)
//   new key:      rejected     ├──── accepted (valid from S)
//
// S is a seq of the announcement's epoch; in a later epoch the retired key is
// refused from its first batch on.
//
// A batch rejected only because its key was unknown is kept (bounded) and
// checked again when an announcement introduces that key.

import { parseBatchPayload, sha256, type BatchPayload } from '../encode/batch.js';
import { decodeSign1, DEFAULT_CONTENT_TYPE, verifySign1 } from '../encode/cose.js';
import { KEY_CONTENT_TYPE, parseKeyAnnouncement } from '../ota/key-announcement.js';
import { resolveSenml, type ResolvedReading } from '../encode/senml.js';
import { kidOf } from '../encode/signer.js';
import { createEpochChain, type EpochChain, type EpochSummary } from './epoch-chain.js';

export type VerifyEvent =
  | { kind: 'batch'; seq: number; readings: ResolvedReading[]; clk: 'sync' | 'free' }
  | { kind: 'gap'; seq: number; first: number; last: number; reason: string }
  /** same (dev, seq) and identical bytes seen before: dropped */
  | { kind: 'duplicate'; seq: number }
  /** same seq, different (validly signed) bytes: serious */
  | { kind: 'conflict'; seq: number }
  /** bad envelope / signature / wrong dev / unknown version / malformed payload */
  | { kind: 'rejected'; reason: string }
  /** prev of `seq` is not the hash of `expectedPrevOf` (= seq-1) we hold, or that batch was dropped */
  | { kind: 'chain-break'; seq: number; expectedPrevOf: number; explained: boolean }
  /** the first batch of a chain epoch not seen before; `previous`: the epoch seen before it (a restart of the chain) */
  | { kind: 'epoch'; epoch: string; seq: number; previous?: string };

/** The whole stream: every epoch's accounting summed (EpochSummary: batches, gaps, missing, complete…) plus what only the stream knows. */
export interface ChainSummary extends EpochSummary {
  /** messages rejected (bad envelope, signature, device, version or payload) */
  rejected: number;
  /** Key rollovers followed (present once there was one). */
  keyRollovers?: number;
  /** Per chain epoch, when a restarted chain was seen ("" = the device's original chain), in order of first sight. */
  epochs?: Array<EpochSummary & { epoch: string }>;
}

/** The outcome of a key announcement. */
export type KeyEvent =
  | { kind: 'key'; ok: true; newKid: string; signedBy: string; seq: number; duplicate: boolean }
  | { kind: 'key'; ok: false; reason: string };

export interface ChainVerifier {
  accept(bytes: Uint8Array): VerifyEvent[];
  /**
   * A key announcement (from <prefix>/<dev>/key). `events` are those of batches
   * that had been rejected for an unknown key and verify now.
   */
  acceptKey(bytes: Uint8Array): { key: KeyEvent; events: VerifyEvent[] };
  /** A public key of the chain (initial or announced) by kid, retired or not: for status and acks. */
  keyForKid(kid: Uint8Array): Uint8Array | undefined;
  summary(): ChainSummary;
}

/** A seq within a chain epoch ("" = the original chain). */
interface EpochSeq { epoch: string; seq: number }

interface ChainKey {
  pub: Uint8Array;
  /** first seq it may sign (announced keys) */
  from?: EpochSeq;
  /** first seq it may no longer sign (after a rollover) */
  until?: EpochSeq;
  /** per epoch: lowest and highest batch seq accepted with it */
  seqs: Map<string, { min: number; max: number }>;
}

/** Batches rejected for an unknown kid, kept for a later announcement. */
const MAX_UNKNOWN_KID_KEPT = 256;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ORIGINAL = '';

export function createChainVerifier(opts: { device: string; publicKeys: Uint8Array[] }): ChainVerifier {
  const keys = new Map<string, ChainKey>(opts.publicKeys.map((k) => [hex(kidOf(k)), { pub: k, seqs: new Map() }]));
  const keyForKid = (kid: Uint8Array): Uint8Array | undefined => keys.get(hex(kid))?.pub;
  const unknownKid: Array<{ kid: string; bytes: Uint8Array }> = [];
  let keyRollovers = 0;
  let rejected = 0;
  /** Chains by epoch, in order of first sight; the original chain always comes first. */
  const epochs = new Map<string, EpochChain>([[ORIGINAL, createEpochChain({ restarted: false })]]);
  const order = new Map<string, number>([[ORIGINAL, 0]]);
  /** Epochs with an accepted batch, and the epoch of the last one. */
  const batchSeen = new Set<string>();
  let lastEpoch: string | undefined;

  function epochOf(id: string): EpochChain {
    let c = epochs.get(id);
    if (!c) {
      c = createEpochChain({ restarted: true });
      epochs.set(id, c);
      order.set(id, order.size);
    }
    return c;
  }

  function reject(reason: string): VerifyEvent[] {
    rejected++;
    return [{ kind: 'rejected', reason }];
  }

  function keepUnknown(bytes: Uint8Array): void {
    try {
      const kid = hex(decodeSign1(bytes).kid);
      if (keys.has(kid)) return;
      unknownKid.push({ kid, bytes: new Uint8Array(bytes) });
      if (unknownKid.length > MAX_UNKNOWN_KID_KEPT) unknownKid.shift();
    } catch { /* not even an envelope */ }
  }

  /** Why `key` may not sign seq `seq` of `epoch`, if it may not. */
  function keyRefusal(key: ChainKey, epoch: string, seq: number): string | undefined {
    const kid = hex(kidOf(key.pub));
    if (key.until) {
      if (key.until.epoch === epoch ? seq >= key.until.seq : (order.get(epoch) ?? Infinity) > order.get(key.until.epoch)!) {
        return `batch seq ${seq} is signed by key ${kid}, retired from seq ${key.until.seq} by a key rollover`;
      }
    }
    if (key.from && key.from.epoch === epoch && seq < key.from.seq) return `batch seq ${seq} is signed by key ${kid}, which signs only from seq ${key.from.seq}`;
    return undefined;
  }

  function accept(bytes: Uint8Array): VerifyEvent[] {
    let p: BatchPayload;
    let signer: ChainKey;
    try {
      const sign1 = verifySign1(bytes, keyForKid);
      if (sign1.contentType !== DEFAULT_CONTENT_TYPE) {
        return reject(`content type ${JSON.stringify(sign1.contentType)} is not a batch (${DEFAULT_CONTENT_TYPE})`);
      }
      p = parseBatchPayload(sign1.payload);
      signer = keys.get(hex(sign1.kid))!;
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ERR_COSE_KID_UNKNOWN') keepUnknown(bytes);
      return reject((err as Error).message);
    }
    if (p.dev !== opts.device) return reject(`batch seq ${p.seq} is for device ${JSON.stringify(p.dev)}, expected ${JSON.stringify(opts.device)}`);
    const epoch = p.epoch ? hex(p.epoch) : ORIGINAL;
    const chain = epochOf(epoch);
    const refusal = keyRefusal(signer, epoch, p.seq);
    if (refusal) return reject(refusal);
    const hash = sha256(bytes);
    const repeat = chain.check(p.seq, hash);
    if (repeat !== 'new') return [repeat];
    let resolved: ResolvedReading[] = [];
    if (p.senml) {
      try {
        resolved = resolveSenml(p.senml, opts.device);
      } catch (err) {
        return reject(`batch seq ${p.seq}: ${(err as Error).message}`);
      }
    }
    const range = signer.seqs.get(epoch) ?? { min: Infinity, max: 0 };
    signer.seqs.set(epoch, { min: Math.min(range.min, p.seq), max: Math.max(range.max, p.seq) });
    const events: VerifyEvent[] = [];
    if (epoch !== ORIGINAL && !batchSeen.has(epoch)) {
      events.push({ kind: 'epoch', epoch, seq: p.seq, ...(lastEpoch !== undefined ? { previous: lastEpoch } : {}) });
    }
    batchSeen.add(epoch);
    lastEpoch = epoch;
    const chained = chain.add({ seq: p.seq, prev: p.prev, hash, readings: resolved.length, ...(p.gap ? { gap: p.gap } : {}) });
    if (!p.gap) events.push({ kind: 'batch', seq: p.seq, readings: resolved, clk: p.clk });
    events.push(...chained);
    return events;
  }

  function acceptKey(bytes: Uint8Array): { key: KeyEvent; events: VerifyEvent[] } {
    const fail = (reason: string): { key: KeyEvent; events: VerifyEvent[] } => {
      rejected++;
      return { key: { kind: 'key', ok: false, reason }, events: [] };
    };
    let signerKid: string;
    let a: ReturnType<typeof parseKeyAnnouncement>;
    try {
      const sign1 = verifySign1(bytes, keyForKid);
      if (sign1.contentType !== KEY_CONTENT_TYPE) return fail(`content type ${JSON.stringify(sign1.contentType)} is not a key announcement`);
      a = parseKeyAnnouncement(sign1.payload);
      signerKid = hex(sign1.kid);
    } catch (err) {
      return fail((err as Error).message);
    }
    if (a.dev !== opts.device) return fail(`key announcement is for device ${JSON.stringify(a.dev)}, expected ${JSON.stringify(opts.device)}`);
    const epoch = a.epoch ? hex(a.epoch) : ORIGINAL;
    epochOf(epoch); // an announcement may be the first thing seen of its epoch
    const at: EpochSeq = { epoch, seq: a.seq };
    const same = (x: EpochSeq | undefined): boolean => x !== undefined && x.epoch === at.epoch && x.seq === at.seq;
    const signer = keys.get(signerKid)!;
    const newKid = hex(a.newKid);
    const known = keys.get(newKid);
    if (known && same(known.from) && same(signer.until)) {
      return { key: { kind: 'key', ok: true, newKid, signedBy: signerKid, seq: a.seq, duplicate: true }, events: [] };
    }
    if (newKid === signerKid) return fail('key announcement names its own signing key');
    if (signer.until !== undefined) {
      return fail(`key announcement signed by key ${signerKid}, which was retired from seq ${signer.until.seq}: only the current key can announce`);
    }
    const signed = signer.seqs.get(epoch);
    if (signed && signed.max >= a.seq) {
      return fail(`key announcement says key ${signerKid} signs up to seq ${a.seq - 1}, but it signed seq ${signed.max}`);
    }
    const newSigned = known?.seqs.get(epoch);
    if (newSigned && newSigned.min < a.seq) {
      return fail(`key announcement says key ${newKid} signs from seq ${a.seq}, but it signed seq ${newSigned.min}`);
    }
    signer.until = at;
    keys.set(newKid, { pub: a.newKey, from: at, seqs: known?.seqs ?? new Map() });
    keyRollovers++;
    // batches that were rejected only because this key was not known yet
    const events: VerifyEvent[] = [];
    for (let i = 0; i < unknownKid.length;) {
      const u = unknownKid[i]!;
      if (u.kid !== newKid) { i++; continue; }
      unknownKid.splice(i, 1);
      rejected--; // its earlier rejection is revised by what accept() says now
      events.push(...accept(u.bytes));
    }
    return { key: { kind: 'key', ok: true, newKid, signedBy: signerKid, seq: a.seq, duplicate: false }, events };
  }

  function summary(): ChainSummary {
    const all = [...epochs].map(([epoch, c]) => ({ epoch, ...c.summary() })).filter((e) => e.epoch === ORIGINAL ? e.batches > 0 || epochs.size === 1 : true);
    const seen = all.filter((e) => e.batches > 0);
    const one = all.length === 1 ? all[0]! : undefined;
    const sum = (f: (e: EpochSummary) => number): number => all.reduce((n, e) => n + f(e), 0);
    const firsts = seen.map((e) => e.firstSeq!);
    const lasts = seen.map((e) => e.lastSeq!);
    return {
      batches: sum((e) => e.batches), readings: sum((e) => e.readings), duplicates: sum((e) => e.duplicates), rejected,
      conflicts: sum((e) => e.conflicts),
      gaps: all.flatMap((e) => e.gaps),
      missing: all.flatMap((e) => e.missing),
      explainedBreaks: sum((e) => e.explainedBreaks), unexplainedBreaks: sum((e) => e.unexplainedBreaks),
      ...(firsts.length ? { firstSeq: Math.min(...firsts) } : {}),
      ...(lasts.length ? { lastSeq: Math.max(...lasts) } : {}),
      // a stream that spans a restarted chain cannot be complete: the old chain's tail is lost untold
      complete: seen.length <= 1 && all.every((e) => e.complete),
      ...(keyRollovers > 0 ? { keyRollovers } : {}),
      ...(one && one.epoch === ORIGINAL ? {} : { epochs: all }),
    };
  }

  return { accept, acceptKey, keyForKid, summary };
}
