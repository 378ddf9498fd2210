// `config check` checks what `run` will need, and the two agree (issue 13
// defects 5, 6 and 9): for each config below, check says exit 2 naming the
// field, and run refuses to start the same way — exit 2, one line per
// problem, no stack trace, none of the misleading follow-on messages of old
// ("ota state.json unreadable", "ENOENT mkdir journal", "Cannot lock port",
// "create the device key" for a key that exists). Provision with a state
// directory that cannot be made fails at once.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readlinkSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, writeKeyPair } from '../../agent/encode/keys.js';
import { runCli, type CliResult } from '../peers/agent-process.js';
import { createPtyPair } from '../peers/socat.js';
import { tempDir } from '../helpers.js';

type Json = Record<string, any>; // fixtures are mutated freely

const STACK = /^\s+at .*:\d+:\d+\)?$/m;

function world() {
  const dir = tempDir('tapwire-preflight-cli-');
  const state = join(dir.path, 'state');
  const config = (mutate: (c: Json) => void = () => undefined): string => {
    const c: Json = {
      device: 'pre-1', stateDir: state,
      uplink: { url: 'mqtts://127.0.0.1:8883' },
      sources: [{ id: 'env', type: 'lines', port: { path: '/dev/ttyUSB0', baudRate: 9600 }, decoder: { type: 'kv' } }],
    };
    mutate(c);
    const file = join(dir.path, 'config.json');
    writeFileSync(file, JSON.stringify(c));
    return file;
  };
  return { dir, state, config };
}

function refused(what: string, r: CliResult, field: string, not: RegExp[] = []): void {
  const shown = `${what} (exit ${r.code}):\n${r.stderr}`;
  assert.is(r.code, 2, shown);
  assert.not.match(r.stderr, STACK, `no stack trace: ${shown}`);
  assert.ok(r.stderr.includes(`${field}: `), `names ${field}: ${shown}`);
  for (const n of not) assert.not.match(r.stderr, n, shown);
}

/** config check and run on one config: both refuse it, naming `field`. */
async function bothRefuse(file: string, field: string, not: RegExp[] = []): Promise<{ check: CliResult; run: CliResult }> {
  const [check, run] = await Promise.all([runCli(['config', 'check', file]), runCli(['run', '--config', file], { env: { TAPWIRE_LOG: 'info' } })]);
  refused('config check', check, field, not);
  refused('run', run, field, not);
  return { check, run };
}

test('a URL port outside 1-65535: check and run say uplink.url (no TypeError: Invalid URL)', async () => {
  const w = world();
  try {
    await bothRefuse(w.config((c) => { c.uplink.url = 'mqtt://127.0.0.1:99999'; }), 'uplink.url', [/Invalid URL/]);
  } finally { w.dir.remove(); }
});

test('secrets inline: user:password in the URL, a username without passwordFile', async () => {
  const w = world();
  try {
    const { check, run } = await bothRefuse(w.config((c) => { c.uplink.url = 'mqtts://station:hunter2@127.0.0.1:8883'; }), 'uplink.url');
    assert.not.match(check.stderr + run.stderr, /hunter2/, 'the secret is never echoed');
    await bothRefuse(w.config((c) => { c.uplink.username = 'station'; }), 'uplink.passwordFile');
  } finally { w.dir.remove(); }
});

test('a missing passwordFile and a missing TLS ca: check and run name the field', async () => {
  const w = world();
  try {
    await bothRefuse(w.config((c) => { c.uplink.username = 'station'; c.uplink.passwordFile = join(w.dir.path, 'nope.pass'); }), 'uplink.passwordFile', [/UplinkFileError/]);
    await bothRefuse(w.config((c) => { c.uplink.ca = join(w.dir.path, 'nope-ca.pem'); }), 'uplink.ca', [/UplinkFileError/]);
  } finally { w.dir.remove(); }
});

test('a stateDir that is a file: stateDir, not ENOTDIR nor "ota state.json unreadable"', async () => {
  const w = world();
  try {
    writeFileSync(w.state, 'a file');
    await bothRefuse(w.config(), 'stateDir', [/state\.json/, /ENOTDIR/]);
  } finally { w.dir.remove(); }
});

test('a read-only stateDir: "not writable", not "ENOENT mkdir journal"', async () => {
  const w = world();
  mkdirSync(w.state);
  // root passes mode bits: a read-only mount is what a read-only directory is to root
  const mounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', w.state]).status === 0;
  if (!mounted) chmodSync(w.state, 0o555);
  try {
    const { check, run } = await bothRefuse(w.config(), 'stateDir', [/mkdir/]);
    for (const r of [check, run]) assert.match(r.stderr, /is not writable/);
  } finally {
    if (mounted) spawnSync('umount', [w.state]);
    chmodSync(w.state, 0o700);
    w.dir.remove();
  }
});

test('one pty named by its symlink in one source and by /dev/pts/N in another: refused, not "Cannot lock port" forever', async () => {
  const w = world();
  const pty = await createPtyPair();
  try {
    const real = realpathSync(pty.agentPath);
    assert.match(readlinkSync(pty.agentPath), /^\/dev\/pts\/\d+$/);
    const file = w.config((c) => {
      c.sources.push({ ...c.sources[0], id: 'env2', port: { path: real, baudRate: 9600 } });
      c.sources[0].port.path = pty.agentPath;
    });
    await bothRefuse(file, 'sources[1].port.path', [/Cannot lock port/]);
  } finally {
    await pty.close();
    w.dir.remove();
  }
});

test('a device key readable by others: chmod 600 <key>, not "create the device key"', async () => {
  const w = world();
  try {
    mkdirSync(w.state, { mode: 0o700 });
    const key = join(w.state, 'device.key');
    writeKeyPair(key, join(w.state, 'device.pub'), generateKeyPair());
    chmodSync(key, 0o644);
    const { run } = await bothRefuse(w.config(), 'stateDir', [/create the device key/]);
    assert.ok(run.stderr.includes(`chmod 600 ${key}`), run.stderr);
    const rotate = await runCli(['key', 'rotate', '--config', w.config()]);
    assert.is(rotate.code, 2, rotate.stderr);
    assert.ok(rotate.stderr.includes(`chmod 600 ${key}`), rotate.stderr);
    assert.not.match(rotate.stderr, /provision/);
  } finally { w.dir.remove(); }
});

test('provision: a stateDir under /proc fails at once (no mkdir loop), a dangling symlink says where it points', async () => {
  const w = world();
  try {
    // an endless mkdir loop is this timeout expiring
    const proc = await runCli(['provision', '--config', w.config((c) => { c.stateDir = '/proc/tapwire'; })], { timeoutMs: 20_000 });
    refused('provision /proc/tapwire', proc, 'stateDir');
    assert.match(proc.stderr, /\/proc\/tapwire cannot be created/);
    symlinkSync(join(w.dir.path, 'gone'), w.state);
    const dangling = await runCli(['provision', '--config', w.config()]);
    refused('provision with a dangling stateDir', dangling, 'stateDir');
    assert.match(dangling.stderr, /is a symlink to .*gone, which does not exist/);
  } finally { w.dir.remove(); }
});

test.run();
