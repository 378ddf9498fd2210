// The CLI as an operator meets it (issue 13 defects 4 and 10): every command
// and subcommand, given broken input (a missing file, bad JSON, a bad flag, a
// file an option names that is not there), prints one clear line per problem
// and exits 2 — never a stack trace; every `<cmd> [<sub>] --help` prints its
// help and exits 0.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type CliResult } from '../peers/agent-process.js';
import { tempDir } from '../helpers.js';

const dir = tempDir('tapwire-cli-errors-');
const missing = join(dir.path, 'missing.json');
const badJson = join(dir.path, 'bad.json');
const good = join(dir.path, 'good.json');
writeFileSync(badJson, '{ "device": ');
writeFileSync(good, JSON.stringify({
  device: 'cli-err', stateDir: join(dir.path, 'state'),
  uplink: { url: 'mqtts://127.0.0.1:8883' },
  sources: [{ id: 'env', type: 'lines', port: { path: '/dev/ttyUSB0', baudRate: 9600 }, decoder: { type: 'kv' } }],
}));
const nowhere = join(dir.path, 'no', 'such');
const hex = 'ab'.repeat(32);
const db = join(dir.path, 'db');

/** Every command that reads a config file, and every subcommand. */
const configCommands = [['run'], ['provision'], ['status'], ['key', 'rotate'], ['key', 'show']];

const broken: string[][] = [
  ...configCommands.flatMap((cmd) => [[...cmd, '--config', missing], [...cmd, '--config', badJson], [...cmd, '--bogus'], [...cmd]]),
  ['frobnicate'], ['key', 'frobnicate'],
  ['config', 'check', missing], ['config', 'check', badJson], ['config', 'check', '--bogus'], ['config', 'check'],
  ['config', 'schema', '--bogus'], ['config', 'frobnicate'],
  ['config', 'keygen'], ['config', 'keygen', '--bogus'], ['config', 'keygen', '--out', join(nowhere, 'op.key')],
  ['config', 'sign', '--bogus'], ['config', 'sign', '--key', missing, '--device', 'cli-err', '--version', '1', badJson],
  ['config', 'sign', '--key', missing, '--device', 'cli-err', '--version', '1', good],
  ['config', 'sign', '--key', missing, '--device', 'cli-err', '--version', 'x', good],
  ['verify', '--bogus'], ['verify', '--url', 'mqtt://127.0.0.1:1', '--device', 'd'],
  ['verify', '--url', 'mqtt://127.0.0.1:1', '--device', 'd', '--pubkey', missing],
  ['verify', '--url', 'mqtt://127.0.0.1:1', '--device', 'd', '--pubkey', hex, '--ca', missing, '--timeout', '1'],
  ['verify', '--url', 'not a url', '--device', 'd', '--pubkey', hex, '--timeout', '1'],
  ['verify', '--url', 'mqtt://127.0.0.1:99999', '--device', 'd', '--pubkey', hex, '--timeout', '1'],
  ['demo', '--bogus'], ['demo', '--duration', 'x'],
  ['ingest', '--bogus'], ['ingest', '--url', 'mqtt://127.0.0.1:99999', '--db', db],
  ['ingest', '--url', 'mqtt://127.0.0.1:1', '--db', db, '--ca', missing],
  ['fleet', 'frobnicate'], ['fleet', 'report', '--bogus'], ['fleet', 'report', '--db', nowhere],
  ['fleet', 'enroll', '--db', db, '--csv', missing], ['fleet', 'readings', '--db', db, '--device', 'd', '--since', 'yesterday'],
];

/** A stack frame: `    at fn (file:line:col)` or `    at file:line:col`. */
const STACK = /^\s+at .*:\d+:\d+\)?$/m;

function clean(args: string[], r: CliResult, code: number): void {
  const what = `tapwire ${args.join(' ')} (exit ${r.code})\n${r.stderr}`;
  assert.not.match(r.stderr, STACK, `a stack trace reached the user: ${what}`);
  assert.is(r.code, code, what);
  assert.ok(r.stderr.trim().length > 0, `says what is wrong: ${what}`);
}

test('every command with broken input: one clear message, exit 2, no stack trace', async () => {
  // a few at a time: each is a Node process
  for (let i = 0; i < broken.length; i += 4) {
    const batch = broken.slice(i, i + 4);
    const results = await Promise.all(batch.map((args) => runCli(args)));
    batch.forEach((args, k) => clean(args, results[k]!, 2));
  }
});

test('a missing option file is named with its option', async () => {
  const r = await runCli(['verify', '--url', 'mqtt://127.0.0.1:1', '--device', 'd', '--pubkey', hex, '--ca', missing]);
  assert.ok(r.stderr.includes(`--ca ${missing}: cannot read it (ENOENT)`), r.stderr);
  const k = await runCli(['config', 'keygen', '--out', join(nowhere, 'op.key')]);
  assert.ok(k.stderr.includes(`--out ${join(nowhere, 'op.key')}: cannot write it (ENOENT)`), k.stderr);
});

test('a status file that is not JSON: one line naming it, exit 1 (a runtime failure)', async () => {
  const run = join(dir.path, 'run');
  mkdirSync(run, { recursive: true });
  writeFileSync(join(run, 'status.json'), '{ "pid": ');
  const r = await runCli(['status', '--config', good], { env: { RUNTIME_DIRECTORY: run } });
  assert.is(r.code, 1, r.stderr);
  assert.not.match(r.stderr, STACK);
  assert.ok(r.stderr.includes(`${join(run, 'status.json')}: not a readable status file`), r.stderr);
});

const helps: Array<[string[], RegExp]> = [
  [['--help'], /Usage: tapwire <command>/],
  ...['run', 'provision', 'demo', 'verify', 'status', 'ingest'].map((c): [string[], RegExp] => [[c, '--help'], new RegExp(`Usage: tapwire ${c}`)]),
  [['config', '--help'], /Usage: tapwire config/],
  [['config', 'check', '--help'], /check .*<file>/],
  [['config', 'keygen', '--help'], /keygen --out <file>/],
  [['config', 'sign', '--help'], /sign --key <file>/],
  [['config', 'schema', '--help'], /Usage: tapwire config/],
  [['config', 'check', '-h'], /check .*<file>/],
  [['key', '--help'], /Usage: tapwire key rotate/],
  [['key', 'rotate', '--help'], /Usage: tapwire key rotate/],
  [['key', 'show', '--help'], /Usage: tapwire key rotate/],
  [['fleet', '--help'], /Usage: tapwire fleet/],
  [['fleet', 'enroll', '--help'], /Usage: tapwire fleet enroll/],
  [['fleet', 'report', '--help'], /Usage: tapwire fleet report/],
  [['fleet', 'readings', '--help'], /Usage: tapwire fleet readings/],
];

test('every <cmd> [<sub>] --help prints help and exits 0', async () => {
  for (let i = 0; i < helps.length; i += 4) {
    const batch = helps.slice(i, i + 4);
    const results = await Promise.all(batch.map(([args]) => runCli(args)));
    batch.forEach(([args, want], k) => {
      const r = results[k]!;
      assert.is(r.code, 0, `tapwire ${args.join(' ')} exits 0:\n${r.stderr}`);
      assert.match(r.stdout, want, `tapwire ${args.join(' ')} prints help:\n${r.stdout.slice(0, 300)}`);
      assert.not.match(r.stdout, /"\$schema"|"additionalProperties"/, `tapwire ${args.join(' ')} is not the schema`);
    });
  }
});

test.after(() => dir.remove());

test.run();
