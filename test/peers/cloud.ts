// The fake cloud client every integration suite uses: one MQTT client on one
// device's data, key and status topics that runs the real chain verifier over
// the exact bytes it receives. It keeps every verifier event, the key
// announcements, the signed statuses and the SHA-256 of the bytes first
// accepted for each seq. A persistent session (clean: false, its own client
// id, QoS 1): a broker with persistence keeps what arrives while the client is
// cut off, so a broker restart loses nothing. Its client id is never the CLI
// verifier's default (`tapwire-verify-<device>`), so a `tapwire verify` run
// beside it does not take its session over.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { decodeCbor } from '../../agent/encode/cbor.js';
import { verifySign1 } from '../../agent/encode/cose.js';
import { createChainVerifier, type ChainSummary, type KeyEvent, type VerifyEvent } from '../../agent/verify/chain.js';
import type { StatusEvent } from '../../agent/verify/subscribe.js';

export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export interface CloudOptions {
  url: string;
  device: string;
  publicKey: Uint8Array;
  /** Default 5. */
  protocolVersion?: 4 | 5;
  /** Default a fresh `verifier-<device>-<pid>-<random>`. */
  clientId?: string;
  topicPrefix?: string;
  /** mqtts: PEM files of the CA and of this client's certificate and key. */
  tls?: { ca: string; cert: string; key: string };
}

export interface CloudWatch {
  /** Resolves once subscribed to the data, key and status topics. */
  ready: Promise<void>;
  /** Every verifier event of the data and key topics, in arrival order. */
  events: VerifyEvent[];
  /** Every status message, checked against the chain's keys, in arrival order. */
  statuses: StatusEvent[];
  /** Every key rollover announcement, accepted or not. */
  keys: KeyEvent[];
  /** SHA-256 (hex) of the bytes first accepted for each seq (data batches and gap notices). */
  hashes: Map<number, string>;
  /** Values of the numeric reading `name` in first arrivals, in arrival order. */
  values(name: string): number[];
  summary(): ChainSummary;
  connected(): boolean;
  close(): Promise<void>;
}

function readStatus(payload: Buffer, keyForKid: (kid: Uint8Array) => Uint8Array | undefined): StatusEvent {
  try {
    const m = decodeCbor(verifySign1(payload, keyForKid).payload);
    const detail: Record<string, unknown> = m instanceof Map ? Object.fromEntries(m) : {};
    return { kind: 'status', ok: true, state: String(detail.state), detail };
  } catch (err) {
    return { kind: 'status', ok: false, reason: (err as Error).message };
  }
}

export function watchCloud(opts: CloudOptions): CloudWatch {
  const protocolVersion = opts.protocolVersion ?? 5;
  const base = `${opts.topicPrefix ?? 'tapwire'}/${opts.device}`;
  const topics = { data: `${base}/data`, key: `${base}/key`, status: `${base}/status` };
  const verifier = createChainVerifier({ device: opts.device, publicKeys: [opts.publicKey] });
  const events: VerifyEvent[] = [];
  const statuses: StatusEvent[] = [];
  const keys: KeyEvent[] = [];
  const hashes = new Map<number, string>();
  const client = mqtt.connect(opts.url, {
    protocolVersion,
    clientId: opts.clientId ?? `verifier-${opts.device}-${process.pid}-${Math.floor(Math.random() * 1e9)}`,
    clean: false,
    reconnectPeriod: 200,
    connectTimeout: 5000,
    ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
    ...(opts.tls ? { ca: readFileSync(opts.tls.ca), cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) } : {}),
  });
  const ready = new Promise<void>((resolve, reject) => {
    client.once('connect', () => client.subscribe(Object.values(topics), { qos: 1 }, (err) => (err ? reject(err) : resolve())));
  });
  ready.catch(() => undefined);
  client.on('error', () => undefined); // reconnects by itself; outages are the point
  client.on('message', (t, payload) => {
    if (t === topics.data) {
      for (const e of verifier.accept(payload)) {
        events.push(e);
        if (e.kind === 'batch' || e.kind === 'gap') hashes.set(e.seq, sha256Hex(payload));
      }
    } else if (payload.length === 0) {
      return; // a retained message cleared
    } else if (t === topics.key) {
      const { key, events: more } = verifier.acceptKey(payload);
      keys.push(key);
      events.push(...more);
    } else if (t === topics.status) {
      statuses.push(readStatus(payload, verifier.keyForKid));
    }
  });
  return {
    ready,
    events,
    statuses,
    keys,
    hashes,
    values: (name) => events.flatMap((e) => (e.kind === 'batch' ? e.readings.filter((r) => r.name === name && r.v !== undefined).map((r) => r.v!) : [])),
    summary: () => verifier.summary(),
    connected: () => client.connected,
    close: () => new Promise<void>((resolve) => { client.end(true, {}, () => resolve()); }),
  };
}

export interface RawMessage { topic: string; payload: Buffer; retain: boolean }

export interface RawSubscriber {
  /** What arrived, in arrival order. */
  got: RawMessage[];
  end(): Promise<void>;
}

/**
 * A plain subscriber on `topic` that verifies nothing (for the uplink alone,
 * whose records are not signed batches). With `session` (a client id, MQTT 5)
 * it keeps a persistent session and reconnects by itself, so it misses
 * nothing across a broker restart; without, one clean connection.
 */
export async function rawSubscriber(url: string, topic: string, opts: { protocolVersion: 4 | 5; session?: string }): Promise<RawSubscriber> {
  const c = await mqtt.connectAsync(url, opts.session === undefined
    ? { protocolVersion: opts.protocolVersion, reconnectPeriod: 0 }
    : { protocolVersion: opts.protocolVersion, clientId: opts.session, clean: false, reconnectPeriod: 200, properties: { sessionExpiryInterval: 3600 } });
  if (opts.session !== undefined) c.on('error', () => { /* reconnects on its own; the assertions tell */ });
  const got: RawMessage[] = [];
  c.on('message', (t, payload, packet) => got.push({ topic: t, payload, retain: packet.retain }));
  await c.subscribeAsync(topic, { qos: 1 });
  return { got, end: () => c.endAsync(opts.session !== undefined) };
}
