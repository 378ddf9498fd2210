// The live view's field table: one row per field — name, latest value rounded
// for display (the data stays exact), unit, age, and a sparkline of its recent
// values. The same parts as the console's `last` (one home: console/).

import type { FieldHistory } from '../console/last-values.js';
import { escapeShort } from '../escape.js';
import { duration, number, table } from '../console/format.js';
import { sparkline } from '../console/sparkline.js';

/** Significant digits shown: 0.15433333333333335 m/s reads as 0.154333. */
const DISPLAY_DIGITS = 6;

function shown(v: number | string | boolean): string {
  if (typeof v === 'number') return number(v, DISPLAY_DIGITS);
  return typeof v === 'string' ? `"${escapeShort(v, 24)}"` : String(v);
}

/** Header and one row per field, columns aligned; values and ages right-aligned. */
export function fieldRows(fields: readonly FieldHistory[], nowMs: number): string[] {
  const rows = fields.map((f) => [
    escapeShort(f.name, 32), shown(f.value), escapeShort(f.unit ?? '', 8), duration(nowMs - f.at), sparkline(f.recent),
  ]);
  return table(['FIELD', 'VALUE', 'UNIT', 'AGE', 'RECENT'], rows, new Set([1, 3]));
}
