// The key-chain rules, one home for every verifier (the in-memory chain of
// `tapwire verify` and the database-backed fleet ingest): which seqs a key may
// sign, and when a rollover announcement is acceptable.
//
//   batch seq:    ... S-2  S-1 │ S   S+1 ...
//   old key:      accepted ────┤ rejected (retired at S, "until")
//   new key:      rejected     ├──── accepted (valid from S, "from")

/** What a verifier knows of one key of a device's chain. */
export interface KeySpan {
  /** first seq it may sign (announced keys; absent for an enrolled / initial key) */
  from?: number;
  /** first seq it may no longer sign (after a rollover) */
  until?: number;
  /** lowest and highest batch seq accepted with it (Infinity / 0 before any) */
  minSeq: number;
  maxSeq: number;
}

/** Why `seq` may not be signed by this key, or undefined when it may. */
export function keySpanProblem(kidHex: string, span: Pick<KeySpan, 'from' | 'until'>, seq: number): string | undefined {
  if (span.until !== undefined && seq >= span.until) {
    return `batch seq ${seq} is signed by key ${kidHex}, retired from seq ${span.until} by a key rollover`;
  }
  if (span.from !== undefined && seq < span.from) {
    return `batch seq ${seq} is signed by key ${kidHex}, which signs only from seq ${span.from}`;
  }
  return undefined;
}

export type RolloverVerdict = { ok: true; duplicate: boolean } | { ok: false; reason: string };

/**
 * An announcement, signed by `signerKid`, that `newKid` signs from `seq` on.
 * `known` is what the verifier already holds for newKid (if anything).
 */
export function judgeRollover(signerKid: string, signer: KeySpan, newKid: string, known: KeySpan | undefined, seq: number): RolloverVerdict {
  if (known && known.from === seq && signer.until === seq) return { ok: true, duplicate: true };
  if (newKid === signerKid) return { ok: false, reason: 'key announcement names its own signing key' };
  if (signer.until !== undefined) {
    return { ok: false, reason: `key announcement signed by key ${signerKid}, which was retired from seq ${signer.until}: only the current key can announce` };
  }
  if (signer.maxSeq >= seq) {
    return { ok: false, reason: `key announcement says key ${signerKid} signs up to seq ${seq - 1}, but it signed seq ${signer.maxSeq}` };
  }
  if (known && known.minSeq < seq) {
    return { ok: false, reason: `key announcement says key ${newKid} signs from seq ${seq}, but it signed seq ${known.minSeq}` };
  }
  return { ok: true, duplicate: false };
}
