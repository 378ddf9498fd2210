// What the demo shows: on a terminal the live view (fields with their trends,
// the chain, what happened); otherwise — a pipe, a log, CI — one line per
// verified batch and reading, as always, with no escape codes.

import type { WriteStream } from 'node:tty';
import type { Clock } from '../../hal/clock.js';
import { formatEvent } from '../view/verify-text.js';
import { pendingBatches } from '../console/status-answers.js';
import { duration, shortBytes } from '../console/format.js';
import type { ChainSummary, VerifyEvent } from '../verify/chain.js';
import type { StatusEvent } from '../verify/subscribe.js';
import type { Fact } from '../view/chain-lines.js';
import { createVerifyLive } from '../view/verify-live.js';
import type { AgentHost } from './agent-host.js';
import type { DemoBroker } from './demo-broker.js';

export interface DemoScreen {
  event(e: VerifyEvent | StatusEvent): void;
  /** One line: what happened (a key's effect, the console's address, a warning). */
  note(line: string): void;
  start(): void;
  stop(): void;
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
const hhmmss = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

function lineEvent(e: VerifyEvent | StatusEvent, print: (line: string) => void): void {
  if (e.kind === 'batch') {
    print(`verified batch seq ${e.seq}: ${e.readings.length} readings, signature ok, chain ok`);
    for (const r of e.readings) print(`  ${r.name.padEnd(22)} ${String(r.v ?? r.vs ?? r.vb).padStart(12)} ${r.unit ?? ''}`);
  } else if (e.kind === 'status') {
    print(e.ok ? `device status: ${e.state} (signed)` : `status rejected: ${e.reason}`);
  } else if (e.kind !== 'duplicate') {
    for (const l of formatEvent(e)) print(l);
  }
}

/** The demo's own chain-panel lines: its broker, its agent, what waits in the agent's journal. */
function demoFacts(broker: DemoBroker, host: AgentHost, journalBytes: number): Fact[] {
  const s = host.status();
  const where = host.kind === 'process' ? `pid ${host.pid ?? '-'}` : 'in the demo\'s process (no socat)';
  if (!s) return [['broker', broker.up ? `up  ${broker.url}` : 'DOWN (b starts it)'], ['agent', `${where}, starting`], ['pending', '-']];
  const st = s.status;
  const age = host.kind === 'process' ? `  (its status ${duration(s.ageMs)} ago)` : '';
  const journal = `journal ${shortBytes(st.journal?.diskBytes ?? 0)} of ${shortBytes(journalBytes)}`;
  return [
    ['broker', broker.up ? `up  ${broker.url}` : 'DOWN (b starts it)'],
    ['agent', `${where}, ${st.state}, uplink ${st.uplink?.connected ? 'connected' : 'disconnected'}, signed up to seq ${st.chain?.seq ?? 0}${age}`],
    ['pending', `${plural(pendingBatches(st), 'batch', 'batches')} not yet acknowledged by the broker; ${journal}; ${st.journal?.droppedBatches ?? 0} dropped`],
  ];
}

export function createDemoScreen(o: {
  /** The terminal for the live view; absent: line output. */
  live?: WriteStream;
  print(line: string): void;
  device: string; url: string; clock: Clock;
  summary(): ChainSummary;
  broker: DemoBroker; host: () => AgentHost | undefined; journalBytes: number;
  /** Keys are read (stdin is a terminal). */
  keys: string | undefined;
}): DemoScreen {
  if (!o.live) {
    return { event: (e) => lineEvent(e, o.print), note: o.print, start: () => undefined, stop: () => undefined };
  }
  const live = createVerifyLive({
    out: o.live, device: o.device, url: o.url, clock: o.clock, summary: o.summary,
    describe: (e) => formatEvent(e).map((l) => (e.kind === 'gap' ? `${l}: told by a signed gap notice, so the chain stays complete` : l)),
    title: () => `tapwire demo  ${o.device}  ${hhmmss(o.clock.now())}`,
    keys: o.keys ?? 'Ctrl-C: stop',
    facts: () => {
      const host = o.host();
      return host ? demoFacts(o.broker, host, o.journalBytes) : [['broker', o.broker.up ? 'up' : 'DOWN']];
    },
  });
  return { event: live.event, note: live.note, start: live.start, stop: live.stop };
}
