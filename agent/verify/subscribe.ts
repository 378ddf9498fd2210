// Cloud-side verifier over MQTT: subscribes to one device's data, status and
// key topics and feeds every message to the chain verifier, which follows the
// device's key rollovers. Read-only toward the broker: it never publishes.
// A persistent session (stable client id, clean: false, QoS 1, MQTT 5 session
// expiry) makes the broker keep what arrives while the verifier or the broker
// restarts: nothing published after the first subscribe is missed.

import mqtt, { type MqttClient } from 'mqtt';
import { decodeCbor } from '../encode/cbor.js';
import { DEFAULT_TOPIC_PREFIX, deviceTopic } from '../uplink/topics.js';
import { verifySign1 } from '../encode/cose.js';
import { createChainVerifier, type ChainSummary, type KeyEvent, type VerifyEvent } from './chain.js';

export interface SubscribeOptions {
  url: string;
  device: string;
  publicKeys: Uint8Array[];
  topicPrefix?: string;
  protocolVersion?: 4 | 5;
  /** CA / client cert files for mqtts (optional). */
  ca?: Buffer; cert?: Buffer; key?: Buffer;
  username?: string; password?: string;
  /** Stable client id of the persistent session; default `tapwire-verify-<device>`. */
  clientId?: string;
  /** true: a clean session, discarded at disconnect (a one-off look); default false. */
  clean?: boolean;
  /** MQTT 5: how long the broker keeps the session while disconnected, seconds; default 7 days. */
  sessionExpiryS?: number;
  /** Key rollover announcements (retained on <prefix>/<dev>/key), accepted or not. */
  onKey?: (e: KeyEvent) => void;
  /** The verifier's own connection to the broker: up, or down (it reconnects by itself) with the last error. */
  onConnection?: (c: { connected: boolean; error?: string }) => void;
}

/** The broker keeps the verifier's session (and queues its messages) this long while it is away. */
export const DEFAULT_SESSION_EXPIRY_S = 7 * 24 * 3600;

/** Stable across runs, so the broker hands a restarted verifier what it queued meanwhile. */
export function defaultVerifierClientId(device: string): string {
  return `tapwire-verify-${device}`;
}

export interface StatusEvent { kind: 'status'; ok: boolean; state?: string; detail?: Record<string, unknown>; reason?: string }

export interface VerifierSession {
  /** Resolves once subscribed. */
  ready: Promise<void>;
  summary(): ChainSummary;
  close(): Promise<void>;
}

export function subscribeVerifier(
  opts: SubscribeOptions,
  onEvent: (e: VerifyEvent | StatusEvent) => void,
  onError: (err: Error) => void = () => undefined,
): VerifierSession {
  const prefix = opts.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
  const dataTopic = deviceTopic(prefix, opts.device, 'data');
  const statusTopic = deviceTopic(prefix, opts.device, 'status');
  const keyTopic = deviceTopic(prefix, opts.device, 'key');
  const verifier = createChainVerifier({ device: opts.device, publicKeys: opts.publicKeys });
  const protocolVersion = opts.protocolVersion ?? 4;
  const clean = opts.clean ?? false;
  const clientId = opts.clientId ?? defaultVerifierClientId(opts.device);
  const client: MqttClient = mqtt.connect(opts.url, {
    protocolVersion,
    clientId,
    clean,
    reconnectPeriod: 1000,
    ...(protocolVersion === 5 && !clean ? { properties: { sessionExpiryInterval: opts.sessionExpiryS ?? DEFAULT_SESSION_EXPIRY_S } } : {}),
    ca: opts.ca, cert: opts.cert, key: opts.key,
    username: opts.username, password: opts.password,
  });
  const ready = new Promise<void>((resolve, reject) => {
    client.once('connect', () => {
      client.subscribe([keyTopic, dataTopic, statusTopic], { qos: 1 }, (err) => (err ? reject(err) : resolve()));
    });
    client.once('error', reject);
  });
  ready.catch(() => undefined);
  client.on('error', onError);
  warnOnSessionTakeover(client, clientId, onError);
  if (opts.onConnection) {
    const told = opts.onConnection;
    let lastError: string | undefined;
    client.on('error', (err) => { lastError = err.message; });
    client.on('connect', () => { lastError = undefined; told({ connected: true }); });
    client.on('close', () => told({ connected: false, ...(lastError ? { error: lastError } : {}) }));
  }
  client.on('message', (topic, payload) => {
    if (topic === dataTopic) {
      for (const e of verifier.accept(payload)) onEvent(e);
    } else if (topic === keyTopic) {
      if (payload.length === 0) return; // retained message cleared
      const { key, events } = verifier.acceptKey(payload);
      opts.onKey?.(key);
      for (const e of events) onEvent(e);
    } else if (topic === statusTopic) {
      if (payload.length === 0) return; // retained message cleared
      try {
        const sign1 = verifySign1(payload, verifier.keyForKid);
        const m = decodeCbor(sign1.payload);
        const status: Record<string, unknown> = m instanceof Map ? Object.fromEntries(m) : {};
        onEvent({ kind: 'status', ok: true, state: String(status.state), detail: status });
      } catch (err) {
        onEvent({ kind: 'status', ok: false, reason: (err as Error).message });
      }
    }
  });
  return {
    ready,
    summary: () => verifier.summary(),
    close: () => new Promise<void>((resolve) => { client.end(true, {}, () => resolve()); }),
  };
}

/** Connections the broker closes this soon after they opened, this many times in a row, mean a client id fight. */
const TAKEOVER_WINDOW_MS = 5000;
const TAKEOVER_CLOSES = 3;

/**
 * Two clients with one client id (two verifiers left on the default, persistent
 * id) take the session from each other, and neither sees the stream. MQTT 5
 * says so (DISCONNECT 0x8E, session taken over); MQTT 3.1.1 brokers just close
 * the connection, so connections closed right after they opened, again and
 * again, are told once as the same likely cause.
 */
function warnOnSessionTakeover(client: MqttClient, clientId: string, onError: (err: Error) => void): void {
  const hint = `another client uses the client id ${clientId} and the broker hands the session back and forth; give each verifier its own --client-id`;
  let told = false;
  const tell = (what: string): void => {
    if (told) return;
    told = true;
    onError(new Error(`${what}: ${hint}`));
  };
  client.on('disconnect', (packet) => { if (packet.reasonCode === 0x8e) tell('the broker says the session was taken over'); });
  let connectedAt: number | undefined;
  let quickCloses = 0;
  client.on('connect', () => { connectedAt = Date.now(); });
  client.on('close', () => {
    if (connectedAt === undefined) return;
    quickCloses = Date.now() - connectedAt < TAKEOVER_WINDOW_MS ? quickCloses + 1 : 0;
    connectedAt = undefined;
    if (quickCloses >= TAKEOVER_CLOSES) tell(`the broker closed the connection ${quickCloses} times right after it opened`);
  });
}
