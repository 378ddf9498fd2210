// Pipeline benchmark (issue 3): readings/s through decode → batch → encode →
// sign → journal append at batch sizes 1, 10, 100, 1000 on one core; bytes per
// reading on the wire for the demo's weather data vs plain JSON messages; the
// start-up time from process start to the first reading journaled.
// Prints figures; asserts nothing.

import { spawn } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createSystemClock } from '../../hal/clock.js';
import { nodeFileSystem } from '../../hal/file-node.js';
import { createCounters } from '../../agent/counters.js';
import { createWeatherSim } from '../../agent/demo/weather-sim.js';
import { createBatchEncoder } from '../../agent/encode/batch.js';
import { createBatcher } from '../../agent/encode/batcher.js';
import { generateKeyPair } from '../../agent/encode/keys.js';
import { createCryptoSigner } from '../../agent/encode/signer.js';
import { createJournal } from '../../agent/journal/journal.js';
import { silentLogger } from '../../agent/log.js';
import type { Reading } from '../../agent/reading.js';
import { createDecoder, toReadings } from '../../agent/sources/decoders/decoder.js';
import { prepareDevice, CLI } from '../peers/agent-process.js';
import { createPtyPair } from '../peers/socat.js';
import { tempDir } from '../helpers.js';

/** Demo weather lines: NMEA bursts and kv lines, as the simulator writes them. */
function weatherLines(count: number): Array<{ decoder: 'nmea' | 'kv'; line: string }> {
  const sim = createWeatherSim(42);
  const out: Array<{ decoder: 'nmea' | 'kv'; line: string }> = [];
  let t = Date.UTC(2026, 10, 27, 12, 0, 0);
  while (out.length < count) {
    for (const l of sim.nmeaBurst(new Date(t)).split('\r\n')) if (l) out.push({ decoder: 'nmea', line: l });
    out.push({ decoder: 'kv', line: sim.kvLine().trimEnd() });
    t += 500;
  }
  return out.slice(0, count);
}

const decoders = {
  nmea: createDecoder({ type: 'nmea' }),
  kv: createDecoder({ type: 'kv', units: { temp: 'Cel', hum: '%RH', pres: 'hPa' } }),
};

/** Decoded readings with times spread like a live stream (ms resolution). */
function weatherReadings(lines: number): Reading[] {
  const out: Reading[] = [];
  let ms = Date.UTC(2026, 10, 27, 12, 0, 0);
  for (const { decoder, line } of weatherLines(lines)) {
    const r = decoders[decoder].decode(line);
    if (r.ok) out.push(...toReadings(decoder === 'nmea' ? 'wx' : 'env', ms / 1000, r.values));
    ms += 37;
  }
  return out;
}

async function throughput(batchSize: number, totalReadings: number): Promise<{ rps: number; bytesPerReading: number; batches: number }> {
  const dir = tempDir('tapwire-bench-');
  const journal = createJournal({ dir: join(dir.path, 'journal'), maxBytes: 1 << 30, segmentBytes: 16 << 20, fsyncIntervalMs: 1000, fsyncEveryRecords: 100_000 },
    { fs: nodeFileSystem, clock: createSystemClock('free'), log: silentLogger, counters: createCounters() });
  await journal.open();
  const encoder = createBatchEncoder({ device: 'bench-1', signer: createCryptoSigner(generateKeyPair().seed), clockSynced: () => true, nowMs: () => Date.now() },
    { seq: 0, prev: new Uint8Array(32) });
  const lines = weatherLines(2000);
  const clock = createSystemClock('free');
  let bytes = 0;
  let readings = 0;
  let batches = 0;
  const pending: Reading[][] = [];
  const batcher = createBatcher({ maxRecords: batchSize, maxAgeMs: 3_600_000 }, { clock, onBatch: (rs) => pending.push(rs) });
  const start = process.hrtime.bigint();
  let ms = Date.now();
  let i = 0;
  while (readings < totalReadings) {
    const { decoder, line } = lines[i++ % lines.length]!;
    const r = decoders[decoder].decode(line);
    if (!r.ok) continue;
    ms += 7;
    for (const reading of toReadings(decoder === 'nmea' ? 'wx' : 'env', ms / 1000, r.values)) { batcher.add(reading); readings++; }
    while (pending.length) {
      const batch = encoder.encodeReadings(pending.shift()!);
      await journal.append({ seq: batch.seq, readings: batch.readings, bytes: batch.bytes });
      bytes += batch.bytes.length;
      batches++;
    }
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  batcher.flush(); // cancels the open batch's age timer (an hour here): nothing must outlive the run
  await journal.close();
  dir.remove();
  return { rps: readings / secs, bytesPerReading: bytes / readings, batches };
}

function wireSizes(batchSize: number): { cose: number; jsonPerMessage: number; jsonSenmlBatch: number } {
  const readings = weatherReadings(400).slice(0, batchSize);
  const encoder = createBatchEncoder({ device: 'pump-station-7', signer: createCryptoSigner(generateKeyPair().seed), clockSynced: () => true, nowMs: () => Date.now() },
    { seq: 41, prev: new Uint8Array(32) });
  const cose = encoder.encodeReadings(readings).bytes.length;
  // what most peers send: one JSON message per reading
  const perMessage = readings.map((r) => JSON.stringify({ device: 'pump-station-7', name: r.name, value: r.v ?? r.vs ?? r.vb, unit: r.unit, time: r.time }).length);
  // SenML-JSON of the same batch (unsigned), for reference
  const senmlJson = JSON.stringify(readings.map((r, k) => ({ ...(k === 0 ? { bn: 'urn:dev:tapwire:pump-station-7:', bt: readings[0]!.time } : {}), n: r.name, u: r.unit, v: r.v, t: r.time - readings[0]!.time || undefined }))).length;
  return { cose: cose / readings.length, jsonPerMessage: perMessage.reduce((a, b) => a + b, 0) / readings.length, jsonSenmlBatch: senmlJson / readings.length };
}

async function startupToFirstJournaled(useBundle: boolean): Promise<number | undefined> {
  const pty = await createPtyPair();
  const dir = tempDir('tapwire-bench-start-');
  try {
    const stateDir = join(dir.path, 'state');
    mkdirSync(stateDir, { recursive: true });
    const configPath = join(dir.path, 'c.json');
    prepareDevice(configPath, {
      device: 'bench-start', stateDir,
      uplink: { url: 'mqtt://127.0.0.1:9', protocolVersion: 4 }, // nothing listens: startup must not wait for the broker
      batch: { maxRecords: 1, maxAgeMs: 1000 },
      sources: [{ id: 'env', type: 'lines', port: { path: pty.agentPath, baudRate: 9600 }, decoder: { type: 'kv' } }],
    });
    const fd = openSync(pty.peerPath, constants.O_RDWR | constants.O_NOCTTY);
    // the port is flushed on open: keep a sensor talking every 5 ms
    const talk = setInterval(() => writeSync(fd, 'temp=21.5\n'), 5);
    const args = useBundle ? [join('dist', 'tapwire.js')] : ['--import', 'tsx', CLI];
    const child = spawn(process.execPath, [...args, 'run', '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    const uptime = await new Promise<number | undefined>((resolve) => {
      let err = '';
      const timer = setTimeout(() => resolve(undefined), 15_000);
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /first batch journaled .*uptime_ms=(\d+)/.exec(err);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      });
    });
    child.kill('SIGKILL');
    clearInterval(talk);
    closeSync(fd);
    return uptime;
  } finally {
    await pty.close();
    dir.remove();
  }
}

export async function run(): Promise<void> {
  console.log('pipeline: decode → batch → SenML-CBOR → COSE_Sign1 (node:crypto Ed25519) → journal append (fsync ≤ 1/s)');
  console.log('batch size | readings/s | bytes/reading (signed batch) | batches');
  for (const size of [1, 10, 100, 1000]) {
    const total = size === 1 ? 20_000 : 200_000;
    await throughput(size, Math.min(total, 20_000)); // warm-up
    const r = await throughput(size, total);
    console.log(`${String(size).padStart(10)} | ${Math.round(r.rps).toLocaleString('en').padStart(10)} | ${r.bytesPerReading.toFixed(1).padStart(28)} | ${r.batches}`);
  }
  console.log('\nwire size for the demo weather data (NMEA + kv), same readings:');
  console.log('batch size | Tapwire COSE/SenML-CBOR B/reading | JSON message per reading | SenML-JSON batch (unsigned) | ratio JSON/Tapwire');
  for (const size of [10, 100]) {
    const w = wireSizes(size);
    console.log(`${String(size).padStart(10)} | ${w.cose.toFixed(1).padStart(33)} | ${w.jsonPerMessage.toFixed(1).padStart(24)} | ${w.jsonSenmlBatch.toFixed(1).padStart(27)} | ${(w.jsonPerMessage / w.cose).toFixed(2)}×`);
  }
  console.log('\nstart-up: process start → first reading journaled (median of 5)');
  const { existsSync } = await import('node:fs');
  for (const bundle of [false, true]) {
    if (bundle && !existsSync(join('dist', 'tapwire.js'))) { console.log('bundle: (run `npm run build` first)'); continue; }
    const times: number[] = [];
    for (let k = 0; k < 5; k++) { const t = await startupToFirstJournaled(bundle); if (t !== undefined) times.push(t); }
    times.sort((a, b) => a - b);
    console.log(`${bundle ? 'bundle dist/tapwire.js' : 'source via tsx       '}: ${times.length ? `${times[Math.floor(times.length / 2)]} ms (min ${times[0]}, max ${times[times.length - 1]})` : 'no result'}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
