// The agent: wires sources → batcher → encode+sign → journal → uplink for one
// resolved config. Invariant: a batch is signed before it is stored, and the
// uplink only ever sees journal records that are durable (fsynced).

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../hal/clock.js';
import type { FileSystem } from '../hal/file.js';
import type { SerialFactory } from '../hal/serial.js';
import type { ResolvedConfig } from './config/load.js';
import { createCounters, type Counters } from './counters.js';
import { createBatchEncoder, chainStateAfter, type ChainState } from './encode/batch.js';
import { createBatcher } from './encode/batcher.js';
import { encodeCbor } from './encode/cbor.js';
import { signSign1 } from './encode/cose.js';
import { readPrivateKey } from './encode/keys.js';
import { createCryptoSigner, type Signer } from './encode/signer.js';
import { createJournal, type Journal, type RecoveryReport } from './journal/journal.js';
import type { Logger } from './log.js';
import type { Reading } from './reading.js';
import { createSource } from './sources/registry.js';
import type { Source } from './sources/source.js';
import { createUplink, type Uplink, type UplinkOptions } from './uplink/uplink.js';

export interface AgentDeps {
  serial: SerialFactory;
  clock: Clock;
  fs: FileSystem;
  log: Logger;
  /** Where `status.json` goes; default <stateDir>. systemd's RUNTIME_DIRECTORY (tmpfs) spares the SD card. */
  statusDir?: string;
  /** Test hook: options passed to the uplink as-is (e.g. a faster status interval). */
  uplinkOverrides?: Partial<UplinkOptions>;
}

export interface AgentStatus {
  v: 1;
  dev: string;
  pid: number;
  state: 'starting' | 'running' | 'stopping';
  since: number;
  updated: number;
  chain: { seq: number };
  counters: Record<string, number>;
  sources: Record<string, { open: boolean; lastReadingAt?: number; detail?: Record<string, unknown> }>;
  uplink: ReturnType<Uplink['state']>;
  journal: ReturnType<Journal['stats']>;
  pendingReadings: number;
}

export interface Agent {
  start(): Promise<RecoveryReport>;
  /** Flush the open batch, fsync, publish what can be published quickly, close. */
  stop(): Promise<void>;
  status(): AgentStatus;
  readonly counters: Counters;
  readonly publicKey: Uint8Array;
}

const STATUS_WRITE_MS = 5000;
/** On stop, how long to wait for the broker to acknowledge what is durable. */
const STOP_DRAIN_MS = 2000;

export function keyPaths(stateDir: string): { key: string; pub: string } {
  return { key: join(stateDir, 'device.key'), pub: join(stateDir, 'device.pub') };
}

export function createAgent(config: ResolvedConfig, deps: AgentDeps): Agent {
  const log = deps.log;
  const counters = createCounters();
  const keyPair = readPrivateKey(keyPaths(config.stateDir).key);
  const signer: Signer = createCryptoSigner(keyPair.seed);
  const since = Math.floor(deps.clock.now() / 1000);
  let state: AgentStatus['state'] = 'starting';
  let firstJournaled = false;

  const journal = createJournal({
    dir: join(config.stateDir, 'journal'),
    maxBytes: config.journal.maxBytes,
    segmentBytes: config.journal.segmentBytes,
    fsyncIntervalMs: config.journal.fsyncIntervalMs,
    fsyncEveryRecords: config.journal.fsyncEveryRecords,
  }, { fs: deps.fs, clock: deps.clock, log: log.child('journal'), counters });

  let chain: ChainState = { seq: 0, prev: new Uint8Array(32) };
  let encoder = createBatchEncoder(encoderOpts(), chain);
  function encoderOpts() {
    return { device: config.device, signer, clockSynced: () => deps.clock.synced(), nowMs: () => deps.clock.now() };
  }

  // Appends are serialised: a drop notice raised inside one append is
  // signed and appended right after it, never interleaved.
  let appendChain: Promise<void> = Promise.resolve();
  const enqueue = (work: () => Promise<void>): void => {
    appendChain = appendChain.then(work).catch((err: Error) => {
      counters.inc('journal.append_errors');
      log.error('journal append failed: batch lost', { cause: err.message });
    });
  };

  const batcher = createBatcher(config.batch, {
    clock: deps.clock,
    onBatch: (readings: Reading[]) => enqueue(async () => {
      const batch = encoder.encodeReadings(readings);
      await journal.append({ seq: batch.seq, readings: batch.readings, bytes: batch.bytes });
      counters.inc('batches.signed');
      counters.inc('readings.journaled', batch.readings);
      if (!firstJournaled) {
        firstJournaled = true;
        log.info('first batch journaled', { seq: batch.seq, uptime_ms: Math.round(process.uptime() * 1000) });
      }
    }),
  });

  journal.onDrop((notice) => {
    counters.inc('gaps.notices');
    log.warn('journal full: dropped unsent batches', {
      first: notice.first, last: notice.last, batches: notice.batches, readings: notice.readings, reason: notice.reason,
    });
    enqueue(async () => {
      const gap = encoder.encodeGap(notice.first, notice.last, notice.reason);
      await journal.append({ seq: gap.seq, readings: 0, bytes: gap.bytes });
    });
  });

  const sources: Source[] = config.sources.map((sc) =>
    createSource(sc, { serial: deps.serial, clock: deps.clock, log, counters }));

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
    ...deps.uplinkOverrides,
  }, {
    journal,
    signStatus,
    statusCounters: () => counters.snapshot(),
    clock: deps.clock,
    log: log.child('uplink'),
    counters,
  });

  const statusDir = deps.statusDir ?? config.stateDir;
  let statusTimer: ReturnType<typeof setInterval> | undefined;
  const writeStatus = (): void => {
    try {
      const file = join(statusDir, 'status.json');
      // tmp + rename: a reader never sees half a file; no fsync — it is volatile
      writeFileSync(file + '.tmp', JSON.stringify(status()) + '\n', { mode: 0o644 });
      renameSync(file + '.tmp', file);
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
    for (const s of sources) sourceHealth[s.id] = s.health();
    return {
      v: 1,
      dev: config.device,
      pid: process.pid,
      state,
      since,
      updated: Math.floor(deps.clock.now() / 1000),
      chain: { seq: encoder.state().seq },
      counters: counters.snapshot(),
      sources: sourceHealth,
      uplink: uplink.state(),
      journal: journal.stats(),
      pendingReadings: batcher.pending(),
    };
  }

  return {
    counters,
    publicKey: keyPair.publicKey,
    status,
    async start() {
      mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
      mkdirSync(statusDir, { recursive: true });
      const report = await journal.open();
      const last = journal.last();
      if (last) chain = chainStateAfter(last.bytes);
      encoder = createBatchEncoder(encoderOpts(), chain);
      log.info('journal open', {
        records: report.records, first_seq: report.firstSeq, last_seq: report.lastSeq,
        truncated_bytes: report.truncatedBytes, corrupt: report.corruptRecords,
        quarantined: report.quarantined.length, commit_fallback: report.commitFallback,
        committed: journal.committedSeq(), next_seq: chain.seq + 1,
      });
      await uplink.start();
      const sink = (r: Reading): void => batcher.add(r);
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
      log.info('agent running', { device: config.device, sources: sources.length, kid: Buffer.from(signer.kid).toString('hex') });
      return report;
    },
    async stop() {
      state = 'stopping';
      if (statusTimer) clearInterval(statusTimer);
      await Promise.all(sources.map((s) => s.stop().catch(() => undefined)));
      batcher.flush();
      await appendChain;
      await journal.sync();
      await drainUplink(STOP_DRAIN_MS);
      await uplink.stop();
      await journal.close();
      writeStatus();
      log.info('agent stopped', { last_seq: encoder.state().seq, committed: journal.committedSeq() });
    },
  };
}
