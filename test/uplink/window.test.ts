// agent/uplink/window: the in-flight window commits over the contiguous
// PUBACKed prefix only, whatever order the acks arrive in.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createInflightWindow } from '../../agent/uplink/window.js';

test('sent in order; room shrinks to the limit; nextSeq follows the last sent', () => {
  const w = createInflightWindow(3, 43);
  assert.is(w.nextSeq, 43);
  w.sent(43); w.sent(44);
  assert.is(w.room(), 1);
  assert.is(w.nextSeq, 45);
  w.sent(45);
  assert.is(w.room(), 0);
  assert.is(w.unacked(), 3);
});

test('an ack after a gap commits nothing; the gap\'s ack commits through the highest contiguous one', () => {
  const w = createInflightWindow(4, 43);
  for (const s of [43, 44, 45, 46]) w.sent(s);
  assert.is(w.acked(44), undefined);
  assert.is(w.acked(46), undefined);
  assert.is(w.unacked(), 2);
  assert.is(w.acked(43), 44);
  assert.is(w.room(), 2, 'committed seqs leave the window');
  assert.is(w.acked(45), 46);
  assert.is(w.unacked(), 0);
  assert.is(w.room(), 4);
});

test.run();
