// Over-the-air config end to end: the real CLI (`tapwire run`) in a child
// process, sources on socat ptys, aedes as the broker, an operator publishing
// signed configs (retained, as `tapwire config sign` writes them) and reading
// the device's signed acks. Crash = kill -9 of the agent.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { Ack } from '../../agent/ota/ack.js';
import { startAedes, type AedesPeer } from '../peers/aedes.js';
import { prepareDevice, runCli, startAgentProcess, type AgentProcess } from '../peers/agent-process.js';
import { watchCloud, type CloudWatch } from '../peers/cloud.js';
import { openFieldPty, type FieldPty } from '../peers/field-pty.js';
import { tempDir, waitFor } from '../helpers.js';
import { openAck, operator, signConfig, stranger, trustOperators } from '../ota/fixtures.js';

const DEV = 'ota-1';
const CONFIG_TOPIC = `tapwire/${DEV}/config`;

interface Rig {
  broker: AedesPeer;
  ptys: FieldPty[];
  dir: { path: string; remove(): void };
  stateDir: string;
  configPath: string;
  publicKey: Uint8Array;
  op: MqttClient;
  acks: Ack[];
  /** The fake cloud client (events: what the chain verifier made of the data topic). */
  cloud: CloudWatch;
  /** `tapwire run` on the rig's config with more run options; close() kills -9 whichever still runs. */
  startAgent(args?: string[]): Promise<AgentProcess>;
  /** A config (as JSON) with the first `sources` ptys as lines sources "s0", "s1", ... */
  config(over?: Record<string, unknown>, sources?: number): Record<string, unknown>;
  publish(bytes: Uint8Array, retain?: boolean): Promise<void>;
  write(pty: number, line: string): void;
  names(): Set<string>;
  close(): Promise<void>;
}

async function rig(): Promise<Rig> {
  const broker = await startAedes();
  const ptys = [await openFieldPty(), await openFieldPty()];
  const dir = tempDir('tapwire-ota-');
  const stateDir = join(dir.path, 'state');
  const configPath = join(dir.path, 'config.json');
  const config = (over: Record<string, unknown> = {}, sources = 1): Record<string, unknown> => ({
    device: DEV, stateDir,
    uplink: { url: broker.url, protocolVersion: 4, reconnect: { initialMs: 100, maxMs: 500 } },
    batch: { maxRecords: 10, maxAgeMs: 100 },
    journal: { fsyncIntervalMs: 50 },
    sources: ptys.slice(0, sources).map((p, i) => ({ id: `s${i}`, type: 'lines', port: { path: p.agentPath, baudRate: 115200 }, decoder: { type: 'kv' } })),
    ...over,
  });
  const publicKey = prepareDevice(configPath, config() as Record<string, unknown> & { stateDir: string });
  trustOperators(stateDir, [operator]);
  const acks: Ack[] = [];
  const op = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: `operator-${process.pid}` });
  op.on('message', (topic, payload) => {
    if (topic === `${CONFIG_TOPIC}/ack`) acks.push(openAck(payload, [publicKey]));
  });
  await op.subscribeAsync(`${CONFIG_TOPIC}/ack`, { qos: 1 });
  const cloud = watchCloud({ url: broker.url, device: DEV, publicKey, protocolVersion: 4 });
  await cloud.ready;
  const agents: AgentProcess[] = [];
  return {
    broker, ptys, dir, stateDir, configPath, publicKey, op, acks, cloud, config,
    async startAgent(args = []) { const a = await startAgentProcess(configPath, { args }); agents.push(a); return a; },
    async publish(bytes, retain = true) { await op.publishAsync(CONFIG_TOPIC, Buffer.from(bytes), { qos: 1, retain }); },
    write(pty, line) { ptys[pty]!.write(line + '\n'); },
    names: () => new Set(cloud.events.flatMap((e) => (e.kind === 'batch' ? e.readings.map((r) => r.name) : []))),
    async close() {
      for (const a of agents) await a.kill9();
      await cloud.close();
      await op.endAsync(true);
      for (const p of ptys) await p.close();
      await broker.close();
      dir.remove();
    },
  };
}

const sign = (_r: Rig, version: number, config: unknown, dev = DEV): Uint8Array => signConfig(operator, { dev, version, config });
const otaState = (r: Rig): Record<string, unknown> => JSON.parse(readFileSync(join(r.stateDir, 'ota', 'state.json'), 'utf8')) as Record<string, unknown>;
/** What decides which config runs and what is accepted (pendingAck comes and goes with ack delivery). */
const runningState = (r: Rig): string => {
  const { highest, current, good, trial, message } = otaState(r);
  return JSON.stringify({ highest, current, good, trial, message });
};
const agentStarts = (p: AgentProcess): number => p.stderr().split('\n').filter((l) => l.includes(' agent running ')).length;

test('a newer signed config is applied without a restart and acked; older, replayed, flipped, foreign-key, wrong-device, schema-invalid, non-COSE and oversized ones are rejected with the reason, running config untouched', async () => {
  const r = await rig();
  let agent: AgentProcess;
  try {
    agent = await r.startAgent(['--health-timeout', '5000']);
    const pid = agent.pid;
    r.write(0, 'a=1');
    await waitFor(() => r.names().has('s0:a'), 10_000, 'reading from s0');

    // v1: a second source; published retained, as an operator does
    await r.publish(sign(r, 1, r.config({}, 2)));
    await waitFor(() => r.acks.length >= 1, 15_000, 'ack for v1');
    assert.equal([r.acks[0]!.result, r.acks[0]!.version, r.acks[0]!.dev], ['accepted', 1, DEV], JSON.stringify(r.acks[0]));
    assert.is(agent.pid, pid, 'same process');
    await waitFor(() => { r.write(1, 'b=2'); return r.names().has('s1:b'); }, 10_000, 'reading from the new source s1');
    assert.equal(otaState(r).current, 1);

    const v2 = sign(r, 2, r.config({ batch: { maxRecords: 5, maxAgeMs: 100 } }, 2));
    await r.publish(v2);
    await waitFor(() => r.acks.length >= 2, 15_000, 'ack for v2');
    assert.equal([r.acks[1]!.result, r.acks[1]!.version], ['accepted', 2]);
    const starts = agentStarts(agent);
    const before = runningState(r);

    const flipped = Uint8Array.from(v2);
    flipped[flipped.length - 10]! ^= 0x04;
    const bad = r.config({}, 2);
    (bad.sources as Array<Record<string, unknown>>)[0]!.port = { path: '/dev/null', baudRate: 'fast' };
    const cases: Array<[string, Uint8Array, string, RegExp]> = [
      ['older version', sign(r, 1, r.config({}, 2)), 'not-newer', /older than the running version 2/],
      ['replay of the current one', v2, 'not-newer', /replay/],
      ['flipped byte', flipped, 'bad-signature', /bad signature/],
      ['unknown operator key', signConfig(stranger, { dev: DEV, version: 9, config: r.config() }), 'unknown-key', /not a trusted operator key/],
      ['wrong device', sign(r, 9, r.config(), 'pump-9'), 'wrong-device', /pump-9/],
      ['schema-invalid config', sign(r, 9, bad), 'schema', /sources\[0\]\.port\.baudRate/],
      ['non-COSE message', new TextEncoder().encode(JSON.stringify({ v: 1, dev: DEV, version: 9, config: r.config() })), 'not-cose', /COSE_Sign1/],
      ['oversized message', new Uint8Array(80 * 1024).fill(0xd2), 'too-large', /limit 65536/],
    ];
    for (const [, bytes] of cases) await r.publish(bytes, false);
    await waitFor(() => r.acks.length >= 2 + cases.length, 15_000, 'every rejection acked');
    const rejections = r.acks.slice(2);
    for (let i = 0; i < cases.length; i++) {
      const [what, , code, reason] = cases[i]!;
      const a = rejections[i]!;
      assert.equal([a.result, a.code], ['rejected', code], `${what}: ${JSON.stringify(a)}`);
      assert.match(a.reason ?? '', reason, what);
    }
    assert.is(agentStarts(agent), starts, 'no agent was restarted for a rejected config');
    assert.is(runningState(r), before, 'OTA state untouched');
    assert.match(agent.stderr(), /warn ota config rejected code=bad-signature/, 'rejections are logged with their code');

    const status = JSON.parse(readFileSync(join(r.stateDir, 'status.json'), 'utf8')) as { config: { version: number }; counters: Record<string, number> };
    assert.is(status.config.version, 2);
    assert.is(await agent.stop(), 0, 'SIGTERM: exit 0');

    // a restart runs the over-the-air config (version 2), not the local file
    agent = await r.startAgent();
    assert.match(agent.stderr(), /agent running .*config_version=2/);
    assert.is(await agent.stop(), 0);
  } finally {
    await r.close();
  }
});

test('a config pointing a source at a missing port, or the uplink at a dead broker, is rolled back after the deadline and the ack says so', async () => {
  const r = await rig();
  let agent: AgentProcess;
  try {
    agent = await r.startAgent(['--health-timeout', '1500']);
    const missing = r.config({ sources: [{ id: 's0', type: 'lines', port: { path: join(r.dir.path, 'no-such-tty'), baudRate: 9600 }, decoder: { type: 'kv' } }] });
    await r.publish(sign(r, 1, missing));
    await waitFor(() => r.acks.length >= 1, 15_000, 'ack for v1');
    assert.equal([r.acks[0]!.result, r.acks[0]!.version, r.acks[0]!.code], ['rolled-back', 1, 'health'], JSON.stringify(r.acks[0]));
    assert.match(r.acks[0]!.reason!, /source s0 not open/);

    const dead = r.config({ uplink: { url: 'mqtt://127.0.0.1:9', protocolVersion: 4, reconnect: { initialMs: 100, maxMs: 500 } } });
    await r.publish(sign(r, 2, dead));
    await waitFor(() => r.acks.length >= 2, 15_000, 'ack for v2');
    assert.equal([r.acks[1]!.result, r.acks[1]!.version, r.acks[1]!.code], ['rolled-back', 2, 'health'], JSON.stringify(r.acks[1]));
    assert.match(r.acks[1]!.reason!, /uplink not connected/);

    const s = otaState(r);
    assert.equal([s.current, s.good, s.highest, s.trial], [0, 0, 2, false]);
    // the local config runs again: data flows
    const n = r.cloud.events.length;
    await waitFor(() => { r.write(0, 'after=1'); return r.cloud.events.length > n && r.names().has('s0:after'); }, 10_000, 'readings after the rollbacks');
    assert.match(agent.stderr(), /warn ota config failed its health check: rolling back/);
  } finally {
    await r.close();
  }
});

test('kill -9 at several moments of an apply: the agent comes back on the old or the new config, never a half-written one', async () => {
  const r = await rig();
  let agent: AgentProcess;
  const moments = [/ota config verified/, /ota config stored: applying/, /agent stopped/, / agent running .*config_version=[1-9]/, /ota config applied: health check passed/];
  const outcomes = new Set<string>();
  try {
    let running = 0;
    for (let i = 0; i < moments.length; i++) {
      const version = i + 1;
      agent = await r.startAgent(['--health-timeout', '4000']);
      const from = agent.stderr().length;
      await r.publish(sign(r, version, r.config({ batch: { maxRecords: 10 + version, maxAgeMs: 100 } })));
      await agent.waitLine(moments[i]!, 15_000, from);
      await agent.kill9();

      // never half-written: every file under ota/ is complete JSON, and state names an existing config
      const otaDir = join(r.stateDir, 'ota');
      for (const f of existsSync(otaDir) ? readdirSync(otaDir) : []) {
        if (f.endsWith('.json')) JSON.parse(readFileSync(join(otaDir, f), 'utf8'));
      }
      agent = await r.startAgent(['--health-timeout', '4000']);
      const came = Number(/ agent running .*config_version=(\d+)/.exec(agent.stderr())![1]);
      assert.ok(came === running || came === version, `kill at ${moments[i]}: came back on version ${came}, expected ${running} or ${version}`);
      if (came > 0) assert.ok(existsSync(join(otaDir, `config-${came}.json`)));
      outcomes.add(came === version ? 'new' : 'old');
      // the message stays retained: the agent settles on it (applied, or answered rolled-back "interrupted")
      await waitFor(() => r.acks.some((a) => a.version === version), 20_000, `an ack for version ${version}`);
      await waitFor(() => otaState(r).trial === false, 10_000, 'no trial left');
      running = otaState(r).current as number;
      assert.ok(running === version || running === came, `settled on ${running}`);
      assert.is(await agent.stop(), 0);
    }
    assert.equal([...outcomes].sort(), ['new', 'old'], 'both outcomes were seen');
  } finally {
    await r.close();
  }
});

test('tapwire config sign → retained publish → applied: the CLI-signed message is what the agent accepts', async () => {
  const r = await rig();
  let agent: AgentProcess;
  try {
    const keyFile = join(r.dir.path, 'operator.key');
    const kg = await runCli(['config', 'keygen', '--out', keyFile]);
    assert.is(kg.code, 0, kg.stderr);
    const prov = await runCli(['provision', '--config', r.configPath, '--operator', `${keyFile}.pub`]);
    assert.is(prov.code, 0, prov.stderr);
    assert.match(prov.stdout, /operator\s+[0-9a-f]{16} \(trusted, installed now\)/);
    const newConfig = join(r.dir.path, 'new.json');
    writeFileSync(newConfig, JSON.stringify(r.config({ batch: { maxRecords: 3, maxAgeMs: 100 } })));
    const out = join(r.dir.path, 'new.cose');
    const signed = await runCli(['config', 'sign', '--key', keyFile, '--device', '*', '--version', '7', '--out', out, newConfig]);
    assert.is(signed.code, 0, signed.stderr);
    agent = await r.startAgent();
    await r.publish(readFileSync(out));
    await waitFor(() => r.acks.length >= 1, 15_000, 'ack');
    assert.equal([r.acks[0]!.result, r.acks[0]!.version], ['accepted', 7]);
    assert.is(await agent.stop(), 0);
  } finally {
    await r.close();
  }
});

test('a signed config naming a device secret as a credential (direct path, symlink, "..", symlink then "..", hard link) is rejected, signed, and the broker it names never sees a connection', async () => {
  const r = await rig();
  // the broker a hostile config points at: it records every connection and every password it is offered
  const offered: string[] = [];
  const thief = await startAedes({ authenticate: (_c, user, pass, done) => { offered.push(`${user}:${String(pass)}`); done(null, true); } });
  let agent: AgentProcess;
  try {
    agent = await r.startAgent(['--health-timeout', '3000']);
    const key = join(r.stateDir, 'device.key');
    const etc = join(r.dir.path, 'etc');
    mkdirSync(etc);
    symlinkSync(key, join(etc, 'password'));
    symlinkSync(join(r.stateDir, 'operators'), join(etc, 'ops'));
    linkSync(key, join(etc, 'hard'));
    const variants: Array<[string, Record<string, unknown>]> = [
      ['direct', { passwordFile: key }],
      ['symlink', { passwordFile: join(etc, 'password') }],
      ['..', { passwordFile: `${etc}/../state/device.key` }],
      ['symlink then ..', { passwordFile: `${etc}/ops/../device.key` }],
      ['hard link', { passwordFile: join(etc, 'hard') }],
      ['client key', { cert: join(etc, 'password'), key }],
    ];
    let version = 0;
    for (const [what, files] of variants) {
      const hostile = r.config({ uplink: { url: thief.url, protocolVersion: 4, ...('passwordFile' in files ? { username: 'dev' } : {}), ...files } });
      await r.publish(sign(r, ++version, hostile));
      // an agent that took the config would connect there instead of acking here
      await waitFor(() => r.acks.length >= version || thief.connections() > 0, 15_000, `ack for the ${what} variant`);
      assert.is(thief.connections(), 0, `${what}: the agent connected to the broker the config names (${offered.length} password(s) offered)`);
      const a = r.acks[version - 1]!;
      assert.equal([a.result, a.code, a.version], ['rejected', 'secret-path', version], `${what}: ${JSON.stringify(a)}`);
      assert.match(a.reason ?? '', /uplink\.(passwordFile|cert|key): .*(state directory|hard link)/, what);
    }
    assert.is(thief.connections(), 0, 'no connection to the broker the hostile configs name');
    assert.equal(offered, [], 'no password offered');
    assert.not.ok(existsSync(join(r.stateDir, 'ota', 'state.json')), 'nothing was stored or applied: the local config still runs');
    const keyText = readFileSync(key, 'utf8');
    assert.not.ok(agent.stderr().includes(keyText.split('\n')[1]!), 'the key never appears in the log');
    // still connected to the real broker and publishing
    await waitFor(() => { r.write(0, 'still=1'); return r.names().has('s0:still'); }, 10_000, 'readings after the rejections');
  } finally {
    await thief.close();
    await r.close();
  }
});

test('config swaps lose no line: a sensor writing numbered lines through five applies and rollbacks is read without a gap or a duplicate', async () => {
  const r = await rig();
  let n = 0;
  let writer: ReturnType<typeof setInterval> | undefined;
  try {
    await r.startAgent(['--health-timeout', '1500']);
    // the sensor: one numbered line every 20 ms, split in two writes so swaps also fall inside a line
    writer = setInterval(() => {
      n++;
      const line = `n=${n}\n`;
      r.ptys[0]!.write(line.slice(0, 2));
      r.ptys[0]!.write(line.slice(2));
    }, 20);
    const seen = (): number[] => r.cloud.events.flatMap((e) => (e.kind === 'batch' ? e.readings.filter((x) => x.name === 's0:n').map((x) => x.v as number) : []));
    await waitFor(() => seen().length > 5, 10_000, 'first numbered readings');
    const steps: Array<[Record<string, unknown>, string]> = [
      [r.config({ batch: { maxRecords: 7, maxAgeMs: 100 } }), 'accepted'],
      [r.config({ uplink: { url: 'mqtt://127.0.0.1:9', protocolVersion: 4, reconnect: { initialMs: 100, maxMs: 500 } } }), 'rolled-back'],
      [r.config({ sources: [{ id: 's0', type: 'lines', port: { path: join(r.dir.path, 'missing-tty'), baudRate: 115200 }, decoder: { type: 'kv' } }] }), 'rolled-back'],
      [r.config({ batch: { maxRecords: 9, maxAgeMs: 100 } }), 'accepted'],
      [r.config({ batch: { maxRecords: 11, maxAgeMs: 100 } }), 'accepted'],
    ];
    for (let i = 0; i < steps.length; i++) {
      const [config, result] = steps[i]!;
      await r.publish(sign(r, i + 1, config));
      await waitFor(() => r.acks.length > i, 20_000, `ack for version ${i + 1}`);
      assert.is(r.acks[i]!.result, result, JSON.stringify(r.acks[i]));
    }
    clearInterval(writer);
    writer = undefined;
    const last = n;
    await waitFor(() => seen().includes(last), 15_000, `the last line, n=${last}`);
    const got = seen();
    const first = got[0]!;
    const expected = Array.from({ length: last - first + 1 }, (_, k) => first + k);
    const missing = expected.filter((k) => !got.includes(k));
    assert.equal(missing, [], `lines lost across the swaps (${missing.length} of ${expected.length})`);
    assert.is(got.length, expected.length, 'no line read twice');
    assert.equal(got, expected, 'in order');
  } finally {
    if (writer) clearInterval(writer);
    await r.close();
  }
});

test.run();
