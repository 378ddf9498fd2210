// The `status`, `buffer` and `uplink` answers, from an AgentStatus snapshot:
// the console formats the live one, `tapwire status` the one in the status
// file — one home, so both always say the same in the same words.

import type { AgentStatus } from '../agent.js';
import { escapeShort, escapeText } from '../escape.js';
import { bytes, duration, keyValues, shortBytes, when } from './format.js';

type Pairs = Array<[string, string | number]>;

/** "1 of 3 ok (meter: cannot open /dev/ttyAMA0: ...; plc: unit 2 not answering)" */
function sourcesSummary(s: AgentStatus): string {
  const all = Object.entries(s.sources ?? {});
  const bad = all.flatMap(([id, h]) => { const why = sourceTrouble(h, 60); return why === undefined ? [] : [`${id}: ${why}`]; });
  const summary = `${all.length - bad.length} of ${all.length} ok`;
  return bad.length === 0 ? summary : `${summary} (${bad.join('; ')})`;
}

/**
 * Why a source is not ok (undefined: it is), escaped and cut to `width`: its port's error, or
 * what the source says is wrong while open. The status summary and the sources table both ask here.
 */
export function sourceTrouble(h: AgentStatus['sources'][string], width: number): string | undefined {
  if (!h.open) return h.error ? escapeShort(h.error, width) : 'port not open';
  return h.problem === undefined ? undefined : escapeShort(h.problem, width);
}

function uplinkState(s: AgentStatus): string {
  return s.uplink?.connected ? 'connected' : 'disconnected';
}

/** Batches in the journal the broker has not acknowledged (older status files: from the journal's seqs). */
export function pendingBatches(s: AgentStatus): number {
  return s.pending?.batches ?? Math.max(0, (s.journal?.lastSeq ?? 0) - (s.journal?.committedSeq ?? 0));
}

export function statusAnswer(s: AgentStatus, nowMs: number): string[] {
  const started = s.started ?? s.since;
  const version = s.config?.version ?? 0;
  const pairs: Pairs = [
    ['device', escapeText(s.dev)],
    ['version', escapeText(s.version ?? 'unknown')],
    ['uptime', duration(nowMs - started * 1000)],
    ['config version', `${version} (${version === 0 ? 'local file' : 'signed, over the air'})`],
    ['clock', s.clock ?? 'unknown'],
    ['state', s.state],
    ['sources', sourcesSummary(s)],
    ['buffer', `${pendingBatches(s)} pending batches (${s.pending ? shortBytes(s.pending.bytes) : 'size unknown'}), ${s.journal?.droppedBatches ?? 0} dropped`],
    ['uplink', `${uplinkState(s)} since ${when(s.uplink?.since, nowMs)}`],
  ];
  return keyValues(pairs);
}

/** The journal's bound in force: journal.maxBytes, or less when the disk cannot hold it. */
function maxBytes(j: Partial<AgentStatus['journal']> | undefined): string {
  if (j?.maxBytes === undefined) return 'unknown';
  if (j.limitBytes === undefined || j.limitedBy !== 'disk') return bytes(j.maxBytes);
  return `${bytes(j.limitBytes)}, LIMITED BY THE DISK (journal.maxBytes ${bytes(j.maxBytes)} does not fit; the oldest unsent batches are dropped and told as disk-full)`;
}

export function bufferAnswer(s: AgentStatus, nowMs: number): string[] {
  const p = s.pending;
  let oldest = 'none';
  if (p && p.batches > 0) {
    const age = p.oldestAt !== undefined ? when(p.oldestAt, nowMs) : 'journaled before the agent last started';
    oldest = `seq ${p.oldestSeq ?? '?'}, ${age}`;
  }
  const pairs: Pairs = [
    ['pending batches', pendingBatches(s)],
    ['pending bytes', p ? `${bytes(p.bytes)}${p.exact ? '' : ' at least (the oldest are counted in total only)'}` : 'unknown'],
    ['oldest pending', oldest],
    ['journal bytes', bytes(s.journal?.diskBytes ?? 0)],
    ['max bytes', maxBytes(s.journal)],
    ['dropped batches', s.journal?.droppedBatches ?? 0],
    ['last seq', `${s.chain?.seq ?? 0} signed, ${s.journal?.durableSeq ?? 0} durable, ${s.journal?.committedSeq ?? 0} acknowledged`],
  ];
  if (s.chain?.epoch) pairs.push(['chain epoch', `${escapeText(s.chain.epoch)} (the chain was restarted after its state was lost)`]);
  return keyValues(pairs);
}

export function uplinkAnswer(s: AgentStatus, nowMs: number): string[] {
  const u = s.uplink;
  const pairs: Pairs = [
    ['state', uplinkState(s)],
    ['broker', escapeText(u?.broker ?? 'unknown')],
    ['since', when(u?.since, nowMs)],
    ['last error', u?.lastError ? escapeShort(u.lastError, 200) : 'none'],
    ['published', `seq ${u?.publishedSeq ?? 0}`],
    ['acknowledged', `seq ${u?.ackedSeq ?? 0}`],
    ['in flight', u?.inflight ?? 0],
    ['reconnects', u?.reconnects ?? 0],
  ];
  if (u && !u.connected && u.nextRetryAt !== undefined) pairs.push(['next attempt in', duration(u.nextRetryAt - nowMs)]);
  return keyValues(pairs);
}
