// The verifier's events and summary as text for a person (lines) or a program
// (--json): `tapwire verify`, the live view and the demo print through here.
// Everything came from outside (names, values, units, reasons): every line
// leaves escaped.

import { escapeJson, escapeText } from '../escape.js';
import type { ChainSummary, VerifyEvent } from '../verify/chain.js';
import type { StatusEvent } from '../verify/subscribe.js';

/** The lines printed for one event; every line escaped (names, values, units and reasons came from outside). */
export function formatEvent(e: VerifyEvent | StatusEvent): string[] {
  return eventLines(e).map(escapeText);
}

/** --json: one line per reading (a batch) or per event; valid JSON with no raw control character. */
export function formatEventJson(e: VerifyEvent | StatusEvent): string[] {
  if (e.kind === 'batch') return e.readings.map((r) => escapeJson(JSON.stringify({ seq: e.seq, clk: e.clk, ...r })));
  return [escapeJson(JSON.stringify(e))];
}

/** Text for stderr: each line escaped. */
export function safeLines(text: string): string {
  return text.split('\n').map(escapeText).join('\n');
}

function eventLines(e: VerifyEvent | StatusEvent): string[] {
  switch (e.kind) {
    case 'batch':
      return e.readings.map((r) => {
        const value = r.v ?? r.vs ?? r.vb;
        return `seq ${e.seq}  ${new Date(r.time * 1000).toISOString()}  ${r.name} = ${String(value)}${r.unit ? ' ' + r.unit : ''}${e.clk === 'free' ? '  (clock free-running)' : ''}`;
      });
    case 'gap': return [`gap notice seq ${e.seq}: batches ${e.first}..${e.last} were dropped on the device (${e.reason})`];
    case 'duplicate': return [`duplicate seq ${e.seq} (resent after reconnect), ignored`];
    case 'conflict': return [`CONFLICT: seq ${e.seq} seen with different content`];
    case 'rejected': return [`REJECTED: ${e.reason}`];
    case 'chain-break': return [`chain break before seq ${e.seq}: ${e.explained ? 'explained by a gap notice' : 'UNEXPLAINED (batch ' + e.expectedPrevOf + ' missing or different)'}`];
    case 'status': return [e.ok ? `status: ${e.state}` : `status REJECTED: ${e.reason}`];
    case 'epoch': return [e.previous === undefined
      ? `chain epoch ${e.epoch} from seq ${e.seq}: a chain the device restarted after losing its chain state`
      : `NEW CHAIN EPOCH ${e.epoch} from seq ${e.seq} (after ${e.previous || 'the original chain'}): the device lost its chain state; what it had not sent before is lost and cannot be told`];
  }
}

export function formatSummary(s: ChainSummary): string {
  const lines = [
    `batches ${s.batches}, readings ${s.readings}, seq ${s.firstSeq ?? '-'}..${s.lastSeq ?? '-'}`,
    `duplicates ${s.duplicates}, rejected ${s.rejected}, gap notices ${s.gaps.length} (${s.gaps.map((g) => `${g.first}..${g.last} ${g.reason}`).join(', ') || 'none'})`,
    `chain breaks: ${s.explainedBreaks} explained, ${s.unexplainedBreaks} unexplained; missing: ${s.missing.map(([a, b]) => (a === b ? `${a}` : `${a}..${b}`)).join(', ') || 'none'}`,
    ...(s.epochs ? [`chain epochs: ${s.epochs.map((e) => `${e.epoch || 'original'} seq ${e.firstSeq ?? '-'}..${e.lastSeq ?? '-'}${e.complete ? '' : ' (incomplete)'}`).join('; ')}`] : []),
    s.complete ? 'COMPLETE: every batch accounted for' : (s.epochs && s.epochs.filter((e) => e.batches > 0).length > 1 ? 'INCOMPLETE: the device restarted its chain (lost chain state)' : 'INCOMPLETE'),
  ];
  return lines.join('\n');
}

/** Rejections grouped by reason, most frequent first (a flood of forgeries prints a few lines). */
export function formatRejections(rejections: Map<string, number>): string {
  const total = [...rejections.values()].reduce((a, b) => a + b, 0);
  const rows = [...rejections].sort((a, b) => b[1] - a[1]);
  const shown = rows.slice(0, 10).map(([reason, n]) => `  ${n} × ${reason}`);
  if (rows.length > 10) shown.push(`  … and ${rows.length - 10} other reason(s)`);
  return [`REJECTED ${total} message(s):`, ...shown].join('\n');
}
