// The MQTT uplink: publishes durable journal batches in seq order (QoS 1) and
// advances the journal's committed offset over the contiguous PUBACKed prefix
// only. Outbound only; reconnects with our own jittered backoff. This file is
// the connection's life (connect, refuse, drop, reconnect, stop); its jobs are
// parts: the in-flight window (window.ts), status messages (status.ts), the
// credential-file watch (credential-watch.ts), topic names (topics.ts).
//
// Topics (topics.ts): publishes <prefix>/<dev>/data, /status (also the last
// will), and through publishSigned() /config/ack and /key; subscribes to
// <prefix>/<dev>/config only, on every connect, when deps.onConfigMessage is set.
//
// Credential files (ca, cert, key, passwordFile) are read at every connect;
// a change seen by the watch closes the connection cleanly and reconnects at
// once with the new files.

import { type IConnackPacket, type IDisconnectPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Clock, Timer } from '../../hal/clock.js';
import type { Counters } from '../counters.js';
import type { Logger } from '../log.js';
import { createBackoff } from './backoff.js';
import { brokerAddress } from './broker-address.js';
import { connectMqtt } from './mqtt-connect.js';
import { clientOptions, CONNECT_TIMEOUT_MS } from './client-options.js';
import { createCredentialWatch } from './credential-watch.js';
import { errorText, isProtocolRefusal, refusalText, safeUrl } from './mqtt-errors.js';
import { createStatusMessages } from './status.js';
import { readUplinkFiles } from './tls-files.js';
import { deviceTopic } from './topics.js';
import type { ConnectFn, Conn, InboundMeta, Uplink, UplinkJournal, UplinkOptions } from './types.js';
import { createInflightWindow, createSender } from './window.js';

export type { InboundMeta, SignedTopic, Uplink, UplinkJournal, UplinkJournalRecord, UplinkOptions, UplinkState } from './types.js';

export interface UplinkDeps {
  journal: UplinkJournal;
  /** Signs a status object as COSE_Sign1 with the device key. */
  signStatus(status: Record<string, unknown>): Uint8Array;
  /** Counters to include in status. */
  statusCounters(): Record<string, number>;
  clock: Clock;
  log: Logger;
  counters: Counters;
  /** Defaults to connectMqtt; tests may wrap or replace it. */
  connect?: ConnectFn;
  /** Uniform in [0, 1) for the backoff jitter; default Math.random. */
  random?: () => number;
  /**
   * Receives every message on <prefix>/<dev>/config (the only subscription,
   * made only when this is set). Called synchronously from the MQTT client;
   * must not throw (it is caught and counted if it does).
   */
  onConfigMessage?(payload: Uint8Array, meta: InboundMeta): void;
  /** File stamps for the credential watch; default node:fs statSync (mtime, size, inode). */
  statFile?(path: string): string;
}

// A connection that stayed up this long resets the backoff; a broker that
// accepts and drops us at once (e.g. a clientId fight) keeps backing off.
const STABLE_MS = 10_000;
// stop(): offline status + DISCONNECT must not hold up shutdown longer.
const STOP_BUDGET_MS = 2000;
const DEFAULT_STATUS_INTERVAL_MS = 60_000;
const DEFAULT_FILE_WATCH_MS = 5000;
// A credential reload closes the old connection (DISCONNECT) within this long.
const RELOAD_CLOSE_MS = 1000;

function forceEnd(client: MqttClient): void {
  // end() throws on a client that never connected (mqtt.js, manualConnect)
  try { client.end(true); } catch { /* already gone */ }
}

export function createUplink(opts: UplinkOptions, deps: UplinkDeps): Uplink {
  const { journal, clock, counters } = deps;
  const log = deps.log.child('uplink');
  const connect = deps.connect ?? connectMqtt;
  const backoff = createBackoff({ ...opts.reconnect, random: deps.random });
  const statusTopic = deviceTopic(opts.topicPrefix, opts.device, 'status');
  const configTopic = deviceTopic(opts.topicPrefix, opts.device, 'config');
  const url = safeUrl(opts.url);
  const listeners: Array<() => void> = [];

  let started = false;
  let stopping = false;
  let current: Conn | undefined;
  let retryTimer: Timer | undefined;
  let attempts = 0;
  let publishedSeq = 0;
  let ackedSeq = 0;
  let lastError: string | undefined;
  let nextRetryMs: number | undefined;
  let nextRetryAt: number | undefined;
  let stateSince = clock.now();

  const nowS = (): number => Math.floor(clock.now() / 1000);

  const status = createStatusMessages({
    device: opts.device, topic: statusTopic, intervalMs: opts.statusIntervalMs ?? DEFAULT_STATUS_INTERVAL_MS,
    sign: deps.signStatus, counters: deps.statusCounters, clock, log, stats: counters,
  });
  const sender = createSender({
    journal, clock, log, counters, dataTopic: deviceTopic(opts.topicPrefix, opts.device, 'data'),
    live: () => (current?.phase === 'up' && !stopping ? current : undefined),
    failed: (conn, reason) => drop(conn, reason),
    published: (seq) => { publishedSeq = Math.max(publishedSeq, seq); },
    committed: (seq) => { ackedSeq = Math.max(ackedSeq, seq); },
  });
  const watch = createCredentialWatch({
    paths: [opts.ca, opts.cert, opts.key, opts.passwordFile],
    intervalMs: opts.fileWatchMs ?? DEFAULT_FILE_WATCH_MS,
    clock,
    ...(deps.statFile ? { statFile: deps.statFile } : {}),
    onChange(files) {
      counters.inc('uplink.credential_reloads');
      log.info('credential files changed: reconnecting with them', { files: files.join(',') });
      reconnectNow('credential files changed');
    },
  });

  function scheduleRetry(): void {
    if (stopping) return;
    const delay = backoff.next();
    nextRetryMs = delay;
    nextRetryAt = clock.now() + delay;
    retryTimer = clock.setTimeout(() => {
      retryTimer = undefined;
      nextRetryMs = undefined;
      nextRetryAt = undefined;
      attempt();
    }, delay);
  }

  /** Tears a connection (or attempt) down once, logs why, schedules the next attempt. */
  function drop(conn: Conn, reason?: string): void {
    if (conn.phase === 'closed') return;
    const wasUp = conn.phase === 'up';
    const wasClosing = conn.phase === 'closing';
    conn.phase = 'closed';
    conn.connectTimer?.cancel();
    conn.statusTimer?.cancel();
    if (current === conn) current = undefined;
    forceEnd(conn.client);
    if (wasClosing || stopping) return;
    // what it carried unacknowledged is sent again from the committed offset; what a drop took meanwhile is told
    if (wasUp) journal.rewind();
    const why = reason ?? conn.error ?? 'connection closed';
    lastError = conn.refusal ? `connect refused: ${conn.refusal.text}` : why;
    if (wasUp) stateSince = clock.now();
    if (wasUp && conn.connectedAt !== undefined && clock.monotonic() - conn.connectedAt >= STABLE_MS) backoff.reset();
    scheduleRetry();
    const fields = { url, retryMs: nextRetryMs, attempt: backoff.attempt() };
    if (wasUp) {
      counters.inc('uplink.disconnects');
      log.warn('disconnected', { ...fields, reason: why, unacked: conn.window.unacked() });
    } else if (conn.refusal) {
      counters.inc('uplink.connect_refused');
      const hint = isProtocolRefusal(conn.refusal.code) && opts.protocolVersion === 5
        ? 'the broker may speak only MQTT 3.1.1: set uplink.protocolVersion to 4' : undefined;
      log.error(`connect refused: ${conn.refusal.text}`, { ...fields, code: conn.refusal.code, clientId: opts.clientId, hint });
    } else {
      counters.inc('uplink.connect_failures');
      log.warn('connect failed', { ...fields, error: why });
    }
  }

  function attempt(): void {
    if (stopping) return;
    if (attempts++ > 0) counters.inc('uplink.reconnects');
    let client: MqttClient;
    let since: number;
    try {
      const files = readUplinkFiles(opts);
      since = nowS();
      const will = { topic: statusTopic, payload: status.payload('offline', since) };
      // no URL string: mqtt.js would url.parse() it (DEP0169 on Node 24); explicit options win
      client = connect({ ...brokerAddress(opts.url), ...clientOptions(opts, files, will) });
    } catch (err) {
      lastError = errorText(err);
      counters.inc('uplink.connect_failures');
      scheduleRetry();
      log.error('connect not attempted', { url, error: lastError, retryMs: nextRetryMs });
      return;
    }
    const conn: Conn = { client, phase: 'connecting', since, window: createInflightWindow(opts.inflight, journal.committedSeq() + 1) };
    current = conn;
    client.on('connect', (packet: IConnackPacket) => onConnected(conn, packet));
    client.on('error', (err: Error) => {
      if (conn.phase === 'closed') return;
      const code = (err as { code?: unknown }).code;
      if (conn.phase === 'connecting' && typeof code === 'number' && code > 0) conn.refusal = { code, text: refusalText(code) };
      conn.error = errorText(err);
      drop(conn);
    });
    client.on('disconnect', (packet: IDisconnectPacket) => {
      conn.error = `broker sent DISCONNECT reason=${packet.reasonCode ?? 0}`;
    });
    client.on('close', () => drop(conn));
    if (deps.onConfigMessage) {
      const onConfig = deps.onConfigMessage;
      client.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => {
        if (conn.phase !== 'up' || topic !== configTopic) return;
        counters.inc('uplink.config_messages');
        try {
          onConfig(new Uint8Array(payload), { retained: packet.retain === true, dup: packet.dup === true });
        } catch (err) {
          counters.inc('uplink.config_handler_errors');
          log.error('config message handler failed', { error: errorText(err) });
        }
      });
    }
    conn.connectTimer = clock.setTimeout(() => {
      if (conn.phase === 'connecting') drop(conn, `no CONNACK within ${CONNECT_TIMEOUT_MS} ms`);
    }, CONNECT_TIMEOUT_MS);
  }

  function onConnected(conn: Conn, packet: IConnackPacket): void {
    if (conn.phase !== 'connecting') return;
    conn.connectTimer?.cancel();
    conn.phase = 'up';
    conn.connectedAt = clock.monotonic();
    conn.since = nowS();
    stateSince = clock.now();
    const receiveMax = packet.properties?.receiveMaximum;
    conn.window = createInflightWindow(Math.max(1, Math.min(opts.inflight, receiveMax ?? Infinity)), journal.committedSeq() + 1);
    lastError = undefined;
    counters.inc('uplink.connects');
    log.info('connected', {
      url, clientId: opts.clientId, mqtt: opts.protocolVersion === 5 ? '5' : '3.1.1',
      sessionPresent: packet.sessionPresent, inflight: conn.window.limit, resendFrom: conn.window.nextSeq,
    });
    status.keepOnline(conn);
    if (deps.onConfigMessage) subscribeConfig(conn);
    for (const l of listeners) {
      try { l(); } catch (err) { log.error('onConnect listener failed', { error: errorText(err) }); }
    }
    sender.pump();
  }

  /**
   * Subscribes on every connect, even with a session present: the broker then
   * (re)sends the retained config, so the agent converges on the latest one
   * after any outage or crash. The runtime drops redeliveries it has decided.
   */
  function subscribeConfig(conn: Conn): void {
    conn.client.subscribe(configTopic, { qos: 1 }, (err, granted) => {
      if (conn.phase !== 'up') return;
      const code = granted?.[0]?.qos;
      if (err || code === undefined || code >= 128) {
        counters.inc('uplink.subscribe_errors');
        log.error('config subscription refused: over-the-air config updates cannot arrive', {
          topic: configTopic, error: err ? errorText(err) : `reason code ${String(code)}`,
        });
        return;
      }
      log.debug('subscribed', { topic: configTopic, qos: code });
    });
  }

  /** Closes the connection (DISCONNECT, no last will) and connects again at once, with freshly read files. */
  function reconnectNow(reason: string): void {
    if (stopping || !started) return;
    retryTimer?.cancel();
    retryTimer = undefined;
    nextRetryMs = undefined;
    backoff.reset();
    const conn = current;
    if (!conn) { attempt(); return; }
    conn.phase = 'closing';
    conn.connectTimer?.cancel();
    conn.statusTimer?.cancel();
    current = undefined;
    log.info('reconnecting', { url, reason });
    void endGracefully(conn.client, RELOAD_CLOSE_MS).then(() => {
      conn.phase = 'closed';
      if (!stopping && current === undefined && retryTimer === undefined) attempt();
    });
  }

  /** end(false) sends DISCONNECT (the broker then drops the will); forced if it takes too long. */
  function endGracefully(client: MqttClient, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        timer.cancel();
        resolve();
      };
      const timer = clock.setTimeout(() => { forceEnd(client); finish(); }, Math.max(0, ms));
      try { client.end(false, {}, () => finish()); } catch { finish(); }
    });
  }

  function withTimeout(p: Promise<void>, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = clock.setTimeout(resolve, Math.max(0, ms));
      void p.then(() => { timer.cancel(); resolve(); });
    });
  }

  return {
    async start() {
      if (started) return;
      started = true;
      const u = new URL(opts.url);
      if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') {
        throw Object.assign(new Error(`uplink.url: expected mqtts:// or mqtt://, got ${u.protocol}//`), { code: 'ERR_UPLINK_URL' });
      }
      readUplinkFiles(opts); // fail loudly now on an insecure or missing key/password file
      ackedSeq = journal.committedSeq();
      publishedSeq = ackedSeq;
      if (u.protocol === 'mqtt:') {
        log.warn('url is mqtt:// - nothing is encrypted: data, status and credentials travel in clear', {
          url, credentials: opts.username !== undefined || opts.passwordFile !== undefined,
        });
      }
      journal.onDurable(() => sender.pump());
      watch.start();
      attempt();
    },

    async stop() {
      if (stopping) return;
      stopping = true;
      retryTimer?.cancel();
      retryTimer = undefined;
      nextRetryMs = undefined;
      sender.stop();
      watch.stop();
      const conn = current;
      if (!conn) return;
      conn.connectTimer?.cancel();
      conn.statusTimer?.cancel();
      const deadline = clock.monotonic() + STOP_BUDGET_MS;
      if (conn.phase === 'up') {
        conn.phase = 'closing';
        await withTimeout(status.publish(conn, 'offline', nowS()), STOP_BUDGET_MS);
        await endGracefully(conn.client, deadline - clock.monotonic());
      } else {
        conn.phase = 'closing';
        forceEnd(conn.client);
      }
      conn.phase = 'closed';
      current = undefined;
      log.info('stopped', { url, publishedSeq, ackedSeq });
    },

    state() {
      const conn = current;
      const up = conn?.phase === 'up';
      return {
        connected: up,
        ...(lastError !== undefined ? { lastError } : {}),
        inflight: up && conn ? conn.window.unacked() : 0,
        publishedSeq,
        ackedSeq,
        reconnects: Math.max(0, attempts - 1),
        ...(nextRetryMs !== undefined ? { nextRetryMs } : {}),
        ...(nextRetryAt !== undefined ? { nextRetryAt } : {}),
        since: stateSince,
        broker: url,
      };
    },

    onConnect(listener) { listeners.push(listener); },

    publishSigned(topic, payload, publishOpts) {
      const conn = current;
      if (!conn || conn.phase !== 'up' || stopping) return Promise.resolve(false);
      return new Promise((resolve) => {
        const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
        conn.client.publish(deviceTopic(opts.topicPrefix, opts.device, topic), buf, { qos: 1, retain: publishOpts.retain }, (err) => {
          if (err) {
            log.warn('publish failed', { topic, error: errorText(err) });
            resolve(false);
          } else {
            resolve(true);
          }
        });
      });
    },
  };
}
