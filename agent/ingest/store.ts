// Storing checked messages, exactly once, inside the caller's transaction:
// the devices' rows are locked, their keys re-read, every batch checked
// against the chain the database holds (duplicate, conflict, prev-hash to the
// stored neighbours of its chain epoch), then batch rows, readings, rejects and parked batches go
// in with a few set-based inserts (unnest of arrays: one statement per table
// whatever the row count). Invariant: a batch's readings are stored in the
// same transaction as its batch row, or not at all; a duplicate is a no-op.

import { ZERO_HASH } from '../encode/batch.js';
import { keySpanProblem } from '../verify/key-rules.js';
import { checkBatch, hexOf, reject, type Checked, type CheckedBatch, type DeviceKeys, type Parked, type Reject } from './check.js';
import type { Sql } from './db.js';
import { loadKeys, lockDevices } from './device-keys.js';

export type Outcome =
  | { kind: 'stored'; dev: string; seq: number; readings: number }
  | { kind: 'duplicate'; dev: string; seq: number }
  | { kind: 'parked'; dev: string; kidHex: string }
  | Reject;

/** A stored batch as its neighbours see it; `epoch` '' = the device's original chain. */
interface Link { hash: Uint8Array; prev: Uint8Array; epoch: string }

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const at = (dev: string, seq: number): string => `${dev}\u0000${seq}`;

/** Re-checks an item against the keys read under the device lock (they may have changed since). */
function settle(item: Checked, enrolled: Set<string>, keys: Map<string, DeviceKeys>): Checked {
  if (item.kind === 'reject') return item;
  if (!enrolled.has(item.dev)) return reject(item.topic, item.dev, item.kind === 'batch' ? item.seq : null, 'unenrolled', `device ${item.dev} is not enrolled (tapwire fleet enroll)`);
  const devKeys = keys.get(item.dev);
  if (item.kind === 'park') return devKeys?.has(item.kidHex) ? checkBatch(item.topic, item.dev, item.bytes, devKeys) : item;
  const key = devKeys?.get(item.kidHex);
  if (!key) return reject(item.topic, item.dev, item.seq, 'unknown-key', `key ${item.kidHex} is no longer a key of ${item.dev}`);
  const span = keySpanProblem(item.kidHex, key, item.seq);
  return span ? reject(item.topic, item.dev, item.seq, 'retired-key', span) : item;
}

async function loadLinks(tx: Sql, batches: CheckedBatch[]): Promise<Map<string, Link>> {
  const links = new Map<string, Link>();
  if (batches.length === 0) return links;
  const rows = await tx.query<{ dev: string; seq: string | number; hash: Uint8Array; prev: Uint8Array; epoch: string }>(
    `SELECT b.dev, b.seq, b.hash, b.prev, coalesce(encode(b.epoch, 'hex'), '') AS epoch FROM tapwire_batches b
       JOIN unnest($1::text[], $2::int8[]) AS q(dev, seq) ON b.dev = q.dev AND b.seq BETWEEN q.seq - 1 AND q.seq + 1`,
    [batches.map((b) => b.dev), batches.map((b) => b.seq)]);
  for (const r of rows) links.set(at(r.dev, Number(r.seq)), { hash: new Uint8Array(r.hash), prev: new Uint8Array(r.prev), epoch: r.epoch });
  return links;
}

/**
 * The chain verdict for one batch against what is stored (and stored earlier
 * in this group). Prev-hashes link only within a chain epoch: the first batch
 * of a restarted chain has prev = zeros, whatever the old chain stored before
 * it, and neighbours of two epochs are not compared (the report tells the
 * restart). A (dev, seq) names one stored batch (the contract's key), so a
 * restarted chain that reuses a seq the old one stored is a conflict.
 */
function chainCheck(b: CheckedBatch, links: Map<string, Link>): Outcome | undefined {
  const seen = links.get(at(b.dev, b.seq));
  if (seen) {
    if (same(seen.hash, b.hash)) return { kind: 'duplicate', dev: b.dev, seq: b.seq };
    const why = seen.epoch === b.epoch
      ? 'the device signed two batches with one seq'
      : 'a restarted chain (new epoch) reused a seq of the chain before it';
    return reject(b.topic, b.dev, b.seq, 'conflict', `batch seq ${b.seq} differs from the stored batch seq ${b.seq}: ${why}`);
  }
  if (b.seq === 1 && !same(b.prev, ZERO_HASH)) return reject(b.topic, b.dev, b.seq, 'chain', 'batch seq 1 must have prev = 32 zero bytes');
  const before = links.get(at(b.dev, b.seq - 1));
  if (before && before.epoch === b.epoch && !same(before.hash, b.prev)) {
    return reject(b.topic, b.dev, b.seq, 'chain', `prev of batch seq ${b.seq} is not the hash of the stored batch seq ${b.seq - 1}`);
  }
  const after = links.get(at(b.dev, b.seq + 1));
  if (after && after.epoch === b.epoch && !same(after.prev, b.hash)) {
    return reject(b.topic, b.dev, b.seq, 'chain', `hash of batch seq ${b.seq} is not the prev of the stored batch seq ${b.seq + 1}`);
  }
  return undefined;
}

// timestamptz spans 4713 BC .. 294276 AD; SenML times outside years 1..9999 are refused before
const MIN_TIME = -62_135_596_800;
const MAX_TIME = 253_402_300_799;

/** Values PostgreSQL would refuse (and so fail the whole group): refused per batch instead. */
function unstorable(b: CheckedBatch): string | undefined {
  for (let i = 0; i < b.readings.length; i++) {
    const r = b.readings[i]!;
    if (!(r.time >= MIN_TIME && r.time <= MAX_TIME)) return `batch seq ${b.seq}: reading ${i} time ${r.time} is outside years 1..9999`;
    if (r.name.includes('\0') || r.unit?.includes('\0') || r.vs?.includes('\0')) return `batch seq ${b.seq}: reading ${i} has a NUL character`;
  }
  if (b.gap?.[2].includes('\0')) return `batch seq ${b.seq}: gap reason has a NUL character`;
  return undefined;
}

async function insertBatches(tx: Sql, batches: CheckedBatch[], worker: string): Promise<void> {
  if (batches.length === 0) return;
  await tx.query(
    `INSERT INTO tapwire_batches (dev, seq, hash, prev, kind, kid, clk, readings, gap_first, gap_last, gap_reason, worker, epoch)
     SELECT dev, seq, decode(hash, 'hex'), decode(prev, 'hex'), kind, decode(kid, 'hex'), clk, n, gf, gl, gr, $12, decode(nullif(ep, ''), 'hex')
       FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int4[], $9::int8[], $10::int8[], $11::text[], $13::text[])
         AS x(dev, seq, hash, prev, kind, kid, clk, n, gf, gl, gr, ep)`,
    [
      batches.map((b) => b.dev), batches.map((b) => b.seq), batches.map((b) => hexOf(b.hash)), batches.map((b) => hexOf(b.prev)),
      batches.map((b) => (b.gap ? 'gap' : 'data')), batches.map((b) => b.kidHex), batches.map((b) => b.clk), batches.map((b) => b.readings.length),
      batches.map((b) => b.gap?.[0] ?? null), batches.map((b) => b.gap?.[1] ?? null), batches.map((b) => b.gap?.[2] ?? null), worker,
      batches.map((b) => b.epoch),
    ]);
  const n = batches.reduce((s, b) => s + b.readings.length, 0);
  if (n === 0) return;
  const dev: string[] = new Array(n), name: string[] = new Array(n);
  const seq: number[] = new Array(n), idx: number[] = new Array(n), time: number[] = new Array(n);
  const value: Array<number | null> = new Array(n), vs: Array<string | null> = new Array(n);
  const vb: Array<boolean | null> = new Array(n), unit: Array<string | null> = new Array(n);
  let k = 0;
  for (const b of batches) {
    for (let i = 0; i < b.readings.length; i++, k++) {
      const r = b.readings[i]!;
      dev[k] = b.dev; seq[k] = b.seq; idx[k] = i; name[k] = r.name; time[k] = r.time;
      value[k] = r.v ?? null; vs[k] = r.vs ?? null; vb[k] = r.vb ?? null; unit[k] = r.unit ?? null;
    }
  }
  await tx.query(
    `INSERT INTO tapwire_readings (dev, seq, idx, name, time, value, vs, vb, unit)
     SELECT dev, seq, idx, name, to_timestamp(t), v, vs, vb, u
       FROM unnest($1::text[], $2::int8[], $3::int4[], $4::text[], $5::float8[], $6::float8[], $7::text[], $8::bool[], $9::text[])
         AS x(dev, seq, idx, name, t, v, vs, vb, u)`,
    [dev, seq, idx, name, time, value, vs, vb, unit]);
}

/** Records rejects (all of them, or for key topics only those not recorded before: retained messages come back). */
export async function insertRejects(tx: Sql, rejects: Reject[], worker: string, onlyNew = false): Promise<void> {
  if (rejects.length === 0) return;
  await tx.query(
    `INSERT INTO tapwire_rejects (topic, dev, seq, reason, code, worker)
     SELECT topic, dev, seq, reason, code, $6 FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[]) AS x(topic, dev, seq, reason, code)
     ${onlyNew ? 'WHERE NOT EXISTS (SELECT 1 FROM tapwire_rejects r WHERE r.topic = x.topic AND r.reason = x.reason)' : ''}`,
    [rejects.map((r) => r.topic), rejects.map((r) => r.dev), rejects.map((r) => r.seq), rejects.map((r) => r.reason), rejects.map((r) => r.code), worker]);
}

async function parkAll(tx: Sql, parked: Parked[]): Promise<void> {
  if (parked.length === 0) return;
  await tx.query(
    `INSERT INTO tapwire_parked (dev, hash, kid, topic, message)
     SELECT dev, decode(hash, 'hex'), decode(kid, 'hex'), topic, decode(msg, 'hex')
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS x(dev, hash, kid, topic, msg)
     ON CONFLICT (dev, hash) DO NOTHING`,
    [parked.map((p) => p.dev), parked.map((p) => hexOf(p.hash)), parked.map((p) => p.kidHex), parked.map((p) => p.topic), parked.map((p) => hexOf(p.bytes))]);
}

async function unpark(tx: Sql, settled: Parked[]): Promise<void> {
  if (settled.length === 0) return;
  await tx.query(
    `DELETE FROM tapwire_parked p USING unnest($1::text[], $2::text[]) AS x(dev, hash)
      WHERE p.dev = x.dev AND p.hash = decode(x.hash, 'hex')`,
    [settled.map((p) => p.dev), settled.map((p) => hexOf(p.hash))]);
}

/**
 * Stores `items` (in arrival order) inside transaction `tx`; returns one
 * outcome per item. Parked items whose key is now known are checked and
 * stored (or rejected) and leave tapwire_parked.
 */
export async function storeChecked(tx: Sql, items: Checked[], worker: string): Promise<Outcome[]> {
  const devs = items.flatMap((i) => (i.kind === 'reject' ? [] : [i.dev]));
  const enrolled = await lockDevices(tx, devs);
  const keys = await loadKeys(tx, [...enrolled]);
  const settled = items.map((i) => settle(i, enrolled, keys));
  const settledParks = items.filter((i, n): i is Parked => i.kind === 'park' && settled[n]!.kind !== 'park');
  const links = await loadLinks(tx, settled.filter((i): i is CheckedBatch => i.kind === 'batch'));
  const outcomes: Outcome[] = [];
  const toStore: CheckedBatch[] = [];
  for (const item of settled) {
    if (item.kind !== 'batch') {
      outcomes.push(item.kind === 'park' ? { kind: 'parked', dev: item.dev, kidHex: item.kidHex } : item);
      continue;
    }
    const problem = unstorable(item);
    const verdict = problem ? reject(item.topic, item.dev, item.seq, 'malformed', problem) : chainCheck(item, links);
    if (verdict) { outcomes.push(verdict); continue; }
    links.set(at(item.dev, item.seq), { hash: item.hash, prev: item.prev, epoch: item.epoch });
    toStore.push(item);
    outcomes.push({ kind: 'stored', dev: item.dev, seq: item.seq, readings: item.readings.length });
  }
  await insertBatches(tx, toStore, worker);
  await insertRejects(tx, outcomes.filter((o): o is Reject => o.kind === 'reject'), worker);
  await parkAll(tx, settled.filter((i): i is Parked => i.kind === 'park'));
  await unpark(tx, settledParks);
  return outcomes;
}
