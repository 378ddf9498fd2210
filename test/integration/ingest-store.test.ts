// The ingest core against a real PostgreSQL server (no broker): a simulated
// fleet of real signed batches, delivered shuffled and twice, with a signed
// gap notice, an unexplained gap, a forged signature, an unenrolled device, a
// conflict, a chain break and a key rollover raced across two workers — every
// valid reading stored exactly once, every bad message in tapwire_rejects, and
// the report naming exactly the incomplete devices.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSystemClock } from '../../hal/clock.js';
import { createBatchEncoder, sha256 } from '../../agent/encode/batch.js';
import { fleetReport } from '../../agent/fleet/report.js';
import { enrol } from '../../agent/fleet/enroll.js';
import { openDb, type Db } from '../../agent/ingest/db.js';
import { createIngest, type Ingest } from '../../agent/ingest/ingest.js';
import { ensureSchema } from '../../agent/ingest/schema.js';
import { silentLogger } from '../../agent/log.js';
import { prng as seeded } from '../../agent/prng.js';
import { createFleetSim, createSimDevice, type SimBatch } from '../peers/fleet-sim.js';
import { startPostgres, type PostgresPeer } from '../peers/postgres.js';

let pg: PostgresPeer;
let dbN = 0;
const open: Db[] = [];

async function freshDb(): Promise<Db> {
  const db = await openDb(await pg.createDatabase(`ingest_${++dbN}`));
  open.push(db);
  await ensureSchema(db);
  return db;
}

const worker = (db: Db, name: string, extra: { parkTimeoutMs?: number } = {}): Ingest =>
  createIngest({ db, worker: name, clock: createSystemClock(), log: silentLogger, sweepIntervalMs: 100, ...extra });

const topic = (dev: string, leaf = 'data'): string => `tapwire/${dev}/${leaf}`;
const count = async (db: Db, sql: string, params: unknown[] = []): Promise<number> => Number((await db.query<{ n: string }>(sql, params))[0]!.n);

test.before(async () => { pg = await startPostgres({ settings: { fsync: 'off' } }); });
test.after(async () => {
  for (const db of open) await db.close().catch(() => undefined);
  await pg?.close();
});

test('a shuffled fleet with duplicates, a gap notice, a gap, a forgery, a stranger, a conflict and a chain break: every valid reading exactly once, the report names exactly the incomplete devices', async () => {
  const db = await freshDb();
  const sim = createFleetSim(24, 'st');
  const [told, holed, forgedDev, conflicted, broken] = sim.devices as [ReturnType<typeof createSimDevice>, ...ReturnType<typeof createSimDevice>[]];
  await enrol(db, sim.devices.map((d) => ({ dev: d.id, pubkey: d.enrolledKey })));
  const valid: SimBatch[] = [];
  const extra: Array<{ topic: string; bytes: Uint8Array }> = [];
  for (let r = 0; r < 4; r++) for (const d of sim.devices) valid.push(d.data(6));
  // told: batches 5 and 6 "dropped on the device", then a signed gap notice for them
  const toldDropped = [told.data(6), told.data(6)];
  valid.push(told.gap(toldDropped[0]!.seq, toldDropped[1]!.seq), told.data(6));
  // holed: batch 5 never arrives, batch 6 does
  const lost = holed!.data(6);
  valid.push(holed!.data(6));
  // forged: a real batch of forgedDev with its signature flipped
  const genuine = forgedDev!.data(6);
  const forged = new Uint8Array(genuine.bytes);
  forged[forged.length - 1]! ^= 0x01;
  extra.push({ topic: topic(forgedDev!.id), bytes: forged });
  valid.push(genuine);
  // a stranger: a device nobody enrolled
  const stranger = createSimDevice('stranger-1');
  extra.push({ topic: topic(stranger.id), bytes: stranger.data(6).bytes }, { topic: topic(stranger.id), bytes: stranger.data(6).bytes });
  // conflicted: the device signs a second, different batch 5 (its own key, same chain position)
  const c5 = conflicted!.data(6);
  valid.push(c5);
  const state4 = { seq: 4, prev: sha256(valid.find((b) => b.dev === conflicted!.id && b.seq === 4)!.bytes) };
  const fork = createBatchEncoder({ device: conflicted!.id, signer: conflicted!.signer(), clockSynced: () => true, nowMs: () => 0 }, state4)
    .encodeReadings([{ name: 'sim:temp', time: 1_760_000_000, v: -999 }]);
  // broken: batch 5 whose prev is not the hash of batch 4 (and the real 5 never arrives)
  broken!.data(6);
  const bad5 = createBatchEncoder({ device: broken!.id, signer: broken!.signer(), clockSynced: () => true, nowMs: () => 0 }, { seq: 4, prev: sha256(new Uint8Array([7])) })
    .encodeReadings([{ name: 'sim:temp', time: 1_760_000_000, v: -1 }]);
  extra.push({ topic: 'tapwire/not a device/data', bytes: new Uint8Array([1, 2, 3]) });

  // delivery: shuffled, every valid batch twice, on two workers at once
  const random = seeded(17);
  const deliveries = [...valid, ...valid].map((b) => ({ topic: topic(b.dev), bytes: b.bytes }));
  deliveries.push(...extra);
  for (let i = deliveries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
  }
  const a = worker(db, 'a');
  const b = worker(db, 'b');
  await Promise.all(deliveries.map((d, i) => (i % 2 === 0 ? a : b).data(d.topic, d.bytes)));
  // the fork arrives after the real batch 5 is stored
  const conflict = await a.data(topic(conflicted!.id), fork.bytes);
  assert.is(conflict.kind === 'reject' && conflict.code, 'conflict');
  // the broken 5 arrives after the real 4 is stored. (Two signed batches that contradict each
  // other: whichever is stored first stands and the later one is refused as a chain break;
  // delivered in the shuffle, either could be first and the counts below would not be fixed.)
  const chainBreak = await b.data(topic(broken!.id), bad5.bytes);
  assert.is(chainBreak.kind === 'reject' && chainBreak.code, 'chain');

  const expected = valid.reduce((n, v) => n + v.readings, 0);
  assert.is(await count(db, 'SELECT count(*) AS n FROM tapwire_readings'), expected, 'every valid reading once');
  assert.is(await count(db, 'SELECT count(*) AS n FROM tapwire_batches'), valid.length, 'every valid batch once');
  assert.is(await count(db, `SELECT count(*) AS n FROM tapwire_readings WHERE value = -999 OR value = -1`), 0, 'no reading of a refused batch');
  const rejects = await db.query<{ dev: string | null; code: string }>('SELECT dev, code FROM tapwire_rejects ORDER BY dev, code');
  assert.equal(rejects.map((r) => `${r.dev}:${r.code}`).sort(), [
    `${broken!.id}:chain`, `${conflicted!.id}:conflict`, `${forgedDev!.id}:forged`, 'null:malformed', 'stranger-1:unenrolled', 'stranger-1:unenrolled',
  ].sort());

  const report = await fleetReport(db);
  assert.equal(report.devices.filter((d) => !d.complete).map((d) => d.dev).sort(), [holed!.id, conflicted!.id, broken!.id].sort());
  const t = report.devices.find((d) => d.dev === told.id)!;
  assert.ok(t.complete);
  assert.equal(t.explained.map((g) => [g.first, g.last, g.reason]), [[toldDropped[0]!.seq, toldDropped[1]!.seq, 'journal-full']]);
  assert.equal(report.devices.find((d) => d.dev === holed!.id)!.unexplained, [[lost.seq, lost.seq]]);
  assert.equal(report.devices.find((d) => d.dev === broken!.id)!.unexplained, [], 'nothing after seq 4 stored: no hole, but a chain break');
  assert.equal(report.unenrolled, [{ dev: 'stranger-1', rejects: 2 }]);
  const c = { ...a.counters() };
  assert.ok((c['data.duplicate'] ?? 0) + (b.counters()['data.duplicate'] ?? 0) >= valid.length, 'the second copies were no-ops');
  await a.stop();
  await b.stop();
});

test('a batch signed by a freshly announced key on another worker is parked, not rejected, and stored when the announcement is recorded', async () => {
  const db = await freshDb();
  const dev = createSimDevice('roll-1');
  await enrol(db, [{ dev: dev.id, pubkey: dev.enrolledKey }]);
  const a = worker(db, 'a');
  const b = worker(db, 'b');
  const before = [dev.data(3), dev.data(3)];
  for (const x of before) assert.is((await a.data(topic(dev.id), x.bytes)).kind, 'stored');
  const { announcement, from } = dev.rotate();
  const first = dev.data(3);
  assert.is(first.seq, from);
  // worker b has not seen the announcement yet: parked (kept), not rejected
  const parked = await b.data(topic(dev.id), first.bytes);
  assert.is(parked.kind, 'parked');
  assert.is(await count(db, 'SELECT count(*) AS n FROM tapwire_parked'), 1);
  // worker a records the announcement: the parked batch is checked and stored in the same transaction
  const roll = await a.key(topic(dev.id, 'key'), announcement);
  assert.ok(roll && roll.kind === 'rollover' && !roll.duplicate && roll.unparked.map((u) => u.kind).join() === 'stored', JSON.stringify(roll));
  // worker b sees the same retained announcement: already recorded
  const again = await b.key(topic(dev.id, 'key'), announcement);
  assert.ok(again && again.kind === 'rollover' && again.duplicate);
  // the next batch by the new key goes straight in on either worker; the old key is refused from `from` on
  assert.is((await b.data(topic(dev.id), dev.data(3).bytes)).kind, 'stored');
  const thief = createBatchEncoder({ device: dev.id, signer: createSimDevice('roll-1').signer(), clockSynced: () => true, nowMs: () => 0 }, { seq: from + 5, prev: sha256(new Uint8Array(1)) })
    .encodeReadings([{ name: 'sim:temp', time: 1_760_000_000, v: 1 }]);
  const stolen = await a.data(topic(dev.id), thief.bytes);
  assert.is(stolen.kind === 'reject' && stolen.code, 'retired-key');
  assert.is(await count(db, 'SELECT count(*) AS n FROM tapwire_parked'), 0);
  const report = await fleetReport(db);
  assert.equal(report.devices.map((d) => [d.dev, d.batches, d.keyRollovers, d.complete]), [[dev.id, 4, 1, true]]);
  await a.stop();
  await b.stop();
});

test('a parked batch whose key is never announced is rejected after the park timeout, and the report says the chain is incomplete until then', async () => {
  const db = await freshDb();
  const dev = createSimDevice('park-1');
  await enrol(db, [{ dev: dev.id, pubkey: dev.enrolledKey }]);
  const w = worker(db, 'w', { parkTimeoutMs: 1000 });
  assert.is((await w.data(topic(dev.id), dev.data(2).bytes)).kind, 'stored');
  dev.rotate(); // the announcement is lost
  assert.is((await w.data(topic(dev.id), dev.data(2).bytes)).kind, 'parked');
  const mid = await fleetReport(db);
  assert.is(mid.devices[0]!.parked, 1);
  assert.is(mid.devices[0]!.complete, false);
  w.start();
  const deadline = Date.now() + 20_000;
  while (await count(db, 'SELECT count(*) AS n FROM tapwire_parked') > 0) {
    if (Date.now() > deadline) throw new Error('parked batch never expired');
    await new Promise((r) => setTimeout(r, 100));
  }
  const rejects = await db.query<{ code: string; reason: string }>('SELECT code, reason FROM tapwire_rejects');
  assert.is(rejects.length, 1);
  assert.is(rejects[0]!.code, 'unknown-key');
  assert.match(rejects[0]!.reason, /never announced/);
  await w.stop();
});

test('a device that restarted its chain (lost chain state: a new epoch, payload v2) is stored, not refused: the epoch starts with prev = zeros after the old chain; a seq the old chain holds stays a conflict; the report tells the restart and never calls it complete', async () => {
  const db = await freshDb();
  const dev = createSimDevice('epoch-1');
  await enrol(db, [{ dev: dev.id, pubkey: dev.enrolledKey }]);
  const w = worker(db, 'w');
  const old = [dev.data(3), dev.data(3), dev.data(3), dev.data(3)];
  for (const x of old) assert.is((await w.data(topic(dev.id), x.bytes)).kind, 'stored');
  // the device kept evidence of seqs up to 3 only (seq 4 left, then its state was lost): its new epoch starts at 4
  const epochA = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const restarted = createBatchEncoder({ device: dev.id, signer: dev.signer(), clockSynced: () => true, nowMs: () => 0 }, { seq: 3, prev: new Uint8Array(32), epoch: epochA });
  const reused = restarted.encodeReadings([{ name: 'sim:temp', time: 1_760_000_100, v: 4 }]);
  const clash = await w.data(topic(dev.id), reused.bytes);
  assert.ok(clash.kind === 'reject' && clash.code === 'conflict' && /restarted chain/.test(clash.reason), JSON.stringify(clash));
  // a restart after every seq the cloud holds: its first batch links to nothing before it
  const epochB = new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9]);
  const fresh = createBatchEncoder({ device: dev.id, signer: dev.signer(), clockSynced: () => true, nowMs: () => 0 }, { seq: 4, prev: new Uint8Array(32), epoch: epochB });
  const e5 = fresh.encodeReadings([{ name: 'sim:temp', time: 1_760_000_200, v: 5 }]);
  const e6 = fresh.encodeReadings([{ name: 'sim:temp', time: 1_760_000_201, v: 6 }]);
  assert.is((await w.data(topic(dev.id), e6.bytes)).kind, 'stored');
  assert.is((await w.data(topic(dev.id), e5.bytes)).kind, 'stored', 'the first batch of the epoch: prev = zeros, not the hash of the old chain\'s seq 4');
  // within the epoch the chain is checked as ever
  const forkOfEpoch = createBatchEncoder({ device: dev.id, signer: dev.signer(), clockSynced: () => true, nowMs: () => 0 }, { seq: 6, prev: sha256(new Uint8Array([1])), epoch: epochB })
    .encodeReadings([{ name: 'sim:temp', time: 1_760_000_202, v: -7 }]);
  const broken = await w.data(topic(dev.id), forkOfEpoch.bytes);
  assert.is(broken.kind === 'reject' && broken.code, 'chain');
  const stored = await db.query<{ seq: string; epoch: string | null }>(`SELECT seq, encode(epoch, 'hex') AS epoch FROM tapwire_batches WHERE dev = $1 ORDER BY seq`, [dev.id]);
  assert.equal(stored.map((r) => [Number(r.seq), r.epoch]), [[1, null], [2, null], [3, null], [4, null], [5, '0909090909090909'], [6, '0909090909090909']]);
  const report = await fleetReport(db);
  const d = report.devices[0]!;
  assert.equal([d.batches, d.chainRestarts, d.unexplained, d.complete], [6, 1, [], false]);
  await w.stop();
});

test.run();
