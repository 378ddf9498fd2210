// The ingest and fleet commands as a user meets them: --help everywhere (exit
// 0), usage mistakes in one line with exit 2, a database that cannot be
// reached in one line with exit 1 — never a stack trace.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../peers/agent-process.js';
import { tempDir } from '../helpers.js';

const dir = tempDir('tapwire-fleet-cli-');
test.after(() => dir.remove());

test('--help works for ingest, fleet and each fleet subcommand (exit 0), and tapwire --help lists both', async () => {
  const top = await runCli(['--help']);
  assert.match(top.stdout, /\n {2}ingest /);
  assert.match(top.stdout, /\n {2}fleet /);
  for (const args of [['ingest', '--help'], ['fleet', '--help'], ['fleet', 'enroll', '--help'], ['fleet', 'report', '--help'], ['fleet', 'readings', '-h']]) {
    const r = await runCli(args);
    assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, `Usage: tapwire ${args[0]}${args[1]?.startsWith('-') ? '' : ` ${args[1]}`}`);
  }
});

test('usage mistakes are one clear line (plus usage), exit 2; nothing is created', async () => {
  const db = join(dir.path, 'never-created');
  const cases: Array<[string[], RegExp]> = [
    [['ingest', '--db', db], /missing --url/],
    [['ingest', '--url', 'mqtt://127.0.0.1:1', '--db', db, '--lanes', '0'], /--lanes must be an integer from 1 to 64/],
    [['ingest', '--url', 'http://127.0.0.1:1', '--db', db], /--url must be mqtt:\/\/ or mqtts:\/\//],
    [['ingest', '--url', 'mqtt://127.0.0.1:1', '--db', db, '--worker', 'a/b'], /--worker "a\/b" must be/],
    [['ingest', '--url', 'mqtt://127.0.0.1:1', '--db', 'mysql://x@y/z'], /not a postgres:\/\/ URL/],
    [['fleet', 'frobnicate'], /unknown fleet subcommand "frobnicate"/],
    [['fleet', 'report'], /missing --db/],
    [['fleet', 'enroll', '--db', db, '--device', 'bad id', '--pubkey', 'ab'.repeat(32)], /device id "bad id" must be/],
    [['fleet', 'enroll', '--db', db, '--device', 'ok-1', '--pubkey', 'xyz'], /--pubkey: public key "xyz" is neither 64 hex characters nor an existing file/],
    [['fleet', 'readings', '--db', db, '--device', 'ok-1', '--since', 'yesterday'], /--since "yesterday": expected ISO 8601/],
    [['fleet', 'readings', '--db', db, '--device', 'ok-1', '--since', '1h', '--format', 'xml'], /--format must be csv or jsonl/],
    [['fleet', 'report', '--db', db], /no fleet database in .*never-created \(tapwire fleet enroll or tapwire ingest creates one there\)/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args);
    assert.is(r.code, 2, `${args.join(' ')} → ${r.code}: ${r.stderr}`);
    assert.match(r.stderr.split('\n')[0]!, message);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const csv = join(dir.path, 'bad.csv');
  writeFileSync(csv, 'id,pubkey\npump-1,abc\n');
  const r = await runCli(['fleet', 'enroll', '--db', db, '--csv', csv]);
  assert.is(r.code, 2);
  assert.match(r.stderr, new RegExp(`${csv}:2: public key must be 64 hex characters`));
  const { existsSync } = await import('node:fs');
  assert.not.ok(existsSync(db), 'no database directory made for a command that was refused');
});

test('a PostgreSQL server that is not there: one line naming it (password hidden), exit 1', async () => {
  const r = await runCli(['fleet', 'report', '--db', 'postgres://ops:s3cret@127.0.0.1:1/fleet']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^tapwire fleet: cannot connect to postgres:\/\/ops:\*\*\*@127\.0\.0\.1:1\/fleet: /);
  assert.not.match(r.stderr, /s3cret/);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test.run();
