// Batches in flight when their segment is dropped: held until the PUBACK or a
// rewind, told as runs of contiguous seqs sharing a reason.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCounters } from '../../agent/counters.js';
import { silentLogger } from '../../agent/log.js';
import { createInFlight, type DropNotice } from '../../agent/journal/in-flight.js';

function setup(oldest = 1) {
  const told: DropNotice[] = [];
  const counters = createCounters();
  const state = { committed: 0, oldest };
  const f = createInFlight({
    log: silentLogger, counters, committed: () => state.committed, oldestOnDisk: () => state.oldest, tell: (n) => told.push(n),
  });
  return { f, told, counters, state };
}

test('the in-flight mark follows what was sent, never below the committed offset; a rewind resets it', () => {
  const { f, state } = setup();
  assert.is(f.upTo(), 0);
  assert.ok(f.sent(1) && f.sent(2) && f.sent(3));
  assert.is(f.upTo(), 3);
  state.committed = 5;
  assert.is(f.upTo(), 5);
  state.committed = 2;
  f.rewind();
  assert.is(f.upTo(), 2);
});

test('a seq below the oldest on disk was dropped and told since it was read: it may not be sent', () => {
  const { f, state } = setup(10);
  assert.is(f.sent(9), false);
  assert.is(f.upTo(), 0, 'a refused seq does not count as in flight');
  assert.is(f.sent(10), true);
  state.oldest = Infinity; // nothing left on disk
  assert.is(f.sent(11), false);
});

test('a drop tells its unsent span at once and holds the in-flight records; a commit ends them, a rewind tells the rest in runs', () => {
  const { f, told, counters, state } = setup();
  f.dropped({ reason: 'journal-full', inFlight: [{ seq: 1, readings: 2 }, { seq: 2, readings: 3 }, { seq: 3, readings: 1 }], unsent: { first: 4, last: 9, batches: 6, readings: 12 } });
  assert.equal(told, [{ first: 4, last: 9, batches: 6, readings: 12, reason: 'journal-full' }]);
  assert.is(counters.get('journal.dropped_in_flight'), 3);
  f.dropped({ reason: 'disk-full', inFlight: [{ seq: 10, readings: 4 }, { seq: 12, readings: 5 }] });
  assert.is(told.length, 1, 'a drop of in-flight records only tells nothing yet');
  state.committed = 1;
  f.committed(1);
  f.rewind();
  assert.equal(told.slice(1), [
    { first: 2, last: 3, batches: 2, readings: 4, reason: 'journal-full' },
    { first: 10, last: 10, batches: 1, readings: 4, reason: 'disk-full' },
    { first: 12, last: 12, batches: 1, readings: 5, reason: 'disk-full' },
  ]);
  f.rewind();
  assert.is(told.length, 4, 'each told once');
});

test.run();
