// Fleet ingest benchmark (issue 17): 1,000 simulated devices (real keys, real
// signed batches of 100 readings), a real Mosquitto and a real PostgreSQL
// (default settings: fsync on). The backlog is queued at the broker while the
// workers are away, then the workers (the bundled `tapwire ingest`, as it
// ships: no tsx) start and drain it; readings/s is stored readings over the
// time from their start to the last commit. Baseline in the same run: the
// ingest core in-process, no broker. Also: each worker's peak RSS (VmHWM).
// Goal on this 2-core machine: >= 30,000 readings/s with two workers.
// Prints figures; asserts nothing.
//   npm run bench -- ingest          (INGEST_BENCH_ROUNDS=n for a longer run)

import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import mqtt from 'mqtt';
import { createSystemClock } from '../../hal/clock.js';
import { enrol } from '../../agent/fleet/enroll.js';
import { openDb, type Db } from '../../agent/ingest/db.js';
import { createIngest } from '../../agent/ingest/ingest.js';
import { ensureSchema } from '../../agent/ingest/schema.js';
import { silentLogger } from '../../agent/log.js';
import { createFleetSim, type SimBatch } from '../peers/fleet-sim.js';
import { startIngestProcess } from '../peers/ingest-process.js';
import { startMosquitto, type MosquittoPeer } from '../peers/mosquitto.js';
import { startPostgres, type PostgresPeer } from '../peers/postgres.js';

const DEVICES = 1000;
const READINGS = 100;
const ROUNDS = Number(process.env.INGEST_BENCH_ROUNDS ?? 5);
const LANES = Number(process.env.INGEST_BENCH_LANES ?? 4);
const repo = resolve(import.meta.dirname, '..', '..');
const outdir = join(repo, '.tmp', 'ingest-bench');
const bundle = join(outdir, 'tapwire.js');

async function publishAll(url: string, batches: SimBatch[]): Promise<void> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, clean: true });
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < batches.length) {
      const b = batches[next++]!;
      await client.publishAsync(`tapwire/${b.dev}/data`, Buffer.from(b.bytes), { qos: 1 });
    }
  };
  await Promise.all(Array.from({ length: 64 }, lane));
  await client.endAsync();
}

async function storedBatches(db: Db): Promise<number> {
  return Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM tapwire_batches'))[0]!.n);
}

async function freshDb(pg: PostgresPeer, name: string, sim: ReturnType<typeof createFleetSim>): Promise<{ db: Db; url: string }> {
  const url = await pg.createDatabase(name);
  const db = await openDb(url);
  await ensureSchema(db);
  await enrol(db, sim.devices.map((d) => ({ dev: d.id, pubkey: d.enrolledKey })));
  return { db, url };
}

async function inProcess(pg: PostgresPeer, sim: ReturnType<typeof createFleetSim>, batches: SimBatch[]): Promise<number> {
  const { db } = await freshDb(pg, 'bench_core', sim);
  const ingest = createIngest({ db, worker: 'core', clock: createSystemClock(), log: silentLogger, maxGroup: LANES + 1 });
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: LANES }, async () => {
    while (next < batches.length) { const b = batches[next++]!; await ingest.data(`tapwire/${b.dev}/data`, b.bytes); }
  }));
  const s = (performance.now() - t0) / 1000;
  await ingest.stop();
  await db.close();
  return (batches.length * READINGS) / s;
}

async function overMqtt(pg: PostgresPeer, broker: MosquittoPeer, sim: ReturnType<typeof createFleetSim>, batches: SimBatch[], workers: number): Promise<{ rate: number; rss: number[] }> {
  const { db, url } = await freshDb(pg, `bench_w${workers}`, sim);
  const share = `bench-${workers}`;
  const names = Array.from({ length: workers }, (_, i) => `b${workers}w${i + 1}`);
  // sessions first, then away: the backlog queues at the broker for them
  const start = (worker: string) => startIngestProcess({ url: broker.url, db: url, worker, share, lanes: LANES, bundle });
  for (const w of await Promise.all(names.map(start))) await w.stop();
  await publishAll(broker.url, batches);
  const t0 = performance.now();
  const running = await Promise.all(names.map(start));
  for (;;) {
    if (await storedBatches(db) >= batches.length) break;
    if (performance.now() - t0 > 600_000) throw new Error(`drain took over 10 min:\n${running.map((w) => w.stderr()).join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const s = (performance.now() - t0) / 1000;
  const rss = running.map((w) => w.peakRssMb());
  await Promise.all(running.map((w) => w.stop()));
  await db.close();
  return { rate: (batches.length * READINGS) / s, rss };
}

export async function run(): Promise<void> {
  const built = spawnSync(process.execPath, ['esbuild.config.mjs', '--outdir', outdir], { cwd: repo, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`bundle failed: ${built.stderr}`);
  const pg = await startPostgres();
  const broker = await startMosquitto({ extraConfig: ['max_queued_messages 0'] });
  try {
    const sim = createFleetSim(DEVICES, 'bench');
    const t = performance.now();
    const batches = sim.rounds(ROUNDS, READINGS);
    const genS = (performance.now() - t) / 1000;
    const total = batches.length * READINGS;
    process.stdout.write(`${DEVICES} devices, ${batches.length} signed batches of ${READINGS} readings (${total} readings, made in ${genS.toFixed(1)} s); PostgreSQL defaults (fsync on); ${LANES} lanes per worker\n\n`);
    const rows: Array<[string, string, string]> = [];
    const core = await inProcess(pg, sim, batches);
    rows.push(['core in-process, no broker (baseline)', `${Math.round(core)}`, '-']);
    for (const n of [1, 2]) {
      const r = await overMqtt(pg, broker, sim, batches, n);
      rows.push([`${n} worker${n > 1 ? 's' : ''} over Mosquitto`, `${Math.round(r.rate)}`, r.rss.map((m) => m.toFixed(0)).join(' / ')]);
    }
    const w = [40, 12, 20];
    const line = (c: string[]): string => c.map((x, i) => x.padEnd(w[i]!)).join(' ');
    process.stdout.write(line(['ingest', 'readings/s', 'worker peak RSS MB']) + '\n');
    for (const r of rows) process.stdout.write(line(r) + '\n');
    process.stdout.write('(goal: >= 30000 readings/s with two workers)\n');
  } finally {
    await broker.close();
    await pg.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) await run();
