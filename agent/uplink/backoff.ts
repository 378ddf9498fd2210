// Reconnect delays: exponential growth with full jitter above a floor, so a
// fleet that lost its broker together does not come back together, and no
// delay is ever shorter than initialMs/2 (no reconnect storm).
//
//   cap(n)   = max(floor, min(maxMs, initialMs * 2^n))      n = attempt, from 0
//   floor    = min(initialMs / 2, maxMs)
//   delay(n) = floor + random() * (cap(n) - floor)          uniform in [floor, cap(n)]
//
// With the defaults (500 ms, 30 s): the first retry falls in [250, 500] ms
// (about initialMs), the seventh and later ones anywhere in [250 ms, 30 s].

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Uniform in [0, 1); Math.random by default, seeded in tests. */
  random?: () => number;
}

export interface Backoff {
  /** The delay before the next attempt; each call counts one attempt. */
  next(): number;
  /** Back to the first delay (after a connection that stayed up). */
  reset(): void;
  /** How many delays were handed out since the last reset. */
  attempt(): number;
}

// 2^31 * initialMs is past any sane cap; stop doubling there so the exponent
// never overflows to Infinity.
const MAX_EXPONENT = 31;

export function createBackoff(opts: BackoffOptions): Backoff {
  const random = opts.random ?? Math.random;
  const floor = Math.min(opts.initialMs / 2, opts.maxMs);
  let attempt = 0;
  return {
    next() {
      const exp = Math.min(attempt, MAX_EXPONENT);
      const cap = Math.max(floor, Math.min(opts.maxMs, opts.initialMs * 2 ** exp));
      attempt++;
      return Math.round(floor + random() * (cap - floor));
    },
    reset() { attempt = 0; },
    attempt: () => attempt,
  };
}
