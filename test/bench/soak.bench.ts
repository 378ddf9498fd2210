// Soak (issue 16): RSS over many minutes, which the footprint bench's minute
// does not show. On a steady load V8 runs its full GC rarely and RSS climbed
// ~1 MB/min from the 7th minute; the agent runs a full GC 30 s after start,
// then every 2 minutes (agent/parts/heap-trim.ts) when its node has
// --expose-gc. Two agents side by side on the footprint workload (100 ms poll,
// each on its own pty, Modbus slave and broker), both the x64 bundle with its
// code cache primed: as shipped (DEVICE_NODE_FLAGS, heap trim on) and the same
// without --expose-gc (heap trim off) as the same-run baseline. Prints RSS
// every 30 s, the peak and CPU; asserts nothing.
//
//   npm run bench -- soak
//   TAPWIRE_SOAK_MINUTES=60   how long (default 20)
//   TAPWIRE_SOAK_OUTAGE=1     the broker goes away after the first batch: a
//                             broker outage at the real rate for the whole run
//                             (the journal grows on disk, memory must not)

import { join } from 'node:path';
import { tempDir, waitFor } from '../helpers.js';
import { segmentBytesOnDisk } from '../peers/journal-disk.js';
import { asLaunched, bundleOf, root, shippedFlags } from './footprint.bench.js';
import { tapwire, type Contender } from './footprint/contenders.js';
import { setStage, strikeStage, type Stage } from './footprint/stage.js';
import { memory, treeCpuNs } from './footprint/probe.js';

const MB = 1024 * 1024;
const SAMPLE_MS = 30_000;
const POLL_MS = 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Running { label: string; stage: Stage; rss: number[]; cpu0: number }

async function start(c: Contender, dir: string): Promise<Running> {
  const stage = await setStage(c, { dir, intervalMs: POLL_MS });
  const { spawned, broker } = stage;
  await waitFor(() => broker.published.length > 0 || spawned.child.exitCode !== null, 30_000, `${c.label}: first batch`);
  if (spawned.child.exitCode !== null) throw new Error(`${c.label} exited with ${spawned.child.exitCode}:\n${spawned.stderr()}`);
  return { label: c.label, stage, rss: [], cpu0: treeCpuNs(spawned.child.pid!) };
}

export async function run(): Promise<void> {
  const minutes = Number(process.env.TAPWIRE_SOAK_MINUTES ?? 20);
  const outage = process.env.TAPWIRE_SOAK_OUTAGE === '1';
  const work = tempDir('tapwire-soak-');
  try {
    const outfile = bundleOf(root, join(work.path, 'dist'));
    const flags = await shippedFlags();
    const withTrim = asLaunched(outfile, flags);
    // its own cache dir: the key covers the flags, and a dir keeps one key
    const withoutFlags = flags.filter((f) => f !== '--expose-gc');
    const without = asLaunched(outfile, withoutFlags);
    const cacheOf = (env: NodeJS.ProcessEnv, name: string): NodeJS.ProcessEnv => (env.TAPWIRE_CACHE_DIR ? { TAPWIRE_CACHE_DIR: `${env.TAPWIRE_CACHE_DIR}-${name}` } : {});
    const contenders = [
      tapwire(`as shipped (${flags.join(' ')}): heap trim 30 s after start, then every 2 min`, process.execPath, withTrim.args, cacheOf(withTrim.env, 'trim')),
      tapwire('without --expose-gc: no heap trim', process.execPath, without.args, cacheOf(without.env, 'plain')),
    ];
    // prime each cache dir once (a device has started before)
    for (const c of contenders) {
      const d = tempDir('tapwire-soak-prime-');
      const r = await start(c, d.path);
      await sleep(12_000); // compile-cache.cjs writes 10 s after start
      await strikeStage(r.stage);
      d.remove();
    }
    process.stdout.write(`\nSoak: the footprint workload at the ${POLL_MS} ms poll for ${minutes} min${outage ? ', the broker gone after the first batch (an outage)' : ''}, two agents side by side; RSS MB every ${SAMPLE_MS / 1000} s\n`);
    const dirs = contenders.map(() => tempDir('tapwire-soak-run-'));
    const running: Running[] = [];
    for (const [i, c] of contenders.entries()) running.push(await start(c, dirs[i]!.path));
    if (outage) for (const r of running) await r.stage.broker.close();
    running.forEach((r, i) => process.stdout.write(`  column ${i + 1}: ${r.label}\n`));
    const t0 = performance.now();
    try {
      for (let t = SAMPLE_MS; t <= minutes * 60_000; t += SAMPLE_MS) {
        await sleep(t0 + t - performance.now());
        for (const r of running) {
          r.rss.push(memory(r.stage.spawned.child.pid!).rss);
          r.stage.broker.published.length = 0; // the bench's memory, not the agents': nothing reads them
        }
        process.stdout.write(`${(t / 60_000).toFixed(1).padStart(5)} min  ${running.map((r) => (r.rss[r.rss.length - 1]! / MB).toFixed(1).padStart(6)).join('  ')}\n`);
      }
      const secs = (performance.now() - t0) / 1000;
      process.stdout.write('\n');
      for (const r of running) {
        const pid = r.stage.spawned.child.pid!;
        const cpuMsPerS = (treeCpuNs(pid) - r.cpu0) / 1e6 / secs;
        const last = r.rss.slice(-4).map((x) => (x / MB).toFixed(1)).join(', ');
        process.stdout.write(`${r.label}: peak RSS ${(memory(pid).hwm / MB).toFixed(1)} MB, last samples ${last} MB, CPU ${cpuMsPerS.toFixed(1)} ms/s\n`);
      }
      if (outage) process.stdout.write(`journal on disk at the end: ${dirs.map((d) => `${(segmentBytesOnDisk(join(d.path, 'state')) / MB).toFixed(1)} MB`).join(', ')}\n`);
    } finally {
      for (const r of running) await strikeStage(r.stage);
      for (const d of dirs) d.remove();
    }
  } finally {
    work.remove();
  }
}
