// Completeness per device from what the fleet store holds: batches, readings,
// first/last seen, the seq ranges dropped on the device and told by a signed
// gap notice (explained), the ranges nobody accounts for (unexplained), key
// rollovers, rejects and batches still waiting for their key. A chain is
// complete when every seq from 1 to the last stored one is stored or covered
// by a gap notice, no validly signed batch contradicted it (a second content
// for a stored seq, a prev-hash that does not link), nothing is parked, and
// the chain never restarted (a new epoch: what the old chain had not sent
// cannot be told, as `tapwire verify` says of such a stream).

import type { Sql } from '../ingest/db.js';
import { missingRanges, type GapNotice } from '../verify/ranges.js';

export interface DeviceReport {
  dev: string;
  enrolledAt: string;
  batches: number;
  gapNotices: number;
  readings: number;
  firstSeq?: number;
  lastSeq?: number;
  firstSeen?: string;
  lastSeen?: string;
  /** seq ranges dropped on the device, each told by a signed gap notice */
  explained: GapNotice[];
  /** seq ranges between 1 and lastSeq neither stored nor told */
  unexplained: Array<[number, number]>;
  keyRollovers: number;
  /** restarted chains (new epochs, after the device lost its chain state) among the stored batches */
  chainRestarts: number;
  /** rejected messages on this device's topics, by reason code */
  rejects: Record<string, number>;
  /** batches signed by a key the device has not announced (yet) */
  parked: number;
  complete: boolean;
}

export interface FleetReport {
  devices: DeviceReport[];
  /** devices that are not enrolled but sent messages (all rejected) */
  unenrolled: Array<{ dev: string; rejects: number }>;
  /** rejected messages whose topic named no device */
  unattributed: number;
  complete: boolean;
}

type Num = string | number;
const iso = (d: Date | string | null | undefined): string | undefined => (d == null ? undefined : new Date(d).toISOString());

function group<T extends { dev: string }>(rows: T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    const list = m.get(r.dev);
    if (list) list.push(r); else m.set(r.dev, [r]);
  }
  return m;
}

export async function fleetReport(sql: Sql, opts: { device?: string } = {}): Promise<FleetReport> {
  const only = opts.device === undefined ? '' : 'WHERE dev = $1';
  const p = opts.device === undefined ? [] : [opts.device];
  const devices = await sql.query<{ dev: string; enrolled_at: Date }>(`SELECT dev, enrolled_at FROM tapwire_devices ${only} ORDER BY dev`, p);
  const stats = group(await sql.query<{ dev: string; batches: Num; gaps: Num; readings: Num; epochs: Num; first_seq: Num; last_seq: Num; first_seen: Date; last_seen: Date }>(
    `SELECT dev, count(*) AS batches, count(*) FILTER (WHERE kind = 'gap') AS gaps, coalesce(sum(readings), 0) AS readings, count(DISTINCT epoch) AS epochs,
            min(seq) AS first_seq, max(seq) AS last_seq, min(received_at) AS first_seen, max(received_at) AS last_seen
       FROM tapwire_batches ${only} GROUP BY dev`, p));
  // runs of consecutive seqs ("islands"): seq - row_number() is constant along a run
  const islands = group(await sql.query<{ dev: string; lo: Num; hi: Num }>(
    `SELECT dev, min(seq) AS lo, max(seq) AS hi
       FROM (SELECT dev, seq, seq - row_number() OVER (PARTITION BY dev ORDER BY seq) AS run FROM tapwire_batches ${only}) t
      GROUP BY dev, run ORDER BY dev, lo`, p));
  const notices = group(await sql.query<{ dev: string; gap_first: Num; gap_last: Num; gap_reason: string }>(
    `SELECT dev, gap_first, gap_last, gap_reason FROM tapwire_batches WHERE kind = 'gap' ${opts.device === undefined ? '' : 'AND dev = $1'} ORDER BY dev, gap_first`, p));
  const rollovers = group(await sql.query<{ dev: string; n: Num }>(`SELECT dev, count(*) AS n FROM tapwire_keys WHERE valid_from IS NOT NULL ${opts.device === undefined ? '' : 'AND dev = $1'} GROUP BY dev`, p));
  const rejects = group(await sql.query<{ dev: string; code: string; n: Num }>(`SELECT coalesce(dev, '') AS dev, code, count(*) AS n FROM tapwire_rejects ${only} GROUP BY 1, code`, p));
  const parked = group(await sql.query<{ dev: string; n: Num }>(`SELECT dev, count(*) AS n FROM tapwire_parked ${only} GROUP BY dev`, p));

  const enrolled = new Set(devices.map((d) => d.dev));
  const reports: DeviceReport[] = devices.map(({ dev, enrolled_at }) => {
    const s = stats.get(dev)?.[0];
    const gaps: GapNotice[] = (notices.get(dev) ?? []).map((g) => ({ first: Number(g.gap_first), last: Number(g.gap_last), reason: g.gap_reason }));
    // [0, 0] stands for "before seq 1": a chain starts at seq 1
    const held: Array<[number, number]> = [[0, 0], ...(islands.get(dev) ?? []).map((r): [number, number] => [Number(r.lo), Number(r.hi)])];
    const unexplained = s ? missingRanges(held, gaps) : [];
    const rej: Record<string, number> = {};
    for (const r of rejects.get(dev) ?? []) rej[r.code] = Number(r.n);
    const parkedN = Number(parked.get(dev)?.[0]?.n ?? 0);
    const chainRestarts = Number(s?.epochs ?? 0);
    return {
      dev,
      enrolledAt: iso(enrolled_at)!,
      batches: Number(s?.batches ?? 0),
      gapNotices: Number(s?.gaps ?? 0),
      readings: Number(s?.readings ?? 0),
      ...(s ? { firstSeq: Number(s.first_seq), lastSeq: Number(s.last_seq), firstSeen: iso(s.first_seen), lastSeen: iso(s.last_seen) } : {}),
      explained: gaps,
      unexplained,
      keyRollovers: Number(rollovers.get(dev)?.[0]?.n ?? 0),
      chainRestarts,
      rejects: rej,
      parked: parkedN,
      complete: unexplained.length === 0 && !rej.conflict && !rej.chain && parkedN === 0 && chainRestarts === 0,
    };
  });
  const unenrolled: FleetReport['unenrolled'] = [];
  let unattributed = 0;
  for (const [dev, rows] of rejects) {
    if (enrolled.has(dev)) continue;
    const n = rows.reduce((a, r) => a + Number(r.n), 0);
    if (dev === '') unattributed += n; else unenrolled.push({ dev, rejects: n });
  }
  unenrolled.sort((a, b) => a.dev.localeCompare(b.dev));
  return { devices: reports, unenrolled, unattributed, complete: reports.every((r) => r.complete) };
}
