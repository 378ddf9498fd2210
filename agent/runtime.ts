// The supervisor behind `tapwire run`: owns the running Agent, picks the config
// to run at start, and applies signed over-the-air configs in-process:
// verify -> store atomically -> stop the Agent (flush) -> start a new one ->
// health check within a deadline -> keep it, or roll back to the last good
// config. Invariant: each config message gets exactly one signed ack, except
// redeliveries of a message already decided (see "Redeliveries" below).
//
// Which config runs at start:
//   <stateDir>/ota/state.json "current" > 0  ->  ota/config-<current>.json (over the air wins:
//                                                the local file is version 0, always older)
//   otherwise, or no state                   ->  the local file given to `tapwire run --config`
//   "trial": true (a crash or stop during a health check) -> roll back to "good" first, ack rolled-back
// To go back to the local file: publish a newer signed config, or stop the agent,
// delete <stateDir>/ota/ AND clear the retained message on <prefix>/<dev>/config
// (an empty retained publish); deleting ota/ alone resets the anti-rollback floor,
// so the retained config would simply be applied again.
//
// Redeliveries: the agent subscribes on every connect, so the broker re-sends
// the retained config after each reconnect. A message delivered as retained or
// DUP whose bytes were already decided in this process, or that set the
// persisted state (state.json "message"), is dropped silently (counter
// ota.redelivered; parts/ota-intake.ts). Anything else -- a live publish, a
// replay by anyone -- is processed and acked: at most one ack per distinct
// message per process and reconnect storms cost nothing. An empty message (a
// cleared retained config) is no config and gets no ack.
//
// Its parts (agent/parts/): the intake of config messages, the health watch of
// an applied config, the ack outbox, and the console.

import { resolve } from 'node:path';
import type { Clock } from '../hal/clock.js';
import type { FileSystem } from '../hal/file.js';
import type { SerialFactory } from '../hal/serial.js';
import type { FullGc } from '../hal/heap.js';
import { createAgent as createRealAgent, type Agent, type AgentDeps } from './agent.js';
import { validateConfig, type ResolvedConfig } from './config/load.js';
import { createCounters, type Counters } from './counters.js';
import type { Logger } from './log.js';
import type { Ack } from './ota/ack.js';
import { verifyConfigMessage, type AcceptedConfig } from './ota/envelope.js';
import { loadOperatorKeys } from './ota/operators.js';
import { createOtaStore, type OtaState, type PendingAck } from './ota/store.js';
import { createPortHandover } from './sources/port-handover.js';
import type { LogRing } from './console/log-ring.js';
import { createAgentObservers } from './console/observers.js';
import { consolePartFor } from './console/part.js';
import { createAckOutbox } from './parts/ota-acks.js';
import { createHealthWatch } from './parts/health-watch.js';
import { createOtaIntake, type ConfigMessage } from './parts/ota-intake.js';
import { createPartList } from './parts/part.js';
import { preflight } from './config/preflight.js';

export interface RuntimeOptions {
  /** The local config file's content: version 0. */
  local: ResolvedConfig;
  /** Health check deadline for an applied config; default 30000 ms. */
  healthTimeoutMs?: number;
  /** Key and credential file poll interval, passed to each Agent; default 5000 ms. */
  filePollMs?: number;
}

export interface RuntimeDeps {
  serial: SerialFactory;
  clock: Clock;
  fs: FileSystem;
  log: Logger;
  statusDir?: string;
  /** Builds an Agent; default the real createAgent (unit tests pass doubles). */
  createAgent?: (config: ResolvedConfig, deps: AgentDeps) => Agent;
  /** The last log lines, for the console's `log` (issue 14). */
  logRing?: LogRing;
  /** V8's full GC, passed to each Agent (hal/heap.ts). */
  fullGc?: FullGc;
}

export interface Runtime {
  /** Picks the config, starts its Agent. Throws what the first Agent throws (e.g. a key error). */
  start(): Promise<void>;
  /** Ends an apply in progress (a trial stays a trial: rolled back at the next start), stops the Agent. */
  stop(): Promise<void>;
  /** The running config version (0 = the local file). */
  version(): number;
  agent(): Agent | undefined;
  /** Called if, after an apply or rollback, no Agent could be started: the process should exit (1). */
  onFatal(listener: (err: Error) => void): void;
  readonly counters: Counters;
}

export const DEFAULT_HEALTH_TIMEOUT_MS = 30_000;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (s: string | undefined): Uint8Array => (s && /^[0-9a-f]{64}$/.test(s) ? new Uint8Array(Buffer.from(s, 'hex')) : new Uint8Array(32));

export function createRuntime(opts: RuntimeOptions, deps: RuntimeDeps): Runtime {
  const { local } = opts;
  const log = deps.log.child('ota');
  const counters = createCounters();
  const makeAgent = deps.createAgent ?? createRealAgent;
  const store = createOtaStore(local.stateDir, { fs: deps.fs });
  const healthWatch = createHealthWatch(opts.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS, { clock: deps.clock });
  const healthTimeoutMs = healthWatch.timeoutMs;
  // sensor ports stay open from one Agent to the next during an apply: no line is lost in a swap
  const ports = createPortHandover(deps.serial, { counters, log: deps.log.child('serial') });

  let state: OtaState = { highest: 0, current: 0, good: 0, trial: false };
  let current: Agent | undefined;
  let stopping = false;
  let applying: number | undefined;
  let saving: Promise<void> = Promise.resolve();
  const fatalListeners: Array<(err: Error) => void> = [];
  // Console (issue 14): one for the process, from the local file only, living across
  // config swaps (it shows whichever Agent runs; between two it says so).
  // the tap wraps the handover factory: sources open through both (monitor sees what a held port buffered)
  const observers = createAgentObservers(ports.serial);
  const consolePart = consolePartFor(local, {
    serial: deps.serial, clock: deps.clock, log: deps.log, counters, agent: () => current, observers,
    ...(deps.logRing ? { logRing: deps.logRing } : {}),
  });

  /** Writes of state.json, one at a time, in call order (each writes the state as it was at its call). */
  function persist(next: OtaState): Promise<void> {
    const write = saving.then(() => store.saveState(next));
    saving = write.catch(() => undefined);
    return write;
  }

  // ── acks ────────────────────────────────────────────────────────────────
  const outbox = createAckOutbox({
    agent: () => current,
    stopping: () => stopping,
    counters,
    async published(ack) {
      // the ack for the message that set the state: it no longer waits in state.json
      const p = state.pendingAck;
      if (p && p.version === ack.version && state.message === hex(ack.msg)) {
        const { pendingAck: _done, ...rest } = state;
        state = rest;
        await persist(state).catch((err: Error) => log.warn('cannot record the ack as sent', { cause: err.message }));
      }
    },
  });
  const queueAck = (ack: Ack, persisted = false): void => outbox.queue(ack, persisted);

  /** The ack for the message that set the state (accepted / rolled-back), kept in state.json until published. */
  function outcome(pending: PendingAck): Ack {
    state = { ...state, pendingAck: pending };
    return { dev: local.device, msg: fromHex(state.message), ...pending };
  }

  // ── agents ──────────────────────────────────────────────────────────────
  async function runAgent(config: ResolvedConfig, version: number): Promise<void> {
    const agent = makeAgent(config, {
      serial: ports.serial, clock: deps.clock, fs: deps.fs, log: deps.log,
      ...(deps.statusDir !== undefined ? { statusDir: deps.statusDir } : {}),
      counters,
      ...(deps.fullGc ? { fullGc: deps.fullGc } : {}),
      configVersion: version,
      otaStatus: () => ({ ...state, ...(applying !== undefined ? { applying } : {}) }),
      onConfigMessage: intake.onMessage,
      ...(opts.filePollMs !== undefined ? { filePollMs: opts.filePollMs } : {}),
      observers,
    });
    agent.onConnect(() => { void outbox.flush(); });
    current = agent;
    try {
      await agent.start();
    } catch (err) {
      await agent.stop().catch(() => undefined);
      if (current === agent) current = undefined;
      throw err;
    }
  }

  async function stopAgent(): Promise<void> {
    const agent = current;
    current = undefined;
    if (agent) await agent.stop();
  }

  /** The config for `version` (0 = local), checked again (schema, identity); throws if unusable. */
  async function configFor(version: number): Promise<ResolvedConfig> {
    if (version === 0) return local;
    const stored = await store.readConfig(version);
    const result = validateConfig(stored.raw);
    if (!result.ok) throw new Error(`no longer valid: ${result.issues.slice(0, 3).map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    if (result.config.device !== local.device || resolve(result.config.stateDir) !== resolve(local.stateDir)) {
      throw new Error(`it is for device ${result.config.device} / stateDir ${result.config.stateDir}, the local file names ${local.device} / ${local.stateDir}`);
    }
    return result.config;
  }

  // ── messages ────────────────────────────────────────────────────────────
  const intake = createOtaIntake({
    stopping: () => stopping,
    decided: () => state.message,
    process: processMessage,
    busy: (hash) => queueAck({ dev: local.device, version: null, result: 'rejected', code: 'busy', reason: 'too many config messages waiting; publish again', msg: hash }),
    running: () => (current ? state.current : undefined),
    fatal: (err) => { for (const l of fatalListeners) l(err); },
    counters,
    log,
  });

  async function processMessage(m: ConfigMessage): Promise<void> {
    const operators = loadOperatorKeys(local.stateDir, log);
    const verdict = verifyConfigMessage(m.bytes, {
      device: local.device, stateDir: local.stateDir, running: state.current, highest: state.highest,
      operatorKey: (kid) => operators.get(hex(kid)),
      console: local.console, // the console comes from the local file only (issue 14)
    });
    const msg = hex(m.hash).slice(0, 16);
    if (!verdict.ok) {
      counters.inc(`ota.rejected.${verdict.code}`);
      log.warn('config rejected', { code: verdict.code, reason: verdict.reason, version: verdict.version, msg, bytes: m.bytes.length });
      queueAck({ dev: local.device, version: verdict.version ?? null, result: 'rejected', code: verdict.code, reason: verdict.reason, msg: m.hash });
      return;
    }
    // the checks `config check` and `run` make of the file system, before anything is stored
    const missing = preflight(verdict.config);
    if (missing.length > 0) {
      const reason = missing.map((i) => `${i.path}: ${i.message}`).join('; ');
      counters.inc('ota.rejected.preflight');
      log.warn('config rejected', { code: 'preflight', reason, version: verdict.version, msg });
      queueAck({ dev: local.device, version: verdict.version, result: 'rejected', code: 'preflight', reason, msg: m.hash });
      return;
    }
    log.info('config verified', { version: verdict.version, dev: verdict.dev, signed_by: verdict.signedBy, running: state.current, msg });
    for (const w of verdict.warnings) log.warn(`config version ${verdict.version}: ${w.message}`, { path: w.path || undefined });
    await apply(verdict, m.hash);
  }

  async function apply(v: AcceptedConfig, hash: Uint8Array): Promise<void> {
    const from = state.current;
    const before = state;
    applying = v.version;
    ports.hold();
    try {
      // 1. the config durable, 2. the state naming it (the commit point)
      try {
        await store.writeConfig({ version: v.version, dev: v.dev, signedBy: v.signedBy, message: hex(hash), raw: v.raw });
        state = { highest: v.version, current: v.version, good: from, trial: true, message: hex(hash) };
        await persist(state);
      } catch (err) {
        state = before;
        await persist(before).catch(() => undefined);
        counters.inc('ota.rejected.store-failed');
        log.error('config rejected', { code: 'store-failed', version: v.version, cause: (err as Error).message });
        queueAck({ dev: local.device, version: v.version, result: 'rejected', code: 'store-failed', reason: `cannot store the config: ${(err as Error).message}`, msg: hash });
        return;
      }
      log.info('config stored: applying', { version: v.version, from, health_timeout_ms: healthTimeoutMs });
      // 3. swap agents in-process: the old one flushes its batch and journal first
      await stopAgent();
      if (stopping) return;
      let problem: string | undefined;
      try {
        await runAgent(v.config, v.version);
        if (stopping) return;
        problem = await healthWatch.wait(current!);
      } catch (err) {
        problem = `start failed: ${(err as Error).message}`;
      }
      if (stopping) return;
      if (problem === undefined) {
        state = { ...state, good: v.version, trial: false };
        const ack = outcome({ version: v.version, result: 'accepted' });
        await persist(state);
        await store.prune([v.version, from]).catch(() => undefined);
        counters.inc('ota.accepted');
        log.info('config applied: health check passed', { version: v.version, previous: from });
        queueAck(ack, true);
        return;
      }
      // 4. roll back to the last good config
      log.warn('config failed its health check: rolling back', { version: v.version, to: from, problem });
      await stopAgent();
      state = { ...state, current: from, good: from, trial: false, rolledBack: v.version };
      const ack = outcome({
        version: v.version, result: 'rolled-back', code: 'health',
        reason: `health check failed within ${healthTimeoutMs} ms: ${problem}; running version ${from} again`,
      });
      await persist(state);
      await store.prune([from, v.version]).catch(() => undefined);
      counters.inc('ota.rolled_back');
      queueAck(ack, true);
      if (stopping) return;
      let back: ResolvedConfig;
      try {
        back = await configFor(from);
      } catch (err) {
        // cannot happen short of disk damage: the local file is the last resort
        log.error('last good config unusable: running the local file', { version: from, cause: (err as Error).message });
        state = { ...state, current: 0, good: 0 };
        await persist(state);
        back = local;
      }
      await runAgent(back, state.current);
      log.info('rolled back', { version: state.current, rejected_version: v.version });
    } finally {
      applying = undefined;
      await ports.release();
    }
  }

  // ── start / stop ────────────────────────────────────────────────────────
  async function pickAtStart(): Promise<{ config: ResolvedConfig; version: number }> {
    const loaded = await store.load();
    state = loaded.state;
    for (const p of loaded.problems) log.error(p);
    if (state.trial) {
      const tried = state.current;
      log.warn('an apply was interrupted before its health check passed: rolling back', { version: tried, to: state.good });
      state = { ...state, current: state.good, trial: false, rolledBack: tried };
      const ack = outcome({
        version: tried, result: 'rolled-back', code: 'interrupted',
        reason: `the agent stopped before version ${tried} passed its health check; running version ${state.good}`,
      });
      await persist(state);
      counters.inc('ota.rolled_back');
      queueAck(ack, true);
    } else if (state.pendingAck) {
      // decided before a crash or stop, but the broker never had the ack
      queueAck({ dev: local.device, msg: fromHex(state.message), ...state.pendingAck }, true);
    }
    for (const version of [...new Set([state.current, state.good, 0])]) {
      try {
        const config = await configFor(version);
        if (version !== state.current) {
          state = { ...state, current: version, good: version, trial: false };
          await persist(state);
        }
        if (version > 0) {
          log.info('running the over-the-air config (newer than the local file, version 0)', {
            version, file: `${store.dir}/config-${version}.json`,
          });
        }
        return { config, version };
      } catch (err) {
        counters.inc('ota.load_failures');
        log.error('stored config unusable: trying the previous one', { version, cause: (err as Error).message });
      }
    }
    return { config: local, version: 0 };
  }

  // started in order, stopped in reverse: `stopping` first, the state.json writes last
  const parts = createPartList([
    { name: 'ota-state', start() {}, stop: () => saving },
    { name: 'ports', start() {}, stop: () => ports.release() },
    {
      name: 'agent',
      async start() {
        const { config, version } = await pickAtStart();
        await store.prune([state.current, state.good]).catch(() => undefined);
        await runAgent(config, version);
      },
      stop: stopAgent,
    },
    intake, // its stop waits for the apply under way
    healthWatch, // its stop ends a health check at once
    ...(consolePart ? [{ name: 'console', start: () => consolePart.start(), stop: () => consolePart.stop() }] : []),
    { name: 'stopping', start() {}, stop() { stopping = true; } },
  ]);

  return {
    counters,
    version: () => state.current,
    agent: () => current,
    onFatal(listener) { fatalListeners.push(listener); },
    start: () => parts.start(),
    stop: () => parts.stop(),
  };
}
