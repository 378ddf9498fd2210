// The agent: wires sources → batcher → encode+sign → journal → uplink for one
// resolved config, and its side jobs, as a list of parts (agent/parts/)
// started in order and stopped in reverse. Invariant: a batch is signed before
// it is stored, and the uplink only ever sees journal records that are durable
// (fsynced). A key rollover happens between two batches (parts/key-rotation.ts).

import { join } from 'node:path';
import type { ResolvedConfig } from './config/load.js';
import type { Agent, AgentDeps, AgentHealth, AgentStatus } from './agent-api.js';
import { createCounters } from './counters.js';
import { ACK_CONTENT_TYPE, ackPayload } from './ota/ack.js';
import { createDeviceKeys } from './ota/device-key.js';
import { createJournal, type RecoveryReport } from './journal/journal.js';
import { createSource } from './sources/registry.js';
import { createUplink } from './uplink/uplink.js';
import { createAgentObservers } from './console/observers.js';
import { createPendingLedger } from './console/pending-ledger.js';
import { createBatches } from './parts/batches.js';
import { createGapTeller } from './parts/gap-teller.js';
import { createJournalPart, journalOptions } from './parts/journal-part.js';
import { createKeyRotation } from './parts/key-rotation.js';
import { createPartList } from './parts/part.js';
import { createSourcesPart } from './parts/sources-part.js';
import { createStatusFile } from './parts/status-file.js';
import { createTicker } from './parts/ticker.js';
import { createHeapTrim } from './parts/heap-trim.js';
import { createUplinkPart, uplinkOptions } from './parts/uplink-part.js';
import { createSigning } from './signing.js';
import { AGENT_VERSION } from './version.js';

export type { Agent, AgentDeps, AgentHealth, AgentStatus } from './agent-api.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function keyPaths(stateDir: string): { key: string; pub: string } {
  return { key: join(stateDir, 'device.key'), pub: join(stateDir, 'device.pub') };
}

export function createAgent(config: ResolvedConfig, deps: AgentDeps): Agent {
  const { clock, log } = deps;
  const counters = deps.counters ?? createCounters();
  const configVersion = deps.configVersion ?? 0;
  const filePollMs = deps.filePollMs ?? 5000; // key and credential files
  const deviceKeys = createDeviceKeys(config.stateDir, { device: config.device });
  // throws ERR_KEY_MISSING / ERR_KEY_PERMISSIONS / ERR_KEY_INVALID: the agent does not start
  const signing = createSigning(deviceKeys.load(), { device: config.device, clock });
  // Unix seconds: this Agent (this config) started; the process started
  const [since, started] = [Math.floor(clock.now() / 1000), Math.floor((clock.now() - process.uptime() * 1000) / 1000)];
  let state: AgentStatus['state'] = 'starting';
  // console (issue 14): what the sources' ports receive, the last values, what waits for the broker
  const observers = deps.observers ?? createAgentObservers(deps.serial);
  const pending = createPendingLedger();

  const journal = createJournal(journalOptions(config), { fs: deps.fs, clock, log: log.child('journal'), counters });
  const gaps = createGapTeller({
    journal, encoder: () => signing.encoder, enqueue: (work) => batches.enqueue(work), counters, log,
    onPending: (seq, bytes, journaledNow) => pending.add(seq, bytes, journaledNow ? clock.now() : undefined),
  });
  journal.onDrop((notice) => pending.dropped(notice.first, notice.last));
  const batches = createBatches(config, { clock, signing, gaps, counters, log });
  const sources = config.sources.map((sc) => createSource(sc, { serial: observers.ports.serial, clock, log, counters }));
  const uplink = createUplink(uplinkOptions(config, filePollMs, deps.uplinkOverrides), {
    journal,
    // signed by the key of the moment: after a rollover, status and acks are signed by the new key
    signStatus: (s) => signing.sign(s, 'application/tapwire-status+cbor'),
    statusCounters: () => ({ ...counters.snapshot(), 'config.version': configVersion }),
    clock, log: log.child('uplink'), counters,
    ...(deps.onConfigMessage ? { onConfigMessage: deps.onConfigMessage } : {}),
  });
  const keys = createKeyRotation(filePollMs, {
    deviceKeys, signing, journal, uplink, enqueue: batches.enqueue, running: () => state === 'running', counters, log,
  });
  uplink.onConnect(keys.announce);
  const statusFile = createStatusFile({ dir: deps.statusDir ?? config.stateDir }, { fs: deps.fs, clock, log, content: status });
  const journalPart = createJournalPart(journal, { signing, gaps, log });
  const runningFacts = () => ({ device: config.device, sources: sources.length, kid: hex(signing.signer.kid), config_version: configVersion });

  const parts = createPartList([
    statusFile, // its last write comes after everything else stopped
    journalPart,
    createUplinkPart(uplink, { journal, appends: batches, clock, log }),
    batches,
    createSourcesPart(sources, { sink: (r) => { batches.add(r); observers.values.record(r); }, counters, log }),
    { name: 'running', start() { state = 'running'; log.info('agent running', runningFacts()); }, stop() { state = 'stopping'; } },
    createTicker([statusFile, keys, ...(deps.fullGc ? [createHeapTrim(deps.fullGc)] : [])], { clock, log }),
  ]);

  function status(): AgentStatus {
    const sourceHealth: AgentStatus['sources'] = {};
    sources.forEach((s, i) => {
      const h = s.health();
      const error = h.open ? undefined : observers.ports.error(config.sources[i]!.port.path);
      sourceHealth[s.id] = error === undefined ? h : { ...h, error };
    });
    const chain = signing.encoder.state();
    return {
      v: 1, dev: config.device, pid: process.pid, state, since,
      updated: Math.floor(clock.now() / 1000),
      chain: { seq: chain.seq, ...(chain.epoch ? { epoch: hex(chain.epoch) } : {}) },
      config: { version: configVersion },
      key: { kid: hex(signing.signer.kid), oldKeyKept: keys.oldKeyKept() },
      ...(deps.otaStatus ? { ota: deps.otaStatus() } : {}),
      counters: counters.snapshot(),
      sources: sourceHealth,
      uplink: uplink.state(),
      journal: journal.stats(),
      pendingReadings: batches.pending(),
      version: AGENT_VERSION,
      started,
      clock: clock.synced() ? 'sync' : 'free',
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
    get publicKey() { return signing.keyPair.publicKey; },
    status,
    health,
    stalled: (limitMs) => (state !== 'running' ? undefined
      : batches.stalled(limitMs, { lastSeq: journal.last()?.seq ?? 0, durableSeq: journal.durableSeq() })),
    onConnect(listener) { uplink.onConnect(listener); },
    async sendAck(ack) {
      let bytes: Uint8Array;
      try { bytes = signing.sign(ackPayload(ack), ACK_CONTENT_TYPE); } catch (err) {
        log.error('cannot sign config ack', { cause: (err as Error).message });
        return false;
      }
      return uplink.publishSigned('config/ack', bytes, { retain: false });
    },
    async start(): Promise<RecoveryReport> {
      await deps.fs.mkdir(config.stateDir, 0o700);
      await parts.start();
      return journalPart.report()!;
    },
    async stop() {
      await parts.stop();
      log.info('agent stopped', { last_seq: signing.encoder.state().seq, committed: journal.committedSeq() });
    },
  };
}
