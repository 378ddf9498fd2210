// V8's full garbage collection, where the process allows it: `--expose-gc` (one
// of the device's node flags, build/sea.mjs) puts `gc` on the global object.
// Without the flag (tests, `npm run tapwire`) there is none, and nothing asks.

export type FullGc = () => void;

export function exposedFullGc(): FullGc | undefined {
  const g: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof g !== 'function') return undefined;
  // Synchronous: V8's incremental variant (`execution: 'async'`) did not hold
  // RSS down at all in the side-by-side runs (agent/parts/heap-trim.ts).
  return () => { (g as () => void)(); };
}
