// Outage benchmark (issue 4), the whole agent in-process (serial double →
// batcher → sign → journal → uplink to a broker that is not there):
//  1. RSS and heap while a one-hour outage of the footprint bench's workload
//     piles up (260 readings/s for an hour = 936,000 readings, pushed as fast
//     as the pipeline takes them): the journal is on disk, so memory must stay
//     flat (target <= 58 MB RSS, issue 16), with V8's defaults and with the
//     flags the device program ships with (DEVICE_NODE_FLAGS, build/sea.mjs).
//  2. fsyncs per second at 100 readings/s with batches of 100, on the real
//     clock, with a broker acknowledging (commit offset moving) and without.
// fsyncs and bytes are counted at the hal/file boundary, by file kind.
// Part 1 runs in a child node process from an esbuild bundle of this file (as
// the agent ships: one bundle, no tsx), because tsx's off-thread module loader
// alone adds ~40 MB of RSS to the process it runs in.
// Prints figures; asserts nothing.
//   node --import tsx test/bench/outage.bench.ts

import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createAgent, keyPaths, type Agent } from '../../agent/agent.js';
import { validateConfig } from '../../agent/config/load.js';
import { generateKeyPair, writeKeyPair } from '../../agent/encode/keys.js';
import { silentLogger } from '../../agent/log.js';
import { createSystemClock } from '../../hal/clock.js';
import type { FileHandle, FileSystem } from '../../hal/file.js';
import { nodeFileSystem } from '../../hal/file-node.js';
import { createSerialDoubleFactory, type PortDouble } from '../../hal/serial-double.js';
import { tempDir } from '../helpers.js';

const PORT = '/dev/bench-field';
const MB = 1024 * 1024;
const RSS_TARGET_MB = 58;

interface FsCounts { dataSyncs: number; commitSyncs: number; dirSyncs: number; bytesWritten: number }

/** nodeFileSystem, counting fsyncs by file kind (segment / commit file / directory) and bytes written. */
function countingFs(counts: FsCounts): FileSystem {
  const kind = (path: string): 'commit' | 'data' => (basename(path) === 'commit' ? 'commit' : 'data');
  const wrap = (h: FileHandle): FileHandle => ({
    path: h.path,
    size: () => h.size(),
    read: (p, n) => h.read(p, n),
    async append(d) { await h.append(d); counts.bytesWritten += d.length; },
    async write(p, d) { await h.write(p, d); counts.bytesWritten += d.length; },
    truncate: (n) => h.truncate(n),
    async sync() { await h.sync(); if (kind(h.path) === 'commit') counts.commitSyncs++; else counts.dataSyncs++; },
    close: () => h.close(),
  });
  return {
    ...nodeFileSystem,
    open: async (path, mode) => wrap(await nodeFileSystem.open(path, mode)),
    async syncDir(dir) { await nodeFileSystem.syncDir(dir); counts.dirSyncs++; },
  };
}

interface Rig { agent: Agent; port: PortDouble; counts: FsCounts; remove(): void }

async function startRig(url: string, batch: { maxRecords: number; maxAgeMs: number }): Promise<Rig> {
  const dir = tempDir('tapwire-outage-bench-');
  const stateDir = join(dir.path, 'state');
  const result = validateConfig({
    device: 'bench-1',
    stateDir,
    clock: 'free',
    uplink: { url, protocolVersion: 4 },
    batch,
    sources: [{ id: 'field', type: 'lines', port: { path: PORT, baudRate: 115200 }, decoder: { type: 'kv' } }],
  });
  if (!result.ok) throw new Error(`bench config: ${JSON.stringify(result.issues)}`);
  const { key, pub } = keyPaths(stateDir);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeKeyPair(key, pub, generateKeyPair());
  const serial = createSerialDoubleFactory();
  const counts: FsCounts = { dataSyncs: 0, commitSyncs: 0, dirSyncs: 0, bytesWritten: 0 };
  const agent = createAgent(result.config, { serial, clock: createSystemClock('free'), fs: countingFs(counts), log: silentLogger });
  await agent.start();
  const port = serial.ports.get(PORT);
  if (!port) throw new Error('the source did not open its port');
  return { agent, port, counts, remove: () => dir.remove() };
}

/** Ten readings per line, values varying like a live sensor. */
function line(i: number): string {
  let s = '';
  for (let f = 0; f < 10; f++) s += `${f ? ' ' : ''}s${f}=${((i * 7 + f * 13) % 2000) / 10}`;
  return s + '\n';
}

const yieldLoop = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number): string => (bytes / MB).toFixed(1);
const pad = (s: string | number, w: number): string => String(s).padStart(w);

async function outageRss(): Promise<void> {
  const total = Number(process.env.TAPWIRE_OUTAGE_READINGS ?? 936_000);
  const perLine = 10;
  const slice = 1000; // readings per slice, then the event loop runs (timers, fsyncs)
  const sampleEvery = Math.max(50_000, Math.round(total / 12 / 50_000) * 50_000);
  const before = process.memoryUsage();
  const rig = await startRig('mqtt://127.0.0.1:9', { maxRecords: 100, maxAgeMs: 1000 }); // nothing listens: a long outage
  const { agent, port, counts } = rig;
  const rows: string[] = [];
  const rss: number[] = [];
  const t0 = performance.now();
  const sample = (pushed: number): void => {
    const m = process.memoryUsage();
    const j = agent.status().journal;
    rss.push(m.rss);
    rows.push(`${pad(pushed, 9)} ${pad(((performance.now() - t0) / 1000).toFixed(1), 7)} ${pad(mb(m.rss), 8)} ${pad(mb(m.heapUsed), 8)} ${pad(mb(m.heapTotal), 9)} ${pad(mb(m.external + m.arrayBuffers), 8)} ${pad(mb(j.diskBytes), 9)} ${pad(j.segments, 5)} ${pad(j.lastSeq, 7)}`);
  };
  try {
    sample(0);
    let pushed = 0;
    let lineNo = 0;
    while (pushed < total) {
      let chunk = '';
      for (let k = 0; k < slice / perLine; k++) chunk += line(lineNo++);
      port.emitData(chunk);
      pushed += slice;
      // as fast as the pipeline takes them: wait until only the open batch is not journaled
      while (agent.counters.get('readings.journaled') < pushed - 100) await yieldLoop();
      if (pushed % sampleEvery === 0) sample(pushed);
    }
    const elapsed = (performance.now() - t0) / 1000;
    const st = agent.status();
    const j = st.journal;
    process.stdout.write([
      `RSS during a simulated outage: ${total} readings (one hour at 260 readings/s = 936,000), 10 per line, batches of 100; broker unreachable`,
      `node flags: ${process.execArgv.join(' ') || '(none)'}; process before the agent: rss ${mb(before.rss)} MB, heap ${mb(before.heapUsed)} MB (node + the bundle's modules)`,
      `${pad('readings', 9)} ${pad('time s', 7)} ${pad('rss MB', 8)} ${pad('heap MB', 8)} ${pad('heap tot', 9)} ${pad('ext MB', 8)} ${pad('disk MB', 9)} ${pad('segs', 5)} ${pad('seq', 7)}`,
      ...rows,
      `pushed in ${elapsed.toFixed(1)} s (${Math.round(total / elapsed)} readings/s); uplink: ${st.uplink.connected ? 'connected?!' : 'down'}, ${st.uplink.reconnects} reconnect attempts, last error ${st.uplink.lastError ?? '-'}`,
      `journal: ${j.appended} batches, ${mb(j.diskBytes)} MB on disk (${j.segments} segments), payload ${mb(j.appendedBytes)} MB, written ${mb(counts.bytesWritten)} MB (amplification ${(counts.bytesWritten / j.appendedBytes).toFixed(3)}x), dropped ${j.droppedBatches}`,
      `fsyncs: ${j.fsyncs} (data ${counts.dataSyncs}, commit ${counts.commitSyncs}, dir ${counts.dirSyncs}) = ${(j.fsyncs / elapsed).toFixed(2)}/s while pushing`,
      afterFullGc(),
      verdict(rss),
    ].join('\n') + '\n');
  } finally {
    await agent.stop();
    rig.remove();
  }
}

/** With --expose-gc: what is still alive after a full collection (the agent's own retained memory). */
function afterFullGc(): string {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return 'after a full GC: (run with --expose-gc)';
  gc();
  const m = process.memoryUsage();
  return `after a full GC: rss ${mb(m.rss)} MB, heap used ${mb(m.heapUsed)} MB of ${mb(m.heapTotal)} MB`;
}

/** Flat = RSS moves by at most 3 MB over the second half of the run, while the journal doubles on disk. */
function verdict(rss: number[]): string {
  const max = Math.max(...rss);
  const mid = rss[Math.floor(rss.length / 2)]!;
  const growth = rss[rss.length - 1]! - mid;
  const flat = growth <= 3 * MB;
  const ok = max <= RSS_TARGET_MB * MB && flat;
  return `target (flat, <= ${RSS_TARGET_MB} MB RSS): ${ok ? 'MET' : 'NOT MET'} — max ${mb(max)} MB; second half of the run ${growth >= 0 ? '+' : ''}${mb(growth)} MB (${flat ? 'flat' : 'growing'})`;
}

async function fsyncRate(withBroker: boolean): Promise<string> {
  const seconds = 10;
  const broker = withBroker ? await (await import('../peers/aedes.js')).startAedes() : undefined;
  const rig = await startRig(broker?.url ?? 'mqtt://127.0.0.1:9', { maxRecords: 100, maxAgeMs: 1000 });
  const { agent, port, counts } = rig;
  try {
    if (broker) {
      const deadline = Date.now() + 5000;
      while (!agent.status().uplink.connected && Date.now() < deadline) await sleep(10);
    }
    // warm-up: one second, so the first segment, commit file and dir entries are not counted
    let i = 0;
    const feed = async (ms: number): Promise<void> => {
      const start = performance.now();
      let sent = 0;
      while (performance.now() - start < ms) {
        const due = Math.floor((performance.now() - start) / 100); // 10 readings (one line) every 100 ms
        for (; sent < due; sent++) port.emitData(line(i++));
        await sleep(10);
      }
    };
    await feed(1000);
    const f0 = agent.status().journal.fsyncs;
    const c0 = { ...counts };
    const t0 = performance.now();
    await feed(seconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const st = agent.status();
    const fsyncs = st.journal.fsyncs - f0;
    return `${pad(withBroker ? 'acking (aedes)' : 'down', 15)} ${pad(elapsed.toFixed(1), 6)} ${pad(fsyncs, 7)} ${pad((fsyncs / elapsed).toFixed(2), 9)} ${pad(counts.dataSyncs - c0.dataSyncs, 5)} ${pad(counts.commitSyncs - c0.commitSyncs, 7)} ${pad(counts.dirSyncs - c0.dirSyncs, 4)} ${pad(st.journal.committedSeq, 10)} ${pad(st.journal.lastSeq, 8)}`;
  } finally {
    await agent.stop();
    rig.remove();
    await broker?.close();
  }
}

/** Part 1 in a child process running a bundle of this file; resolves with what it printed. */
async function outageRssInChild(nodeFlags: string[][]): Promise<string> {
  const esbuild = await import('esbuild');
  const dir = tempDir('tapwire-outage-child-');
  try {
    const outfile = join(dir.path, 'outage-child.mjs');
    // optional native helpers the libraries guard with try/catch (as in esbuild.config.mjs)
    const stubbed = /^(bufferutil|utf-8-validate|supports-color|cbor-extract)$/;
    await esbuild.build({
      entryPoints: [fileURLToPath(import.meta.url)], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'error',
      // CommonJS dependencies inside an ESM bundle still call require() for node builtins
      banner: { js: "import { createRequire as __tapwireRequire } from 'node:module'; const require = __tapwireRequire(import.meta.url);" },
      plugins: [{
        name: 'stub-optional',
        setup(b) {
          b.onResolve({ filter: stubbed }, (args) => ({ path: args.path, namespace: 'stub' }));
          b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: "throw Object.assign(new Error('not bundled'), { code: 'MODULE_NOT_FOUND' });", loader: 'js' }));
        },
      }],
    });
    let out = '';
    for (const flags of nodeFlags) {
      out += await new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [...flags, outfile], { env: { ...process.env, TAPWIRE_OUTAGE_CHILD: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
        let text = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => { text += d.toString(); });
        child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
        child.on('exit', (code) => (code === 0 ? resolve(text + '\n') : reject(new Error(`outage child exited with ${code}:\n${err}`))));
      });
    }
    return out;
  } finally {
    dir.remove();
  }
}

export async function run(): Promise<void> {
  // V8's defaults, and the flags the device program ships with
  const { DEVICE_NODE_FLAGS } = await import('../../build/sea.mjs');
  process.stdout.write(await outageRssInChild([['--expose-gc'], ['--expose-gc', ...DEVICE_NODE_FLAGS]]));
  process.stdout.write('\nfsyncs per second at 100 readings/s, batches of 100 (maxAgeMs 1000), fsyncIntervalMs 1000 (default), real clock, 10 s\n');
  process.stdout.write(`${pad('broker', 15)} ${pad('secs', 6)} ${pad('fsyncs', 7)} ${pad('fsyncs/s', 9)} ${pad('data', 5)} ${pad('commit', 7)} ${pad('dir', 4)} ${pad('committed', 10)} ${pad('last seq', 8)}\n`);
  for (const withBroker of [true, false]) process.stdout.write((await fsyncRate(withBroker)) + '\n');
  process.stdout.write('target: <= 1 fsync/s\n');
}

const fail = (err: unknown): void => {
  process.stderr.write(`outage bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
};
if (process.env.TAPWIRE_OUTAGE_CHILD === '1') {
  outageRss().then(() => process.exit(0), fail);
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run().then(() => process.exit(0), fail);
}
