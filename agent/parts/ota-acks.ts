// The outbox of signed config acks: each waits until an Agent is connected
// to publish it, in order; the oldest are dropped (and counted) beyond a
// bound. An ack whose outcome is persisted (state.json pendingAck) is
// reported once the broker has it, so the runtime can clear it.

import type { Agent } from '../agent-api.js';
import type { Counters } from '../counters.js';
import type { Ack } from '../ota/ack.js';

/** Acks waiting for a connection; the oldest are dropped (and counted) beyond this. */
const MAX_PENDING_ACKS = 32;

export interface AckOutbox {
  /** `persisted`: the outcome is in state.json until the broker has the ack. */
  queue(ack: Ack, persisted?: boolean): void;
  /** Publishes what waits (again at each connect). */
  flush(): Promise<void>;
}

export interface AckOutboxDeps {
  agent(): Pick<Agent, 'sendAck'> | undefined;
  stopping(): boolean;
  /** A persisted ack was published. */
  published(ack: Ack): Promise<void>;
  counters: Counters;
}

export function createAckOutbox(deps: AckOutboxDeps): AckOutbox {
  const acks: Array<{ ack: Ack; persisted: boolean }> = [];
  let flushing = false;

  async function flush(): Promise<void> {
    if (flushing) return;
    flushing = true;
    try {
      for (let agent = deps.agent(); acks.length > 0 && agent && !deps.stopping(); agent = deps.agent()) {
        const item = acks[0]!;
        if (!(await agent.sendAck(item.ack))) return; // not connected: again at the next connect
        acks.shift();
        deps.counters.inc('ota.acks_published');
        if (item.persisted) await deps.published(item.ack);
      }
    } finally {
      flushing = false;
    }
  }

  return {
    queue(ack, persisted = false) {
      acks.push({ ack, persisted });
      while (acks.length > MAX_PENDING_ACKS) {
        acks.shift();
        deps.counters.inc('ota.acks_dropped');
      }
      void flush();
    },
    flush,
  };
}
