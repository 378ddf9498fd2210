import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createGapLedger, mergeRanges } from '../../agent/parts/gap-ledger.js';

test('ranges that touch or overlap with the same reason merge; different reasons stay apart', () => {
  assert.equal(mergeRanges([
    { first: 20, last: 30, reason: 'journal-full' },
    { first: 1, last: 9, reason: 'journal-full' },
    { first: 10, last: 12, reason: 'journal-full' },
    { first: 31, last: 31, reason: 'corrupt' },
  ]), [
    { first: 1, last: 12, reason: 'journal-full' },
    { first: 20, last: 30, reason: 'journal-full' },
    { first: 31, last: 31, reason: 'corrupt' },
  ]);
});

test('a drop that deletes an unsent gap notice re-announces what that notice said, merged with the drop', () => {
  const ledger = createGapLedger();
  // first overflow: seqs 11..100 dropped, notice journaled as seq 431
  assert.equal(ledger.dropped({ first: 11, last: 100, reason: 'journal-full' }, 10), [{ first: 11, last: 100, reason: 'journal-full' }]);
  ledger.announced({ first: 11, last: 100, reason: 'journal-full', seq: 431 });
  // second overflow takes 101..450, including the notice at 431
  assert.equal(ledger.dropped({ first: 101, last: 450, reason: 'journal-full' }, 10), [{ first: 11, last: 450, reason: 'journal-full' }]);
  assert.equal(ledger.pending(10), [], 'the dropped notice is no longer pending');
});

test('acknowledged gap notices are forgotten; a drop that does not reach a notice leaves it pending', () => {
  const ledger = createGapLedger();
  ledger.announced({ first: 5, last: 6, reason: 'corrupt', seq: 40 });
  ledger.announced({ first: 41, last: 60, reason: 'journal-full', seq: 90 });
  assert.equal(ledger.dropped({ first: 61, last: 80, reason: 'journal-full' }, 45), [{ first: 61, last: 80, reason: 'journal-full' }]);
  assert.equal(ledger.pending(45).map((g) => g.seq), [90], 'seq 40 was acknowledged (committed 45)');
});

test('a range a pending notice already tells is not told again (a corrupt record found again at the next start); the rest is', () => {
  const ledger = createGapLedger();
  ledger.announced({ first: 419, last: 419, reason: 'corrupt', seq: 700 });
  assert.equal(ledger.dropped({ first: 419, last: 419, reason: 'corrupt' }, 10), [], 'told once');
  assert.equal(ledger.dropped({ first: 410, last: 425, reason: 'corrupt' }, 10), [
    { first: 410, last: 418, reason: 'corrupt' },
    { first: 420, last: 425, reason: 'corrupt' },
  ]);
  // once that notice is acknowledged, the range is below the committed offset and never comes back
  assert.equal(ledger.pending(700), []);
});

test.run();
