// `tapwire demo --ingest <dir>`: the demo's batches also go through the fleet
// ingest core into a PGlite directory, so `tapwire fleet report` and `fleet
// readings` have something to show. The demo's broker (aedes) speaks MQTT
// 3.1.1 only — no shared subscriptions, no acknowledgement after commit — so
// this is a plain subscription feeding the same verify-and-store code the
// `ingest` workers run; loaded only when asked for (PGlite: ~5 s to create).

import mqtt, { type MqttClient } from 'mqtt';
import { createSystemClock } from '../../hal/clock.js';
import { enrol } from '../fleet/enroll.js';
import { openDb } from '../ingest/db.js';
import { createIngest } from '../ingest/ingest.js';
import { ensureSchema } from '../ingest/schema.js';
import type { Logger } from '../log.js';
import { DEFAULT_TOPIC_PREFIX, everyDevice, isLeaf } from '../uplink/topics.js';

export interface DemoIngest {
  /** Stores what is still arriving, closes the database; returns lines to print. */
  stop(): Promise<string[]>;
}

export async function startDemoIngest(o: { dir: string; url: string; device: string; publicKey: Uint8Array; print(line: string): void; log: Logger }): Promise<DemoIngest> {
  const db = await openDb(o.dir, { command: 'tapwire demo --ingest', onCreate: (m) => o.print(`fleet ingest: ${m}`) });
  try {
    await ensureSchema(db);
    const [r] = await enrol(db, [{ dev: o.device, pubkey: o.publicKey }]);
    if (r?.status === 'refused') {
      throw new Error(`${o.dir}: ${r.reason} — an earlier demo's key: give --ingest a new directory, or keep the demo's key with --state-dir`);
    }
  } catch (err) {
    await db.close();
    throw err;
  }
  const ingest = createIngest({ db, worker: 'demo', clock: createSystemClock(), log: o.log });
  ingest.start();
  const pending = new Set<Promise<unknown>>();
  const client: MqttClient = mqtt.connect(o.url, { protocolVersion: 4, clean: true, reconnectPeriod: 1000 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => client.subscribe([everyDevice(DEFAULT_TOPIC_PREFIX, 'data'), everyDevice(DEFAULT_TOPIC_PREFIX, 'key')], { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    client.once('error', reject);
  });
  client.on('message', (topic, payload) => {
    const p = (isLeaf(topic, 'key') ? ingest.key(topic, payload) : ingest.data(topic, payload))
      .catch((err: Error) => o.log.warn('demo ingest: not stored', { topic, error: err.message }))
      .finally(() => pending.delete(p));
    pending.add(p);
  });
  o.print(`fleet ingest: storing verified readings in PGlite at ${db.where}`);
  return {
    async stop() {
      await new Promise<void>((r) => { client.end(false, {}, () => r()); });
      await Promise.all([...pending]);
      await ingest.stop();
      await db.close();
      const c = ingest.counters();
      return [
        `fleet ingest: ${c['data.stored'] ?? 0} batches, ${c.readings ?? 0} readings stored in ${db.where}`,
        `  tapwire fleet report --db ${db.where}`,
        `  tapwire fleet readings --db ${db.where} --device ${o.device} --since 1h`,
      ];
    },
  };
}
