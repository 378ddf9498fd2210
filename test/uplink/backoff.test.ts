import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackoff } from '../../agent/uplink/backoff.js';
import { prng as seeded } from '../../agent/prng.js';


test('the first retry is about initialMs: within [initialMs/2, initialMs] for every seed', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const d = createBackoff({ initialMs: 500, maxMs: 30_000, random: seeded(seed) }).next();
    assert.ok(d >= 250 && d <= 500, `seed ${seed}: first delay ${d}`);
  }
});

test('attempt n waits within [initialMs/2, min(maxMs, initialMs*2^n)]', () => {
  const b = createBackoff({ initialMs: 500, maxMs: 30_000, random: seeded(7) });
  for (let n = 0; n < 40; n++) {
    const d = b.next();
    const cap = Math.min(30_000, 500 * 2 ** n);
    assert.ok(d >= 250 && d <= cap, `attempt ${n}: ${d} not in [250, ${cap}]`);
  }
  assert.is(b.attempt(), 40);
});

test('the bounds are reached at the extremes of random: floor at 0, the capped exponential near 1', () => {
  const low = createBackoff({ initialMs: 500, maxMs: 30_000, random: () => 0 });
  const high = createBackoff({ initialMs: 500, maxMs: 30_000, random: () => 0.999_999_9 });
  const lows = Array.from({ length: 10 }, () => low.next());
  const highs = Array.from({ length: 10 }, () => high.next());
  assert.equal(lows, Array(10).fill(250));
  assert.equal(highs, [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000]);
});

test('the cap holds forever: no delay above maxMs, no overflow to Infinity or NaN after many attempts', () => {
  const b = createBackoff({ initialMs: 500, maxMs: 30_000, random: () => 0.999_999_9 });
  for (let i = 0; i < 5000; i++) {
    const d = b.next();
    assert.ok(Number.isFinite(d) && d <= 30_000 && d >= 250, `attempt ${i}: ${d}`);
  }
});

test('jitter spreads a fleet: 200 devices at attempt 5 do not retry together', () => {
  const random = seeded(42);
  const delays = Array.from({ length: 200 }, () => {
    const b = createBackoff({ initialMs: 500, maxMs: 30_000, random });
    for (let i = 0; i < 5; i++) b.next();
    return b.next();
  });
  const distinct = new Set(delays).size;
  assert.ok(distinct > 150, `only ${distinct} distinct delays`);
  const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
  // uniform on [250, 16000]: mean 8125; a seeded sample of 200 stays well within ±1500
  assert.ok(mean > 6600 && mean < 9600, `mean ${mean}`);
});

test('the same seed gives the same delays (deterministic under test)', () => {
  const a = createBackoff({ initialMs: 200, maxMs: 5000, random: seeded(3) });
  const b = createBackoff({ initialMs: 200, maxMs: 5000, random: seeded(3) });
  const seqA = Array.from({ length: 12 }, () => a.next());
  const seqB = Array.from({ length: 12 }, () => b.next());
  assert.equal(seqA, seqB);
});

test('reset() starts over: attempt 0 and a first-retry-sized delay again', () => {
  const b = createBackoff({ initialMs: 500, maxMs: 30_000, random: () => 0.999_999_9 });
  for (let i = 0; i < 8; i++) b.next();
  assert.is(b.next(), 30_000);
  b.reset();
  assert.is(b.attempt(), 0);
  assert.is(b.next(), 500);
  assert.is(b.attempt(), 1);
});

test('a maxMs below initialMs caps every delay, the first included', () => {
  const b = createBackoff({ initialMs: 1000, maxMs: 300, random: seeded(9) });
  for (let i = 0; i < 10; i++) {
    const d = b.next();
    assert.ok(d >= 0 && d <= 300, `attempt ${i}: ${d}`);
  }
});

test.run();
