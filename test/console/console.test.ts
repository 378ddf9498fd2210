// The console part on a port double with a manual clock: sessions per open,
// reopening after an unplug, the source-port guard, rate limits, monitor.
// (test/integration/console.test.ts drives the real one through a pty.)

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createManualClock } from '../../hal/clock.js';
import { createPortDouble, createSerialDoubleFactory, type PortDouble } from '../../hal/serial-double.js';
import { createConsole } from '../../agent/console/console.js';
import { createPortTap } from '../../agent/console/port-tap.js';
import { createCounters } from '../../agent/counters.js';
import { silentLogger } from '../../agent/log.js';
import { waitFor } from '../helpers.js';
import { fakeViews } from './fixtures.js';

// eslint-disable-next-line no-control-regex
const strip = (s: string): string => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
const PROMPT = 'pump-7> ';

async function setup(opts: { consolePath?: string; sources?: Array<{ id: string; type: string; port: string }> } = {}) {
  const clock = createManualClock();
  const counters = createCounters();
  const port: PortDouble = createPortDouble({ path: opts.consolePath ?? '/dev/ttyCONSOLE' });
  const fieldSerial = createSerialDoubleFactory();
  const tap = createPortTap(fieldSerial);
  const views = fakeViews({ tap, ...(opts.sources ? { sources: opts.sources } : {}) });
  const part = createConsole({ port, baudRate: 115200, views, clock, log: silentLogger, counters });
  const text = (): string => strip(port.written.map((b) => Buffer.from(b).toString('utf8')).join(''));
  const rawOut = (): string => port.written.map((b) => Buffer.from(b).toString('utf8')).join('');
  const type = (s: string): void => port.emitData(Buffer.from(s, 'latin1'));
  /** Types `line` + CR and waits for the next prompt after its answer. */
  const ask = async (line: string): Promise<string> => {
    const from = text().length;
    type(`${line}\r`);
    await waitFor(() => { const t = text().slice(from); return t.includes('\r\n') && t.endsWith(PROMPT); }, 3000, `answer to ${line}: ${JSON.stringify(text().slice(from))}`);
    return text().slice(from);
  };
  return { clock, counters, port, part, views, fieldSerial, tap, text, rawOut, type, ask };
}

test('serves a session on open: banner, prompt, answers in CRLF lines, prompt after each answer and after an empty line', async () => {
  const s = await setup();
  await s.part.start();
  assert.ok(s.port.isOpen);
  assert.ok(s.text().startsWith('Tapwire console on pump-7 (read-only diagnostics). Type help.\r\npump-7> '), JSON.stringify(s.text()));
  const a = await s.ask('uplink');
  assert.ok(a.includes('state: connected\r\nbroker: mqtts://broker.example.net:8883\r\n'), a);
  const e = await s.ask('');
  assert.is(e.replace(/^pump-7> /, ''), `\r\n${PROMPT}`, 'an empty line: just the prompt again');
  assert.not.match(s.rawOut(), /[^\r]\n/, 'CRLF only');
  assert.is(s.counters.get('console.commands'), 2);
  await s.part.stop();
  assert.not.ok(s.port.isOpen);
});

test('the first key after a long silence redraws the prompt (the terminal may have been attached since)', async () => {
  const s = await setup();
  await s.part.start();
  const from = s.text().length;
  await s.clock.advance(60_000);
  s.type('h');
  await waitFor(() => s.text().slice(from).includes(`${PROMPT}h`), 2000, 'prompt redrawn before the echo');
  await s.part.stop();
});

test('the cable pulled and plugged back: the port is reopened with backoff and a new session answers', async () => {
  const s = await setup();
  await s.part.start();
  await s.ask('status');
  s.port.unplug();
  assert.not.ok(s.port.isOpen);
  assert.is(s.counters.get('console.port_lost'), 1);
  s.port.failOpen = 'No such file or directory';
  await s.clock.advance(1000);
  assert.is(s.counters.get('console.open_failures'), 1, 'still unplugged at the first retry');
  await s.clock.advance(2000);
  assert.ok(s.port.isOpen, 'reopened at the next retry');
  const a = await s.ask('key');
  assert.ok(a.includes('fingerprint: 0011223344556677'));
  await s.part.stop();
});

test('the console refuses to open a device a source reads (symlinks resolved), and says why', async () => {
  const s = await setup({ consolePath: '/dev/ttyUSB0' });
  await s.part.start();
  assert.not.ok(s.port.isOpen, 'never opened');
  assert.is(s.port.written.length, 0, 'not a byte written to the field port');
  assert.is(s.counters.get('console.open_failures'), 1);
  await s.clock.advance(1000);
  assert.not.ok(s.port.isOpen, 'nor on a retry');
  await s.part.stop();
});

test('a burst of 500 lines: the command budget is answered, the flood is told once, and the console answers again after it', async () => {
  const s = await setup();
  await s.part.start();
  const from = s.text().length;
  for (let i = 0; i < 50; i++) s.type('sh\r'.repeat(10)); // 500 lines, 1500 bytes: within the byte budget
  await waitFor(() => s.counters.get('console.lines_ignored') + s.counters.get('console.commands') === 500, 5000, 'all 500 lines seen');
  const answered = s.counters.get('console.commands');
  assert.is(answered, 20, 'the burst capacity');
  assert.is((s.text().slice(from).match(/unknown command: sh/g) ?? []).length, 20);
  assert.is((s.text().match(/input too fast: lines are ignored/g) ?? []).length, 1, 'told once, not 480 times');
  await s.clock.advance(5000);
  const a = await s.ask('key');
  assert.ok(a.includes('(480 lines ignored: input too fast)'), a);
  assert.ok(a.includes('fingerprint: '), a);
  await s.part.stop();
});

test('binary noise, NULs and a 10 KB line: nothing crashes, the long line is refused, the next command answers', async () => {
  const s = await setup();
  await s.part.start();
  const noise = Buffer.alloc(3000);
  let x = 0x2545f491;
  for (let i = 0; i < noise.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; noise[i] = x & 0xff; }
  s.port.emitData(noise);
  s.port.emitData(Buffer.alloc(200)); // NULs
  await s.clock.advance(10_000);
  s.type('\x03'); // whatever the noise left on the line
  await s.clock.advance(10_000);
  const long = await s.ask('x'.repeat(10_240));
  assert.ok(long.includes('line too long (more than 256 characters): ignored'), long.slice(-300));
  await s.clock.advance(10_000);
  const a = await s.ask('status');
  assert.ok(a.includes('device: pump-7'), a);
  // eslint-disable-next-line no-control-regex
  assert.not.match(s.text(), /[\x00\x04\x1a\x80-\x9f]/, 'no NUL, ^D, ^Z or C1 byte was echoed');
  await s.part.stop();
});

test('monitor: hex + ASCII of what the source port receives, ended by the time limit', async () => {
  const s = await setup();
  await s.part.start();
  const field = s.tap.serial.openReadOnly({ path: '/dev/ttyUSB0', baudRate: 4800 });
  await field.open();
  s.type('monitor wx 2\r');
  await waitFor(() => s.text().includes('any key stops'), 2000, 'monitor header');
  s.fieldSerial.ports.get('/dev/ttyUSB0')!.emitData('temp=21.5\x1b[2J\r\n');
  await s.clock.advance(300);
  await waitFor(() => s.text().includes('|temp=21.5.[2J..|'), 2000, 'dump line');
  assert.ok(s.text().includes('00000000  74 65 6d 70 3d 32 31 2e  35 1b 5b 32 4a 0d 0a'), s.text());
  await s.clock.advance(2000);
  await waitFor(() => s.text().endsWith(`monitor ended: 2.0 s, 15 bytes received\r\n${PROMPT}`), 2000, 'end of the monitor and the prompt');
  s.fieldSerial.ports.get('/dev/ttyUSB0')!.emitData('after\n');
  await s.clock.advance(1000);
  assert.not.ok(s.text().includes('|after'), 'nothing after the end');
  await s.part.stop();
});

test('monitor: any key stops it (the key is not typed), and Ctrl-C does too', async () => {
  const s = await setup();
  await s.part.start();
  for (const key of ['q', '\x03']) {
    const from = s.text().length;
    s.type('monitor wx 60\r');
    await waitFor(() => s.text().slice(from).includes('any key stops'), 2000, 'monitor header');
    s.type(key);
    await waitFor(() => /monitor stopped \(key pressed\): .* 0 bytes received\r\npump-7> $/.test(s.text().slice(from)), 2000, 'stopped');
  }
  const a = await s.ask('help');
  assert.ok(a.startsWith('help\r\n'), `the stopping keys did not end up on the line: ${JSON.stringify(a.slice(0, 20))}`);
  await s.part.stop();
});

test('monitor shows at most what the console can carry and says how much it left out', async () => {
  const s = await setup();
  await s.part.start();
  const field = s.tap.serial.openReadOnly({ path: '/dev/ttyUSB0', baudRate: 115200 });
  await field.open();
  s.type('monitor wx 1\r');
  await waitFor(() => s.text().includes('any key stops'), 2000, 'monitor header');
  s.fieldSerial.ports.get('/dev/ttyUSB0')!.emitData(Buffer.alloc(20_000, 0x41));
  await s.clock.advance(1000);
  await waitFor(() => s.text().includes('monitor ended'), 2000, 'end');
  const dumped = (s.text().match(/\|A+\|/g) ?? []).length;
  assert.ok(dumped > 0 && dumped <= 20, `a bounded number of lines (115200 bd: 4 per tick): ${dumped}`);
  assert.match(s.text(), /bytes not shown \(the console is slower than the port\)/);
  assert.match(s.text(), /monitor ended: 1\.0 s, 20000 bytes received, \d+ not shown/);
  await s.part.stop();
});

test('output that cannot reach the port is bounded, not queued without end', async () => {
  const s = await setup();
  await s.part.start();
  let release: () => void = () => undefined;
  const blocked = new Promise<void>((r) => { release = r; });
  const realWrite = s.port.write.bind(s.port);
  s.port.write = async (d) => { await blocked; return realWrite(d); }; // a port that does not drain
  for (let i = 0; i < 50; i++) s.views.ring.push(`info agent ${'y'.repeat(380)} ${i}`);
  for (let i = 0; i < 20; i++) { s.type('log 50\r'); s.type('config\r'); s.type('help\r'); }
  await waitFor(() => s.counters.get('console.commands') === 20, 3000, 'commands run');
  assert.ok(s.counters.get('console.output_dropped_bytes') > 0, 'output beyond the bound was dropped (and counted)');
  release();
  await s.part.stop();
});

test('writes stuck on a port that went away do not hold back the next session', async () => {
  const s = await setup();
  await s.part.start();
  const realWrite = s.port.write.bind(s.port);
  s.port.write = () => new Promise<void>(() => undefined); // never drains, never fails
  for (let i = 0; i < 50; i++) s.views.ring.push(`info agent ${'z'.repeat(380)} ${i}`);
  for (let i = 0; i < 10; i++) s.type('log 50\r');
  await waitFor(() => s.counters.get('console.output_dropped_bytes') > 0, 3000, 'the output bound reached');
  s.port.unplug();
  s.port.write = realWrite;
  await s.clock.advance(1000);
  assert.ok(s.port.isOpen, 'plugged back in');
  const dropped = s.counters.get('console.output_dropped_bytes');
  await s.clock.advance(10_000); // the command budget refills
  const a = await s.ask('log 50');
  assert.ok(a.includes(` 0\r\n`) && a.includes(` 49\r\n`), 'the whole answer arrives in the new session');
  assert.is(s.counters.get('console.output_dropped_bytes'), dropped, 'nothing of it was dropped');
  await s.part.stop();
});

test.run();
