// Release artifacts, one tarball per board, and SHA256SUMS beside them:
//
//   dist/release/tapwire-<version>-linux-x64.tar.gz    Node SEA (Node 24), serialport addon inside
//   dist/release/tapwire-<version>-linux-arm64.tar.gz  Node SEA (Node 24), serialport addon inside
//   dist/release/tapwire-<version>-linux-armv7.tar.gz  bundle + armv6/armv7 addon + launcher, for the
//                                                      system Node >= 20 (npm's only armv7 Node, 20.11.0,
//                                                      is end of life and predates SEA assets)
//   dist/release/SHA256SUMS
//
// Each tarball holds one folder, tapwire-<version>-linux-<arch>/:
//   tapwire               the program (SEA), or the launcher (armv7) with tapwire.js, package.json, prebuilds/linux-arm/
//   tapwire.service       the systemd unit         install.sh   installs live or onto a mounted card (--root)
//   config.example.json   a sample config          LICENSE
//
// Reproducible: two builds of one commit give byte-identical tarballs. Entries
// are sorted, every mtime is the commit time (SOURCE_DATE_EPOCH wins), owner
// and group are 0 (numeric), modes are set explicitly, and gzip stores no name
// or time. The inputs are deterministic too: esbuild, the SEA blob (no snapshot,
// no code cache), a pinned Node and postject.
//
//   node build/release.mjs [--outdir dist/release] [--cache <dir>] [--node-version 24.x.y] [--json]
//   --json prints what was built (files, sizes, the stripped Node each SEA is built from) as JSON

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSea } from './sea.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => process.stderr.write(`release: ${msg}\n`);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...opts });

/** The boards, by the name in the tarball; `sea` names the SEA arch, else the bundle for the system Node. */
export const BOARDS = [
  { name: 'linux-x64', sea: 'x64' },
  { name: 'linux-arm64', sea: 'arm64' },
  { name: 'linux-armv7', prebuilds: 'linux-arm' },
];

/** SOURCE_DATE_EPOCH, else the commit time of HEAD, else 0 (not a git checkout). */
function sourceDateEpoch() {
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env !== undefined && /^\d+$/.test(env)) return Number(env);
  try {
    return Number(run('git', ['log', '-1', '--format=%ct', 'HEAD'], { cwd: root }).trim()) || 0;
  } catch {
    return 0;
  }
}

function put(src, dest, mode) {
  copyFileSync(src, dest);
  chmodSync(dest, mode);
}

/** Lays out one board's folder; every mode explicit (the umask of the build must not matter). */
function stage(board, dir, built) {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  if (board.sea) {
    const bin = built.binaries.find((b) => b.arch === board.sea);
    put(bin.path, join(dir, 'tapwire'), 0o755);
  } else {
    put(join(root, 'build', 'tapwire-launcher.sh'), join(dir, 'tapwire'), 0o755);
    put(built.bundle, join(dir, 'tapwire.js'), 0o644);
    put(join(dirname(built.bundle), 'compile-cache.cjs'), join(dir, 'compile-cache.cjs'), 0o644);
    writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }\n', { mode: 0o644 });
    chmodSync(join(dir, 'package.json'), 0o644);
    const from = join(dirname(built.bundle), 'prebuilds', board.prebuilds);
    const to = join(dir, 'prebuilds', board.prebuilds);
    mkdirSync(to, { recursive: true });
    chmodSync(join(dir, 'prebuilds'), 0o755);
    chmodSync(to, 0o755);
    for (const f of readdirSync(from).sort()) put(join(from, f), join(to, f), 0o644);
  }
  put(join(root, 'build', 'tapwire.service'), join(dir, 'tapwire.service'), 0o644);
  put(join(root, 'build', 'install.sh'), join(dir, 'install.sh'), 0o755);
  put(join(root, 'build', 'config.example.json'), join(dir, 'config.example.json'), 0o644);
  put(join(root, 'LICENSE'), join(dir, 'LICENSE'), 0o644);
}

/** tar (sorted, fixed mtime and owner) | gzip -n: the same bytes for the same inputs. */
function pack(stageDir, folder, outfile, epoch) {
  const tar = outfile.replace(/\.gz$/, '');
  rmSync(tar, { force: true });
  rmSync(outfile, { force: true });
  run('tar', ['--create', `--file=${tar}`, '--format=gnu', '--sort=name', `--mtime=@${epoch}`,
    '--owner=0', '--group=0', '--numeric-owner', '-C', stageDir, folder]);
  // -n: no file name, no time stamp in the header; -6 (the default): -9 takes three times as
  // long for 0.2 MiB less on a 100 MiB executable
  run('gzip', ['-6', '-n', tar]);
}

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * Builds every board's tarball and SHA256SUMS into `outdir`.
 * @returns {Promise<{ version: string, outdir: string, artifacts: Array<{ board: string, file: string, bytes: number, kind: 'sea' | 'bundle', binaryBytes?: number, nodeBytes?: number, nodeVersion?: string }> }>}
 */
export async function buildRelease(opts = {}) {
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const outdir = resolve(root, opts.outdir ?? 'dist/release');
  const work = `${outdir}.work`;
  rmSync(work, { recursive: true, force: true });
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  try {
    const built = await buildSea({
      outdir: join(work, 'build'),
      arch: BOARDS.filter((b) => b.sea).map((b) => b.sea),
      ...(opts.cache ? { cache: opts.cache } : {}),
      ...(opts.nodeVersion ? { nodeVersion: opts.nodeVersion } : {}),
    });
    const epoch = sourceDateEpoch();
    const artifacts = [];
    for (const board of BOARDS) {
      const folder = `tapwire-${version}-${board.name}`;
      stage(board, join(work, 'stage', folder), built);
      const file = join(outdir, `${folder}.tar.gz`);
      pack(join(work, 'stage'), folder, file, epoch);
      const bin = board.sea ? built.binaries.find((b) => b.arch === board.sea) : undefined;
      artifacts.push({
        board: board.name, file, bytes: statSync(file).size, kind: bin ? 'sea' : 'bundle',
        ...(bin ? { binaryBytes: bin.bytes, nodeBytes: bin.nodeBytes, nodeVersion: bin.nodeVersion } : {}),
      });
      log(`${basename(file)}: ${(statSync(file).size / 1048576).toFixed(1)} MiB`);
    }
    writeFileSync(join(outdir, 'SHA256SUMS'), artifacts.map((a) => `${sha256(a.file)}  ${basename(a.file)}\n`).join(''));
    return { version, outdir, artifacts };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function parseArgs(argv) {
  const opts = {};
  const keys = { '--outdir': 'outdir', '--cache': 'cache', '--node-version': 'nodeVersion' };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--json') { opts.json = true; i--; continue; }
    const key = keys[argv[i]];
    if (!key || argv[i + 1] === undefined) throw new Error(`usage: node build/release.mjs [--outdir <dir>] [--cache <dir>] [--node-version <24.x.y>] [--json] (got ${argv[i]})`);
    opts[key] = argv[i + 1];
  }
  return opts;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const opts = parseArgs(process.argv.slice(2));
    const built = await buildRelease(opts);
    if (opts.json) console.log(JSON.stringify(built, null, 2));
    else {
      for (const a of built.artifacts) console.log(`${a.file}  ${(a.bytes / 1048576).toFixed(1)} MiB (${a.kind})`);
      console.log(join(built.outdir, 'SHA256SUMS'));
    }
  } catch (err) {
    console.error(err.message);
    process.exit(err.message.startsWith('usage:') ? 2 : 1);
  }
}
