// Fleet ingest end to end with real peers: a real Mosquitto (MQTT 5 shared
// subscription), a real PostgreSQL, two `tapwire ingest` worker processes in
// one share group, a simulated fleet of real signed batches published shuffled
// and twice, with a signed gap notice, an unexplained gap, a forged signature,
// an unenrolled device and a key rollover whose first batch arrives before its
// announcement. One worker is killed with SIGKILL while the backlog drains and
// started again with the same name: every valid reading is stored exactly
// once, the rejects are recorded, and `tapwire fleet report` names exactly the
// incomplete device.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt, { type MqttClient } from 'mqtt';
import { enrol } from '../../agent/fleet/enroll.js';
import { openDb, type Db } from '../../agent/ingest/db.js';
import { ensureSchema } from '../../agent/ingest/schema.js';
import { prng as seeded } from '../../agent/prng.js';
import { runCli } from '../peers/agent-process.js';
import { createFleetSim, createSimDevice, type SimBatch } from '../peers/fleet-sim.js';
import { startIngestProcess, type IngestProcess } from '../peers/ingest-process.js';
import { startMosquitto, type MosquittoPeer } from '../peers/mosquitto.js';
import { startPostgres, type PostgresPeer } from '../peers/postgres.js';
import { waitFor } from '../helpers.js';

let pg: PostgresPeer | undefined;
let broker: MosquittoPeer | undefined;
const workers: IngestProcess[] = [];

test.after(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) await w.kill9();
  await broker?.close();
  await pg?.close();
});

const n = async (db: Db, sql: string): Promise<number> => Number((await db.query<{ n: string }>(sql))[0]!.n);

async function publish(client: MqttClient, topic: string, bytes: Uint8Array, retain = false): Promise<void> {
  await client.publishAsync(topic, Buffer.from(bytes), { qos: 1, retain });
}

test('two workers in one share group, one killed with SIGKILL midway and restarted: every valid reading exactly once, rejects recorded, the report names exactly the incomplete device', async () => {
  pg = await startPostgres({ settings: { fsync: 'off' } });
  broker = await startMosquitto({ extraConfig: ['max_queued_messages 0'] });
  const url = await pg.createDatabase('fleet');
  const db = await openDb(url);
  try {
    await ensureSchema(db);
    const sim = createFleetSim(30, 'cab');
    const [told, holed, forgedDev, rolled] = sim.devices as [typeof sim.devices[0], ...typeof sim.devices];
    const enrolled = await runCli(['fleet', 'enroll', '--db', url, '--device', told.id, '--pubkey', Buffer.from(told.enrolledKey).toString('hex')]);
    assert.is(enrolled.code, 0, enrolled.stderr);
    await enrol(db, sim.devices.slice(1).map((d) => ({ dev: d.id, pubkey: d.enrolledKey })));

    const valid: SimBatch[] = sim.rounds(8, 5);
    // told: 2 batches dropped on the device, then a signed gap notice for them
    const dropped = [told.data(5), told.data(5)];
    valid.push(told.gap(dropped[0]!.seq, dropped[1]!.seq, 'journal-full'), told.data(5));
    // holed: one batch never arrives
    holed!.data(5);
    valid.push(holed!.data(5));
    const genuine = forgedDev!.data(5);
    valid.push(genuine);
    const forged = new Uint8Array(genuine.bytes);
    forged[forged.length - 1]! ^= 0x80;
    const stranger = createSimDevice('stranger-9');
    // delivery order: shuffled, every valid batch twice
    const random = seeded(4242);
    const copies = [...valid, ...valid];
    for (let i = copies.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [copies[i], copies[j]] = [copies[j]!, copies[i]!];
    }

    const start = (worker: string): Promise<IngestProcess> => startIngestProcess({ url: broker!.url, db: url, worker, share: 'fleet', lanes: 3 });
    let a = await start('wa');
    const b = await start('wb');
    workers.push(a, b);
    const pub = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clean: true });
    try {
      // the backlog goes out while both drain it; worker a dies a third of the way in
      const half = Math.floor(copies.length / 2);
      for (const c of copies.slice(0, half)) await publish(pub, `tapwire/${c.dev}/data`, c.bytes);
      await waitFor(async () => (await n(db, 'SELECT count(*) AS n FROM tapwire_batches')) >= valid.length / 3, 30_000, 'a third stored');
      await a.kill9();
      assert.ok((await n(db, 'SELECT count(*) AS n FROM tapwire_batches')) < valid.length, 'killed midway, not after the end');
      for (const c of copies.slice(half)) await publish(pub, `tapwire/${c.dev}/data`, c.bytes);
      await publish(pub, `tapwire/${forgedDev!.id}/data`, forged);
      await publish(pub, `tapwire/${stranger.id}/data`, stranger.data(5).bytes);
      // a rollover whose first batch (and a second) arrive before the announcement
      const { announcement, from } = rolled!.rotate();
      const afterRoll = [rolled!.data(5), rolled!.data(5)];
      valid.push(...afterRoll);
      for (const x of afterRoll) await publish(pub, `tapwire/${rolled!.id}/data`, x.bytes);
      await waitFor(async () => (await n(db, 'SELECT count(*) AS n FROM tapwire_parked')) + (await n(db, `SELECT count(*) AS n FROM tapwire_batches WHERE dev = '${rolled!.id}' AND seq >= ${from}`)) >= 1, 30_000, 'first batch by the new key seen');
      await publish(pub, `tapwire/${rolled!.id}/key`, announcement, true);

      // worker a comes back under its name: its sessions give it what it had not acknowledged
      a = await start('wa');
      workers.push(a);
      const expectedReadings = valid.reduce((s, v) => s + v.readings, 0);
      await waitFor(async () => (await n(db, 'SELECT count(*) AS n FROM tapwire_batches')) >= valid.length
        && (await n(db, 'SELECT count(*) AS n FROM tapwire_rejects')) >= 2, 120_000, 'every valid batch stored');
      assert.match(a.stderr(), /session=resumed/, 'the restarted worker resumed its sessions');
      // let anything still in flight land before counting exactly
      const codes = [await a.stop(), await b.stop()];
      assert.equal(codes, [0, 0], `${a.stderr()}\n${b.stderr()}`);

      assert.is(await n(db, 'SELECT count(*) AS n FROM tapwire_batches'), valid.length, 'each valid batch exactly once');
      assert.is(await n(db, 'SELECT count(*) AS n FROM tapwire_readings'), expectedReadings, 'each valid reading exactly once');
      assert.is(await n(db, 'SELECT count(*) AS n FROM tapwire_parked'), 0);
      const rejects = await db.query<{ dev: string; code: string }>('SELECT dev, code FROM tapwire_rejects ORDER BY dev');
      assert.equal(rejects.map((r) => `${r.dev}:${r.code}`), [`${forgedDev!.id}:forged`, `${stranger.id}:unenrolled`]);
      const keys = await db.query<{ valid_from: string | null }>(`SELECT valid_from FROM tapwire_keys WHERE dev = '${rolled!.id}' ORDER BY valid_from NULLS FIRST`);
      assert.equal(keys.map((k) => (k.valid_from === null ? null : Number(k.valid_from))), [null, from], 'the rollover recorded once');

      const report = await runCli(['fleet', 'report', '--db', url, '--json']);
      assert.is(report.code, 1, `exit 1: a chain is incomplete\n${report.stderr}`);
      const r = JSON.parse(report.stdout) as { devices: Array<{ dev: string; complete: boolean; readings: number; explained: unknown[]; keyRollovers: number }>; unenrolled: Array<{ dev: string }> };
      assert.equal(r.devices.filter((d) => !d.complete).map((d) => d.dev), [holed!.id]);
      assert.is(r.devices.length, 30);
      assert.is(r.devices.reduce((s, d) => s + d.readings, 0), expectedReadings);
      assert.equal(r.devices.find((d) => d.dev === told.id)!.explained, [{ first: dropped[0]!.seq, last: dropped[1]!.seq, reason: 'journal-full' }]);
      assert.is(r.devices.find((d) => d.dev === rolled!.id)!.keyRollovers, 1);
      assert.equal(r.unenrolled.map((u) => u.dev), [stranger.id]);
      const text = await runCli(['fleet', 'report', '--db', url]);
      assert.match(text.stdout, new RegExp(`30 device\\(s\\), 1 INCOMPLETE: ${holed!.id}`));
      assert.match(text.stdout, /MISSING/);
      const csv = await runCli(['fleet', 'readings', '--db', url, '--device', told.id, '--since', '2020-01-01']);
      assert.is(csv.code, 0, csv.stderr);
      const lines = csv.stdout.trim().split('\n');
      assert.is(lines[0], 'time,name,value,unit,seq,idx');
      assert.is(lines.length - 1, valid.filter((v) => v.dev === told.id).reduce((s, v) => s + v.readings, 0));
    } finally {
      await pub.endAsync();
    }
  } finally {
    await db.close();
  }
});

test.run();
