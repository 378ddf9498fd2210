// The live view's chain panel: what the verifier proved so far, in a person's
// words — last seq, batches verified, duplicates, gap notices with their
// ranges, rejects, completeness — plus lines the caller knows (broker state,
// the agent's pending batches).

import type { ChainSummary } from '../verify/chain.js';
import { escapeShort } from '../escape.js';

/** A label and its value, e.g. ['broker', 'up']. */
export type Fact = readonly [string, string];

const range = (a: number, b: number): string => (a === b ? `${a}` : `${a}..${b}`);

/** Lists at most `max` items, then "+N more". */
function some(items: string[], max: number): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')}, +${items.length - max} more`;
}

function completeness(s: ChainSummary): string {
  if (s.batches === 0) return 'nothing verified yet';
  const problems: string[] = [];
  if (s.missing.length) problems.push(`missing ${some(s.missing.map(([a, b]) => range(a, b)), 3)}`);
  if (s.unexplainedBreaks) problems.push(`${s.unexplainedBreaks} unexplained chain break(s)`);
  if (s.conflicts) problems.push(`${s.conflicts} CONFLICT(S): a seq signed twice with different content`);
  if (s.epochs && s.epochs.filter((e) => e.batches > 0).length > 1) problems.push('the device restarted its chain (lost chain state)');
  if (problems.length) return `INCOMPLETE: ${problems.join('; ')}`;
  return 'complete: every seq received or told by a gap notice';
}

/** The panel's lines, `label  value`, labels padded to one width. */
export function chainLines(s: ChainSummary, o: { device: string; clk?: 'sync' | 'free'; facts?: readonly Fact[] }): string[] {
  const gaps = s.gaps.map((g) => `${range(g.first, g.last)} ${escapeShort(g.reason, 16)}`);
  const pairs: Fact[] = [
    ['device', `${escapeShort(o.device, 40)}${o.clk ? `  (clock ${o.clk === 'sync' ? 'synchronised' : 'FREE-RUNNING'})` : ''}`],
    ['last seq', s.lastSeq === undefined ? '-' : `${s.lastSeq}${s.firstSeq !== undefined && s.firstSeq > 1 ? `  (first seen ${s.firstSeq})` : ''}`],
    ['verified', `${s.batches} batches, ${s.readings} readings: signature and prev-hash checked`],
    ['duplicates', `${s.duplicates}${s.duplicates ? '  (resent after a reconnect: ignored)' : ''}`],
    ['gap notices', s.gaps.length === 0 ? '0' : `${s.gaps.length}: ${some(gaps, 3)}  (signed: told, not hidden)`],
    ['rejects', `${s.rejected}${s.rejected ? '  (forged, malformed or wrong device: never shown as readings)' : ''}`],
    ['chain', completeness(s)],
    ...(o.facts ?? []),
  ];
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
}
