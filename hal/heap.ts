// V8's full garbage collection, where the process allows it: `--expose-gc` (one
// of the device's node flags, build/sea.mjs) puts `gc` on the global object.
// Without the flag (tests, `npm run tapwire`) there is none, and nothing asks.

export type FullGc = () => void;

type ExposedGc = (options?: { type: 'major'; execution: 'async' }) => unknown;

export function exposedFullGc(): FullGc | undefined {
  const g: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof g !== 'function') return undefined;
  const gc = g as ExposedGc;
  // incremental marking in tasks (no 20 ms pause on the event loop); a promise, settled by V8
  return () => { void Promise.resolve(gc({ type: 'major', execution: 'async' })).catch(() => undefined); };
}
