// A simulated fleet for ingest tests and benches: real device keys, the real
// batch encoder and signer, real key rollover announcements — only the sensors
// are made up. Keys derive from the device id, so runs are reproducible.

import { createHash } from 'node:crypto';
import { createBatchEncoder, ZERO_HASH, type BatchEncoder } from '../../agent/encode/batch.js';
import { createCryptoSigner, type Signer } from '../../agent/encode/signer.js';
import { signKeyAnnouncement } from '../../agent/ota/key-announcement.js';
import type { Reading } from '../../agent/reading.js';

export interface SimBatch { dev: string; seq: number; bytes: Uint8Array; readings: number; kind: 'data' | 'gap' }

export interface SimDevice {
  id: string;
  /** the key it was enrolled with */
  enrolledKey: Uint8Array;
  signer(): Signer;
  /** The next data batch of `n` readings. */
  data(n: number): SimBatch;
  /** The next batch is a gap notice for [first, last] (seqs it emitted but "dropped"). */
  gap(first: number, last: number, reason?: string): SimBatch;
  /** Rolls the key over from the next seq: the announcement, signed by the old key. */
  rotate(): { announcement: Uint8Array; from: number; newKey: Uint8Array };
}

export interface FleetSim {
  devices: SimDevice[];
  /** One batch per device, round robin, `rounds` times: what a fleet sends in `rounds` windows. */
  rounds(rounds: number, readingsPerBatch: number): SimBatch[];
}

const seedOf = (text: string): Uint8Array => new Uint8Array(createHash('sha256').update(text).digest());

export function createSimDevice(id: string, opts: { t0?: number; stepS?: number } = {}): SimDevice {
  let generation = 0;
  let signer = createCryptoSigner(seedOf(`${id}#0`));
  const enrolledKey = signer.publicKey;
  let t = opts.t0 ?? 1_760_000_000;
  const step = opts.stepS ?? 1;
  const make = (s: Signer, state = { seq: 0, prev: ZERO_HASH }): BatchEncoder =>
    createBatchEncoder({ device: id, signer: s, clockSynced: () => true, nowMs: () => t * 1000 }, state);
  let encoder = make(signer);
  return {
    id,
    enrolledKey,
    signer: () => signer,
    data(n) {
      const readings: Reading[] = [];
      for (let i = 0; i < n; i++) {
        const field = ['temp', 'hum', 'pres', 'flow'][i % 4]!;
        readings.push({ name: `sim:${field}`, time: t, v: Math.round((20 + Math.sin(t / 60 + i) * 5) * 100) / 100, unit: field === 'temp' ? 'Cel' : undefined });
        if (i % 4 === 3) t += step;
      }
      t += step;
      const b = encoder.encodeReadings(readings);
      return { dev: id, seq: b.seq, bytes: b.bytes, readings: n, kind: 'data' };
    },
    gap(first, last, reason = 'journal-full') {
      const b = encoder.encodeGap(first, last, reason);
      return { dev: id, seq: b.seq, bytes: b.bytes, readings: 0, kind: 'gap' };
    },
    rotate() {
      const next = createCryptoSigner(seedOf(`${id}#${++generation}`));
      const state = encoder.state();
      const announcement = signKeyAnnouncement(signer, id, next.publicKey, state.seq + 1);
      signer = next;
      encoder = make(next, state);
      return { announcement, from: state.seq + 1, newKey: next.publicKey };
    },
  };
}

export function createFleetSim(count: number, prefix = 'sim'): FleetSim {
  const devices = Array.from({ length: count }, (_, i) => createSimDevice(`${prefix}-${String(i + 1).padStart(4, '0')}`, { t0: 1_760_000_000 + i }));
  return {
    devices,
    rounds(rounds, readingsPerBatch) {
      const out: SimBatch[] = [];
      for (let r = 0; r < rounds; r++) for (const d of devices) out.push(d.data(readingsPerBatch));
      return out;
    },
  };
}
