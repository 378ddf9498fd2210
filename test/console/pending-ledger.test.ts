import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPendingLedger } from '../../agent/console/pending-ledger.js';

test('pending = journaled and not yet acknowledged: batches, bytes, the oldest with its time', () => {
  const l = createPendingLedger();
  l.add(1, 100, 1000);
  l.add(2, 200, 2000);
  l.add(3, 300, 3000);
  assert.equal(l.summary(0), { batches: 3, bytes: 600, exact: true, oldestSeq: 1, oldestAt: 1000 });
  assert.equal(l.summary(2), { batches: 1, bytes: 300, exact: true, oldestSeq: 3, oldestAt: 3000 });
  assert.equal(l.summary(3), { batches: 0, bytes: 0, exact: true });
  l.add(4, 50, 4000);
  assert.equal(l.summary(3), { batches: 1, bytes: 50, exact: true, oldestSeq: 4, oldestAt: 4000 });
});

test('records found on disk at start have no time; a seq already known is not counted twice', () => {
  const l = createPendingLedger();
  l.add(10, 100);
  l.add(11, 100);
  l.add(11, 999, 5);
  l.add(12, 100, 7000);
  assert.equal(l.summary(9), { batches: 3, bytes: 300, exact: true, oldestSeq: 10 });
  assert.equal(l.summary(11).oldestAt, 7000);
});

test('dropped batches (journal full) wait no more; a seq that never reached the journal leaves a hole', () => {
  const l = createPendingLedger();
  for (let s = 1; s <= 5; s++) l.add(s, 10, s);
  l.dropped(1, 3);
  assert.equal(l.summary(0), { batches: 2, bytes: 20, exact: true, oldestSeq: 4, oldestAt: 4 });
  l.add(8, 10, 8); // 6 and 7 failed to append
  assert.equal(l.summary(0).batches, 3);
  assert.equal(l.summary(5), { batches: 1, bytes: 10, exact: true, oldestSeq: 8, oldestAt: 8 });
});

test('bounded: beyond the tracked count the oldest are folded into a total, and the summary says so', () => {
  const l = createPendingLedger(64);
  for (let s = 1; s <= 100; s++) l.add(s, 10, s * 1000);
  const all = l.summary(0);
  assert.is(all.batches, 100, 'the count stays right');
  assert.is(all.bytes, 1000);
  assert.is(all.exact, false);
  assert.is(all.oldestSeq, 1);
  assert.is(all.oldestAt, 1000);
  const half = l.summary(18);
  assert.is(half.batches, 82);
  assert.is(half.bytes, 820, 'the folded part is prorated');
  assert.is(half.oldestSeq, 19);
  assert.equal(l.summary(36), { batches: 64, bytes: 640, exact: true, oldestSeq: 37, oldestAt: 37_000 }, 'exact again once the folded part is acknowledged');
  l.add(101, 10, 101_000);
  assert.is(l.summary(36).batches, 65);
});

test('grows past its first allocation and keeps order across the ring wrapping', () => {
  const l = createPendingLedger(1 << 17);
  let committed = 0;
  for (let s = 1; s <= 5000; s++) {
    l.add(s, s % 7, s);
    if (s % 3 === 0) committed = s - 700;
    if (s % 500 === 0) l.summary(Math.max(0, committed));
  }
  let expect = 0;
  for (let s = 4301; s <= 5000; s++) expect += s % 7;
  assert.equal(l.summary(4300), { batches: 700, bytes: expect, exact: true, oldestSeq: 4301, oldestAt: 4301 });
});

test.run();
