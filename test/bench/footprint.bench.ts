// Footprint (issue 16): Tapwire against same-run baselines on one Modbus RTU
// workload (test/bench/footprint/workload.ts: 19200 baud, 2 units, 26
// readings per scan; an independent slave, modbus-serial's ServerSerial, on a
// socat pty), measured from outside (/proc): CPU per reading at the 100 ms
// and 1000 ms polls, idle CPU, peak RSS (VmHWM) and its split, MQTT payload
// bytes per reading, the first reading's stamp after spawn, exact values.
// Baselines: bare node, a JSON-per-reading Node poller, and collectd
// (Debian collectd-core) and Node-RED (see footprint/node-red.ts) when they
// are installed — the bench says so when they are not. Tapwire runs as it
// ships: the x64 bundle on this node with the device's node flags
// (DEVICE_NODE_FLAGS) and the launcher's code cache (compile-cache.cjs, primed
// by one start), the x64 single executable (Node 24), and the arm64
// single executable under qemu-user (its CPU figures are emulated: not
// comparable). Prints tables; asserts nothing.
//
//   npm run bench -- footprint
//   TAPWIRE_FOOTPRINT_SECONDS=60  measured window per run (default 30)
//   TAPWIRE_FOOTPRINT_SEA=0       skip the single executables (no Node 24 download)
//   TAPWIRE_FOOTPRINT_ONLY=a,b    only the contenders whose label contains a or b
//   TAPWIRE_FOOTPRINT_BASE=<dir>  also run the bundle of another checkout as "before" (node_modules linked)
//   TAPWIRE_FOOTPRINT_PAIRED=N    instead: N rounds per poll of Tapwire and collectd AT THE SAME TIME
//                                 (own pty, slave and broker each), CPU ratio per round and median

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tempDir, waitFor } from '../helpers.js';
import { bareNode, collectd, jsonReference, nodeRed, tapwire, type Contender } from './footprint/contenders.js';
import { nodeRedDir, nodeRedMain } from './footprint/node-red.js';
import { describeSplit, emptySplit, type ByteSplit } from './footprint/bytes.js';
import { memory, rssSampler, rssSplit, treeCpuNs } from './footprint/probe.js';
import { setStage, strikeStage } from './footprint/stage.js';
import { BAUD, READINGS_PER_SCAN } from './footprint/workload.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const MB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * CPU and memory are steady-state figures, for every contender alike: measured from 30 s after
 * start, when start-up's one-time work is over (start-up itself is the "first reading" column).
 * V8's memory reducer runs a few full GCs once start-up allocation has settled (≈ 8-10 s after
 * start; strace shows the burst of madvise/munmap and platform wake-ups, then nothing but the
 * timers): counted in a 5 s warm-up window it added 2-3 ms/s to Tapwire's figures at the 1000 ms
 * poll and made a one-time cost look like a steady 2.5 ms/s idle on the Node 20 bundle.
 * Peak RSS (VmHWM) still covers the whole run, start-up included.
 */
const STEADY_WARM_MS = 30_000;

export interface Row {
  label: string; intervalMs: number; readingsPerS: number; cpuMsPerReading: number; cpuMsPerS: number;
  peakRss: number; rss: number; anon: number; file: number; bytesPerReading: number; firstReadingS?: number;
  firstJournaledS?: number; inexact: number; readings: number;
  /** where the payload bytes go (Tapwire's signed batches) */
  bytes?: ByteSplit;
}

/** One contender on a fresh pty, slave and broker: start, warm up, measure `seconds`, stop. */
export async function measure(c: Contender, intervalMs: number, seconds: number, opts: { slave?: boolean; startTimeoutMs?: number } = {}): Promise<Row> {
  const dir = tempDir('tapwire-footprint-');
  const stage = await setStage(c, { dir: dir.path, intervalMs, ...(opts.slave === false ? { slave: false } : {}) });
  const { spawned: s, broker } = stage;
  const pid = s.child.pid!;
  const totals = { readings: 0, bytes: 0, inexact: 0, firstTime: Infinity };
  let seen = 0;
  let byteSplit: ByteSplit | undefined;
  const drain = (): void => {
    for (; seen < broker.published.length; seen++) {
      const m = broker.published[seen]!;
      if (!m.topic.startsWith(c.topic)) continue;
      if (process.env.TAPWIRE_FOOTPRINT_DEBUG && totals.readings < 3) process.stdout.write(`${c.label}: ${m.topic} ${m.payload.length} B\n`);
      const n = c.count(m.payload, m.topic);
      if (byteSplit && c.split) c.split(m.payload, byteSplit);
      totals.readings += n.readings;
      totals.bytes += n.bytes;
      totals.inexact += n.inexact;
      if (n.firstTime !== undefined && n.firstTime < totals.firstTime) totals.firstTime = n.firstTime;
    }
    broker.published.length > 50_000 && (broker.published.splice(0, seen), (seen = 0));
  };
  const sampler = rssSampler(pid);
  try {
    if (opts.slave !== false) {
      await waitFor(() => { drain(); return totals.readings > 0 || s.child.exitCode !== null; }, opts.startTimeoutMs ?? 30_000, `${c.label}: first reading`);
      if (s.child.exitCode !== null) throw new Error(`${c.label} exited with ${s.child.exitCode}:\n${s.stderr()}`);
    }
    await sleep(STEADY_WARM_MS);
    drain();
    if (c.split) byteSplit = emptySplit();
    const r0 = { ...totals };
    const cpu0 = treeCpuNs(pid);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const cpu1 = treeCpuNs(pid);
    const elapsed = (performance.now() - t0) / 1000;
    drain();
    const readings = totals.readings - r0.readings;
    const mem = memory(pid);
    const split = rssSplit(pid);
    const journaled = /first batch journaled .*uptime_ms=(\d+)/.exec(s.stderr());
    const cpuMs = (cpu1 - cpu0) / 1e6;
    return {
      label: c.label, intervalMs, readings, readingsPerS: readings / elapsed, cpuMsPerReading: readings ? cpuMs / readings : NaN, cpuMsPerS: cpuMs / elapsed,
      peakRss: Math.max(mem.hwm, ...sampler.samples), rss: mem.rss, anon: split.anon, file: split.file,
      bytesPerReading: readings ? (totals.bytes - r0.bytes) / readings : NaN,
      ...(Number.isFinite(totals.firstTime) ? { firstReadingS: totals.firstTime - s.spawnedAt / 1000 } : {}),
      ...(journaled ? { firstJournaledS: Number(journaled[1]) / 1000 } : {}),
      inexact: totals.inexact,
      ...(byteSplit ? { bytes: byteSplit } : {}),
    };
  } finally {
    sampler.stop();
    await strikeStage(stage);
    dir.remove();
  }
}

/**
 * The node flags the agent ships with, as argv (not all are allowed in NODE_OPTIONS):
 * DEVICE_NODE_FLAGS of build/sea.mjs, or (an older checkout) NODE_OPTIONS of its systemd unit.
 */
export async function shippedFlags(checkout = root): Promise<string[]> {
  const sea = (await import(pathToFileURL(join(checkout, 'build', 'sea.mjs')).href)) as { DEVICE_NODE_FLAGS?: string[] };
  if (sea.DEVICE_NODE_FLAGS) return sea.DEVICE_NODE_FLAGS;
  const unit = readFileSync(join(checkout, 'build', 'tapwire.service'), 'utf8');
  return (/^Environment=NODE_OPTIONS=(.*)$/m.exec(unit)?.[1]?.trim() ?? '').split(/\s+/).filter(Boolean);
}

/** Starts `cmd args… --version` once with `env`: the code cache it writes is there for the timed starts. */
function primeCodeCache(cmd: string, args: string[], env: NodeJS.ProcessEnv): void {
  const primed = spawnSync(cmd, [...args, '--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', ...env } });
  if (primed.status !== 0) throw new Error(`priming the code cache of ${[cmd, ...args].join(' ')} failed: ${primed.stderr}`);
}

/**
 * The bundle as the launcher starts it: preloading compile-cache.cjs beside it (when the build has
 * one) with a cache dir of its own, primed by one start — a device has started once before.
 */
export function asLaunched(outfile: string, flags: string[]): { args: string[]; env: NodeJS.ProcessEnv } {
  const preload = join(dirname(outfile), 'compile-cache.cjs');
  if (!existsSync(preload)) return { args: [...flags, outfile], env: {} };
  const args = [...flags, '--require', preload, outfile];
  const env = { TAPWIRE_CACHE_DIR: join(dirname(outfile), 'cache') };
  primeCodeCache(process.execPath, args, env);
  return { args, env };
}

/**
 * A single executable as a device starts it after an install: its code cache primed by one start
 * (build/sea-main.cjs), and the file out of the page cache. The build wrote it moments ago (llvm-strip,
 * postject), and a file written that way stays in the page cache in large folios that a start maps
 * whole: measured, +27 MB of file-backed RSS for Node 24 itself, gone once the file is read afresh.
 */
function asInstalled(executable: string, cacheDir: string, emulator?: string): NodeJS.ProcessEnv {
  const env = { TAPWIRE_CACHE_DIR: cacheDir };
  if (emulator) primeCodeCache(emulator, [executable], env);
  else primeCodeCache(executable, [], env);
  const evicted = spawnSync('dd', [`if=${executable}`, 'iflag=nocache', 'count=0', 'status=none'], { encoding: 'utf8' });
  if (evicted.status !== 0) throw new Error(`dd iflag=nocache ${executable}: ${evicted.stderr}`);
  return env;
}

/** Builds `checkout`'s bundle into `dist` (its own esbuild config); returns the bundle's path. */
export function bundleOf(checkout: string, dist: string): string {
  const built = spawnSync(process.execPath, ['esbuild.config.mjs', '--outdir', dist], { cwd: checkout, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  if (built.status !== 0) throw new Error(`bundle of ${checkout} failed: ${built.stderr}`);
  return join(dist, 'tapwire.js');
}

async function buildContenders(): Promise<{ bundle: Contender[]; sea: Contender[]; arm: Contender[]; idle: Contender[]; notes: string[] }> {
  const esbuild = await import('esbuild');
  const out = tempDir('tapwire-footprint-build-');
  process.once('exit', () => out.remove());
  const notes: string[] = [];
  const flags = await shippedFlags();
  const outfile = bundleOf(root, join(out.path, 'dist'));
  // inside the repo (.tmp/, ignored): the bundle finds serialport's native addon in node_modules
  const refDir = join(root, '.tmp', 'footprint');
  mkdirSync(refDir, { recursive: true });
  const ref = join(refDir, 'json-reference.mjs');
  await esbuild.build({
    entryPoints: [join(root, 'test/bench/footprint/json-reference.ts')], outfile: ref, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'error',
    banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" },
    external: ['@serialport/bindings-cpp'],
  });
  const run = asLaunched(outfile, flags);
  const bundle = [jsonReference(ref), tapwire(`Tapwire x64 bundle (node ${process.version})`, process.execPath, run.args, run.env)];
  const idle = [bareNode, tapwire('Tapwire x64 bundle, idle', process.execPath, run.args, run.env, true)];
  const base = process.env.TAPWIRE_FOOTPRINT_BASE;
  if (base) {
    // another checkout (e.g. `git archive main`, with node_modules linked) as "before", same run
    const before = asLaunched(bundleOf(base, join(out.path, 'base-dist')), await shippedFlags(base));
    bundle.splice(1, 0, tapwire('Tapwire x64 bundle, before', process.execPath, before.args, before.env));
    idle.splice(1, 0, tapwire('Tapwire x64 bundle, before, idle', process.execPath, before.args, before.env, true));
  }
  if (existsSync('/usr/sbin/collectd') && existsSync('/usr/lib/collectd/modbus.so')) bundle.push(collectd);
  else notes.push('collectd: not installed (apt-get install collectd-core libmodbus5 libmosquitto1) — no collectd baseline');
  const red = nodeRedMain();
  if (red) bundle.push(nodeRed(red));
  else notes.push(`Node-RED: not installed in ${nodeRedDir()} (see test/bench/footprint/node-red.ts) — no Node-RED baseline`);
  const sea: Contender[] = [];
  const arm: Contender[] = [];
  if (process.env.TAPWIRE_FOOTPRINT_SEA !== '0') {
    try {
      const { buildSea } = await import('../../build/sea.mjs');
      const built = await buildSea({ outdir: join(out.path, 'sea') });
      const x64 = built.binaries.find((b) => b.arch === 'x64')!;
      const arm64 = built.binaries.find((b) => b.arch === 'arm64')!;
      // the executables carry their flags (SEA execArgv)
      const installed = asInstalled(x64.path, join(out.path, 'sea', 'cache'));
      sea.push(tapwire(`Tapwire x64 executable (node ${x64.nodeVersion})`, x64.path, [], installed));
      idle.push(tapwire('Tapwire x64 executable, idle', x64.path, [], installed, true));
      if (existsSync('/usr/bin/qemu-aarch64-static')) {
        const qemu = '/usr/bin/qemu-aarch64-static';
        arm.push(tapwire(`Tapwire arm64 executable (qemu-user, emulated)`, qemu, [arm64.path], asInstalled(arm64.path, join(out.path, 'sea', 'cache-arm64'), qemu)));
      } else notes.push('arm64: qemu-aarch64-static not installed — not run');
    } catch (err) {
      notes.push(`single executables not built (${(err as Error).message.split('\n')[0]})`);
    }
  }
  return { bundle, sea, arm, idle, notes };
}

const f = (x: number | undefined, d = 2): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
const mb = (x: number): string => (Number.isFinite(x) ? (x / MB).toFixed(1) : '-');

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(w[i]!)).join(' | ') + ' |';
  return [line(head), '|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|', ...rows.map(line)].join('\n');
}

export function printRows(rows: Row[], ref: { collectd?: Row[]; nodeRed?: Row[] }): string {
  const base = (list: Row[] | undefined, r: Row): Row | undefined => list?.find((b) => b.intervalMs === r.intervalMs);
  return table(
    ['contender', 'poll', 'readings/s', 'CPU ms/reading', 'x collectd', 'CPU ms/s', 'peak RSS MB', 'x Node-RED', 'RSS anon/file MB', 'B/reading', 'first reading s', 'first batch journaled s', 'values exact'],
    rows.map((r) => {
      const c = base(ref.collectd, r);
      const n = base(ref.nodeRed, r);
      return [r.label, `${r.intervalMs} ms`, f(r.readingsPerS, 0), f(r.cpuMsPerReading, 3), c ? f(r.cpuMsPerReading / c.cpuMsPerReading) : '-', f(r.cpuMsPerS, 1),
        mb(r.peakRss), n ? f(r.peakRss / n.peakRss) : '-', `${mb(r.anon)}/${mb(r.file)}`, f(r.bytesPerReading, 1), f(r.firstReadingS), f(r.firstJournaledS),
        r.readings ? `${r.readings - Math.min(r.inexact, r.readings)}/${r.readings}` : '-'];
    }),
  );
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Tapwire and collectd measured at the same time, `rounds` times per poll: whatever else loads the
 * machine (other tenants, frequency, cache) loads both alike, which one-after-another runs cannot
 * promise — measured so, collectd alone read 0.092-0.162 ms/reading at the 100 ms poll across runs.
 * The start order alternates per round. Prints each round's CPU ms/reading and ratio, then medians.
 */
async function paired(contenders: Contender[], baseline: Contender, rounds: number, seconds: number): Promise<void> {
  for (const intervalMs of [100, 1000]) {
    const ratios = new Map<string, number[]>(contenders.map((c) => [c.label, []]));
    const lines: string[][] = [];
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 ? [baseline, ...contenders] : [...contenders, baseline];
      const rows = await Promise.all(order.map((c) => measure(c, intervalMs, seconds)));
      const base = rows.find((r) => r.label === baseline.label)!;
      for (const r of rows) {
        if (r !== base) ratios.get(r.label)!.push(r.cpuMsPerReading / base.cpuMsPerReading);
        lines.push([String(round), r.label, f(r.readingsPerS, 0), f(r.cpuMsPerReading, 3), r === base ? '-' : f(r.cpuMsPerReading / base.cpuMsPerReading), f(r.cpuMsPerS, 2)]);
      }
    }
    process.stdout.write(`\nPaired @${intervalMs} ms: ${rounds} rounds, ${seconds} s each, all contenders at the same time\n`);
    process.stdout.write(table(['round', 'contender', 'readings/s', 'CPU ms/reading', 'x collectd', 'CPU ms/s'], lines) + '\n');
    for (const [label, xs] of ratios) {
      process.stdout.write(`${label} @${intervalMs} ms: median ${f(median(xs))}x collectd (rounds: ${xs.map((x) => f(x)).join(', ')})\n`);
    }
  }
}

export async function run(): Promise<void> {
  const seconds = Number(process.env.TAPWIRE_FOOTPRINT_SECONDS ?? 30);
  const only = process.env.TAPWIRE_FOOTPRINT_ONLY?.split(',');
  const pick = (cs: Contender[]): Contender[] => (only ? cs.filter((c) => only.some((o) => c.label.includes(o))) : cs);
  const built = await buildContenders();
  const [bundle, sea, arm, idle] = [pick(built.bundle), pick(built.sea), pick(built.arm), pick(built.idle)];
  const notes = built.notes;
  process.stdout.write(`\nFootprint: Modbus RTU ${BAUD} baud, 2 units, ${READINGS_PER_SCAN} readings per scan; ${seconds} s measured per run from ${STEADY_WARM_MS / 1000} s after the first reading (steady state); `
    + `Tapwire with the node flags it ships with: ${(await shippedFlags()).join(' ')}\n`);
  for (const n of notes) process.stdout.write(`note: ${n}\n`);
  const rounds = Number(process.env.TAPWIRE_FOOTPRINT_PAIRED ?? 0);
  if (rounds > 0) {
    const baseline = built.bundle.find((c) => c === collectd);
    if (!baseline) throw new Error('TAPWIRE_FOOTPRINT_PAIRED needs collectd (apt-get install collectd-core libmodbus5 libmosquitto1)');
    await paired([...bundle, ...sea].filter((c) => c.label.startsWith('Tapwire')), baseline, rounds, seconds);
    return;
  }
  const idleRows: Row[] = [];
  for (const c of idle) idleRows.push(await measure(c, 1000, seconds, { slave: false }));
  const rows: Row[] = [];
  for (const intervalMs of [100, 1000]) {
    for (const c of [...bundle, ...sea]) {
      try { rows.push(await measure(c, intervalMs, seconds)); } catch (err) { process.stdout.write(`${c.label} @${intervalMs} ms failed: ${(err as Error).message.split('\n').slice(0, 4).join(' / ')}\n`); }
    }
  }
  for (const c of arm) {
    try { rows.push(await measure(c, 1000, seconds, { startTimeoutMs: 120_000 })); } catch (err) { process.stdout.write(`${c.label} failed: ${(err as Error).message.split('\n')[0]}\n`); }
  }
  const by = (s: string): Row[] => rows.filter((r) => r.label.startsWith(s));
  process.stdout.write(`\nIdle (sources connected, nothing arriving; broker connected; measured from ${STEADY_WARM_MS / 1000} s after start)\n`);
  process.stdout.write(table(['process', 'CPU ms/s', 'peak RSS MB', 'RSS anon/file MB'], idleRows.map((r) => [r.label, f(r.cpuMsPerS, 2), mb(r.peakRss), `${mb(r.anon)}/${mb(r.file)}`])) + '\n');
  process.stdout.write('\nWorkload (ratios against the same run\'s collectd and Node-RED at the same poll)\n');
  process.stdout.write(printRows(rows, { collectd: by('collectd'), nodeRed: by('Node-RED') }) + '\n');
  const json = by('JSON-per-reading').find((r) => r.intervalMs === 100);
  const tw = rows.find((r) => r.label.startsWith('Tapwire x64 bundle (') && r.intervalMs === 100);
  for (const r of rows) if (r.bytes?.readings) process.stdout.write(`${r.label} @${r.intervalMs} ms: ${describeSplit(r.bytes)}\n`);
  if (json && tw) process.stdout.write(`payload bytes per reading @100 ms: Tapwire ${f(tw.bytesPerReading, 1)} = ${f(tw.bytesPerReading / json.bytesPerReading)}x the JSON-per-reading reference (${f(json.bytesPerReading, 1)}), signed and exact\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run().then(() => process.exit(0), (err: unknown) => { process.stderr.write(`footprint bench failed: ${err instanceof Error ? err.stack : String(err)}\n`); process.exit(1); });
}
