// The latest value of every field and a short history of its numeric values
// (for the console's `last` and its sparkline). Fed from the agent's reading
// sink: bounded (fields, history), O(1) per reading, never throws.

import type { Reading } from '../reading.js';

export interface FieldHistory {
  /** "<source id>:<field>" */
  name: string;
  value: number | string | boolean;
  unit?: string;
  /** Wall ms of the reading (its own time, not when it arrived). */
  at: number;
  /** Recent numeric values, oldest first (empty for strings and booleans). */
  recent: number[];
}

export interface LastValues {
  record(r: Reading): void;
  /** Fields of one source (or all), sorted by name. */
  fields(source?: string): FieldHistory[];
  /** Readings seen from a source since this was created. */
  readings(source: string): number;
  /** Fields not tracked because the table was full. */
  readonly untracked: number;
}

export const HISTORY_LENGTH = 24;
const MAX_FIELDS = 512;

interface Entry { name: string; value: number | string | boolean; unit?: string; at: number; ring: number[]; next: number }

const sourceOf = (name: string): string => {
  const i = name.indexOf(':');
  return i < 0 ? name : name.slice(0, i);
};

export function createLastValues(historyLength = HISTORY_LENGTH): LastValues {
  const entries = new Map<string, Entry>();
  const perSource = new Map<string, number>();
  let untracked = 0;
  return {
    get untracked() { return untracked; },
    record(r) {
      try {
        const src = sourceOf(r.name);
        perSource.set(src, (perSource.get(src) ?? 0) + 1);
        const value = r.v ?? r.vs ?? r.vb;
        if (value === undefined) return;
        let e = entries.get(r.name);
        if (!e) {
          if (entries.size >= MAX_FIELDS) { untracked++; return; }
          e = { name: r.name, value, at: 0, ring: [], next: 0 };
          entries.set(r.name, e);
        }
        e.value = value;
        e.at = r.time * 1000;
        if (r.unit !== undefined) e.unit = r.unit; else delete e.unit;
        if (typeof value === 'number') {
          if (e.ring.length < historyLength) e.ring.push(value);
          else { e.ring[e.next] = value; e.next = (e.next + 1) % historyLength; }
        }
      } catch { /* a diagnostic never disturbs the data path */ }
    },
    fields(source) {
      const out: FieldHistory[] = [];
      for (const e of entries.values()) {
        if (source !== undefined && sourceOf(e.name) !== source) continue;
        const recent = e.ring.length < historyLength ? e.ring.slice() : [...e.ring.slice(e.next), ...e.ring.slice(0, e.next)];
        out.push({ name: e.name, value: e.value, ...(e.unit !== undefined ? { unit: e.unit } : {}), at: e.at, recent });
      }
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    readings: (source) => perSource.get(source) ?? 0,
  };
}
