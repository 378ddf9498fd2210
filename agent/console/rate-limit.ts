// A token bucket: the console's input and commands are rate-limited with it
// (the data path never is). Time comes from the caller (the hal clock).

export interface TokenBucket {
  /** Takes one token if there is one. */
  take(): boolean;
  /** Tokens available now (fractional). */
  available(): number;
}

export interface TokenBucketOptions {
  /** Most tokens held: the burst allowed after a quiet spell. */
  capacity: number;
  /** Tokens added per second. */
  perSecond: number;
  /** Monotonic milliseconds. */
  now(): number;
}

export function createTokenBucket(opts: TokenBucketOptions): TokenBucket {
  let tokens = opts.capacity;
  let at = opts.now();
  const refill = (): void => {
    const t = opts.now();
    if (t <= at) return; // a clock that stands (or steps back) adds nothing
    tokens = Math.min(opts.capacity, tokens + ((t - at) * opts.perSecond) / 1000);
    at = t;
  };
  return {
    take() {
      refill();
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    available() {
      refill();
      return tokens;
    },
  };
}
