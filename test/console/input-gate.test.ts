import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createInputGate } from '../../agent/console/input-gate.js';
import { createTokenBucket } from '../../agent/console/rate-limit.js';

function gate(capacity = 10_000, maxLineBytes = 32) {
  let t = 0;
  const g = createInputGate({ budget: createTokenBucket({ capacity, perSecond: 100, now: () => t }), maxLineBytes });
  return { g, pass: (s: string) => g.filter(Buffer.from(s, 'latin1')).toString('latin1'), advance: (ms: number) => { t += ms; } };
}

test('printable ASCII and the line-editing keys pass (CR, LF, BS, DEL, ESC sequences, ^A ^E ^U ^W ^C)', () => {
  const { pass } = gate();
  const keys = 'help\r\n\x08\x7f\x1b[A\x01\x05\x15\x17\x03';
  assert.is(pass(keys), keys);
});

test('NUL, Ctrl-D, Ctrl-Z, other controls and bytes >= 0x80 are dropped and counted', () => {
  const { g, pass } = gate();
  assert.is(pass('he\x00l\x04p\x1a\x07\x80\xff\x9b\r'), 'help\r');
  assert.is(g.stats.control, 7);
  assert.is(g.stats.passed, 5);
});

test('an overlong line is cut at maxLineBytes until its end; the next line is whole', () => {
  const { g, pass } = gate(100, 32);
  const out = pass(`${'x'.repeat(10_240)}\rhelp\r`);
  assert.is(out, `${'x'.repeat(32)}\rhelp\r`);
  assert.is(g.stats.overLength, 10_240 - 32);
  assert.is(g.stats.overBudget, 0, 'the cut part costs no budget');
  assert.is(pass('\x03').length, 1, 'Ctrl-C always passes');
});

test('input beyond the byte budget is dropped until the budget refills; line ends always pass', () => {
  const { g, pass, advance } = gate(10, 32);
  assert.is(pass('abcdefghijklmnop\r'), 'abcdefghij\r');
  assert.is(g.stats.overBudget, 6);
  advance(50);
  assert.is(pass('xyz'), 'xyz', '100 bytes/s: 5 bytes after 50 ms');
  assert.is(pass('12345'), '12', 'two left of the five');
});

test.run();
