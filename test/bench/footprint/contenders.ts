// The contenders of the footprint bench: how each is started on the workload
// and how its MQTT messages count (readings, payload bytes, the time stamp of
// the first reading, whether every value arrived exactly).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveSenml } from '../../../agent/encode/senml.js';
import { parseBatchPayload } from '../../../agent/encode/batch.js';
import { decodeSign1 } from '../../../agent/encode/cose.js';
import { generateKeyPair, writeKeyPair } from '../../../agent/encode/keys.js';
import { keyPaths } from '../../../agent/agent.js';
import { collectdConfig, expectedByName, SOURCE_ID, tapwireConfig } from './workload.js';
import { nodeRedSetup } from './node-red.js';
import { splitBatch, type ByteSplit } from './bytes.js';

export interface Counted { readings: number; bytes: number; firstTime?: number; inexact: number }
export interface Spawned { child: ChildProcess; spawnedAt: number; stderr(): string }

export interface Contender {
  label: string;
  /** MQTT topic filter of its data (a prefix). */
  topic: string;
  spawn(o: { dir: string; port: string; brokerUrl: string; brokerPort: number; intervalMs: number }): Spawned;
  /** Readings, bytes, first stamp (Unix s) and inexact values in one message. */
  count(payload: Buffer, topic: string): Counted;
  /** Where one message's bytes go (Tapwire only). */
  split?(payload: Buffer, into: ByteSplit): void;
}

const EXPECTED = expectedByName();

function launch(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const spawnedAt = Date.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...env } });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => { if (err.length < 200_000) err += d.toString(); });
  return { child, spawnedAt, stderr: () => err };
}

/** A `lines` source on a pty nobody writes to: sources connected, nothing arriving. */
function idleConfig(o: { stateDir: string; url: string; port: string }): Record<string, unknown> {
  return {
    device: 'bench-1', stateDir: o.stateDir, uplink: { url: o.url, protocolVersion: 4 },
    sources: [{ id: 'idle', type: 'lines', port: { path: o.port, baudRate: 9600 }, decoder: { type: 'kv' } }],
  };
}

/**
 * Tapwire run by `cmd` (node + bundle, or a single executable, or qemu + executable), with `env`
 * (NODE_OPTIONS of the systemd unit); `idle`: a silent line source instead of the workload.
 */
export function tapwire(label: string, cmd: string, prefixArgs: string[], env: NodeJS.ProcessEnv, idle = false): Contender {
  return {
    label,
    topic: 'tapwire/bench-1/data',
    split: splitBatch,
    spawn(o) {
      const stateDir = join(o.dir, 'state');
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      const { key, pub } = keyPaths(stateDir);
      writeKeyPair(key, pub, generateKeyPair());
      const config = join(o.dir, 'config.json');
      const c = idle
        ? idleConfig({ stateDir, url: o.brokerUrl, port: o.port })
        : tapwireConfig({ stateDir, url: o.brokerUrl, port: o.port, intervalMs: o.intervalMs, device: 'bench-1' });
      writeFileSync(config, JSON.stringify(c));
      return launch(cmd, [...prefixArgs, 'run', '--config', config], { TAPWIRE_CACHE_DIR: join(o.dir, 'cache'), ...env });
    },
    count(payload) {
      const p = parseBatchPayload(decodeSign1(payload).payload);
      if (!p.senml) return { readings: 0, bytes: payload.length, inexact: 0 };
      const rs = resolveSenml(p.senml, 'bench-1');
      let inexact = 0;
      let firstTime: number | undefined;
      for (const r of rs) {
        const want = EXPECTED.get(r.name.slice(SOURCE_ID.length + 1));
        if (want === undefined || !Object.is(r.v, want)) inexact++;
        if (firstTime === undefined || r.time < firstTime) firstTime = r.time;
      }
      return { readings: rs.length, bytes: payload.length, inexact, ...(firstTime !== undefined ? { firstTime } : {}) };
    },
  };
}

/** Bare node with one timer: the floor every Node program stands on. */
export const bareNode: Contender = {
  label: 'bare node (one timer)',
  topic: 'none/',
  spawn: () => launch(process.execPath, ['-e', 'setInterval(() => {}, 1000)']),
  count: (payload) => ({ readings: 0, bytes: payload.length, inexact: 0 }),
};

/** The JSON-per-reading reference (a bundle of json-reference.ts). */
export function jsonReference(bundle: string): Contender {
  return {
    label: 'JSON-per-reading (node)',
    topic: 'ref/',
    spawn: (o) => launch(process.execPath, [bundle, JSON.stringify({ port: o.port, url: o.brokerUrl, intervalMs: o.intervalMs })]),
    count(payload) {
      const m = JSON.parse(payload.toString()) as { n: string; v: number; t: number };
      return { readings: 1, bytes: payload.length, firstTime: m.t, inexact: Object.is(m.v, EXPECTED.get(m.n)) ? 0 : 1 };
    },
  };
}

/** collectd 5.12 with its modbus and mqtt plugins (Debian collectd-core). */
export const collectd: Contender = {
  label: 'collectd (C)',
  topic: 'collectd/',
  spawn(o) {
    const conf = join(o.dir, 'collectd.conf');
    writeFileSync(conf, collectdConfig({ baseDir: o.dir, port: o.port, intervalMs: o.intervalMs, brokerPort: o.brokerPort }));
    return launch('/usr/sbin/collectd', ['-f', '-C', conf]);
  },
  count(payload, topic) {
    // "<time>:<value>" as text (%.15g); the topic names the register: collectd/bench/modbus-m1/gauge-m1_v
    const [t, v] = payload.toString().replace(/\0$/, '').split(':'); // the plugin sends the C string's NUL too
    const name = topic.slice(topic.lastIndexOf('gauge-') + 6);
    return { readings: 1, bytes: payload.length, firstTime: Number(t), inexact: Object.is(Number(v), EXPECTED.get(name)) ? 0 : 1 };
  },
};

/** Node-RED 4 + node-red-contrib-modbus, run with red.js at `main`. */
export function nodeRed(main: string): Contender {
  return {
    label: 'Node-RED + contrib-modbus',
    topic: 'nodered/',
    spawn(o) {
      const userDir = join(o.dir, 'node-red');
      mkdirSync(userDir, { recursive: true });
      return launch(process.execPath, [main, ...nodeRedSetup({ userDir, port: o.port, intervalMs: o.intervalMs, brokerPort: o.brokerPort })]);
    },
    count(payload) {
      const m = JSON.parse(payload.toString()) as Record<string, number>;
      let readings = 0;
      let inexact = 0;
      for (const [k, v] of Object.entries(m)) {
        if (k === 't') continue;
        readings++;
        if (!Object.is(v, EXPECTED.get(k))) inexact++;
      }
      return { readings, bytes: payload.length, ...(m.t !== undefined ? { firstTime: m.t } : {}), inexact };
    },
  };
}
