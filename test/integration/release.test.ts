// `npm run build:release` (build/release.mjs): three tarballs and SHA256SUMS,
// what each holds and how (sorted, fixed time and owner), byte-identical when
// built twice, within the size budget, and the x64 one working natively out of
// its folder. The ARM ones run under qemu in release-arm.test.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { runProcess, type ProcessResult } from '../peers/process.js';
import { artifact, buildReleaseInto, scratchDir, sharedRelease, unpack, type Release } from '../peers/release.js';
import { tempDir } from '../helpers.js';
import { buildHelper } from '../../esbuild.config.mjs';

const repo = resolve(import.meta.dirname, '..', '..');
const MiB = 1 << 20;
const BOARDS = ['linux-x64', 'linux-arm64', 'linux-armv7'] as const;

/** Runs `file args…` (no NODE_OPTIONS) to completion. */
const exec = (file: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<ProcessResult> =>
  runProcess({ file, args, cwd: opts.cwd ?? repo, env: { NODE_OPTIONS: '', ...opts.env } }, { timeoutMs: 120_000 });

let release: Release;
test.before(async () => { release = await sharedRelease(); });

test('three tarballs named by version and board, and a SHA256SUMS that sha256sum -c accepts', async () => {
  const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
  assert.is(release.version, version);
  const names = BOARDS.map((b) => `tapwire-${version}-${b}.tar.gz`);
  assert.equal(readdirSync(release.outdir).sort(), ['SHA256SUMS', ...names].sort());
  assert.equal(readFileSync(join(release.outdir, 'SHA256SUMS'), 'utf8').trim().split('\n').map((l) => l.split('  ')[1]), names);
  const check = await exec('sha256sum', ['-c', 'SHA256SUMS'], { cwd: release.outdir });
  assert.is(check.code, 0, check.stderr);
  assert.is(check.stdout, names.map((n) => `${n}: OK\n`).join(''));
});

test('each tarball: one folder with the program, unit, install.sh, sample config and licence; sorted, owner 0:0, commit time, explicit modes', async () => {
  const epoch = Number(execFileSync('git', ['log', '-1', '--format=%ct', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim());
  for (const board of BOARDS) {
    const a = artifact(release, board);
    const folder = `tapwire-${release.version}-${board}`;
    // tar -tv --numeric-owner --full-time: "-rwxr-xr-x 0/0 1064 2026-11-27 10:24:00 folder/file"
    const listing = execFileSync('tar', ['-tvz', '--numeric-owner', '--full-time', '-f', a.file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } })
      .trim().split('\n').map((l) => l.split(/\s+/));
    const when = new Date(epoch * 1000).toISOString().replace('T', ' ').slice(0, 19);
    const entries = listing.map((cols) => `${cols[0]} ${cols[5]}`);
    const common = [`-rw-r--r-- ${folder}/LICENSE`, `-rw-r--r-- ${folder}/config.example.json`, `-rwxr-xr-x ${folder}/install.sh`];
    const expected = a.kind === 'sea'
      ? [`drwxr-xr-x ${folder}/`, ...common, `-rwxr-xr-x ${folder}/tapwire`, `-rw-r--r-- ${folder}/tapwire.service`]
      : [`drwxr-xr-x ${folder}/`, `-rw-r--r-- ${folder}/LICENSE`, `-rw-r--r-- ${folder}/compile-cache.cjs`, ...common.slice(1), `-rw-r--r-- ${folder}/package.json`, `drwxr-xr-x ${folder}/prebuilds/`, `drwxr-xr-x ${folder}/prebuilds/linux-arm/`,
        `-rw-r--r-- ${folder}/prebuilds/linux-arm/@serialport+bindings-cpp.armv6.glibc.node`, `-rw-r--r-- ${folder}/prebuilds/linux-arm/@serialport+bindings-cpp.armv7.glibc.node`,
        `-rwxr-xr-x ${folder}/tapwire`, `-rw-r--r-- ${folder}/tapwire.js`, `-rw-r--r-- ${folder}/tapwire.service`];
    assert.equal(entries, expected, board);
    for (const cols of listing) {
      assert.is(cols[1], '0/0', `${cols[5]}: owner`);
      assert.is(`${cols[3]} ${cols[4]}`, when, `${cols[5]}: mtime is the commit time`);
    }
    const gz = readFileSync(a.file);
    assert.is(gz.readUInt32LE(4), 0, `${board}: no time stamp in the gzip header`);
    assert.is(gz[3]! & 0x08, 0, `${board}: no file name in the gzip header`);
  }
});

test('what a tarball ships is what the repo says: unit, install.sh, sample config, licence, launcher', async () => {
  for (const board of ['linux-x64', 'linux-armv7'] as const) {
    const dir = await unpack(release, board);
    for (const [shipped, source] of [['tapwire.service', 'build/tapwire.service'], ['install.sh', 'build/install.sh'], ['config.example.json', 'build/config.example.json'], ['LICENSE', 'LICENSE']]) {
      assert.ok(readFileSync(join(dir, shipped!)).equals(readFileSync(join(repo, source!))), `${board}: ${shipped}`);
    }
    if (board === 'linux-armv7') {
      assert.ok(readFileSync(join(dir, 'tapwire')).equals(readFileSync(join(repo, 'build/tapwire-launcher.sh'))));
      // build/compile-cache.cjs with build/code-cache.cjs inlined, as esbuild.config.mjs writes it
      const built = tempDir();
      try {
        await buildHelper('compile-cache.cjs', join(built.path, 'compile-cache.cjs'));
        assert.ok(readFileSync(join(dir, 'compile-cache.cjs')).equals(readFileSync(join(built.path, 'compile-cache.cjs'))), 'compile-cache.cjs');
      } finally {
        built.remove();
      }
    }
  }
});

test('reproducible: a second build from the same commit gives byte-identical tarballs and SHA256SUMS', async () => {
  const second = await buildReleaseInto(join(scratchDir('tapwire-release-again-'), 'release'));
  for (const name of ['SHA256SUMS', ...BOARDS.map((b) => basename(artifact(release, b).file))]) {
    assert.ok(readFileSync(join(release.outdir, name)).equals(readFileSync(join(second.outdir, name))), `${name} differs between two builds`);
  }
});

test('size budget: the arm64 SEA adds at most 3 MiB to the stripped Node it is built from, and its tarball is at most 40 MiB', () => {
  const a = artifact(release, 'linux-arm64');
  const added = a.binaryBytes! - a.nodeBytes!;
  const report = `arm64: node ${a.nodeVersion} stripped ${(a.nodeBytes! / MiB).toFixed(2)} MiB, SEA ${(a.binaryBytes! / MiB).toFixed(2)} MiB (+${(added / MiB).toFixed(2)} MiB), tarball ${(a.bytes / MiB).toFixed(2)} MiB`;
  assert.ok(added > 0 && added <= 3 * MiB, report);
  assert.ok(a.bytes <= 40 * MiB, report);
  assert.is(statSync(a.file).size, a.bytes);
});

test('the x64 tarball works out of its folder: --version, config check on the sample (device from ${machine-id}), install.sh --root', async () => {
  const dir = await unpack(release, 'linux-x64');
  const env = { TAPWIRE_CACHE_DIR: join(dir, '..', 'cache') };
  const v = await exec(join(dir, 'tapwire'), ['--version'], { cwd: dir, env });
  assert.is(v.code, 0, v.stderr);
  assert.is(v.stdout, `${release.version}\n`);
  assert.is(v.stderr, '', 'a clean start: no warning');
  const machineId = readFileSync('/etc/machine-id', 'utf8').trim();
  const check = await exec(join(dir, 'tapwire'), ['config', 'check', '--content-only', 'config.example.json'], { cwd: dir, env });
  assert.is(check.code, 0, check.stderr);
  assert.is(check.stdout, `config.example.json: ok (device pump-${machineId}, 1 source)\n`);
  const root = tempDir();
  try {
    const r = await exec('sh', [join(dir, 'install.sh'), '--root', root.path]);
    assert.is(r.code, 0, r.stderr);
    assert.ok(readFileSync(join(root.path, 'usr/local/lib/tapwire/tapwire')).equals(readFileSync(join(dir, 'tapwire'))));
    assert.ok(statSync(join(root.path, 'etc/systemd/system/tapwire.service')).isFile());
  } finally {
    root.remove();
  }
});

test.run();
