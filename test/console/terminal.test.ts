// The readline session on its own (no input gate in front): what a terminal
// gets back for what is typed, and that no key ends the session.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTerminalSession } from '../../agent/console/terminal.js';
import { waitFor } from '../helpers.js';

// eslint-disable-next-line no-control-regex
const strip = (s: string): string => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

function setup() {
  let out = '';
  const lines: string[] = [];
  let interrupts = 0;
  const t = createTerminalSession({
    prompt: 'dev> ',
    write: (s) => { out += s; },
    onLine: (l) => { lines.push(l); t.print([`you said ${l}`]); t.prompt(); },
    onInterrupt: () => { interrupts++; t.prompt(); },
  });
  const type = async (s: string, until: () => boolean): Promise<void> => {
    t.input(Buffer.from(s, 'latin1'));
    await waitFor(until, 2000, `after typing ${JSON.stringify(s)}; output:\n${JSON.stringify(out)}`);
  };
  return { t, lines, type, out: () => out, text: () => strip(out), interrupts: () => interrupts };
}

test('echo, backspace (DEL and BS), CR, LF and CRLF each end one line; output lines end in CRLF', async () => {
  const s = setup();
  s.t.prompt();
  await s.type('helq\x7fp\r', () => s.lines.length === 1);
  await s.type('ab\x08c\n', () => s.lines.length === 2);
  await s.type('x\r\ny\r\n', () => s.lines.length === 4);
  assert.equal(s.lines, ['help', 'ac', 'x', 'y'], 'CRLF is one line end, not two');
  assert.ok(s.text().includes('dev> help\r\nyou said help\r\ndev> '), JSON.stringify(s.text()));
  assert.not.match(s.out(), /[^\r]\n/, 'every newline written is CRLF');
  s.t.close();
});

test('up arrow recalls the previous line (history)', async () => {
  const s = setup();
  await s.type('status\r', () => s.lines.length === 1);
  await s.type('\x1b[A\r', () => s.lines.length === 2);
  assert.equal(s.lines, ['status', 'status']);
  s.t.close();
});

test('Ctrl-C cancels the line typed so far and gives a fresh prompt; the session goes on', async () => {
  const s = setup();
  await s.type('stat\x03', () => s.interrupts() === 1);
  assert.ok(s.text().endsWith('stat^C\r\ndev> '), JSON.stringify(s.text()));
  await s.type('help\r', () => s.lines.length === 1);
  assert.equal(s.lines, ['help'], 'the cancelled "stat" is not part of the next line');
  s.t.close();
});

test('Ctrl-D on an empty line (readline closes its interface) changes nothing: a new interface answers, history kept', async () => {
  const s = setup();
  await s.type('buffer\r', () => s.lines.length === 1);
  const before = s.text().length;
  s.t.input(Buffer.from('\x04'));
  await waitFor(() => s.text().slice(before).includes('dev> '), 2000, 'a prompt after Ctrl-D');
  await s.type('\x1b[A\r', () => s.lines.length === 2);
  assert.equal(s.lines, ['buffer', 'buffer'], 'the new interface has the old history');
  s.t.close();
});

test('Ctrl-Z does not stop the process: readline gets a SIGTSTP listener', async () => {
  const s = setup();
  let stopped = false;
  const onTstp = (): void => { stopped = true; };
  process.on('SIGTSTP', onTstp);
  try {
    s.t.input(Buffer.from('\x1a'));
    await s.type('key\r', () => s.lines.length === 1);
    assert.not.ok(stopped, 'no SIGTSTP was sent to this process');
    assert.equal(s.lines, ['key']);
  } finally {
    process.off('SIGTSTP', onTstp);
    s.t.close();
  }
});

test('after close nothing is written and input is ignored', async () => {
  const s = setup();
  s.t.close();
  const n = s.out().length;
  s.t.input(Buffer.from('help\r'));
  s.t.print(['late']);
  s.t.prompt();
  await new Promise((r) => setImmediate(r));
  assert.is(s.out().length, n);
  assert.equal(s.lines, []);
});

test.run();
