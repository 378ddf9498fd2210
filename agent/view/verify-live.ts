// `tapwire verify` (and `tapwire demo`) on a terminal: the live view fed by the
// verifier's events, its own connection to the broker, and the device's signed
// status messages.
// What is not a reading (gap notices, chain breaks, rejects, key rollovers,
// the device going offline) is one line under "what happened", worded as the
// line output words it (`describe`).

import type { WriteStream } from 'node:tty';
import type { Clock } from '../../hal/clock.js';
import { duration } from '../console/format.js';
import type { ChainSummary, VerifyEvent } from '../verify/chain.js';
import type { StatusEvent } from '../verify/subscribe.js';
import type { Fact } from './chain-lines.js';
import { createLiveView } from './live-view.js';

export interface VerifyLive {
  event(e: VerifyEvent | StatusEvent): void;
  note(text: string): void;
  connection(c: { connected: boolean; error?: string }): void;
  start(): void;
  stop(): void;
}

const hhmmss = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

export interface VerifyLiveOptions {
  out: WriteStream; device: string; url: string; clock: Clock;
  summary(): ChainSummary;
  describe(e: VerifyEvent | StatusEvent): string[];
  /** Default: "tapwire verify <device> <time>". */
  title?(): string;
  /** Default: how to stop. */
  keys?: string;
  /** Chain-panel lines the caller knows better (the demo: its broker, its agent); default the verifier's own view. */
  facts?(): Fact[];
}

export function createVerifyLive(o: VerifyLiveOptions): VerifyLive {
  let broker: { connected: boolean; error?: string } = { connected: false };
  let status: { state: string; since?: number; at: number } | undefined;

  const facts = (): Fact[] => {
    const now = o.clock.now();
    const agent = status
      ? `${status.state}${status.since ? ` since ${hhmmss(status.since * 1000)}` : ''}  (signed status, received ${duration(now - status.at)} ago)`
      : 'no signed status seen yet';
    return [
      ['broker', `${broker.connected ? 'connected' : `reconnecting${broker.error ? ` (${broker.error})` : ''}`}  ${o.url}`],
      ['agent', agent],
    ];
  };

  const view = createLiveView({
    out: o.out,
    title: o.title ?? (() => `tapwire verify  ${o.device}  ${hhmmss(o.clock.now())}`),
    keys: o.keys ?? 'Ctrl-C: stop and print the summary',
    device: o.device,
    summary: o.summary,
    facts: o.facts ?? facts,
    clock: o.clock,
  });

  return {
    event(e) {
      view.event(e);
      if (e.kind === 'batch' || e.kind === 'duplicate') return; // rows and counts, not notes
      if (e.kind === 'status') {
        const state = e.ok ? String(e.state) : 'REJECTED';
        const since = typeof e.detail?.since === 'number' ? e.detail.since : undefined;
        const changed = status?.state !== state;
        status = { state, at: o.clock.now(), ...(since !== undefined ? { since } : {}) };
        if (!changed) return; // the periodic refresh is no news
      }
      for (const line of o.describe(e)) view.note(line);
    },
    note: view.note,
    connection(c) {
      if (c.connected !== broker.connected) view.note(c.connected ? `connected to ${o.url}` : `lost the broker${c.error ? ` (${c.error})` : ''}: reconnecting; the session keeps what arrives meanwhile`);
      broker = c;
    },
    start: view.start,
    stop: view.stop,
  };
}
