// agent/escape: the one home for escaping text from outside before a person sees it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { escapeJson, escapeShort, escapeText, logValue } from '../agent/escape.js';

test('C0, DEL and C1 become \\xNN; separators, bidi controls and the BOM \\uNNNN; the rest is kept', () => {
  assert.is(escapeText('a\x00b\x1b[0m\x7f\u0085\u009bé→'), 'a\\x00b\\x1b[0m\\x7f\\x85\\x9bé→');
  assert.is(escapeText('x\u2028\u202e\u2066\ufeff'), 'x\\u2028\\u202e\\u2066\\ufeff');
});

test('escaping is idempotent (a line escaped twice reads the same)', () => {
  const once = escapeText('\x1b[31m\0');
  assert.is(escapeText(once), once);
});

test('escapeShort cuts after escaping, with an ellipsis', () => {
  assert.is(escapeShort('\x1b\x1b\x1b', 6), '\\x1b\\…');
});

test('escapeJson keeps JSON valid and the value unchanged', () => {
  const v = { s: '\x7f\u009b\u2028\u202e"\\' };
  const line = escapeJson(JSON.stringify(v));
  // eslint-disable-next-line no-control-regex
  assert.not.ok(/[\u007f-\u009f\u2028\u202e]/.test(line));
  assert.equal(JSON.parse(line), v);
});

test('logValue: bare when plain, quoted when it has space, quote, =, nothing or a control', () => {
  assert.is(logValue('ok'), 'ok');
  assert.is(logValue('a=b'), '"a=b"');
  assert.is(logValue(''), '""');
  assert.is(logValue('\x1b'), '"\\x1b"');
});

test.run();
