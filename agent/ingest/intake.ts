// MQTT 5 intake for the ingest worker. Data comes through a shared
// subscription ($share/<group>/<prefix>/+/data), so the broker splits the
// fleet between workers; key announcements through an unshared one (shared
// subscriptions never get retained messages, and every worker must see every
// rollover). Each session has a stable client id and survives disconnects
// (clean start off, session expiry), and a message is acknowledged only after
// its outcome is committed (customHandleAcks): a worker killed mid-batch gets
// the unacknowledged messages back from the broker when it returns.
//
// mqtt.js handles a connection's packets one at a time and waits for the ack
// callback, so one session holds one message in flight. A worker opens
// `lanes` data sessions (<worker>-1 … <worker>-<lanes>) in the share group and
// one key session (<worker>-keys): at most lanes + 1 messages in flight (plus
// the broker's receive-maximum window, buffered), which the committer stores
// together. A slow database slows the acks, and so the broker; memory stays
// bounded. Keep `lanes` the same for a worker name: the broker queues each
// session's share of the fleet until that session comes back.

import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import { everyDevice, sharedSubscription } from '../uplink/topics.js';

export interface IntakeOptions {
  url: string;
  worker: string;
  share: string;
  topicPrefix: string;
  lanes: number;
  sessionExpirySec: number;
  ca?: Buffer; cert?: Buffer; key?: Buffer;
  username?: string; password?: string;
  log: Logger;
}

export interface IntakeHandlers {
  data(topic: string, payload: Uint8Array): Promise<unknown>;
  key(topic: string, payload: Uint8Array): Promise<unknown>;
}

export interface Intake {
  /** Resolves once every session is connected and subscribed. */
  start(): Promise<void>;
  /**
   * Stops taking messages (new ones stay unacknowledged at the broker), waits
   * up to `timeoutMs` for those in flight to be stored and acknowledged, and
   * disconnects, keeping the sessions.
   */
  stop(timeoutMs: number): Promise<void>;
  /** Messages handed to the handlers and not yet settled. */
  inFlight(): number;
}

/** A batch is ~3 KB; the verifier refuses envelopes over 1 MiB anyway. */
const MAX_PACKET = (1 << 20) + 1024;
/** Messages the broker may send a session before its acks (one is handled, the next waits in the socket). */
const RECEIVE_MAXIMUM = 2;

export class IntakeError extends Error {
  constructor(message: string) { super(message); this.name = 'IntakeError'; }
}

/** The broker URL, checked: mqtt:// or mqtts:// (throws IntakeError). */
export function parseBrokerUrl(url: string): URL {
  let u: URL;
  try { u = new URL(url); } catch { throw new IntakeError(`--url ${url} is not a URL (mqtt://host:1883 or mqtts://host:8883)`); }
  if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') throw new IntakeError(`--url must be mqtt:// or mqtts://, got ${u.protocol}//`);
  return u;
}

function connectOptions(o: IntakeOptions, clientId: string): IClientOptions {
  const u = parseBrokerUrl(o.url);
  const tls = u.protocol === 'mqtts:';
  return {
    // parsed parts, not the URL string: mqtt.js's url.parse() is deprecated (DEP0169 on Node 24)
    protocol: tls ? 'mqtts' : 'mqtt',
    host: u.hostname,
    port: u.port ? Number(u.port) : tls ? 8883 : 1883,
    protocolVersion: 5,
    clientId,
    clean: false,
    resubscribe: false, // subscriptions live in the session; made again only when the broker lost it
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    properties: { sessionExpiryInterval: o.sessionExpirySec, receiveMaximum: RECEIVE_MAXIMUM, maximumPacketSize: MAX_PACKET },
    ...(tls ? { rejectUnauthorized: true } : {}),
    ca: o.ca, cert: o.cert, key: o.key,
    username: o.username ?? (u.username ? decodeURIComponent(u.username) : undefined),
    password: o.password ?? (u.password ? decodeURIComponent(u.password) : undefined),
  };
}

interface Lane { id: string; client: MqttClient; generation: number; ready: Promise<void> }

export function createMqttIntake(o: IntakeOptions, handlers: IntakeHandlers): Intake {
  const { log } = o;
  const lanes: Lane[] = [];
  let stopping = false;
  let inFlight = 0;
  let settled: (() => void) | undefined;
  const leave = (): void => { if (--inFlight === 0) settled?.(); };

  function open(clientId: string, topic: string, handle: (t: string, p: Uint8Array) => Promise<unknown>): Lane {
    const options = connectOptions(o, clientId);
    const lane = { id: clientId, generation: 0 } as Lane;
    options.customHandleAcks = (t, message, _packet, done) => {
      if (stopping) return; // left unacknowledged: the broker gives it back to this session later
      const generation = lane.generation;
      inFlight++;
      handle(t, message).then(
        () => {
          // an ack meant for a connection that is gone would acknowledge whatever
          // the broker sends next under the same packet id: the broker redelivers instead
          if (lane.generation === generation) done(0);
          leave();
        },
        (err: Error) => {
          leave();
          if (err.name === 'StoppedError') return;
          log.error('message not stored; the broker will deliver it again', { client: clientId, topic: t, error: err.message });
          if (lane.generation === generation) lane.client.stream?.destroy();
        },
      );
    };
    const client = mqtt.connect(options);
    lane.client = client;
    let lastError = '';
    let lastErrorAt = -Infinity;
    let rejectReady: (err: Error) => void = () => undefined;
    lane.ready = new Promise<void>((resolve, reject) => {
      rejectReady = reject;
      client.on('connect', (connack) => {
        lane.generation++;
        log.info('connected', { client: clientId, session: connack.sessionPresent ? 'resumed' : 'new' });
        if (connack.sessionPresent) { resolve(); return; }
        client.subscribe(topic, { qos: 1 }, (err, granted) => {
          const code = granted?.[0]?.qos;
          if (err || code === undefined || code > 2) {
            reject(new IntakeError(`the broker refused the subscription ${topic} for ${clientId} (${err?.message ?? `reason code ${code}`}); ingest needs MQTT 5 shared subscriptions`));
            return;
          }
          log.info('subscribed', { client: clientId, topic });
          resolve();
        });
      });
    });
    client.on('close', () => { lane.generation++; });
    client.on('error', (err) => {
      if (/protocol version/i.test(err.message)) {
        // permanent: an MQTT 3.1.1-only broker (aedes, old Mosquitto) will never take MQTT 5
        rejectReady(new IntakeError(`the broker at ${o.url} refused MQTT 5 (${err.message}): ingest needs an MQTT 5 broker with shared subscriptions (Mosquitto 2, EMQX, HiveMQ, VerneMQ)`));
        return;
      }
      // once per cause, and again at most every minute while it lasts
      if (err.message === lastError && Date.now() - lastErrorAt < 60_000) return;
      lastError = err.message;
      lastErrorAt = Date.now();
      const hint = /protocol|unacceptable|unsupported/i.test(err.message) ? ' (ingest needs an MQTT 5 broker with shared subscriptions: Mosquitto 2, EMQX, HiveMQ, VerneMQ)' : '';
      log.warn(`broker connection failed${hint}`, { client: clientId, error: err.message });
    });
    return lane;
  }

  return {
    async start() {
      const share = sharedSubscription(o.share, everyDevice(o.topicPrefix, 'data'));
      lanes.push(open(`${o.worker}-keys`, everyDevice(o.topicPrefix, 'key'), handlers.key));
      for (let i = 1; i <= o.lanes; i++) lanes.push(open(`${o.worker}-${i}`, share, handlers.data));
      await Promise.all(lanes.map((l) => l.ready));
    },
    async stop(timeoutMs) {
      stopping = true;
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, timeoutMs);
          settled = () => { clearTimeout(t); resolve(); };
        });
      }
      await Promise.all(lanes.map((l) => new Promise<void>((resolve) => {
        const force = setTimeout(() => { l.client.end(true, {}, () => resolve()); }, 3000);
        // a normal DISCONNECT keeps the session (session expiry was set at connect)
        l.client.end(false, { reasonCode: 0 }, () => { clearTimeout(force); resolve(); });
      })));
    },
    inFlight: () => inFlight,
  };
}
