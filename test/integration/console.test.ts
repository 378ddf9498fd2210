// The local console end to end (issue 14): the real CLI (`tapwire run`) with a
// lines source on one socat pty, the console on another, a real Mosquitto
// (password auth: the password file is a secret the console must never
// show) and a cloud-side verifier. The technician's end is the far side of
// the console pty, opened with the real serialport binding.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPrivateKey } from '../../agent/encode/keys.js';
import { kidOf } from '../../agent/encode/signer.js';
import { childPids } from '../peers/children.js';
import { openConsoleClient, type ConsoleClient } from '../peers/console-client.js';
import { runCli, type AgentProcess } from '../peers/agent-process.js';
import type { CloudWatch } from '../peers/cloud.js';
import { startDeviceRig, type DeviceRig } from '../peers/device-rig.js';
import { startMosquitto, type MosquittoPeer } from '../peers/mosquitto.js';
import { createPtyPair, type PtyPair } from '../peers/socat.js';
import { socketReport } from '../peers/sockets.js';
import { tempDir, waitFor } from '../helpers.js';

const DEVICE = 'cabinet-3';
const PROMPT = `${DEVICE}> `;
const USER = 'tapwire-cabinet';
const PASSWORD = 'Zq8-console-must-never-show-this-9xT';

interface Rig {
  dir: { path: string; remove(): void };
  broker: MosquittoPeer;
  /** The device: field pty, config, key, the fake cloud client. */
  device: DeviceRig;
  field: PtyPair;
  consoleDir: string;
  consolePty: PtyPair;
  configPath: string;
  stateDir: string;
  publicKey: Uint8Array;
  cloud: CloudWatch;
  agent: AgentProcess;
  client: ConsoleClient;
  written: number[];
  streaming: boolean;
  streamer?: Promise<void>;
}
let r: Rig;

const pause = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
const keysOf = (lines: string[]): string[] => lines.map((l) => l.slice(0, l.indexOf(':')));
const valueOf = (lines: string[], key: string): string => {
  const l = lines.find((x) => x.startsWith(`${key}: `));
  if (l === undefined) throw new Error(`no "${key}:" in\n${lines.join('\n')}`);
  return l.slice(key.length + 2);
};

/** Lines `n=<i> temp=<x>` into the field pty, ~40 per second, until told to stop. */
function startStreaming(): void {
  r.streaming = true;
  r.streamer = (async () => {
    while (r.streaming) {
      const n = r.written.length + 1;
      r.device.write(`n=${n} temp=${(20 + Math.sin(n / 5) * 3).toFixed(2)}`);
      r.written.push(n);
      await pause(25);
    }
  })();
}

/** Asks until the console answers (its command budget may be spent by a flood just before). */
/** Waits until the console has said nothing for 300 ms and stands at its prompt. */
async function quietAtPrompt(timeoutMs = 15_000): Promise<void> {
  let seen = -1;
  let since = Date.now();
  await waitFor(() => {
    const t = r.client.text();
    if (t.length !== seen) { seen = t.length; since = Date.now(); return false; }
    return Date.now() - since >= 300 && t.endsWith(PROMPT);
  }, timeoutMs, 'the console quiet at its prompt');
}

async function askWhenReady(line: string, timeoutMs = 20_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await r.client.ask(line, 1500);
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
}

test.before(async () => {
  const dir = tempDir('tapwire-console-');
  const broker = await startMosquitto({ persistence: true, users: { [USER]: PASSWORD } });
  const consoleDir = join(dir.path, 'usb');
  mkdirSync(consoleDir);
  const consolePty = await createPtyPair({ dir: consoleDir });
  const passwordFile = join(dir.path, 'mqtt-password');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  const device = await startDeviceRig({
    url: broker.url, device: DEVICE,
    uplink: { username: USER, passwordFile },
    batch: { maxRecords: 20, maxAgeMs: 200 },
    journal: { fsyncIntervalMs: 50 },
    source: { decoder: { type: 'kv', units: { temp: 'Cel' } } },
    config: { console: { port: { path: consolePty.agentPath, baudRate: 115200 } } },
    cloud: { clientId: `console-verifier-${process.pid}` },
  });
  const agent = await device.startAgent();
  const client = await openConsoleClient(consolePty.peerPath, PROMPT);
  r = {
    dir, broker, device, field: device.pty, consoleDir, consolePty, configPath: device.configPath, stateDir: device.stateDir,
    publicKey: device.publicKey, cloud: device.cloud, agent, client, written: [], streaming: false,
  };
  startStreaming();
  await waitFor(() => r.cloud.values('field:n').length >= 20, 15_000, 'the first readings at the cloud');
});

test.after(async () => {
  r.streaming = false;
  await r.streamer;
  await r.client?.close().catch(() => undefined);
  await r.device.close();
  await r.consolePty.close();
  await r.broker.close();
  r.dir.remove();
});

test('every command answers with the keys DESIGN.md lists, in CRLF lines, with the prompt after each', async () => {
  const help = await r.client.ask('help');
  for (const c of ['help', 'status', 'sources', 'last [source]', 'buffer', 'uplink', 'key', 'config', 'log [n]', 'monitor <source> [seconds]']) {
    assert.ok(help.some((l) => l.startsWith(`${c} `)), `help names ${c}:\n${help.join('\n')}`);
  }
  const status = await r.client.ask('status');
  assert.equal(keysOf(status), ['device', 'version', 'uptime', 'config version', 'clock', 'state', 'sources', 'buffer', 'uplink']);
  assert.is(valueOf(status, 'device'), DEVICE);
  assert.is(valueOf(status, 'config version'), '0 (local file)');
  assert.match(valueOf(status, 'clock'), /^(sync|free)$/);
  assert.is(valueOf(status, 'sources'), '1 of 1 ok');

  const sources = await r.client.ask('sources');
  assert.equal(sources[0]!.split(/\s{2,}/), ['name', 'type', 'port', 'state', 'readings', 'errors', 'last reading']);
  const row = sources[1]!.split(/\s{2,}/);
  assert.equal(row.slice(0, 4), ['field', 'lines', r.field.agentPath, 'ok']);
  assert.ok(Number(row[4]) > 0, `readings counted: ${sources[1]}`);
  assert.is(row[5], '0');

  const last = await r.client.ask('last field');
  const temp = last.find((l) => l.startsWith('field:temp'))!.split(/\s{2,}/);
  assert.is(temp[2], 'Cel');
  assert.match(temp[4]!, /^[▁▂▃▄▅▆▇█]{2,}$/, `a sparkline of the recent values: ${temp.join(' | ')}`);
  assert.ok(last.some((l) => l.startsWith('field:n ')));

  const buffer = await r.client.ask('buffer');
  assert.equal(keysOf(buffer).slice(0, 6), ['pending batches', 'pending bytes', 'oldest pending', 'journal bytes', 'max bytes', 'dropped batches']);
  assert.is(valueOf(buffer, 'max bytes'), '67108864 (64.0 MiB)');

  const uplink = await r.client.ask('uplink');
  assert.equal(keysOf(uplink).slice(0, 6), ['state', 'broker', 'since', 'last error', 'published', 'acknowledged']);
  assert.is(valueOf(uplink, 'state'), 'connected');
  assert.is(valueOf(uplink, 'broker'), r.broker.url);

  const key = await r.client.ask('key');
  assert.equal(key, [`fingerprint: ${Buffer.from(kidOf(r.publicKey)).toString('hex')}`, `public key: ${Buffer.from(r.publicKey).toString('hex')}`]);

  const config = await r.client.ask('config');
  assert.is(config[0], 'config version: 0 (local file)');
  assert.ok(config.includes(`uplink.passwordFile: ${join(r.dir.path, 'mqtt-password')} (secret file: contents never shown)`), config.join('\n'));
  assert.ok(config.includes(`console.port.path: ${r.consolePty.agentPath}`));

  const log = await r.client.ask('log 5');
  assert.is(log.length, 5);
  assert.ok(log.every((l) => /^(debug|info|warn|error) \S+ /.test(l)), log.join('\n'));

  assert.not.match(r.client.raw(), /[^\r]\n/, 'every line the console wrote ends in CRLF');
});

test('monitor shows the field bytes in hex and ASCII until the time is up; any key stops it earlier', async () => {
  const m = await r.client.ask('monitor field 2');
  assert.match(m[0]!, /^monitor field for 2 s/);
  assert.ok(m.some((l) => /^[0-9a-f]{8} {2}6e 3d /.test(l) || / 6e 3d /.test(l)), `"n=" in hex:\n${m.join('\n')}`);
  assert.ok(m.some((l) => /\|.*n=\d+ temp=.*\|$/.test(l)), 'and in ASCII');
  assert.match(m[m.length - 1]!, /^monitor ended: 2\.\d s, \d+ bytes received/);
  const from = r.client.text().length;
  await r.client.send('monitor field 600\r');
  await r.client.waitFor('any key stops', from);
  await r.client.send(' ');
  await r.client.waitFor(/monitor stopped \(key pressed\): .*\r\n/, from);
  await r.client.waitFor(PROMPT, r.client.text().length - PROMPT.length - 1);
});

test('tapwire status prints the same status, buffer and uplink answers from the status file', async () => {
  const consoleUplink = await r.client.ask('uplink');
  const consoleBuffer = await r.client.ask('buffer');
  const consoleStatus = await r.client.ask('status');
  const st = await runCli(['status', '--config', r.configPath]);
  assert.is(st.code, 0, st.stderr);
  const out = st.stdout.trimEnd().split('\n');
  assert.match(out[0]!, /status\.json: written \d+\.\d s ago by pid \d+ \(running\)$/);
  const section = (name: string): string[] => {
    const i = out.indexOf(`== ${name}`);
    const end = out.indexOf('', i);
    return out.slice(i + 1, end < 0 ? undefined : end);
  };
  assert.equal(keysOf(section('status')), keysOf(consoleStatus));
  assert.equal(keysOf(section('buffer')), keysOf(consoleBuffer));
  assert.equal(keysOf(section('uplink')), keysOf(consoleUplink));
  for (const k of ['device', 'version', 'config version']) assert.is(valueOf(section('status'), k), valueOf(consoleStatus, k));
  // the file is rewritten every 5 s: compare what does not change meanwhile
  assert.is(valueOf(section('uplink'), 'broker'), valueOf(consoleUplink, 'broker'));
});

test('junk and shell-like input answer "unknown command" and run nothing', async () => {
  const before = childPids(r.agent.pid);
  const pwned = join(r.dir.path, 'pwned');
  for (const line of ['sh', '$(id)', '; cat /etc/passwd', '`id`', `$(touch ${pwned})`, `status; touch ${pwned}`, '| reboot', 'exec /bin/sh', '../../../etc/shadow']) {
    const a = await askWhenReady(line);
    assert.is(a.length, 1, `${line}: ${a.join('\n')}`);
    assert.match(a[0]!, /^unknown command: \S+ \(try help\)$/, line);
  }
  assert.not.ok(existsSync(pwned), 'no command ran');
  assert.equal(childPids(r.agent.pid), before, 'no process was started');
  assert.not.match(r.client.text(), /root:x:0:0/, 'no file was printed');
});

test('Ctrl-C, Ctrl-D, Ctrl-Z, NULs, binary noise, a 10 KB line and a burst of 500 lines: the console stays, the data keeps flowing', async () => {
  const atStart = r.cloud.values('field:n').length;
  let from = r.client.text().length;
  await r.client.send('stat\x03');
  await r.client.waitFor(`stat^C\r\n${PROMPT}`, from);
  from = r.client.text().length;
  await r.client.send('\x04\x1a');
  assert.equal(await r.client.ask('key').then((a) => keysOf(a)), ['fingerprint', 'public key'], 'Ctrl-D and Ctrl-Z changed nothing');
  assert.ok(r.agent.child.exitCode === null, 'the agent was not stopped');
  await r.client.send(Buffer.alloc(512)); // NULs
  const noise = Buffer.alloc(3000);
  let x = 0x1f2e3d4c;
  for (let i = 0; i < noise.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; noise[i] = x & 0xff; }
  await r.client.send(noise);
  await r.client.send('\x03');
  await quietAtPrompt(); // the answers to the noise (and to Ctrl-C bytes inside it) are all out
  const long = await askWhenReady('x'.repeat(10_240));
  assert.ok(long.includes('line too long (more than 256 characters): ignored'), long.join('\n'));
  await r.client.send('sh\r'.repeat(500));
  await r.client.waitFor('(input too fast: lines are ignored for a moment)', from, 15_000);
  const status = await askWhenReady('status');
  assert.is(valueOf(status, 'device'), DEVICE);
  assert.ok(status.length === 9 || status[0]!.endsWith('lines ignored: input too fast)'), status.join('\n'));
  await waitFor(() => r.cloud.values('field:n').length > atStart + 40, 15_000, 'readings kept arriving meanwhile');
  assert.ok(r.agent.child.exitCode === null);
});

test('broker stopped: uplink says disconnected and buffer shows pending batches growing; back: connected and drained', async () => {
  await r.broker.stop();
  await waitFor(async () => valueOf(await askWhenReady('uplink'), 'state') === 'disconnected', 15_000, 'state: disconnected');
  const down = await askWhenReady('uplink');
  assert.is.not(valueOf(down, 'last error'), 'none');
  const first = Number(valueOf(await askWhenReady('buffer'), 'pending batches'));
  await waitFor(async () => Number(valueOf(await askWhenReady('buffer'), 'pending batches')) >= first + 3, 15_000, 'pending batches growing');
  const grown = await askWhenReady('buffer');
  assert.match(valueOf(grown, 'oldest pending'), /^seq \d+, .*ago\)$/);
  assert.ok(Number(valueOf(grown, 'pending bytes').split(' ')[0]) > 0);
  await r.broker.start();
  await waitFor(async () => valueOf(await askWhenReady('uplink'), 'state') === 'connected', 20_000, 'state: connected');
  r.streaming = false;
  await r.streamer;
  await waitFor(async () => valueOf(await askWhenReady('buffer'), 'pending batches') === '0', 20_000, 'drained: pending batches 0');
  assert.is(valueOf(await askWhenReady('buffer'), 'oldest pending'), 'none');
  startStreaming();
});

test('the console cable pulled and plugged back: the agent reopens it with backoff and answers again; readings never stopped', async () => {
  const atStart = r.cloud.values('field:n').length;
  await r.client.close();
  await r.consolePty.unplug();
  await waitFor(() => /warn console port lost/.test(r.agent.stderr()), 10_000, 'the agent notices the unplug');
  await waitFor(() => r.cloud.values('field:n').length > atStart + 20, 15_000, 'readings flow while the console is gone');
  r.consolePty = await createPtyPair({ dir: r.consoleDir });
  r.client = await openConsoleClient(r.consolePty.peerPath, PROMPT);
  await r.client.waitFor('Tapwire console on cabinet-3 (read-only diagnostics). Type help.', 0, 40_000);
  const a = await askWhenReady('status');
  assert.is(valueOf(a, 'device'), DEVICE);
});

test('nothing any command answered holds a secret: not the device key, not the password file', async () => {
  for (const c of ['status', 'sources', 'last', 'buffer', 'uplink', 'key', 'config', 'log 200', 'help']) await askWhenReady(c);
  const transcript = r.client.text();
  const keyFile = readFileSync(join(r.stateDir, 'device.key'), 'utf8');
  const { seed } = readPrivateKey(join(r.stateDir, 'device.key'));
  const secrets = [
    PASSWORD,
    Buffer.from(seed).toString('hex'), Buffer.from(seed).toString('base64'),
    ...keyFile.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')),
  ];
  for (const s of secrets) assert.not.ok(transcript.includes(s), `a secret in the console output: ${s.slice(0, 6)}…`);
  assert.ok(transcript.includes(Buffer.from(r.publicKey).toString('hex')), 'the public key is shown (it is not a secret)');
  assert.match(r.broker.log(), new RegExp(`u'${USER}'`), 'the agent did log in with the password it never shows');
});

test('still no listening socket; the agent stops cleanly and every reading fed meanwhile arrived and verified', async () => {
  assert.equal(socketReport(r.agent.pid).listening, []);
  r.streaming = false;
  await r.streamer;
  const last = r.written[r.written.length - 1]!;
  await waitFor(() => r.cloud.values('field:n').includes(last), 20_000, 'the last reading at the cloud');
  assert.is(await r.agent.stop(), 0);
  const values = r.cloud.values('field:n');
  assert.equal(r.written.filter((n) => !values.includes(n)), [], 'every reading written arrived');
  assert.is(new Set(values).size, values.length, 'each once');
  const s = r.cloud.summary();
  assert.ok(s.complete, JSON.stringify(s));
  assert.is(s.firstSeq, 1);
  assert.is(s.unexplainedBreaks, 0);
  assert.is(s.conflicts, 0);
});

test.run();
