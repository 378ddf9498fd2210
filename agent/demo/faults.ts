// The faults a person causes in the demo, one key each, each told in one line
// saying what happened and what to look for. Every fault is real: the broker
// really goes away, the agent process really gets SIGKILL, the journal really
// fills with real readings — no test hooks in the agent.
//   b  broker down / up      pending grows, then drains: no gap
//   k  kill -9 the agent     it restarts; the chain goes on, no seq reused
//   f  fill the journal      the oldest unsent batches are dropped and told
//   q  quit                  the agent stops cleanly, the demo exits 0

import type { ChainSummary } from '../verify/chain.js';
import { shortBytes } from '../console/format.js';
import type { AgentHost } from './agent-host.js';
import type { DemoBroker } from './demo-broker.js';
import type { Sensors } from './sensors.js';

export const KEYS_HELP = 'keys: b broker down/up   k kill -9 the agent   f fill the journal   q quit';

export interface Faults {
  /** Handles one key; 'quit' for q. */
  press(key: string): Promise<'quit' | undefined>;
  /** Every verified batch (for what `k` asked to watch). */
  verified(seq: number): void;
  /** Resolves when the fault under way (if any) has finished; after q it cuts its waits short. */
  settled(): Promise<void>;
}

/** The agent reports a drop in its status file (rewritten every 5 s); give it a few rounds. */
const DROP_WAIT_MS = 15_000;
const BURST_ROUNDS = 4;
/** A kv line journals as 3 readings of ~32 bytes: a round of this many lines per journal byte is ~1.5 times the bound. */
const LINES_PER_JOURNAL_BYTE = 1 / 64;

export function createFaults(d: {
  broker: DemoBroker; host: AgentHost; sensors: Sensors;
  summary(): ChainSummary;
  say(line: string): void;
  journalBytes: number;
}): Faults {
  let busy: string | undefined;
  let current: Promise<void> = Promise.resolve();
  let stopping = false;
  let watchAfter: number | undefined;

  function dropped(): number {
    return d.host.status()?.status.journal?.droppedBatches ?? 0;
  }

  async function waitForDrop(before: number): Promise<number | undefined> {
    const deadline = Date.now() + DROP_WAIT_MS;
    while (Date.now() < deadline && !stopping) {
      const n = dropped();
      if (n > before) return n - before;
      await new Promise((r) => setTimeout(r, 250));
    }
    return undefined;
  }

  async function broker(): Promise<void> {
    if (d.broker.up) {
      await d.broker.stop();
      d.say('b: broker stopped. The agent keeps signing and journaling: watch "pending" grow (from its status, every 5 s) while "last seq" stands still. b again starts it.');
    } else {
      await d.broker.start();
      d.say('b: broker started. Watch "pending" drain to 0 and "last seq" catch up with no gap: the journal kept every batch.');
    }
  }

  async function kill(): Promise<void> {
    if (!d.host.crash) {
      d.say('k: the agent runs inside the demo here (no socat), so there is no agent process to kill -9: install socat and start the demo again.');
      return;
    }
    const seq = d.summary().lastSeq ?? 0;
    d.say(`k: killing the agent (pid ${d.host.pid ?? '?'}) with SIGKILL; last verified seq ${seq}.`);
    watchAfter = seq;
    const { started } = await d.host.crash();
    d.say(`k: agent restarted as pid ${started}, from its journal and chain state on disk. Watch "last seq" go on with 0 conflicts: no seq is ever reused.`);
  }

  async function fill(): Promise<void> {
    const held = d.broker.up;
    if (held) await d.broker.stop();
    const before = dropped();
    const lines = Math.ceil(d.journalBytes * LINES_PER_JOURNAL_BYTE);
    d.say(`f: broker held down; the kv sensor sends bursts of ${lines} lines (${lines * 3} readings) until the journal's bound (${shortBytes(d.journalBytes)}) overflows.`);
    let n: number | undefined;
    for (let round = 0; round < BURST_ROUNDS && n === undefined && !stopping; round++) {
      await d.sensors.burst(lines);
      n = await waitForDrop(before);
    }
    if (stopping) return; // q: the demo is stopping; the broker closes with it
    if (held) await d.broker.start();
    const back = held ? ' Broker back up:' : ' The broker is still down (b starts it):';
    if (n === undefined) d.say(`f: the agent reported no drop within the wait.${back} nothing was lost.`);
    else d.say(`f: journal full: the agent drops its oldest unsent batches (${n} so far) and signs a gap notice for them.${back} watch "gap notices" for the ranges (journal-full): lost, but told.`);
  }

  const actions: Record<string, () => Promise<void>> = { b: broker, k: kill, f: fill };

  return {
    async press(key) {
      if (key === 'q') {
        stopping = true;
        d.say('q: stopping. The agent flushes its last batch and exits cleanly.');
        return 'quit';
      }
      const action = actions[key];
      if (!action) { d.say(`"${key}" does nothing. ${KEYS_HELP}`); return undefined; }
      if (busy) { d.say(`${key}: wait, ${busy} is still under way`); return undefined; }
      busy = key;
      current = action().catch((err: Error) => d.say(`${key}: failed: ${err.message}`)).finally(() => { busy = undefined; });
      await current;
      return undefined;
    },
    settled: () => current,
    verified(seq) {
      if (watchAfter === undefined || seq <= watchAfter) return;
      const s = d.summary();
      d.say(`seq ${seq} verified after the kill: the chain goes on (prev-hash ok, ${s.conflicts} conflicts, ${s.unexplainedBreaks} unexplained breaks).`);
      watchAfter = undefined;
    },
  };
}
