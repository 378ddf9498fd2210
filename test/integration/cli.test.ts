// The CLI contract from the outside: --help everywhere, exit codes, bad
// config messages naming the field, provision's key files, the demo.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, spawnCli, startAgentProcess } from '../peers/agent-process.js';
import { openConsoleClient } from '../peers/console-client.js';
import { tempDir, waitFor } from '../helpers.js';

const good = (stateDir: string) => ({
  device: 'cli-1', stateDir,
  uplink: { url: 'mqtt://127.0.0.1:1883' },
  sources: [{ id: 'env', type: 'lines', port: { path: '/dev/ttyUSB0', baudRate: 9600 }, decoder: { type: 'kv' } }],
});

test('--help works for tapwire and every command, exit 0', async () => {
  const top = await runCli(['--help']);
  assert.is(top.code, 0);
  for (const cmd of ['run', 'provision', 'demo', 'verify', 'config', 'status']) {
    assert.match(top.stdout, cmd);
    const r = await runCli([cmd, '--help']);
    assert.is(r.code, 0, `${cmd} --help exits 0`);
    assert.match(r.stdout, `tapwire ${cmd}`);
  }
});

test('unknown command and unknown option are usage errors (exit 2)', async () => {
  assert.is((await runCli(['frobnicate'])).code, 2);
  const r = await runCli(['run', '--confg', 'x.json']);
  assert.is(r.code, 2);
  assert.match(r.stderr, '--confg');
});

const mistakes: Array<[string, (c: Record<string, any>) => void, string]> = [
  ['missing device', (c) => { delete c.device; }, 'device'],
  ['baud rate as a string', (c) => { c.sources[0].port.baudRate = '9600'; }, 'sources[0].port.baudRate'],
  ['unknown key', (c) => { c.sources[0].baud = 9600; }, 'sources[0].baud'],
  ['bad parity', (c) => { c.sources[0].port.parity = 'mark'; }, 'sources[0].port.parity'],
  ['write function code', (c) => {
    c.sources[0] = { id: 'm', type: 'modbus-rtu', port: { path: '/dev/ttyS0', baudRate: 9600 },
      devices: [{ unit: 1, registers: [{ name: 'x', fc: 6, address: 0, type: 'u16' }] }] };
  }, 'sources[0].devices[0].registers[0].fc'],
  ['unknown source type', (c) => { c.sources[0].type = 'modbus-tcp'; }, 'sources[0].type'],
  ['inline password', (c) => { c.uplink.password = 'hunter2'; }, 'uplink.password'],
  ['password file is the device key', (c) => { c.uplink.username = 'dev'; c.uplink.passwordFile = `${c.stateDir}/device.key`; }, 'uplink.passwordFile'],
  ['client key reached through ".."', (c) => { c.uplink.cert = '/etc/ssl/c.pem'; c.uplink.key = `${c.stateDir}/../state/device.key.next`; }, 'uplink.key'],
  ['duplicate source id', (c) => { c.sources.push({ ...c.sources[0], port: { path: '/dev/ttyUSB1', baudRate: 9600 } }); }, 'sources[1].id'],
];

for (const [what, mutate, field] of mistakes) {
  test(`bad config (${what}): check and run exit 2 naming ${field}`, async () => {
    const dir = tempDir();
    try {
      const cfg = good(join(dir.path, 'state'));
      mutate(cfg);
      const file = join(dir.path, 'bad.json');
      writeFileSync(file, JSON.stringify(cfg));
      const check = await runCli(['config', 'check', file]);
      assert.is(check.code, 2);
      assert.ok(check.stderr.includes(field), `check names ${field}:\n${check.stderr}`);
      const run = await runCli(['run', '--config', file]);
      assert.is(run.code, 2);
      assert.ok(run.stderr.includes(field), `run names ${field}:\n${run.stderr}`);
      assert.not.ok(run.stderr.includes('hunter2'), 'a secret is never echoed');
    } finally { dir.remove(); }
  });
}

test('bad JSON names line and column; missing file names the path', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'broken.json');
    writeFileSync(file, '{\n  "device": "x",\n  "stateDir": \n}');
    const r = await runCli(['config', 'check', file]);
    assert.is(r.code, 2);
    assert.match(r.stderr, /:4:1/);
    const m = await runCli(['config', 'check', join(dir.path, 'nope.json')]);
    assert.is(m.code, 2);
    assert.match(m.stderr, 'nope.json');
  } finally { dir.remove(); }
});

test('provision creates a 0600 key and device.pub, prints the fingerprint, never overwrites; run refuses a 0644 key', async () => {
  const dir = tempDir();
  try {
    const stateDir = join(dir.path, 'state');
    const file = join(dir.path, 'c.json');
    writeFileSync(file, JSON.stringify(good(stateDir)));
    const p = await runCli(['provision', '--config', file]);
    assert.is(p.code, 0, p.stderr);
    const key = join(stateDir, 'device.key');
    assert.is(statSync(key).mode & 0o777, 0o600);
    const pub = readFileSync(join(stateDir, 'device.pub'), 'utf8');
    assert.match(pub, /^[0-9a-f]{64}\n$/);
    assert.match(p.stdout, pub.trim());
    const fp = /fingerprint\s+([0-9a-f]{16})/.exec(p.stdout)?.[1];
    assert.ok(fp, 'fingerprint printed');
    const before = readFileSync(key);
    const again = await runCli(['provision', '--config', file]);
    assert.is(again.code, 0);
    assert.equal(readFileSync(key), before, 'existing key kept');
    assert.match(again.stdout, fp!);

    const { chmodSync } = await import('node:fs');
    chmodSync(key, 0o644);
    const run = await runCli(['run', '--config', file]);
    assert.is(run.code, 2);
    assert.match(run.stderr, 'device.key');
  } finally { dir.remove(); }
});

test('a config broken after a good start does not brick the device: run logs every problem and runs the last good copy', async () => {
  const dir = tempDir();
  try {
    const stateDir = join(dir.path, 'state');
    const file = join(dir.path, 'c.json');
    const cfg = good(stateDir);
    cfg.sources[0]!.port.path = join(dir.path, 'no-such-tty'); // the agent runs; the port is retried
    writeFileSync(file, JSON.stringify(cfg));
    assert.is((await runCli(['provision', '--config', file])).code, 0);
    let agent = await startAgentProcess(file);
    assert.is(await agent.stop(), 0);
    assert.ok(existsSync(join(stateDir, 'local-config.last-good.json')), 'the good config was kept');

    writeFileSync(file, JSON.stringify({ ...cfg, batch: { maxRecords: 'lots' } }));
    agent = await startAgentProcess(file);
    assert.match(agent.stderr(), 'batch.maxRecords');
    assert.match(agent.stderr(), 'running the last good config');
    assert.is(await agent.stop(), 0);

    // valid, but it cannot run here (preflight): a CA file that does not exist
    const missingCa = join(dir.path, 'no-such-ca.pem');
    writeFileSync(file, JSON.stringify({ ...cfg, uplink: { ...cfg.uplink, url: 'mqtts://127.0.0.1:8883', ca: missingCa } }));
    const check = await runCli(['config', 'check', file]);
    assert.is(check.code, 2, 'config check refuses it');
    assert.match(check.stderr, 'uplink.ca');
    // the flag every other command takes says the same
    const flagged = await runCli(['config', 'check', '--config', file]);
    assert.is(flagged.code, 2, 'config check --config refuses it');
    assert.match(flagged.stderr, 'uplink.ca');
    agent = await startAgentProcess(file);
    assert.match(agent.stderr(), 'uplink.ca');
    assert.match(agent.stderr(), 'running the last good config');
    assert.not.match(agent.stderr(), 'mqtts://', 'the last good config runs, not the new one');
    assert.is(await agent.stop(), 0);
    assert.match(readFileSync(join(stateDir, 'local-config.last-good.json'), 'utf8'), 'mqtt://127.0.0.1:1883', 'a fallback run never replaces the last good copy');
  } finally { dir.remove(); }
});

test('SIGTERM while the agent is still starting ends in a clean stop, exit 0', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'c.json');
    const cfg = good(join(dir.path, 'state'));
    cfg.sources[0]!.port.path = join(dir.path, 'no-such-tty');
    writeFileSync(file, JSON.stringify(cfg));
    assert.is((await runCli(['provision', '--config', file])).code, 0);
    const agent = spawnCli(['run', '--config', file]);
    let sent = false;
    agent.child.stderr!.on('data', () => {
      // the journal is open, the agent is not running yet
      if (!sent && agent.stderr().includes('journal open')) { sent = true; agent.child.kill('SIGTERM'); }
    });
    const code = await agent.exited;
    assert.ok(sent, 'the signal was sent during start-up');
    assert.is(code, 0, agent.stderr());
    assert.match(agent.stderr(), 'signal received, stopping');
  } finally { dir.remove(); }
});

test('config schema prints a JSON Schema; config keygen writes an operator key pair', async () => {
  const s = await runCli(['config', 'schema']);
  assert.is(s.code, 0);
  const schema = JSON.parse(s.stdout) as { properties: Record<string, unknown> };
  assert.ok(schema.properties.sources && schema.properties.uplink);
  const dir = tempDir();
  try {
    const out = join(dir.path, 'op.key');
    const k = await runCli(['config', 'keygen', '--out', out]);
    assert.is(k.code, 0, k.stderr);
    assert.is(statSync(out).mode & 0o777, 0o600);
    assert.ok(existsSync(out + '.pub'));
  } finally { dir.remove(); }
});

test('config sign refuses an invalid config and a config for another device; signs a fleet config without device/stateDir', async () => {
  const dir = tempDir();
  try {
    const key = join(dir.path, 'op.key');
    assert.is((await runCli(['config', 'keygen', '--out', key])).code, 0);
    const cfg = good(join(dir.path, 'state'));
    const file = join(dir.path, 'c.json');
    writeFileSync(file, JSON.stringify(cfg));
    const other = await runCli(['config', 'sign', '--key', key, '--device', 'someone-else', '--version', '3', '--out', join(dir.path, 'x.cose'), file]);
    assert.is(other.code, 2);
    assert.match(other.stderr, 'someone-else');
    writeFileSync(file, JSON.stringify({ ...cfg, batch: { maxRecords: 0 } }));
    const invalid = await runCli(['config', 'sign', '--key', key, '--device', 'cli-1', '--version', '3', '--out', join(dir.path, 'x.cose'), file]);
    assert.is(invalid.code, 2);
    assert.match(invalid.stderr, 'batch.maxRecords');
    const { device: _d, stateDir: _s, ...fleet } = cfg;
    writeFileSync(file, JSON.stringify(fleet));
    const ok = await runCli(['config', 'sign', '--key', key, '--device', '*', '--version', '3', '--out', join(dir.path, 'f.cose'), file]);
    assert.is(ok.code, 0, ok.stderr);
    assert.ok(statSync(join(dir.path, 'f.cose')).size > 100);
  } finally { dir.remove(); }
});

test('demo runs on embedded defaults and verifies readings end to end (exit 0)', async () => {
  const r = await runCli(['demo', '--duration', '3', '--interval', '100'], { timeoutMs: 40_000 });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /verified batch seq 1: \d+ readings, signature ok, chain ok/);
  assert.match(r.stdout, 'env:temp');
  assert.match(r.stdout, 'wx:wind_speed');
  assert.match(r.stdout, /chain complete/);
});

test('demo opens the local console on a pty, says how to attach, and the console answers there', async () => {
  const demo = spawnCli(['demo', '--duration', '6', '--interval', '100']);
  try {
    const m = await waitFor(() => /console: attach with `screen (\S+) 115200`/.exec(demo.stdout()), 30_000, `the attach line\n${demo.stderr()}`);
    const client = await openConsoleClient(m[1]!, 'demo-station> ');
    try {
      const status = await client.ask('status');
      assert.ok(status.includes('device: demo-station'), status.join('\n'));
      await waitFor(async () => (await client.ask('last env')).some((l) => l.startsWith('env:temp')), 10_000, 'env readings on the console');
    } finally { await client.close(); }
    assert.is(await demo.exited, 0, demo.stderr());
  } finally {
    if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
  }
});

test('demo without socat falls back to an in-process simulated port and still verifies end to end', async () => {
  // a PATH holding node and nothing else: no socat; the demo must say how to install it and carry on
  const bin = tempDir();
  try {
    symlinkSync(process.execPath, join(bin.path, 'node'));
    const r = await runCli(['demo', '--duration', '2', '--interval', '100'], { timeoutMs: 40_000, env: { PATH: bin.path } });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, 'apt-get install socat');
    assert.match(r.stdout, /verified batch seq 1: \d+ readings, signature ok, chain ok/);
  } finally { bin.remove(); }
});

test.run();
