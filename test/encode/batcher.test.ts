import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createManualClock } from '../../hal/clock.js';
import { createBatcher } from '../../agent/encode/batcher.js';
import type { Reading } from '../../agent/reading.js';

const r = (v: number): Reading => ({ name: 's:x', time: 1, v });

/** A batcher whose first batch (closed at the next tick) is already out of the way. */
async function started(opts: { maxRecords: number; maxAgeMs: number }, clock: ReturnType<typeof createManualClock>, batches: number[][]): Promise<ReturnType<typeof createBatcher>> {
  const b = createBatcher(opts, { clock, onBatch: (rs) => batches.push(rs.map((x) => x.v!)) });
  b.add(r(0));
  await clock.advance(0);
  batches.length = 0;
  return b;
}

test('the first batch closes at the next tick with what arrived together: the first readings are journaled at once', async () => {
  const clock = createManualClock();
  const batches: number[][] = [];
  const b = createBatcher({ maxRecords: 100, maxAgeMs: 1000 }, { clock, onBatch: (rs) => batches.push(rs.map((x) => x.v!)) });
  b.add(r(1));
  b.add(r(2)); // the same reply
  assert.equal(batches, [], 'not synchronously');
  await clock.advance(0);
  assert.equal(batches, [[1, 2]]);
  b.add(r(3));
  await clock.advance(999);
  assert.equal(batches, [[1, 2]], 'later batches wait maxAgeMs');
  await clock.advance(1);
  assert.equal(batches, [[1, 2], [3]]);
});

test('a batch closes at maxRecords', async () => {
  const clock = createManualClock();
  const batches: number[][] = [];
  const b = createBatcher({ maxRecords: 3, maxAgeMs: 1000 }, { clock, onBatch: (rs) => batches.push(rs.map((x) => x.v!)) });
  for (let i = 1; i <= 7; i++) b.add(r(i)); // the first batch fills up before its tick
  assert.equal(batches, [[1, 2, 3], [4, 5, 6]]);
  assert.is(b.pending(), 1);
});

test('a batch closes maxAgeMs after its first reading, not after the last', async () => {
  const clock = createManualClock();
  const batches: number[][] = [];
  const b = await started({ maxRecords: 100, maxAgeMs: 1000 }, clock, batches);
  b.add(r(1));
  await clock.advance(600);
  b.add(r(2));
  await clock.advance(399);
  assert.equal(batches, []);
  await clock.advance(1);
  assert.equal(batches, [[1, 2]]);
  b.add(r(3));
  await clock.advance(999);
  assert.equal(batches.length, 1);
  await clock.advance(1);
  assert.equal(batches, [[1, 2], [3]]);
});

test('flush closes the open batch; an idle batcher emits nothing', async () => {
  const clock = createManualClock();
  const batches: number[][] = [];
  const b = await started({ maxRecords: 10, maxAgeMs: 50 }, clock, batches);
  b.flush();
  await clock.advance(10_000);
  assert.equal(batches, []);
  b.add(r(9));
  b.flush();
  assert.equal(batches, [[9]]);
  await clock.advance(100);
  assert.equal(batches, [[9]], 'the age timer was cancelled by the flush');
});

test.run();
