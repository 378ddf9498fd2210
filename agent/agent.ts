// The agent: wires sources → batcher → encode+sign → journal → uplink for one
// resolved config. Invariant: a batch is signed before it is stored, and the
// uplink only ever sees journal records that are durable (fsynced). A device
// key rollover happens between two batches: everything before it is durable
// and signed by the old key, everything from its seq on by the new one.

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../hal/clock.js';
import type { FileSystem } from '../hal/file.js';
import type { SerialFactory } from '../hal/serial.js';
import type { ResolvedConfig } from './config/load.js';
import { createCounters, type Counters } from './counters.js';
import { createBatchEncoder, chainStateAfter, isOriginalEpoch, type ChainState } from './encode/batch.js';
import { createBatcher } from './encode/batcher.js';
import { encodeCbor } from './encode/cbor.js';
import { signSign1 } from './encode/cose.js';
import type { KeyPair } from './encode/keys.js';
import { createCryptoSigner, type Signer } from './encode/signer.js';
import { ACK_CONTENT_TYPE, ackPayload, type Ack } from './ota/ack.js';
import { createDeviceKeys } from './ota/device-key.js';
import { createGapTeller } from './gap-teller.js';
import { createJournal, type Journal, type RecoveryReport } from './journal/journal.js';
import type { Logger } from './log.js';
import { createProgressProbe } from './progress.js';
import type { Reading } from './reading.js';
import { createSource } from './sources/registry.js';
import type { Source } from './sources/source.js';
import { createUplink, type InboundMeta, type Uplink, type UplinkOptions } from './uplink/uplink.js';
import { createAgentObservers, type AgentObservers } from './console/observers.js';
import { createPendingLedger, type PendingSummary } from './console/pending-ledger.js';
import { AGENT_VERSION } from './version.js';

export interface AgentDeps {
  serial: SerialFactory;
  clock: Clock;
  fs: FileSystem;
  log: Logger;
  /** Where `status.json` goes; default <stateDir>. systemd's RUNTIME_DIRECTORY (tmpfs) spares the SD card. */
  statusDir?: string;
  /** Test hook: options passed to the uplink as-is (e.g. a faster status interval). */
  uplinkOverrides?: Partial<UplinkOptions>;
  /** Shared counters (the runtime keeps one set across config changes); default a fresh set. */
  counters?: Counters;
  /** The version of `config` (0 = the local file); in status.json and the signed status. */
  configVersion?: number;
  /** Extra status.json content under "ota" (the runtime's view). */
  otaStatus?: () => Record<string, unknown>;
  /** Receives messages on <prefix>/<dev>/config; without it the agent subscribes to nothing. */
  onConfigMessage?(payload: Uint8Array, meta: InboundMeta): void;
  /** How often device.key.next and the TLS/password files are checked for changes; default 5000 ms. */
  filePollMs?: number;
  /** Console (issue 14): port tap and last values, shared across config changes; default a fresh set. */
  observers?: AgentObservers;
}

export interface AgentHealth {
  /** Running, every source open, uplink connected. */
  ok: boolean;
  /** What is not healthy, in words (empty when ok). */
  problems: string[];
}

export interface AgentStatus {
  v: 1;
  dev: string;
  pid: number;
  state: 'starting' | 'running' | 'stopping';
  since: number;
  updated: number;
  /** The chain: last seq signed, and its epoch (hex) when it is a restarted chain. */
  chain: { seq: number; epoch?: string };
  config: { version: number };
  key: { kid: string; oldKeyKept: boolean };
  ota?: Record<string, unknown>;
  counters: Record<string, number>;
  sources: Record<string, { open: boolean; lastReadingAt?: number; detail?: Record<string, unknown>; error?: string }>;
  uplink: ReturnType<Uplink['state']>;
  journal: ReturnType<Journal['stats']>;
  pendingReadings: number;
  // for the console's answers and `tapwire status` (issue 14)
  version: string;
  /** Unix seconds the process started (`since` is when this Agent, i.e. this config, started). */
  started: number;
  clock: 'sync' | 'free';
  /** Batches in the journal not yet acknowledged by the broker. */
  pending: PendingSummary;
}

export interface Agent {
  start(): Promise<RecoveryReport>;
  /** Flush the open batch, fsync, publish what can be published quickly, close. */
  stop(): Promise<void>;
  status(): AgentStatus;
  /** Running, sources open, uplink connected: what an OTA health check asks. */
  health(): AgentHealth;
  /** Why the pipeline is stuck (nothing moved for limitMs while work waits), or undefined: what the watchdog asks. */
  stalled(limitMs: number): string | undefined;
  /** Called after every successful connect of the uplink. */
  onConnect(listener: () => void): void;
  /** Signs `ack` with the current device key and publishes it on config/ack; true once PUBACKed. */
  sendAck(ack: Ack): Promise<boolean>;
  readonly counters: Counters;
  /** The current device public key (changes on rollover). */
  readonly publicKey: Uint8Array;
  /** The config this Agent runs (read by the console's views, issue 14). */
  readonly config: ResolvedConfig;
}

const STATUS_WRITE_MS = 5000;
/** On stop, how long to wait for the broker to acknowledge what is durable. */
const STOP_DRAIN_MS = 2000;
const DEFAULT_FILE_POLL_MS = 5000;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function keyPaths(stateDir: string): { key: string; pub: string } {
  return { key: join(stateDir, 'device.key'), pub: join(stateDir, 'device.pub') };
}

/** The kernel's boot id: the same id means a restart lost no page cache (a process crash, not a power cut). */
function readBootId(): string | undefined {
  try { return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'); } catch { return undefined; }
}

export function createAgent(config: ResolvedConfig, deps: AgentDeps): Agent {
  const log = deps.log;
  const counters = deps.counters ?? createCounters();
  const configVersion = deps.configVersion ?? 0;
  const filePollMs = deps.filePollMs ?? DEFAULT_FILE_POLL_MS;
  const deviceKeys = createDeviceKeys(config.stateDir, { device: config.device });
  // throws ERR_KEY_MISSING / ERR_KEY_PERMISSIONS / ERR_KEY_INVALID: the agent does not start
  let keyPair: KeyPair = deviceKeys.load();
  let signer: Signer = createCryptoSigner(keyPair.seed);
  let keyTimer: ReturnType<typeof setTimeout> | undefined;
  let rotating = false;
  let keyErrorLogged = false;
  const since = Math.floor(deps.clock.now() / 1000);
  let state: AgentStatus['state'] = 'starting';
  let firstJournaled = false;
  // console (issue 14): what the sources' ports receive, the last values, what waits for the broker
  const observers = deps.observers ?? createAgentObservers(deps.serial);
  const pending = createPendingLedger();

  const journal = createJournal({
    dir: join(config.stateDir, 'journal'),
    maxBytes: config.journal.maxBytes,
    segmentBytes: config.journal.segmentBytes,
    fsyncIntervalMs: config.journal.fsyncIntervalMs,
    fsyncEveryRecords: config.journal.fsyncEveryRecords,
    // beside the device key, outside the journal: damage to (or deletion of) the journal cannot reset the chain
    chainPath: join(config.stateDir, 'chain'),
    bootId: readBootId(),
    epochOf: (bytes) => {
      try { return chainStateAfter(bytes).epoch ?? new Uint8Array(8); } catch { return new Uint8Array(8); }
    },
  }, { fs: deps.fs, clock: deps.clock, log: log.child('journal'), counters });

  // replaced in start() by the chain state after the last journaled batch
  let encoder = createBatchEncoder(encoderOpts(), { seq: 0, prev: new Uint8Array(32) });
  function encoderOpts() {
    return { device: config.device, signer, clockSynced: () => deps.clock.synced(), nowMs: () => deps.clock.now() };
  }

  // Appends are serialised: a drop notice raised inside one append is
  // signed and appended right after it, never interleaved; a batch signed but
  // not journaled is told in a gap notice before the next one (gap-teller.ts).
  let appendChain: Promise<void> = Promise.resolve();
  const progress = createProgressProbe(deps.clock, { batchMaxAgeMs: config.batch.maxAgeMs, fsyncIntervalMs: config.journal.fsyncIntervalMs });
  const enqueue = (work: () => Promise<void>): void => {
    progress.queued();
    appendChain = appendChain.then(() => gaps.tellUntold()).then(work).catch((err: Error) => {
      counters.inc('journal.append_errors');
      log.error('journal append failed: batch lost (told in a gap notice)', { cause: err.message });
    }).finally(progress.settled);
  };
  const gaps = createGapTeller({
    journal, encoder: () => encoder, enqueue, counters, log,
    onPending: (seq, bytes, journaledNow) => pending.add(seq, bytes, journaledNow ? deps.clock.now() : undefined),
  });
  journal.onDrop((notice) => pending.dropped(notice.first, notice.last));

  const batcher = createBatcher(config.batch, {
    clock: deps.clock,
    onBatch: (readings: Reading[]) => enqueue(async () => {
      const batch = encoder.encodeReadings(readings);
      await gaps.journalBatch(batch);
      counters.inc('batches.signed');
      counters.inc('readings.journaled', batch.readings);
      if (!firstJournaled) {
        firstJournaled = true;
        log.info('first batch journaled', { seq: batch.seq, uptime_ms: Math.round(process.uptime() * 1000) });
      }
    }),
  });

  const sources: Source[] = config.sources.map((sc) =>
    createSource(sc, { serial: observers.ports.serial, clock: deps.clock, log, counters }));

  // signer is read at each call: after a rollover, status and acks are signed by the new key
  const signStatus = (status: Record<string, unknown>): Uint8Array =>
    signSign1(signer, encodeCbor(status), 'application/tapwire-status+cbor');

  const uplink = createUplink({
    device: config.device,
    url: config.uplink.url,
    protocolVersion: config.uplink.protocolVersion,
    clientId: config.uplink.clientId ?? `tapwire-${config.device}`,
    topicPrefix: config.uplink.topicPrefix,
    keepaliveS: config.uplink.keepaliveS,
    inflight: config.uplink.inflight,
    reconnect: config.uplink.reconnect,
    ca: config.uplink.ca,
    cert: config.uplink.cert,
    key: config.uplink.key,
    username: config.uplink.username,
    passwordFile: config.uplink.passwordFile,
    fileWatchMs: filePollMs,
    ...deps.uplinkOverrides,
  }, {
    journal,
    signStatus,
    statusCounters: () => ({ ...counters.snapshot(), 'config.version': configVersion }),
    clock: deps.clock,
    log: log.child('uplink'),
    counters,
    ...(deps.onConfigMessage ? { onConfigMessage: deps.onConfigMessage } : {}),
  });

  async function publishAnnouncement(bytes: Uint8Array): Promise<void> {
    if (!(await uplink.publishSigned('key', bytes, { retain: true }))) return; // again at the next connect
    counters.inc('key.announcements_published');
    if (deviceKeys.announced()) {
      log.info('key announcement acknowledged by the broker: old device key removed', { file: deviceKeys.paths.old });
    }
  }
  uplink.onConnect(() => {
    // retained and idempotent: re-published at every connect until it is no longer the latest
    const a = deviceKeys.announcement();
    if (a) void publishAnnouncement(a);
  });

  /**
   * `tapwire key rotate` leaves device.key.next; the rollover runs in the
   * append chain, so no batch is being signed meanwhile, after a journal sync,
   * so the rollover seq follows a durable batch (see agent/ota/device-key.ts).
   */
  function checkKeyRotation(): void {
    if (state !== 'running' || rotating) return;
    let next: KeyPair | undefined;
    try {
      next = deviceKeys.pendingNext(keyPair);
      keyErrorLogged = false;
    } catch (err) {
      if (!keyErrorLogged) {
        keyErrorLogged = true;
        counters.inc('key.rotation_errors');
        log.error('next device key unusable: not rotating', { file: deviceKeys.paths.next, cause: (err as Error).message });
      }
      return;
    }
    if (!next) return;
    const nextPair = next;
    rotating = true;
    enqueue(async () => {
      try {
        await journal.sync();
        const seq = encoder.state().seq + 1;
        const oldKid = hex(signer.kid);
        const announcement = deviceKeys.rollOver(signer, nextPair, seq, encoder.state().epoch);
        keyPair = nextPair;
        signer = createCryptoSigner(nextPair.seed);
        encoder = createBatchEncoder(encoderOpts(), encoder.state());
        counters.inc('key.rotations');
        log.info('device key rotated', { old_kid: oldKid, new_kid: hex(signer.kid), from_seq: seq });
        void publishAnnouncement(announcement);
      } catch (err) {
        counters.inc('key.rotation_errors');
        log.error('device key rotation failed: still signing with the old key', { cause: (err as Error).message });
      } finally {
        rotating = false;
      }
    });
  }

  function scheduleKeyCheck(): void {
    keyTimer = setTimeout(() => {
      checkKeyRotation();
      if (state === 'running') scheduleKeyCheck();
    }, filePollMs);
    keyTimer.unref();
  }

  const statusDir = deps.statusDir ?? config.stateDir;
  let statusTimer: ReturnType<typeof setInterval> | undefined;
  const writeStatus = (): void => {
    try {
      const file = join(statusDir, 'status.json');
      // tmp + rename: a reader never sees half a file; no fsync — it is volatile
      try {
        writeFileSync(file + '.tmp', JSON.stringify(status()) + '\n', { mode: 0o644 });
        renameSync(file + '.tmp', file);
      } catch (err) {
        rmSync(file + '.tmp', { force: true }); // a full disk leaves no empty tmp file behind
        throw err;
      }
    } catch (err) {
      log.debug('cannot write status file', { cause: (err as Error).message });
    }
  };

  /** Waits (bounded) until everything durable is acknowledged, while connected. */
  async function drainUplink(maxMs: number): Promise<void> {
    const deadline = deps.clock.monotonic() + maxMs;
    while (uplink.state().connected && journal.committedSeq() < journal.durableSeq() && deps.clock.monotonic() < deadline) {
      await deps.clock.sleep(20);
    }
  }

  function status(): AgentStatus {
    const sourceHealth: AgentStatus['sources'] = {};
    sources.forEach((s, i) => {
      const h = s.health();
      const error = h.open ? undefined : observers.ports.error(config.sources[i]!.port.path);
      sourceHealth[s.id] = error === undefined ? h : { ...h, error };
    });
    return {
      v: 1,
      dev: config.device,
      pid: process.pid,
      state,
      since,
      updated: Math.floor(deps.clock.now() / 1000),
      chain: { seq: encoder.state().seq, ...(encoder.state().epoch ? { epoch: hex(encoder.state().epoch!) } : {}) },
      config: { version: configVersion },
      key: { kid: hex(signer.kid), oldKeyKept: existsSync(deviceKeys.paths.old) },
      ...(deps.otaStatus ? { ota: deps.otaStatus() } : {}),
      counters: counters.snapshot(),
      sources: sourceHealth,
      uplink: uplink.state(),
      journal: journal.stats(),
      pendingReadings: batcher.pending(),
      version: AGENT_VERSION,
      started: Math.floor((deps.clock.now() - process.uptime() * 1000) / 1000),
      clock: deps.clock.synced() ? 'sync' : 'free',
      pending: pending.summary(journal.committedSeq()),
    };
  }

  function health(): AgentHealth {
    const problems: string[] = [];
    if (state !== 'running') problems.push(`agent ${state}`);
    for (const s of sources) if (!s.health().open) problems.push(`source ${s.id} not open`);
    const u = uplink.state();
    if (!u.connected) problems.push(`uplink not connected${u.lastError ? ` (${u.lastError})` : ''}`);
    return { ok: problems.length === 0, problems };
  }

  return {
    counters,
    config,
    get publicKey() { return keyPair.publicKey; },
    status,
    health,
    stalled: (limitMs) => (state !== 'running' ? undefined : progress.stalled(limitMs, {
      pendingReadings: batcher.pending(), lastSeq: journal.last()?.seq ?? 0, durableSeq: journal.durableSeq(),
    })),
    onConnect(listener) { uplink.onConnect(listener); },
    async sendAck(ack) {
      let bytes: Uint8Array;
      try {
        bytes = signSign1(signer, encodeCbor(ackPayload(ack)), ACK_CONTENT_TYPE);
      } catch (err) {
        log.error('cannot sign config ack', { cause: (err as Error).message });
        return false;
      }
      return uplink.publishSigned('config/ack', bytes, { retain: false });
    },
    async start() {
      mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
      mkdirSync(statusDir, { recursive: true });
      const report = await journal.open();
      // the journal keeps the chain position (its state file survives damage to segments)
      const head = journal.chainHead();
      const chain: ChainState = { seq: head.seq, prev: head.hash, ...(isOriginalEpoch(head.epoch) ? {} : { epoch: head.epoch }) };
      encoder = createBatchEncoder(encoderOpts(), chain);
      await gaps.start({ newEpoch: report.chain.source === 'new-epoch' });
      // the journal logged its own recovery report; this is what the chain resumes from
      log.info('chain resumes', {
        next_seq: chain.seq + 1, committed: journal.committedSeq(), records: report.records, from: report.chain.source,
        ...(chain.epoch ? { epoch: hex(chain.epoch) } : {}),
      });
      await uplink.start();
      const sink = (r: Reading): void => { batcher.add(r); observers.values.record(r); };
      await Promise.all(sources.map(async (s) => {
        try { await s.start(sink); } catch (err) {
          counters.inc(`source.${s.id}.start_errors`);
          log.error('source failed to start', { source: s.id, cause: (err as Error).message });
        }
      }));
      state = 'running';
      writeStatus();
      statusTimer = setInterval(writeStatus, STATUS_WRITE_MS);
      statusTimer.unref();
      log.info('agent running', { device: config.device, sources: sources.length, kid: hex(signer.kid), config_version: configVersion });
      checkKeyRotation();
      scheduleKeyCheck();
      return report;
    },
    async stop() {
      state = 'stopping';
      if (statusTimer) clearInterval(statusTimer);
      if (keyTimer) clearTimeout(keyTimer);
      await Promise.all(sources.map((s) => s.stop().catch(() => undefined)));
      batcher.flush();
      enqueue(async () => undefined); // tells what is still untold
      await appendChain;
      // a failed fsync here is logged by the journal; the close below tries once more
      await journal.sync().catch(() => undefined);
      await drainUplink(STOP_DRAIN_MS);
      await uplink.stop().catch((err: Error) => log.warn('uplink stop failed', { cause: err.message }));
      try {
        await journal.close();
      } finally {
        writeStatus();
      }
      log.info('agent stopped', { last_seq: encoder.state().seq, committed: journal.committedSeq() });
    },
  };
}
