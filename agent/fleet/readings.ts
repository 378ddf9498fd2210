// Export of one device's stored readings from a point in time, as CSV or JSON
// lines, streamed in pages (keyset on the primary key: memory stays flat for
// any export size).
//
//   CSV: time,name,value,unit,seq,idx    time ISO 8601 UTC; value is v, vs or vb

import type { Sql } from '../ingest/db.js';

export type ExportFormat = 'csv' | 'jsonl';

interface Row { seq: string | number; idx: number; name: string; time: Date; value: number | null; vs: string | null; vb: boolean | null; unit: string | null }

const PAGE = 5000;

/**
 * "2026-01-31T12:00:00Z", "2026-01-31", a Unix time in seconds, or an age
 * ("90s", "15m", "6h", "7d") before `nowMs`. Undefined when it is none of these.
 */
export function parseSince(text: string, nowMs: number): Date | undefined {
  const age = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(text.trim());
  if (age) return new Date(nowMs - Number(age[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[age[2] as 's' | 'm' | 'h' | 'd']);
  if (/^\d+(\.\d+)?$/.test(text.trim())) return new Date(Number(text) * 1000);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function valueOf(r: Row): number | string | boolean | null {
  return r.value ?? r.vs ?? r.vb;
}

function formatRow(r: Row, format: ExportFormat): string {
  const time = r.time.toISOString();
  const v = valueOf(r);
  if (format === 'jsonl') {
    // NaN / ±Infinity are data (a sensor said so) but not JSON numbers: as strings
    const value = typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
    return JSON.stringify({ time, name: r.name, value, ...(r.unit !== null ? { unit: r.unit } : {}), seq: Number(r.seq), idx: r.idx });
  }
  return [time, csvField(r.name), csvField(v === null ? '' : String(v)), csvField(r.unit ?? ''), String(r.seq), String(r.idx)].join(',');
}

/** Writes the readings of `dev` with time >= since (and < until), in the device's order (seq, idx); returns how many. */
export async function exportReadings(sql: Sql, opts: { dev: string; since: Date; until?: Date; name?: string; format: ExportFormat; write(chunk: string): Promise<void> | void }): Promise<number> {
  if (opts.format === 'csv') await opts.write('time,name,value,unit,seq,idx\n');
  // start at the first batch with a reading in range (index on (dev, time)), then page along the primary key
  const [first] = await sql.query<{ seq: string | number | null }>('SELECT min(seq) AS seq FROM tapwire_readings WHERE dev = $1 AND time >= $2', [opts.dev, opts.since]);
  if (first?.seq == null) return 0;
  let after: [number, number] = [Number(first.seq) - 1, 2 ** 31 - 1];
  let total = 0;
  for (;;) {
    const params: unknown[] = [opts.dev, opts.since, after[0], after[1]];
    let extra = '';
    if (opts.until) { params.push(opts.until); extra += ` AND time < $${params.length}`; }
    if (opts.name) { params.push(opts.name); extra += ` AND name = $${params.length}`; }
    const rows = await sql.query<Row>(
      `SELECT seq, idx, name, time, value, vs, vb, unit FROM tapwire_readings
        WHERE dev = $1 AND time >= $2 AND (seq, idx) > ($3::int8, $4::int4)${extra}
        ORDER BY seq, idx LIMIT ${PAGE}`, params);
    if (rows.length === 0) return total;
    await opts.write(rows.map((r) => formatRow(r, opts.format)).join('\n') + '\n');
    total += rows.length;
    const lastRow = rows[rows.length - 1]!;
    after = [Number(lastRow.seq), lastRow.idx];
    if (rows.length < PAGE) return total;
  }
}
