// The uplink as a part: its options from the config, started after the
// journal opened; at stop, what is durable is published if the broker
// acknowledges it quickly (bounded), then the connection closes. Batches that
// a drop took from the journal while they were in flight, and that the broker
// has not acknowledged by then, are told as after any lost connection: their
// gap notice is journaled before the journal closes, and sent at the next start.

import type { Clock } from '../../hal/clock.js';
import type { ResolvedConfig } from '../config/load.js';
import type { Journal } from '../journal/journal.js';
import type { Logger } from '../log.js';
import type { Uplink, UplinkOptions } from '../uplink/uplink.js';
import type { Part } from './part.js';

/** On stop, how long to wait for the broker to acknowledge what is durable. */
const STOP_DRAIN_MS = 2000;
const DRAIN_POLL_MS = 20;

export function uplinkOptions(config: Pick<ResolvedConfig, 'device' | 'uplink'>, fileWatchMs: number, overrides?: Partial<UplinkOptions>): UplinkOptions {
  const u = config.uplink;
  return {
    device: config.device,
    url: u.url,
    protocolVersion: u.protocolVersion,
    clientId: u.clientId ?? `tapwire-${config.device}`,
    topicPrefix: u.topicPrefix,
    keepaliveS: u.keepaliveS,
    inflight: u.inflight,
    reconnect: u.reconnect,
    ca: u.ca,
    cert: u.cert,
    key: u.key,
    username: u.username,
    passwordFile: u.passwordFile,
    fileWatchMs,
    ...overrides,
  };
}

export interface UplinkPartDeps {
  journal: Pick<Journal, 'sync' | 'committedSeq' | 'durableSeq' | 'rewind'>;
  /** The append chain (batches.ts): a gap notice told at stop is journaled when it is idle. */
  appends: { idle(): Promise<void> };
  clock: Clock;
  log: Logger;
}

export function createUplinkPart(uplink: Uplink, deps: UplinkPartDeps): Part {
  const { journal, clock } = deps;
  /** Waits (bounded) until everything durable is acknowledged, while connected. */
  async function drain(maxMs: number): Promise<void> {
    const deadline = clock.monotonic() + maxMs;
    while (uplink.state().connected && journal.committedSeq() < journal.durableSeq() && clock.monotonic() < deadline) {
      await clock.sleep(DRAIN_POLL_MS);
    }
  }
  return {
    name: 'uplink',
    start: () => uplink.start(),
    async stop() {
      // a failed fsync here is logged by the journal; its close tries once more
      await journal.sync().catch(() => undefined);
      await drain(STOP_DRAIN_MS);
      await uplink.stop().catch((err: Error) => deps.log.warn('uplink stop failed', { cause: err.message }));
      // no acknowledgement can come any more: what a drop took in flight is told now, not at the next start
      journal.rewind();
      await deps.appends.idle();
    },
  };
}
