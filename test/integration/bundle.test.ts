// The shipped bundle, built by esbuild.config.mjs from a probe entry (so it proves
// the loader for any entry): it loads the serialport addon from the prebuilds next
// to it and reads a real pty (socat), prints no warning, and keeps working when
// copied where no node_modules can be reached.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { runProcess, type ProcessResult } from '../peers/process.js';
import { openFieldPty } from '../peers/field-pty.js';
import { tempDir } from '../helpers.js';

const repo = resolve(import.meta.dirname, '..', '..');
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const out = tempDir('tapwire-bundle-');
const bundle = join(out.path, 'dist', 'tapwire.js');

type Run = ProcessResult;

/** Runs `node args…` (no NODE_OPTIONS) to completion. `onStdout` sees stdout as it grows. */
const run = (args: string[], opts: { cwd?: string; onStdout?: (text: string) => void } = {}): Promise<Run> =>
  runProcess({ file: process.execPath, args, cwd: opts.cwd ?? repo, env: { NODE_OPTIONS: '' } }, { timeoutMs: 15_000, ...(opts.onStdout ? { onStdout: opts.onStdout } : {}) });

const parseLines = (text: string): Array<Record<string, unknown>> =>
  text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

/** Starts the probe bundle on a fresh pty, sends one line from the field side once it is open. */
async function probeReadsLine(bundlePath: string, line: string, cwd?: string): Promise<{ run: Run; events: Array<Record<string, unknown>> }> {
  const pty = await openFieldPty();
  try {
    let sent = false;
    const result = await run([bundlePath, pty.agentPath], {
      cwd,
      onStdout: (text) => {
        if (!sent && text.includes('"event":"open"')) { sent = true; pty.write(`${line}\r\n`); }
      },
    });
    return { run: result, events: parseLines(result.stdout) };
  } finally {
    await pty.close();
  }
}

function ancestorsWithNodeModules(dir: string): string[] {
  const found: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) found.push(d);
    if (d === dirname(d)) return found;
  }
}

test.before(() => {
  // like the repo: dist/ sits inside a "type": "module" package
  writeFileSync(join(out.path, 'package.json'), '{ "type": "module" }\n');
});
test.after(() => out.remove());

test('the build turns the probe entry into one cjs file (in a folder marked commonjs) plus glibc prebuilds, with no warning', async () => {
  const r = await run(['esbuild.config.mjs', '--entry', 'test/peers/bundle-probe.ts', '--outdir', join(out.path, 'dist')]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '');
  const prebuilds = ['linux-arm', 'linux-arm64', 'linux-x64']
    .flatMap((t) => readdirSync(join(out.path, 'dist', 'prebuilds', t)).map((f) => `${t}/${f}`)).sort();
  assert.equal(prebuilds, [
    'linux-arm/@serialport+bindings-cpp.armv6.glibc.node',
    'linux-arm/@serialport+bindings-cpp.armv7.glibc.node',
    'linux-arm64/@serialport+bindings-cpp.armv8.glibc.node',
    'linux-x64/@serialport+bindings-cpp.glibc.node',
  ]);
  assert.equal(JSON.parse(readFileSync(join(out.path, 'dist', 'package.json'), 'utf8')), { type: 'commonjs' }, 'dist/ is marked CommonJS');
  const code = readFileSync(bundle, 'utf8');
  assert.ok(code.startsWith('#!/usr/bin/env node\n'), 'runnable as a bin');
  assert.not.ok(code.includes('import.meta'), 'no import.meta left (it would be empty in cjs)');
  assert.not.ok(/\brequire\(["'](node-gyp-build|bufferutil|utf-8-validate|supports-color|cbor-extract)["']\)/.test(code), 'optional requires are stubbed, not left to run-time lookup');
});

test('the build refuses entries that cannot work as CommonJS: top-level await, import.meta.resolve, require(variable)', async () => {
  const dir = tempDir();
  try {
    const cases: Array<[string, RegExp]> = [
      ['await Promise.resolve(1);\nexport {};\n', /Top-level await/],
      ['console.log(import.meta.resolve("./x.js"));\n', /"import\.meta" is not available/],
      ['const name = process.argv[2] ?? "x";\nrequire(name);\n', /argument is not a string literal/],
    ];
    for (const [i, [source, expected]] of cases.entries()) {
      const entry = join(dir.path, `bad-${i}.ts`);
      writeFileSync(entry, source);
      const r = await run(['esbuild.config.mjs', '--entry', entry, '--outdir', join(dir.path, 'dist')]);
      assert.is(r.code, 1, source);
      assert.match(r.stderr, expected);
    }
  } finally {
    dir.remove();
  }
});

test('the bundle opens a real pty through the prebuild next to it and reads a line', async () => {
  const { run: r, events } = await probeReadsLine(bundle, 'temp=21.5 hum=40');
  assert.is(r.code, 0, r.stderr);
  assert.equal(events, [
    { event: 'open', version, sea: false },
    { event: 'line', line: 'temp=21.5 hum=40' },
  ]);
  assert.is(r.stderr, '', 'nothing on stderr: no warning at run time');
});

test('the bundle prints no warning at start, even with pending deprecations shown', async () => {
  const r = await run(['--pending-deprecation', bundle, '--help']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'usage: bundle-probe <tty path>\n');
  assert.is(r.stderr, '');
  const v = await run([bundle, '--version']);
  assert.equal(parseLines(v.stdout), [{ version, self: 'tapwire.js' }], 'version defined at build time; import.meta.url names the bundle');
  const d = await run(['--pending-deprecation', bundle, '--deps']);
  assert.equal(parseLines(d.stdout), [{ cbor: 'a1617601', mqtt: 'function' }], 'cbor-x (JS fallback) and mqtt work bundled');
  assert.is(d.stderr, '');
});

test('the default entry, the real CLI, bundles with no warning and its --help prints none', async () => {
  const dir = tempDir();
  try {
    const b = await run(['esbuild.config.mjs', '--outdir', join(dir.path, 'dist')]);
    assert.is(b.code, 0, b.stderr);
    assert.is(b.stderr, '');
    const r = await run(['--pending-deprecation', join(dir.path, 'dist', 'tapwire.js'), '--help']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^tapwire ${version.replace(/\./g, '\\.')} `));
    assert.is(r.stderr, '');
  } finally {
    dir.remove();
  }
});

test('copied to a dir with no node_modules above it, the bundle still loads its addon and reads the pty', async () => {
  const away = tempDir('tapwire-away-');
  try {
    assert.equal(ancestorsWithNodeModules(away.path), [], 'precondition: nothing to fall back on');
    copyFileSync(bundle, join(away.path, 'tapwire.js'));
    cpSync(join(out.path, 'dist', 'prebuilds'), join(away.path, 'prebuilds'), { recursive: true });
    const { run: r, events } = await probeReadsLine(join(away.path, 'tapwire.js'), '$GPGGA,away', away.path);
    assert.is(r.code, 0, r.stderr);
    assert.equal(events.at(-1), { event: 'line', line: '$GPGGA,away' });
    assert.is(r.stderr, '');
  } finally {
    away.remove();
  }
});

test('without its prebuilds folder the bundle fails at start, naming the folder it looked in', async () => {
  const away = tempDir('tapwire-bare-');
  try {
    copyFileSync(bundle, join(away.path, 'tapwire.js'));
    const r = await run([join(away.path, 'tapwire.js'), '/dev/null'], { cwd: away.path });
    assert.is.not(r.code, 0);
    assert.ok(r.stderr.includes(`cannot load native addon @serialport+bindings-cpp`), r.stderr);
    assert.ok(r.stderr.includes(join(away.path, 'prebuilds', `linux-${process.arch}`)), r.stderr);
  } finally {
    away.remove();
  }
});

test.run();
