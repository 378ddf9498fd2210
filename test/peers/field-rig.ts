// The agent-level fault rig: a real Mosquitto (with persistence, so a broker
// restart keeps sessions), a socat pty whose far end the test writes numbered
// lines `n=<i>` into, a device (config + key) and a cloud-side verifier with a
// persistent session. The agent itself is started by the test
// (startAgentProcess), so it can be killed, stopped and restarted at will.

import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { prepareDevice, watchCloud, type CloudWatch } from './agent-process.js';
import { startMosquitto, type MosquittoPeer } from './mosquitto.js';
import { createPtyPair, type PtyPair } from './socat.js';
import { tempDir } from '../helpers.js';

export interface FieldRigOptions {
  device?: string;
  batch: Record<string, number>;
  journal: Record<string, number>;
  /** Extra `x<i>=<v>` fields per line (bigger batches). */
  extraFields?: number;
  /** The agent's state directory (e.g. a small tmpfs); default a fresh temp dir. */
  stateDir?: string;
  /** Subscribe a cloud-side verifier (default true). */
  cloud?: boolean;
}

export interface FieldRig {
  device: string;
  broker: MosquittoPeer;
  pty: PtyPair;
  dir: { path: string; remove(): void };
  configPath: string;
  stateDir: string;
  publicKey: Uint8Array;
  /** The cloud-side verifier (absent with `cloud: false`). */
  cloud: CloudWatch;
  /** n of every line written so far. */
  written: number[];
  /** Writes `count` lines `n=<i>` (plus the extra fields each), at `rate` lines/s. */
  stream(count: number, rate: number): Promise<void>;
  close(): Promise<void>;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startFieldRig(opts: FieldRigOptions): Promise<FieldRig> {
  const device = opts.device ?? 'faults-1';
  const broker = await startMosquitto({ persistence: true });
  const pty = await createPtyPair();
  const fd = openSync(pty.peerPath, constants.O_RDWR | constants.O_NOCTTY);
  const dir = tempDir('tapwire-faults-');
  const stateDir = opts.stateDir ?? join(dir.path, 'state');
  const configPath = join(dir.path, 'config.json');
  const publicKey = prepareDevice(configPath, {
    device,
    stateDir,
    uplink: { url: broker.url, protocolVersion: 5, reconnect: { initialMs: 100, maxMs: 1000 } },
    batch: opts.batch,
    journal: opts.journal,
    sources: [{ id: 'field', type: 'lines', port: { path: pty.agentPath, baudRate: 115200 }, decoder: { type: 'kv' } }],
  });
  // a persistent session (clean: false, fixed client id) on a broker with persistence: nothing is missed across a broker restart
  const cloud = opts.cloud === false ? undefined : watchCloud({ url: broker.url, device, publicKey, clientId: `verifier-${process.pid}-${device}` });
  if (cloud) await cloud.ready;
  const written: number[] = [];
  const extra = Array.from({ length: opts.extraFields ?? 0 }, (_, i) => ` x${i}=${(i * 1.25 + 0.5).toFixed(2)}`).join('');
  return {
    device, broker, pty, dir, configPath, stateDir, publicKey, written,
    get cloud(): CloudWatch {
      if (!cloud) throw new Error('this rig has no cloud verifier (cloud: false)');
      return cloud;
    },
    async stream(count, rate) {
      const t0 = Date.now();
      for (let i = 0; i < count;) {
        const due = Math.min(count, Math.floor(((Date.now() - t0) * rate) / 1000) + 1);
        for (; i < due; i++) {
          const n = written.length + 1;
          writeSync(fd, `n=${n}${extra}\n`);
          written.push(n);
        }
        await pause(5);
      }
    },
    async close() {
      await cloud?.close();
      closeSync(fd);
      await pty.close();
      await broker.close();
      dir.remove();
    },
  };
}
