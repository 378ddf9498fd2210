// Fleet ingest when the database goes away (a real PostgreSQL stopped with
// pg_ctl while a real Mosquitto keeps taking the fleet's batches): the worker
// holds what it has in flight, unacknowledged, retries with backoff (also a
// key lookup for a device it has not seen yet), never
// queues more than its lanes (the broker keeps the rest), and once the
// database is back stores every batch exactly once.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import { enrol } from '../../agent/fleet/enroll.js';
import { openDb, type Db } from '../../agent/ingest/db.js';
import { ensureSchema } from '../../agent/ingest/schema.js';
import { createFleetSim } from '../peers/fleet-sim.js';
import { startIngestProcess, type IngestProcess } from '../peers/ingest-process.js';
import { startMosquitto, type MosquittoPeer } from '../peers/mosquitto.js';
import { startPostgres, type PostgresPeer } from '../peers/postgres.js';
import { waitFor } from '../helpers.js';

let pg: PostgresPeer | undefined;
let broker: MosquittoPeer | undefined;
let worker: IngestProcess | undefined;

test.after(async () => {
  if (worker && worker.child.exitCode === null && worker.child.signalCode === null) await worker.kill9();
  await broker?.close();
  await pg?.close();
});

test('PostgreSQL stopped mid-stream: the worker holds at most its lanes, retries, and stores every batch exactly once when it is back', async () => {
  pg = await startPostgres({ settings: { fsync: 'off' } });
  broker = await startMosquitto({ extraConfig: ['max_queued_messages 0'] });
  const url = await pg.createDatabase('outage');
  // 11 devices: the first round stores 10, so the 11th's keys are first read during the outage
  const sim = createFleetSim(11, 'out');
  const batches = sim.rounds(41, 3);
  let db: Db = await openDb(url);
  await ensureSchema(db);
  await enrol(db, sim.devices.map((d) => ({ dev: d.id, pubkey: d.enrolledKey })));
  await db.close();
  const lanes = 2;
  worker = await startIngestProcess({ url: broker.url, db: url, worker: 'ow', lanes });
  const pub = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  const send = async (from: number, to: number): Promise<void> => {
    for (const b of batches.slice(from, to)) await pub.publishAsync(`tapwire/${b.dev}/data`, Buffer.from(b.bytes), { qos: 1 });
  };
  const stored = async (): Promise<number> => {
    const c = await openDb(url);
    try { return Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM tapwire_batches'))[0]!.n); } finally { await c.close(); }
  };
  try {
    await send(0, 10);
    await waitFor(async () => (await stored()) === 10, 30_000, 'first round stored');
    await pg.stop();
    await send(10, batches.length); // the broker takes them all; the worker cannot store any
    await waitFor(() => (worker!.stderr().match(/store failed, retrying/g) ?? []).length >= 3, 60_000, 'the worker retrying');
    await waitFor(() => worker!.stderr().includes('reading device keys failed, retrying dev=out-0011'), 30_000, 'the key lookup retrying');
    const waiting = [...worker.stderr().matchAll(/store failed, retrying .*waiting=(\d+)/g)].map((m) => Number(m[1]));
    assert.ok(waiting.length >= 3);
    // lanes data messages, the key session's one, and one sweep of parked batches at most
    assert.ok(Math.max(...waiting) <= lanes + 2, `in flight stays bounded while ${batches.length - 10} batches wait at the broker: ${waiting.join(',')}`);
    await pg.start();
    await waitFor(async () => (await stored()) === batches.length, 120_000, 'every batch stored after the outage');
    assert.is(await worker.stop(), 0, worker.stderr());
    db = await openDb(url);
    try {
      assert.is(Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM tapwire_readings'))[0]!.n), batches.length * 3);
      assert.is(Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM tapwire_rejects'))[0]!.n), 0);
    } finally {
      await db.close();
    }
  } finally {
    await pub.endAsync();
  }
});

test.run();
