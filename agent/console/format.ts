// How answers look: `key: value` lines and space-aligned tables, durations,
// ages and byte counts in words a technician reads at a glance.

/** `key: value` lines, in order. */
export function keyValues(pairs: ReadonlyArray<readonly [string, string | number]>): string[] {
  return pairs.map(([k, v]) => `${k}: ${v}`);
}

/** A table: a header row and rows, columns separated by two spaces; `right` columns are right-aligned. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, right: ReadonlySet<number> = new Set()): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 && !right.has(i) ? c : right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** 850 ms -> "0.9 s", 75 s -> "1 min 15 s", 26 h -> "1 d 2 h". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return 'unknown';
  const t = Math.max(0, ms);
  if (t < 10_000) return `${(t / 1000).toFixed(1)} s`;
  const s = Math.floor(t / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** How long ago wall time `atMs` was, seen at `nowMs`. */
export function ago(atMs: number | undefined, nowMs: number): string {
  return atMs === undefined || !Number.isFinite(atMs) ? 'never' : `${duration(nowMs - atMs)} ago`;
}

/** ISO time (to the second) and how long ago. */
export function when(atMs: number | undefined, nowMs: number): string {
  if (atMs === undefined || !Number.isFinite(atMs)) return 'unknown';
  return `${new Date(atMs).toISOString().replace(/\.\d{3}Z$/, 'Z')} (${ago(atMs, nowMs)})`;
}

/** 1536 -> "1.5 KiB", 512 -> "512 B". */
export function shortBytes(n: number): string {
  if (!Number.isFinite(n)) return 'unknown';
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u < 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** 1536 -> "1536 (1.5 KiB)", 512 -> "512". */
export function bytes(n: number): string {
  if (!Number.isFinite(n)) return 'unknown';
  return n < 1024 ? String(n) : `${n} (${shortBytes(n)})`;
}

/**
 * A reading's number as a person reads it: at most `digits` significant digits
 * (10 for answers; the live view rounds harder). Display only: data stays exact.
 */
export function number(v: number, digits = 10): string {
  return Number.isFinite(v) && Math.abs(v) < 1e21 ? String(Number(v.toPrecision(digits))) : String(v);
}
