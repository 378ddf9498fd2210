// The device never loads the cloud side: `run` does not import the ingest,
// the fleet commands, pg or PGlite (esbuild's import graph of agent/cli/run.ts),
// the shipped bundle carries none of pg's or PGlite's code (they stay external),
// and where they are absent (a bundle copied onto a device) the fleet commands
// say so in one line instead of a stack trace.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { tempDir } from '../helpers.js';

const repo = resolve(import.meta.dirname, '..', '..');
const out = tempDir('tapwire-ingest-bundle-');
test.after(() => out.remove());

test('the import graph of `run` holds no ingest, fleet, pg or PGlite module', async () => {
  const r = await esbuild.build({
    entryPoints: [join(repo, 'agent', 'cli', 'run.ts')], bundle: true, platform: 'node', format: 'esm', write: false,
    metafile: true, packages: 'external', logLevel: 'silent', outdir: out.path,
  });
  const ours = Object.keys(r.metafile.inputs);
  assert.ok(ours.some((p) => p.endsWith('agent/agent.ts')), `the graph is the agent's: ${ours.length} inputs`);
  assert.equal(ours.filter((p) => /agent\/(ingest|fleet)\/|cli\/(ingest|fleet)\.ts/.test(p)), []);
  const packages = new Set(Object.values(r.metafile.inputs).flatMap((i) => i.imports.filter((m) => m.external).map((m) => m.path)));
  assert.ok(packages.has('mqtt'), 'external packages are recorded');
  assert.equal([...packages].filter((p) => p === 'pg' || p.startsWith('pg/') || p.startsWith('@electric-sql/')), []);
});

test('the device bundle leaves pg and PGlite out; copied where they are missing, fleet commands say so in one line (exit 1)', () => {
  const dist = join(out.path, 'dist');
  const built = spawnSync(process.execPath, ['esbuild.config.mjs', '--outdir', dist], { cwd: repo, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.is(built.status, 0, built.stderr);
  const code = readFileSync(join(dist, 'tapwire.js'), 'utf8');
  assert.ok(code.includes('import("pg")') && code.includes('import("@electric-sql/pglite")'), 'the drivers are loaded at run time, by name');
  // strings from inside the drivers' own sources: present only if they were bundled
  assert.not.ok(code.includes('Client has already been connected'), 'no pg client code');
  assert.not.ok(code.includes('pglite.wasm'), 'no PGlite code');
  const lone = join(out.path, 'device');
  cpSync(dist, lone, { recursive: true }); // /tmp: no node_modules above it
  const run = (args: string[]) => spawnSync(process.execPath, [join(lone, 'tapwire.js'), ...args], { cwd: lone, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  const help = run(['ingest', '--help']);
  assert.is(help.status, 0, help.stderr);
  assert.match(help.stdout, /shared subscription/);
  for (const db of [join(out.path, 'fleetdb'), 'postgres://nobody@127.0.0.1:1/none']) {
    const r = run(['fleet', 'report', '--db', db]);
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, /^tapwire fleet: the (PGlite|PostgreSQL) .*driver cannot be loaded .*npm install/);
    assert.is(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
});

test.run();
