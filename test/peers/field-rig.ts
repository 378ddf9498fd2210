// The agent-level fault rig: the device rig (device-rig.ts: pty, config, key,
// fake cloud client with a persistent session) on a real Mosquitto with
// persistence (a broker restart keeps sessions), streaming numbered lines
// `n=<i>`. The agent itself is started by the test (startAgent).

import type { CloudWatch } from './cloud.js';
import { startDeviceRig, type DeviceRig } from './device-rig.js';
import { startMosquitto, type MosquittoPeer } from './mosquitto.js';

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

/** The device rig (its `cloud` absent with `cloud: false`), its broker, and the numbered lines written. */
export interface FieldRig extends Omit<DeviceRig, 'write'> {
  broker: MosquittoPeer;
  /** n of every line written so far. */
  written: number[];
  /** Writes `count` lines `n=<i>` (plus the extra fields each), at `rate` lines/s. */
  stream(count: number, rate: number): Promise<void>;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startFieldRig(opts: FieldRigOptions): Promise<FieldRig> {
  const device = opts.device ?? 'faults-1';
  const broker = await startMosquitto({ persistence: true });
  // a persistent session (clean: false, fixed client id) on a broker with persistence: nothing is missed across a broker restart
  const rig = await startDeviceRig({
    url: broker.url, device, batch: opts.batch, journal: opts.journal,
    ...(opts.stateDir ? { stateDir: opts.stateDir } : {}),
    cloud: opts.cloud === false ? false : { clientId: `verifier-${process.pid}-${device}` },
  });
  const written: number[] = [];
  const extra = Array.from({ length: opts.extraFields ?? 0 }, (_, i) => ` x${i}=${(i * 1.25 + 0.5).toFixed(2)}`).join('');
  return {
    device, broker, pty: rig.pty, dir: rig.dir, configPath: rig.configPath, stateDir: rig.stateDir, publicKey: rig.publicKey, written,
    get cloud(): CloudWatch { return rig.cloud; },
    startAgent: (run) => rig.startAgent(run),
    async stream(count, rate) {
      const t0 = Date.now();
      for (let i = 0; i < count;) {
        const due = Math.min(count, Math.floor(((Date.now() - t0) * rate) / 1000) + 1);
        for (; i < due; i++) {
          const n = written.length + 1;
          rig.write(`n=${n}${extra}`);
          written.push(n);
        }
        await pause(5);
      }
    },
    async close() {
      await rig.close();
      await broker.close();
    },
  };
}

/** Runs `body` on a fresh field rig and closes the rig (and any agent still running) whatever happens. */
export async function withFieldRig(opts: FieldRigOptions, body: (r: FieldRig) => Promise<void>): Promise<void> {
  const r = await startFieldRig(opts);
  try {
    await body(r);
  } finally {
    await r.close();
  }
}
