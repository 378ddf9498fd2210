// agent/parts/part.ts and ticker.ts: parts start in order and stop in reverse,
// every one even when one fails; periodic jobs share one timer, each at its period.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../agent/log.js';
import { createPartList, type Part } from '../../agent/parts/part.js';
import { createTicker } from '../../agent/parts/ticker.js';
import { createManualClock } from '../../hal/clock.js';

const recorder = (log: string[], name: string, failStop = false): Part => ({
  name,
  start() { log.push(`start ${name}`); },
  async stop() { log.push(`stop ${name}`); if (failStop) throw new Error(`${name} broke`); },
});

/** The error `run` rejects with (the test fails if it resolves). */
async function rejection(run: () => Promise<void>): Promise<Error> {
  try { await run(); } catch (err) { return err as Error; }
  throw new Error('expected a rejection');
}

test('parts start in order and stop in reverse', async () => {
  const log: string[] = [];
  const parts = createPartList(['a', 'b', 'c'].map((n) => recorder(log, n)));
  await parts.start();
  await parts.stop();
  assert.equal(log, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
});

test('a stop that throws does not keep the others from stopping; its error comes out at the end', async () => {
  const log: string[] = [];
  const parts = createPartList([recorder(log, 'a'), recorder(log, 'b', true), recorder(log, 'c')]);
  await parts.start();
  assert.is((await rejection(() => parts.stop())).message, 'b broke');
  assert.equal(log.slice(3), ['stop c', 'stop b', 'stop a']);
});

test('a start that throws leaves the later parts unstarted', async () => {
  const log: string[] = [];
  const bad: Part = { name: 'bad', start() { throw new Error('no'); }, stop() { log.push('stop bad'); } };
  const parts = createPartList([recorder(log, 'a'), bad, recorder(log, 'c')]);
  assert.is((await rejection(() => parts.start())).message, 'no');
  assert.equal(log, ['start a']);
});

test('one timer, each job at its own period; a job that throws runs again at its next time', async () => {
  const clock = createManualClock();
  const runs: Record<string, number[]> = { fast: [], slow: [] };
  let armed = 0;
  const counting = { ...clock, setTimeout(fn: () => void, ms: number) { armed++; return clock.setTimeout(fn, ms); } };
  const ticker = createTicker([
    { name: 'fast', everyMs: 200, tick() { runs.fast!.push(clock.monotonic()); throw new Error('flaky'); } },
    { name: 'slow', everyMs: 5000, tick() { runs.slow!.push(clock.monotonic()); } },
  ], { clock: counting, log: silentLogger });
  await ticker.start();
  await clock.advance(10_000);
  assert.is(runs.fast!.length, 51, 'at start and every 200 ms, though it throws each time');
  assert.equal(runs.slow, [0, 5000, 10_000], 'at start and every 5 s');
  assert.is(armed, 51, 'one timer armed per tick, never one per job');
  await ticker.stop();
  await clock.advance(10_000);
  assert.is(runs.fast!.length, 51, 'nothing after stop');
});

test('a job with firstMs is not run at start: first firstMs after it, then every everyMs', async () => {
  const clock = createManualClock();
  const runs: Record<string, number[]> = { now: [], later: [] };
  const ticker = createTicker([
    { name: 'now', everyMs: 1000, tick() { runs.now!.push(clock.monotonic()); } },
    { name: 'later', everyMs: 4000, firstMs: 1500, tick() { runs.later!.push(clock.monotonic()); } },
  ], { clock, log: silentLogger });
  await ticker.start();
  assert.equal(runs, { now: [0], later: [] });
  await clock.advance(10_000);
  assert.equal(runs.later, [1500, 5500, 9500]);
  assert.equal(runs.now, [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]);
  await ticker.stop();
});

test.run();
