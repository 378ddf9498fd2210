// Fleet ingest with no database server: PGlite in a directory, a real
// Mosquitto, the CLI as separate processes. The first command says it is
// creating the database; while `ingest` holds the directory, `fleet report`
// and a second `ingest` name the holder in one line; a holder killed with -9
// leaves a stale lock that the next command takes over; `demo --ingest` adds
// its station to the same directory. (Each new PGlite database costs ~5 s and
// ~790 MB: one per run.)

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { runCli } from '../peers/agent-process.js';
import { createFleetSim } from '../peers/fleet-sim.js';
import { startIngestProcess, type IngestProcess } from '../peers/ingest-process.js';
import { startMosquitto, type MosquittoPeer } from '../peers/mosquitto.js';
import { tempDir, waitFor } from '../helpers.js';

const dir = tempDir('tapwire-pglite-');
let broker: MosquittoPeer | undefined;
const workers: IngestProcess[] = [];

test.after(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) await w.kill9();
  await broker?.close();
  dir.remove();
});

test('ingest into a PGlite directory: created once, locked while in use (the holder named), a stale lock taken over, every reading stored once', async () => {
  broker = await startMosquitto({ extraConfig: ['max_queued_messages 0'] });
  const db = join(dir.path, 'fleet');
  const sim = createFleetSim(3, 'lite');
  const csv = join(dir.path, 'devices.csv');
  writeFileSync(csv, ['id,pubkey', ...sim.devices.map((d) => `${d.id},${Buffer.from(d.enrolledKey).toString('hex')}`)].join('\n') + '\n');
  const enrolled = await runCli(['fleet', 'enroll', '--db', db, '--csv', csv], { timeoutMs: 120_000 });
  assert.is(enrolled.code, 0, enrolled.stderr);
  assert.match(enrolled.stderr, /creating the database in .*~5 s/);
  assert.equal(enrolled.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]), ['enrolled', 'enrolled', 'enrolled']);

  const start = (): Promise<IngestProcess> => startIngestProcess({ url: broker!.url, db, worker: 'pw', lanes: 2, env: { TAPWIRE_LOG: 'debug' }, startTimeoutMs: 60_000 });
  const w = await start();
  workers.push(w);
  assert.not.match(w.stderr(), /creating the database/, 'reopened, not created again');
  const batches = sim.rounds(3, 4);
  const pub = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  for (const b of [...batches, batches[0]!]) await pub.publishAsync(`tapwire/${b.dev}/data`, Buffer.from(b.bytes), { qos: 1 });
  await pub.endAsync();
  const stored = (): number => w.stderr().split('\n').filter((l) => l.startsWith('debug ingest stored')).length;
  await waitFor(() => stored() === batches.length && w.stderr().includes('duplicate, ignored'), 60_000, 'every batch stored, the duplicate ignored');

  const busy = await runCli(['fleet', 'report', '--db', db]);
  assert.is(busy.code, 1);
  assert.match(busy.stderr, new RegExp(`^tapwire fleet: database .*fleet is in use by tapwire ingest --worker pw \\(pid ${w.child.pid} on .*\\): PGlite is one process's database`));
  assert.is(busy.stderr.trim().split('\n').length, 1);
  const second = await runCli(['ingest', '--url', broker.url, '--db', db, '--worker', 'pw2']);
  assert.is(second.code, 1);
  assert.match(second.stderr, /is in use by tapwire ingest --worker pw /);

  assert.is(await w.stop(), 0, w.stderr());
  assert.not.ok(existsSync(join(db, 'tapwire.lock')), 'a clean stop releases the lock');
  const report = await runCli(['fleet', 'report', '--db', db, '--json'], { timeoutMs: 60_000 });
  assert.is(report.code, 0, report.stderr);
  const r = JSON.parse(report.stdout) as { devices: Array<{ dev: string; batches: number; readings: number; complete: boolean }> };
  assert.equal(r.devices.map((d) => [d.dev, d.batches, d.readings, d.complete]), sim.devices.map((d) => [d.id, 3, 12, true]));

  // killed with -9: the lock stays behind, names a process that is gone, and is taken over
  const again = await start();
  workers.push(again);
  await again.kill9();
  assert.ok(existsSync(join(db, 'tapwire.lock')));
  const rows = await runCli(['fleet', 'readings', '--db', db, '--device', sim.devices[1]!.id, '--since', '2020-01-01T00:00:00Z', '--format', 'jsonl'], { timeoutMs: 60_000 });
  assert.is(rows.code, 0, rows.stderr);
  const lines = rows.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; value: number; seq: number; idx: number });
  assert.is(lines.length, 12);
  assert.equal(lines.map((l) => [l.seq, l.idx]), [1, 2, 3].flatMap((s) => [0, 1, 2, 3].map((i) => [s, i])));
  assert.ok(lines.every((l) => l.name.startsWith('sim:') && typeof l.value === 'number'));
});

test('demo --ingest stores the demo station\'s verified readings in the same PGlite directory and says where to look', async () => {
  const db = join(dir.path, 'fleet');
  const r = await runCli(['demo', '--duration', '3', '--interval', '100', '--ingest', db], { timeoutMs: 90_000 });
  assert.is(r.code, 0, r.stderr);
  const m = /fleet ingest: (\d+) batches, (\d+) readings stored in (\S+)/.exec(r.stdout);
  assert.ok(m && Number(m[2]) > 0, r.stdout);
  assert.match(r.stdout, `tapwire fleet report --db ${db}`);
  const report = await runCli(['fleet', 'report', '--db', db, '--device', 'demo-station', '--json'], { timeoutMs: 60_000 });
  assert.is(report.code, 0, report.stderr);
  const d = (JSON.parse(report.stdout) as { devices: Array<{ batches: number; readings: number; complete: boolean }> }).devices[0]!;
  assert.equal([d.batches, d.readings, d.complete], [Number(m![1]), Number(m![2]), true]);
});

test.run();
