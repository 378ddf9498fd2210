// agent/log: one line per event; text from outside (a bad serial line, a
// broker's error) never reaches the log with raw control bytes.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../agent/log.js';

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function capture(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, log: createLogger('source:weather', { level: 'debug', write: (l) => lines.push(l) }) };
}

test('a bad-line warning quoting NUL and ESC has neither raw: both escaped, visible', () => {
  const { lines, log } = capture();
  log.warn('bad line', { reason: 'no "=" in field', line: 'temp=4\0\0\0hum=5\0\x1b[31mRED' });
  assert.is(lines.length, 1);
  assert.not.ok(RAW_CONTROL.test(lines[0]!), JSON.stringify(lines[0]));
  assert.ok(lines[0]!.includes('line="temp=4\\x00\\x00\\x00hum=5\\x00\\x1b[31mRED"'), lines[0]);
});

test('a value without spaces but with control bytes is quoted and escaped, not written bare', () => {
  const { lines, log } = capture();
  log.info('x', { v: '\x1b[2J\u009b' });
  assert.is(lines[0], 'info source:weather x v="\\x1b[2J\\x9b"');
});

test('message and component are escaped too (a message may quote a broker error)', () => {
  const lines: string[] = [];
  const log = createLogger('source:\x1bx', { write: (l) => lines.push(l) });
  log.error('refused: \x07\r\nfake line');
  assert.is(lines[0], 'error source:\\x1bx refused: \\x07\\x0d\\x0afake line');
});

test('plain values stay bare; spaces and quotes are quoted as before', () => {
  const { lines, log } = capture();
  log.info('m', { a: 'ok', n: 3, b: true, s: 'two words', q: 'say "hi"', e: '', p: 'a\\b', u: undefined });
  assert.is(lines[0], 'info source:weather m a=ok n=3 b=true s="two words" q="say \\"hi\\"" e="" p=a\\b');
});

test.run();
