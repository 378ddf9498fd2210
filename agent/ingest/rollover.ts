// Key rollover announcements (retained on <prefix>/<dev>/key, signed by the
// old key) checked against the key history in the store and recorded there,
// so every worker verifies against one history. Every worker sees every
// announcement (the key topic is not shared): the first records it, the rest
// find it recorded. In the same transaction, batches parked for the new key
// are checked and stored — no batch is lost to the race between a rollover
// seen on one worker and the first batch signed by the new key on another.

import { verifySign1 } from '../encode/cose.js';
import { kidOf } from '../encode/signer.js';
import { KEY_CONTENT_TYPE, parseKeyAnnouncement, type KeyAnnouncement } from '../ota/key-announcement.js';
import { judgeRollover, type KeySpan } from '../verify/key-rules.js';
import { hexOf, reject, type Parked, type Reject } from './check.js';
import type { Sql } from './db.js';
import { loadKeys, lockDevices } from './device-keys.js';
import { insertRejects, storeChecked, type Outcome } from './store.js';

export type RolloverOutcome =
  | { kind: 'rollover'; dev: string; from: number; newKid: string; signedBy: string; duplicate: boolean; unparked: Outcome[] }
  | Reject;

/** Parked batches re-checked per transaction when their key arrives. */
const UNPARK_CHUNK = 200;

async function spansOf(tx: Sql, dev: string, kids: Uint8Array[]): Promise<Map<string, { minSeq: number; maxSeq: number }>> {
  const rows = await tx.query<{ kid: Uint8Array; lo: string | number; hi: string | number }>(
    `SELECT kid, min(seq) AS lo, max(seq) AS hi FROM tapwire_batches
      WHERE dev = $1 AND kid IN (SELECT decode(k, 'hex') FROM unnest($2::text[]) AS k) GROUP BY kid`,
    [dev, kids.map(hexOf)]);
  return new Map(rows.map((r) => [hexOf(r.kid), { minSeq: Number(r.lo), maxSeq: Number(r.hi) }]));
}

/** Checks parked batches of (dev, kid) now that the key may be known; returns what became of them. */
export async function unparkKey(tx: Sql, dev: string, kid: Uint8Array, worker: string): Promise<Outcome[]> {
  const rows = await tx.query<{ hash: Uint8Array; topic: string; message: Uint8Array }>(
    'SELECT hash, topic, message FROM tapwire_parked WHERE dev = $1 AND kid = $2 ORDER BY received_at LIMIT ' + UNPARK_CHUNK, [dev, Buffer.from(kid)]);
  if (rows.length === 0) return [];
  const items: Parked[] = rows.map((r) => ({
    kind: 'park', topic: r.topic, dev, kid, kidHex: hexOf(kid), hash: new Uint8Array(r.hash), bytes: new Uint8Array(r.message),
  }));
  return storeChecked(tx, items, worker);
}

/** Records one announcement from `topic` (device `dev`) inside transaction `tx`. */
export async function recordRollover(tx: Sql, topic: string, dev: string, bytes: Uint8Array, worker: string): Promise<RolloverOutcome> {
  const refuse = async (code: Reject['code'], reason: string): Promise<Reject> => {
    const r = reject(topic, dev, null, code, reason);
    await insertRejects(tx, [r], worker, true); // retained: the same refusal comes back on every subscribe
    return r;
  };
  const enrolled = await lockDevices(tx, [dev]);
  if (!enrolled.has(dev)) return refuse('unenrolled', `key announcement for device ${dev}, which is not enrolled`);
  const keys = (await loadKeys(tx, [dev])).get(dev)!;
  let signerKid = '';
  let a: KeyAnnouncement;
  try {
    const s = verifySign1(bytes, (kid) => keys.get((signerKid = hexOf(kid)))?.pub);
    if (s.contentType !== KEY_CONTENT_TYPE) return refuse('malformed', `content type ${JSON.stringify(s.contentType)} is not a key announcement`);
    a = parseKeyAnnouncement(s.payload);
  } catch (err) {
    const code = (err as { code?: string }).code;
    return refuse(code === 'ERR_COSE_KID_UNKNOWN' ? 'unknown-key' : code === 'ERR_COSE_SIGNATURE' ? 'forged' : 'malformed', `key announcement: ${(err as Error).message}`);
  }
  if (a.dev !== dev) return refuse('wrong-device', `key announcement names device ${JSON.stringify(a.dev)} but came on the topic of ${dev}`);
  const newKid = hexOf(a.newKid);
  const spans = await spansOf(tx, dev, [Buffer.from(signerKid, 'hex'), a.newKid]);
  const spanOf = (kidHex: string): KeySpan => {
    const k = keys.get(kidHex);
    const s = spans.get(kidHex);
    return { ...(k?.from !== undefined ? { from: k.from } : {}), ...(k?.until !== undefined ? { until: k.until } : {}), minSeq: s?.minSeq ?? Infinity, maxSeq: s?.maxSeq ?? 0 };
  };
  const verdict = judgeRollover(signerKid, spanOf(signerKid), newKid, keys.has(newKid) ? spanOf(newKid) : undefined, a.seq);
  if (!verdict.ok) return refuse('key-rule', verdict.reason);
  if (!verdict.duplicate) {
    const signer = keys.get(signerKid)!;
    await tx.query(
      `INSERT INTO tapwire_keys (dev, kid, pubkey, valid_until) VALUES ($1, $2, $3, $4)
       ON CONFLICT (dev, kid) DO UPDATE SET valid_until = EXCLUDED.valid_until`,
      [dev, Buffer.from(kidOf(signer.pub)), Buffer.from(signer.pub), a.seq]);
    await tx.query(
      `INSERT INTO tapwire_keys (dev, kid, pubkey, valid_from, announced_by, announcement) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (dev, kid) DO UPDATE SET valid_from = EXCLUDED.valid_from, announced_by = EXCLUDED.announced_by, announcement = EXCLUDED.announcement`,
      [dev, Buffer.from(a.newKid), Buffer.from(a.newKey), a.seq, Buffer.from(signerKid, 'hex'), Buffer.from(bytes)]);
  }
  const unparked = await unparkKey(tx, dev, a.newKid, worker);
  return { kind: 'rollover', dev, from: a.seq, newKid, signedBy: signerKid, duplicate: verdict.duplicate, unparked };
}
