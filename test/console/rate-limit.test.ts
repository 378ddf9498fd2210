import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTokenBucket } from '../../agent/console/rate-limit.js';

function bucket(capacity: number, perSecond: number) {
  let t = 0;
  const b = createTokenBucket({ capacity, perSecond, now: () => t });
  return { b, advance: (ms: number) => { t += ms; } };
}

const takeAll = (take: () => boolean, max = 1000): number => {
  let n = 0;
  while (n < max && take()) n++;
  return n;
};

test('a burst up to the capacity passes, then nothing until time passes', () => {
  const { b } = bucket(20, 4);
  assert.is(takeAll(() => b.take()), 20);
  assert.not.ok(b.take());
});

test('tokens come back at the rate, fractions included, never above the capacity', () => {
  const { b, advance } = bucket(20, 4);
  takeAll(() => b.take());
  advance(250);
  assert.is(takeAll(() => b.take()), 1, '4 per second: one token after 250 ms');
  advance(100);
  assert.not.ok(b.take(), '0.4 of a token is not a token');
  advance(150);
  assert.ok(b.take(), 'the fractions add up');
  advance(3_600_000);
  assert.is(takeAll(() => b.take()), 20, 'an hour of quiet refills to the capacity only');
});

test('a clock that goes backwards adds nothing', () => {
  const { b, advance } = bucket(2, 1);
  takeAll(() => b.take());
  advance(-5000);
  assert.not.ok(b.take());
  assert.is(b.available(), 0);
  advance(5000);
  assert.not.ok(b.take(), 'nor does coming back to where it was');
  advance(1000);
  assert.ok(b.take());
});

test.run();
