import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createManualClock } from '../../hal/clock.js';
import { createSerialDoubleFactory } from '../../hal/serial-double.js';
import { createCounters } from '../../agent/counters.js';
import { silentLogger } from '../../agent/log.js';
import type { Reading } from '../../agent/reading.js';
import { createLinesSource } from '../../agent/sources/lines/source.js';
import type { LinesSourceConfig } from '../../agent/sources/lines/schema.js';

function setup(extra: Partial<LinesSourceConfig> = {}) {
  const serial = createSerialDoubleFactory();
  const clock = createManualClock(1_800_000_000_000);
  const counters = createCounters();
  const source = createLinesSource({
    id: 'env', type: 'lines', port: { path: '/dev/ttyT0', baudRate: 9600 },
    decoder: { type: 'kv', units: { temp: 'Cel' } }, ...extra,
  }, { serial, clock, log: silentLogger, counters });
  const readings: Reading[] = [];
  return { serial, clock, counters, source, readings, port: () => serial.ports.get('/dev/ttyT0')! };
}

test('lines become readings named <source id>:<field> with units, split across chunks', async () => {
  const s = setup();
  await s.source.start((r) => s.readings.push(r));
  s.port().emitData('temp=21.5 hu');
  assert.is(s.readings.length, 0, 'no reading before the line is complete');
  s.port().emitData('m=40\r\ntemp=22\n');
  assert.equal(s.readings.map((r) => [r.name, r.v, r.unit]), [
    ['env:temp', 21.5, 'Cel'], ['env:hum', 40, undefined], ['env:temp', 22, 'Cel'],
  ]);
  assert.is(s.readings[0]!.time, 1_800_000_000);
  assert.is(s.counters.get('source.env.lines'), 2);
  assert.ok(s.source.health().open);
  await s.source.stop();
});

test('a malformed line is counted and skipped; the next line still decodes', async () => {
  const s = setup();
  await s.source.start((r) => s.readings.push(r));
  s.port().emitData('garbage without equals\n\x00\xff\x01=\ntemp=1\n');
  assert.is(s.counters.get('source.env.bad_lines'), 2);
  assert.equal(s.readings.map((r) => r.v), [1]);
  await s.source.stop();
});

test('garbage without newlines cannot grow memory: overlong line dropped, counted, stream resyncs', async () => {
  const s = setup({ maxLineBytes: 64 });
  await s.source.start((r) => s.readings.push(r));
  for (let i = 0; i < 100; i++) s.port().emitData('x'.repeat(50));
  s.port().emitData('tail-of-garbage\ntemp=5\n');
  assert.ok(s.counters.get('source.env.long_lines') >= 1);
  assert.equal(s.readings.map((r) => r.v), [5], 'only the clean line after the garbage');
  await s.source.stop();
});

test('an unplugged port is reopened with backoff and data flows again', async () => {
  const s = setup();
  await s.source.start((r) => s.readings.push(r));
  s.port().failOpen = 'No such file or directory';
  s.port().unplug();
  assert.not.ok(s.source.health().open);
  assert.is(s.counters.get('source.env.port_lost'), 1);
  await s.clock.advance(1000); // first retry fails (failOpen)
  assert.is(s.counters.get('source.env.open_failures'), 1);
  assert.not.ok(s.source.health().open);
  await s.clock.advance(2000); // second retry succeeds
  assert.ok(s.source.health().open);
  s.port().emitData('temp=7\n');
  assert.equal(s.readings.map((r) => r.v), [7]);
  await s.source.stop();
});

test('a port missing at start does not fail start(): the source retries until it appears', async () => {
  const s = setup();
  s.serial.openReadWrite({ path: '/dev/ttyT0', baudRate: 9600 }); // creates the double before start
  s.port().failOpen = 'No such file or directory';
  await s.source.start((r) => s.readings.push(r));
  assert.not.ok(s.source.health().open);
  await s.clock.advance(1000);
  assert.ok(s.source.health().open);
  await s.source.stop();
});

test.run();
