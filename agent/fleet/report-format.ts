// `fleet report` for a person: one row per device, then what is wrong where.

import type { FleetReport } from './report.js';

const range = ([a, b]: readonly [number, number]): string => (a === b ? `${a}` : `${a}..${b}`);
const when = (iso: string | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function formatReport(r: FleetReport): string {
  const rows: string[][] = [['DEVICE', 'BATCHES', 'READINGS', 'SEQ', 'FIRST SEEN', 'LAST SEEN', 'GAPS TOLD', 'UNEXPLAINED', 'ROLLOVERS', 'REJECTS', 'CHAIN']];
  for (const d of r.devices) {
    const rejects = Object.values(d.rejects).reduce((a, n) => a + n, 0);
    rows.push([
      d.dev, String(d.batches), String(d.readings),
      d.firstSeq === undefined ? '-' : range([d.firstSeq, d.lastSeq!]),
      when(d.firstSeen), when(d.lastSeen),
      d.explained.map((g) => range([g.first, g.last])).join(' ') || '-',
      d.unexplained.map(range).join(' ') || '-',
      String(d.keyRollovers), String(rejects),
      d.complete ? (d.batches === 0 ? 'complete (nothing yet)' : 'complete') : 'INCOMPLETE',
    ]);
  }
  const out = [table(rows)];
  const notes: string[] = [];
  for (const d of r.devices) {
    for (const g of d.explained) notes.push(`${d.dev}: batches ${range([g.first, g.last])} dropped on the device, told by a signed gap notice (${g.reason})`);
    for (const m of d.unexplained) notes.push(`${d.dev}: batches ${range(m)} MISSING — neither stored nor told by a gap notice`);
    if (d.rejects.conflict) notes.push(`${d.dev}: ${d.rejects.conflict} batch(es) signed with a seq already stored with other content (CONFLICT)`);
    if (d.rejects.chain) notes.push(`${d.dev}: ${d.rejects.chain} validly signed batch(es) whose prev-hash does not link to the stored chain (CHAIN BREAK)`);
    if (d.chainRestarts) notes.push(`${d.dev}: the chain RESTARTED ${d.chainRestarts} time(s) (a new epoch: the device lost its chain state; what the old chain had not sent cannot be told)`);
    if (d.parked) notes.push(`${d.dev}: ${d.parked} batch(es) signed by a key the device has not announced, waiting for the announcement`);
    const codes = Object.entries(d.rejects).filter(([c]) => c !== 'conflict' && c !== 'chain').map(([c, n]) => `${n} ${c}`);
    if (codes.length) notes.push(`${d.dev}: rejected messages: ${codes.join(', ')} (see tapwire_rejects)`);
  }
  for (const u of r.unenrolled) notes.push(`${u.dev}: NOT ENROLLED — ${u.rejects} message(s) rejected (tapwire fleet enroll to accept it)`);
  if (r.unattributed) notes.push(`${r.unattributed} rejected message(s) on topics naming no device`);
  if (notes.length) out.push('', ...notes);
  const incomplete = r.devices.filter((d) => !d.complete).map((d) => d.dev);
  out.push('', incomplete.length === 0
    ? `${r.devices.length} device(s): every chain complete`
    : `${r.devices.length} device(s), ${incomplete.length} INCOMPLETE: ${incomplete.join(', ')}`);
  return out.join('\n');
}
