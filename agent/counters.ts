// Named monotonic counters: what the agent reports in status so that every
// drop and every error is told. Names are dotted, e.g. "source.weather.bad_lines".

export interface Counters {
  inc(name: string, by?: number): void;
  get(name: string): number;
  snapshot(): Record<string, number>;
}

export function createCounters(): Counters {
  const values = new Map<string, number>();
  return {
    inc(name, by = 1) { values.set(name, (values.get(name) ?? 0) + by); },
    get(name) { return values.get(name) ?? 0; },
    snapshot() { return Object.fromEntries([...values.entries()].sort(([a], [b]) => a.localeCompare(b))); },
  };
}
