// What an Agent is to the rest of the program (runtime, console, CLI, demo):
// its dependencies, its status (status.json, the console) and its health.

import type { FullGc } from '../hal/heap.js';
import type { Clock } from '../hal/clock.js';
import type { FileSystem } from '../hal/file.js';
import type { SerialFactory } from '../hal/serial.js';
import type { ResolvedConfig } from './config/load.js';
import type { Counters } from './counters.js';
import type { Ack } from './ota/ack.js';
import type { Journal, RecoveryReport } from './journal/journal.js';
import type { Logger } from './log.js';
import type { InboundMeta, Uplink, UplinkOptions } from './uplink/uplink.js';
import type { AgentObservers } from './console/observers.js';
import type { PendingSummary } from './console/pending-ledger.js';

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
  /** V8's full GC (hal/heap.ts), run every few minutes by the ticker; default none. */
  fullGc?: FullGc;
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
  sources: Record<string, { open: boolean; lastReadingAt?: number; detail?: Record<string, unknown>; problem?: string; error?: string }>;
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
