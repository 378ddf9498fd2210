// The MQTT uplink: publishes durable journal batches in seq order (QoS 1) and
// advances the journal's committed offset over the contiguous PUBACKed prefix
// only. Outbound only; reconnects with our own jittered backoff.
//
// Topics (prefix "tapwire" by default):
//   <prefix>/<dev>/data     COSE_Sign1 batch bytes as stored, QoS 1, seq order
//   <prefix>/<dev>/status   retained, QoS 1, signed {"v":1,"dev","state","since","counters"};
//                           "online" on connect and every statusIntervalMs,
//                           "offline" on a clean stop and as the last will
//   <prefix>/<dev>/config   the only subscription (QoS 1), made on every connect when
//                           deps.onConfigMessage is set; messages go to that hook as bytes
//   <prefix>/<dev>/config/ack, <prefix>/<dev>/key   published through publishSigned()
//
// Credential files (ca, cert, key, passwordFile) are read at every connect and
// their (mtime, size, inode) polled every fileWatchMs: a change closes the
// connection cleanly and reconnects at once with the new files.
//
// Window (per connection; reset on every reconnect, resend from committed+1):
//
//   committed ─┐  sent, in order (at most `inflight`, or the broker's Receive Maximum)
//              ▼ ┌────┬────┬────┬────┐
//   ... 40 41 42 │ 43 │ 44 │ 45 │ 46 │ 47 48 ... durable, not yet sent
//                └────┴────┴────┴────┘
//   PUBACK(44) marks 44; nothing commits until 43 is acked, then commit(44).

import { statSync } from 'node:fs';
import mqtt, { type IClientOptions, type IConnackPacket, type IDisconnectPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Clock, Timer } from '../../hal/clock.js';
import type { Counters } from '../counters.js';
import type { Journal, JournalRecord } from '../journal/journal.js';
import type { Logger } from '../log.js';
import { createBackoff } from './backoff.js';
import { brokerAddress } from './broker-address.js';
import { readUplinkFiles } from './tls-files.js';

/** One durable journal record. */
export type UplinkJournalRecord = JournalRecord;

/** The part of the journal the uplink uses. */
export type UplinkJournal = Pick<Journal, 'readFrom' | 'committedSeq' | 'commit' | 'durableSeq' | 'onDurable'>;

export interface UplinkOptions {
  device: string;
  url: string;
  protocolVersion: 4 | 5;
  clientId: string;
  topicPrefix: string;
  keepaliveS: number;
  inflight: number;
  reconnect: { initialMs: number; maxMs: number };
  /** File paths; key and passwordFile must be mode 0600 (or stricter). */
  ca?: string;
  cert?: string;
  key?: string;
  username?: string;
  passwordFile?: string;
  /** How often the retained online status is refreshed; default 60000. */
  statusIntervalMs?: number;
  /** How often credential files are checked for changes (then: reconnect with them); default 5000, 0 = never. */
  fileWatchMs?: number;
}

/** How a config message arrived: `retained` (sent because we subscribed) or `dup` (a redelivery). */
export interface InboundMeta { retained: boolean; dup: boolean }

/** Topics publishSigned() may use, relative to <prefix>/<dev>/. */
export type SignedTopic = 'config/ack' | 'key';

export interface UplinkDeps {
  journal: UplinkJournal;
  /** Signs a status object as COSE_Sign1 with the device key. */
  signStatus(status: Record<string, unknown>): Uint8Array;
  /** Counters to include in status. */
  statusCounters(): Record<string, number>;
  clock: Clock;
  log: Logger;
  counters: Counters;
  /** Defaults to mqtt.connect; tests may wrap or replace it. */
  connect?: typeof mqtt.connect;
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

export interface UplinkState {
  connected: boolean;
  lastError?: string;
  /** Batches sent on this connection and not yet PUBACKed. */
  inflight: number;
  /** Highest seq handed to the broker (any connection). */
  publishedSeq: number;
  /** Highest seq committed: it and everything before it were PUBACKed. */
  ackedSeq: number;
  /** Connection attempts after the first one. */
  reconnects: number;
  /** Delay of the pending reconnect, if one is scheduled. */
  nextRetryMs?: number;
  /** Wall ms of the pending reconnect, if one is scheduled. */
  nextRetryAt?: number;
  /** Wall ms since when `connected` has had its value (the start, a CONNACK, a loss). */
  since?: number;
  /** The broker URL as it may be shown: scheme, host and port, never credentials. */
  broker?: string;
}

export interface Uplink {
  /** Schedules the first connect and returns; a down broker is not an error. Throws for unusable credential files. */
  start(): Promise<void>;
  /** Publishes a signed offline status (if connected), disconnects cleanly; bounded in time. */
  stop(): Promise<void>;
  state(): UplinkState;
  /** Called after every successful connect (CONNACK accepted). */
  onConnect(listener: () => void): void;
  /**
   * Publishes already signed bytes on <prefix>/<dev>/<topic>, QoS 1. Resolves
   * true once PUBACKed, false if not connected or the publish failed (never rejects).
   */
  publishSigned(topic: SignedTopic, payload: Uint8Array, opts: { retain: boolean }): Promise<boolean>;
}

// The broker keeps our session (and, later, the config subscription) across
// outages up to a week; MQTT 3.1.1 sessions have no expiry of their own.
const SESSION_EXPIRY_S = 7 * 24 * 3600;
// No CONNACK within this long: give up on the attempt and back off.
const CONNECT_TIMEOUT_MS = 30_000;
// A connection that stayed up this long resets the backoff; a broker that
// accepts and drops us at once (e.g. a clientId fight) keeps backing off.
const STABLE_MS = 10_000;
// stop(): offline status + DISCONNECT must not hold up shutdown longer.
const STOP_BUDGET_MS = 2000;
// A failed journal read is retried after this long (the connection stays).
const READ_RETRY_MS = 1000;
const DEFAULT_STATUS_INTERVAL_MS = 60_000;
const DEFAULT_FILE_WATCH_MS = 5000;
// A credential reload closes the old connection (DISCONNECT) within this long.
const RELOAD_CLOSE_MS = 1000;
// MQTT 5: the broker must not send us packets larger than this. Config
// messages are capped at 64 KiB by the agent; room to answer a larger one with
// a signed "too-large" rejection, none to make us buffer megabytes.
const MAX_INBOUND_PACKET_BYTES = 1 << 20;

// CONNACK refusal codes: MQTT 3.1.1 §3.2.2.3 and MQTT 5 §3.2.2.2.
const REFUSALS: Record<number, string> = {
  1: 'unsupported protocol version', 2: 'client identifier rejected', 3: 'server unavailable',
  4: 'bad username or password', 5: 'not authorized',
  128: 'unspecified error', 129: 'malformed packet', 130: 'protocol error', 131: 'implementation specific error',
  132: 'unsupported protocol version', 133: 'client identifier not valid', 134: 'bad username or password',
  135: 'not authorized', 136: 'server unavailable', 137: 'server busy', 138: 'banned',
  140: 'bad authentication method', 144: 'topic name invalid', 149: 'packet too large',
  151: 'quota exceeded', 153: 'payload format invalid', 154: 'retain not supported',
  155: 'QoS not supported', 156: 'use another server', 157: 'server moved', 159: 'connection rate exceeded',
};

type ConnPhase = 'connecting' | 'up' | 'closing' | 'closed';

interface Conn {
  client: MqttClient;
  phase: ConnPhase;
  connectedAt?: number;
  /** Unix seconds of the CONNACK, the `since` of the online status. */
  since: number;
  /** Effective window: min(inflight, broker's Receive Maximum). */
  limit: number;
  /** Seqs sent on this connection and not yet committed, in send order. */
  sent: number[];
  /** Seqs PUBACKed but not yet committable (something before them is unacked). */
  acked: Set<number>;
  nextSeq: number;
  error?: string;
  refusal?: { code: number; text: string };
  connectTimer?: Timer;
  statusTimer?: Timer;
}

function defaultStatFile(path: string): string {
  try {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return 'missing';
  }
}

function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`; // never the userinfo part
  } catch {
    return '<invalid url>';
  }
}

/** One line: `CODE: reason` (OpenSSL errors carry a short `reason`; their message is a dump). */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const { code, reason } = err as { code?: unknown; reason?: unknown };
  const text = typeof reason === 'string' ? reason : (err.message.split('\n')[0] ?? '').trim();
  return typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text;
}

export function createUplink(opts: UplinkOptions, deps: UplinkDeps): Uplink {
  const { journal, clock, counters } = deps;
  const log = deps.log.child('uplink');
  const connect = deps.connect ?? mqtt.connect;
  const backoff = createBackoff({ ...opts.reconnect, random: deps.random });
  const dataTopic = `${opts.topicPrefix}/${opts.device}/data`;
  const statusTopic = `${opts.topicPrefix}/${opts.device}/status`;
  const configTopic = `${opts.topicPrefix}/${opts.device}/config`;
  const fileWatchMs = opts.fileWatchMs ?? DEFAULT_FILE_WATCH_MS;
  const statFile = deps.statFile ?? defaultStatFile;
  const statusIntervalMs = opts.statusIntervalMs ?? DEFAULT_STATUS_INTERVAL_MS;
  const url = safeUrl(opts.url);
  const listeners: Array<() => void> = [];

  let started = false;
  let stopping = false;
  let current: Conn | undefined;
  let retryTimer: Timer | undefined;
  let readRetryTimer: Timer | undefined;
  let attempts = 0;
  let publishedSeq = 0;
  let ackedSeq = 0;
  let lastError: string | undefined;
  let nextRetryMs: number | undefined;
  let nextRetryAt: number | undefined;
  let stateSince = clock.now();
  let pumping = false;
  let pumpRequested = false;
  let watchTimer: Timer | undefined;
  let fileStamp = '';

  const nowS = (): number => Math.floor(clock.now() / 1000);

  function statusPayload(state: 'online' | 'offline', since: number): Buffer {
    const signed = deps.signStatus({ v: 1, dev: opts.device, state, since, counters: deps.statusCounters() });
    return Buffer.from(signed.buffer, signed.byteOffset, signed.byteLength);
  }

  function publishStatus(conn: Conn, state: 'online' | 'offline', since: number): Promise<void> {
    return new Promise((resolve) => {
      let payload: Buffer;
      try {
        payload = statusPayload(state, since);
      } catch (err) {
        log.error('status signing failed', { error: errorText(err) });
        resolve();
        return;
      }
      conn.client.publish(statusTopic, payload, { qos: 1, retain: true }, (err) => {
        if (err) log.warn('status publish failed', { state, error: errorText(err) });
        else counters.inc('uplink.status_published');
        resolve();
      });
    });
  }

  function scheduleStatus(conn: Conn): void {
    conn.statusTimer = clock.setTimeout(() => {
      if (conn.phase !== 'up') return;
      void publishStatus(conn, 'online', conn.since);
      scheduleStatus(conn);
    }, statusIntervalMs);
  }

  function forceEnd(client: MqttClient): void {
    // end() throws on a client that never connected (mqtt.js, manualConnect)
    try { client.end(true); } catch { /* already gone */ }
  }

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
    const why = reason ?? conn.error ?? 'connection closed';
    lastError = conn.refusal ? `connect refused: ${conn.refusal.text}` : why;
    if (wasUp) stateSince = clock.now();
    if (wasUp && conn.connectedAt !== undefined && clock.monotonic() - conn.connectedAt >= STABLE_MS) backoff.reset();
    scheduleRetry();
    const fields = { url, retryMs: nextRetryMs, attempt: backoff.attempt() };
    if (wasUp) {
      counters.inc('uplink.disconnects');
      log.warn('disconnected', { ...fields, reason: why, unacked: conn.sent.length - conn.acked.size });
    } else if (conn.refusal) {
      counters.inc('uplink.connect_refused');
      const hint = conn.refusal.code === 1 || conn.refusal.code === 132
        ? (opts.protocolVersion === 5 ? 'the broker may speak only MQTT 3.1.1: set uplink.protocolVersion to 4' : undefined)
        : undefined;
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
      const options: IClientOptions = {
        protocolVersion: opts.protocolVersion,
        clientId: opts.clientId,
        clean: false,
        reconnectPeriod: 0, // reconnects are ours (backoff with jitter), not mqtt.js's fixed period
        connectTimeout: CONNECT_TIMEOUT_MS + 1000,
        keepalive: opts.keepaliveS,
        // signed now: the last thing this connection vouches for is "offline since <connect time>"
        will: { topic: statusTopic, payload: statusPayload('offline', since), qos: 1, retain: true },
        // explicit, so NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment cannot turn verification off
        ...(opts.url.startsWith('mqtts:') ? { rejectUnauthorized: true } : {}),
        ...(files.ca ? { ca: files.ca } : {}),
        ...(files.cert ? { cert: files.cert } : {}),
        ...(files.key ? { key: files.key } : {}),
        ...(opts.username !== undefined ? { username: opts.username } : {}),
        ...(files.password ? { password: files.password } : {}),
        ...(opts.protocolVersion === 5
          ? { properties: { sessionExpiryInterval: SESSION_EXPIRY_S, maximumPacketSize: MAX_INBOUND_PACKET_BYTES } }
          : {}),
      };
      // no URL string: mqtt.js would url.parse() it (DEP0169 on Node 24); explicit options win
      client = connect('', { ...brokerAddress(opts.url), ...options });
    } catch (err) {
      lastError = errorText(err);
      counters.inc('uplink.connect_failures');
      scheduleRetry();
      log.error('connect not attempted', { url, error: lastError, retryMs: nextRetryMs });
      return;
    }
    const conn: Conn = {
      client, phase: 'connecting', since, limit: opts.inflight, sent: [], acked: new Set(), nextSeq: journal.committedSeq() + 1,
    };
    current = conn;
    client.on('connect', (packet: IConnackPacket) => onConnected(conn, packet));
    client.on('error', (err: Error) => {
      if (conn.phase === 'closed') return;
      const code = (err as { code?: unknown }).code;
      if (conn.phase === 'connecting' && typeof code === 'number' && code > 0) {
        conn.refusal = { code, text: REFUSALS[code] ?? `reason code ${code}` };
      }
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
    conn.limit = Math.max(1, Math.min(opts.inflight, receiveMax ?? Infinity));
    conn.nextSeq = journal.committedSeq() + 1;
    lastError = undefined;
    counters.inc('uplink.connects');
    log.info('connected', {
      url, clientId: opts.clientId, mqtt: opts.protocolVersion === 5 ? '5' : '3.1.1',
      sessionPresent: packet.sessionPresent, inflight: conn.limit, resendFrom: conn.nextSeq,
    });
    void publishStatus(conn, 'online', conn.since);
    scheduleStatus(conn);
    if (deps.onConfigMessage) subscribeConfig(conn);
    for (const l of listeners) {
      try { l(); } catch (err) { log.error('onConnect listener failed', { error: errorText(err) }); }
    }
    requestPump();
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

  function credentialStamp(): string {
    return [opts.ca, opts.cert, opts.key, opts.passwordFile].map((p) => (p === undefined ? '-' : statFile(p))).join('|');
  }

  function scheduleWatch(): void {
    if (fileWatchMs <= 0 || stopping) return;
    watchTimer = clock.setTimeout(() => {
      watchTimer = undefined;
      if (stopping) return;
      const stamp = credentialStamp();
      if (stamp !== fileStamp) {
        fileStamp = stamp;
        counters.inc('uplink.credential_reloads');
        log.info('credential files changed: reconnecting with them', {
          files: [opts.ca, opts.cert, opts.key, opts.passwordFile].filter((p) => p !== undefined).join(','),
        });
        reconnectNow('credential files changed');
      }
      scheduleWatch();
    }, fileWatchMs);
  }

  function onPuback(conn: Conn, seq: number, err: Error | undefined): void {
    if (conn.phase !== 'up' && conn.phase !== 'closing') return; // a dead connection's late callback
    if (err) {
      counters.inc('uplink.publish_errors');
      // reconnect (with backoff) and resend from the committed offset: order is kept
      if (conn.phase === 'up') drop(conn, `publish of seq ${seq} failed: ${errorText(err)}`);
      return;
    }
    counters.inc('uplink.acked');
    conn.acked.add(seq);
    let commitTo: number | undefined;
    while (conn.sent.length > 0 && conn.acked.has(conn.sent[0]!)) {
      commitTo = conn.sent.shift()!;
      conn.acked.delete(commitTo);
    }
    if (commitTo !== undefined && commitTo > journal.committedSeq()) {
      try {
        journal.commit(commitTo);
        ackedSeq = Math.max(ackedSeq, commitTo);
      } catch (e) {
        // not fatal: the broker has the batches; at worst they are resent after a restart
        counters.inc('uplink.commit_errors');
        log.error('journal commit failed', { seq: commitTo, error: errorText(e) });
      }
    }
    requestPump();
  }

  function send(conn: Conn, r: UplinkJournalRecord): void {
    conn.sent.push(r.seq);
    conn.nextSeq = r.seq + 1;
    publishedSeq = Math.max(publishedSeq, r.seq);
    counters.inc('uplink.published');
    const payload = Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
    conn.client.publish(dataTopic, payload, { qos: 1 }, (err) => onPuback(conn, r.seq, err));
  }

  /** Fills the window of the live connection from the journal; never publishes while disconnected. */
  async function fill(): Promise<void> {
    for (;;) {
      const conn = current;
      if (!conn || conn.phase !== 'up' || stopping) return;
      const room = conn.limit - conn.sent.length;
      if (room <= 0 || conn.nextSeq > journal.durableSeq()) return;
      let records: UplinkJournalRecord[];
      try {
        records = await journal.readFrom(conn.nextSeq, room);
      } catch (err) {
        counters.inc('uplink.journal_read_errors');
        log.error('journal read failed', { from: conn.nextSeq, error: errorText(err), retryMs: READ_RETRY_MS });
        readRetryTimer?.cancel();
        readRetryTimer = clock.setTimeout(() => { readRetryTimer = undefined; requestPump(); }, READ_RETRY_MS);
        return;
      }
      if (conn !== current || conn.phase !== 'up' || stopping) continue; // reconnected meanwhile: start over
      let progressed = false;
      for (const r of records) {
        if (r.seq < conn.nextSeq) continue;
        if (conn.sent.length >= conn.limit) break;
        send(conn, r);
        progressed = true;
      }
      if (!progressed) return;
    }
  }

  function requestPump(): void {
    pumpRequested = true;
    if (pumping) return;
    pumping = true;
    void (async () => {
      try {
        while (pumpRequested) {
          pumpRequested = false;
          await fill();
        }
      } finally {
        pumping = false;
      }
    })();
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
      journal.onDurable(() => requestPump());
      if (opts.ca !== undefined || opts.cert !== undefined || opts.key !== undefined || opts.passwordFile !== undefined) {
        fileStamp = credentialStamp();
        scheduleWatch();
      }
      attempt();
    },

    async stop() {
      if (stopping) return;
      stopping = true;
      retryTimer?.cancel();
      retryTimer = undefined;
      nextRetryMs = undefined;
      readRetryTimer?.cancel();
      watchTimer?.cancel();
      watchTimer = undefined;
      const conn = current;
      if (!conn) return;
      conn.connectTimer?.cancel();
      conn.statusTimer?.cancel();
      const deadline = clock.monotonic() + STOP_BUDGET_MS;
      if (conn.phase === 'up') {
        conn.phase = 'closing';
        await withTimeout(publishStatus(conn, 'offline', nowS()), STOP_BUDGET_MS);
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
        inflight: up && conn ? conn.sent.length - conn.acked.size : 0,
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
        conn.client.publish(`${opts.topicPrefix}/${opts.device}/${topic}`, buf, { qos: 1, retain: publishOpts.retain }, (err) => {
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
