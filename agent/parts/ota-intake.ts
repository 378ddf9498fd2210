// Config messages in, one apply at a time. Redeliveries: the agent
// subscribes on every connect, so the broker re-sends the retained config
// after each reconnect; a message delivered as retained or DUP that was
// already decided is dropped silently (counter ota.redelivered). A bounded
// queue: more messages waiting are rejected "busy". An empty message (a
// cleared retained config) is no config. stop() waits for the apply under way.

import { createHash } from 'node:crypto';
import type { Counters } from '../counters.js';
import type { Logger } from '../log.js';
import type { InboundMeta } from '../uplink/uplink.js';
import type { Part } from './part.js';

/** Messages waiting while one is applied; more are rejected "busy" (acked, not remembered). */
const MAX_QUEUE = 8;
/** Distinct decided messages remembered for redelivery detection. */
const MAX_SEEN = 64;

export interface ConfigMessage { bytes: Uint8Array; hash: Uint8Array }

export interface OtaIntakeDeps {
  stopping(): boolean;
  /** The message (sha256, hex) that set the persisted state, if any. */
  decided(): string | undefined;
  /** Verifies and applies one message (acks it). */
  process(m: ConfigMessage): Promise<void>;
  /** Too many waiting: ack it as rejected, busy. */
  busy(hash: Uint8Array): void;
  /** The config version an Agent runs (an apply that failed left one running), or undefined when none runs. */
  running(): number | undefined;
  /** No Agent could be started: nothing runs. */
  fatal(err: Error): void;
  counters: Counters;
  log: Logger;
}

export interface OtaIntake extends Part {
  onMessage(bytes: Uint8Array, meta: InboundMeta): void;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function createOtaIntake(deps: OtaIntakeDeps): OtaIntake {
  const { counters, log } = deps;
  const queue: ConfigMessage[] = [];
  const seen: string[] = [];
  let worker: Promise<void> | undefined;

  async function work(): Promise<void> {
    while (queue.length > 0 && !deps.stopping()) {
      try {
        await deps.process(queue.shift()!);
      } catch (err) {
        const running = deps.running();
        if (running !== undefined) {
          counters.inc('ota.apply_errors');
          log.error('config apply failed', { cause: (err as Error).message, running });
          continue;
        }
        // no agent could be started (e.g. credential files gone): nothing runs, so give up loudly
        log.error('config apply failed: no agent running', { cause: (err as Error).message });
        deps.fatal(err as Error);
        break;
      }
    }
    worker = undefined;
  }

  return {
    name: 'ota-intake',
    start() {},
    async stop() { if (worker) await worker; },
    onMessage(bytes, meta) {
      if (deps.stopping()) return;
      if (bytes.length === 0) {
        counters.inc('ota.cleared');
        log.debug('empty config message (retained config cleared): nothing to do');
        return;
      }
      const hash = new Uint8Array(createHash('sha256').update(bytes).digest());
      const h = hex(hash);
      if ((meta.retained || meta.dup) && (seen.includes(h) || h === deps.decided())) {
        counters.inc('ota.redelivered');
        log.debug('config message redelivered, already decided', { msg: h.slice(0, 16) });
        return;
      }
      if (queue.length >= MAX_QUEUE) {
        counters.inc('ota.rejected.busy');
        log.warn('config rejected', { code: 'busy', reason: 'too many config messages waiting', msg: h.slice(0, 16) });
        deps.busy(hash);
        return;
      }
      seen.push(h);
      if (seen.length > MAX_SEEN) seen.shift();
      queue.push({ bytes, hash });
      worker ??= work();
    },
  };
}
