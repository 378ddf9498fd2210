// Running tapwire as a newcomer does from a checkout (issue 13 defect 10): the
// build's dist/tapwire.js is a command (shebang, executable), so `npm link` or
// the path runs it; build/install.sh says how it is used with --help (exit 0)
// and takes the --root that DESIGN and the flashing docs name (and the old --dest-root).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../helpers.js';

const repo = resolve(import.meta.dirname, '..', '..');
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;

interface Run { code: number | null; stdout: string; stderr: string }

function exec(file: string, args: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(file, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', fail);
    child.on('close', (code) => { clearTimeout(timer); done({ code, stdout, stderr }); });
  });
}

test('the built dist/tapwire.js is a command: shebang, executable, runs without `node` in front', async () => {
  const out = tempDir('tapwire-dist-');
  try {
    const dist = join(out.path, 'dist');
    const b = await exec(process.execPath, ['esbuild.config.mjs', '--outdir', dist]);
    assert.is(b.code, 0, b.stderr);
    const bundle = join(dist, 'tapwire.js');
    assert.ok(readFileSync(bundle, 'utf8').startsWith('#!/usr/bin/env node\n'), 'shebang');
    assert.is(statSync(bundle).mode & 0o755, 0o755, 'executable by everyone, writable by the owner');
    const v = await exec(bundle, ['--version']);
    assert.is(v.code, 0, v.stderr);
    assert.is(v.stdout.trim(), version);
    const h = await exec(bundle, ['config', 'check', '--help']);
    assert.is(h.code, 0, h.stderr);
    assert.match(h.stdout, /Usage: tapwire config/);
  } finally { out.remove(); }
});

test('install.sh --help prints how to use it (exit 0); --root and --dest-root are one option', async () => {
  const script = join(repo, 'build', 'install.sh');
  const h = await exec('sh', [script, '--help']);
  assert.is(h.code, 0, h.stderr);
  assert.match(h.stdout, /--root <dir>/);
  const dir = tempDir('tapwire-install-root-');
  try {
    const notDir = join(dir.path, 'nothing-here');
    for (const flag of ['--root', '--dest-root']) {
      const r = await exec('sh', [script, flag, notDir]);
      assert.is(r.code, 2, `${flag}: ${r.stderr}`);
      assert.ok(r.stderr.includes(`--root ${notDir} is not a directory`), `${flag}: ${r.stderr}`);
    }
  } finally { dir.remove(); }
});

test.run();
