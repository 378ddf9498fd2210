// The console's window on the agent: getters only. The console gets this
// interface — snapshots, copies and a byte subscription — and never the
// journal, the uplink, the signer, the config store or a source's port, so
// no command can act on any of them (read-only by construction).

import type { Agent, AgentStatus } from '../agent.js';
import { configEntries } from './config-view.js';
import type { FieldHistory } from './last-values.js';
import type { LogRing } from './log-ring.js';
import type { AgentObservers } from './observers.js';

export interface SourceView { id: string; type: string; port: string }

export interface ConsoleViews {
  /** The device id (the prompt). */
  readonly device: string;
  /** The running agent's status snapshot; undefined while none runs (between two configs). */
  status(): AgentStatus | undefined;
  /** The running config's sources. */
  sources(): SourceView[];
  /** Readings delivered by a source since the process started. */
  readings(source: string): number;
  /** Latest value and recent history of each field (of one source). */
  lastValues(source?: string): FieldHistory[];
  /** The device's current public key (raw 32 bytes), a copy. */
  publicKey(): Uint8Array | undefined;
  /** The running config as path/value lines (redacted) and its version. */
  config(): { version: number; entries: Array<[string, string]> } | undefined;
  /** The last n log lines, oldest first. */
  log(n: number): string[];
  readonly logCapacity: number;
  /** Bytes the source's port receives from now on; the unsubscribe, or undefined for an unknown source. */
  monitor(source: string, listener: (chunk: Uint8Array) => void): (() => void) | undefined;
}

export interface ViewsSource {
  device: string;
  /** The Agent running now (it changes with an over-the-air config). */
  agent(): Agent | undefined;
  observers: AgentObservers;
  logRing?: LogRing;
}

export function createConsoleViews(src: ViewsSource): ConsoleViews {
  const sources = (): SourceView[] =>
    (src.agent()?.config.sources ?? []).map((s) => ({ id: s.id, type: s.type, port: s.port.path }));
  return {
    device: src.device,
    status: () => src.agent()?.status(),
    sources,
    readings: (source) => src.observers.values.readings(source),
    lastValues: (source) => src.observers.values.fields(source),
    publicKey: () => {
      const k = src.agent()?.publicKey;
      return k ? Uint8Array.from(k) : undefined;
    },
    config: () => {
      const a = src.agent();
      return a ? { version: a.status().config.version, entries: configEntries(a.config) } : undefined;
    },
    log: (n) => src.logRing?.last(n) ?? [],
    logCapacity: src.logRing?.capacity ?? 0,
    monitor(source, listener) {
      const s = sources().find((x) => x.id === source);
      return s ? src.observers.ports.watch(s.port, listener) : undefined;
    },
  };
}
