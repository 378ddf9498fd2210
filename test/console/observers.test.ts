// What the agent lets the console observe: last values, the log ring and the
// port tap (bytes and errors of the source ports, the port itself untouched).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSerialDoubleFactory } from '../../hal/serial-double.js';
import { createLastValues, HISTORY_LENGTH } from '../../agent/console/last-values.js';
import { createLogRing, writeAndKeep } from '../../agent/console/log-ring.js';
import { createPortTap } from '../../agent/console/port-tap.js';

test('last values: latest value, unit and time per field; numeric history bounded and in order; per-source counts', () => {
  const v = createLastValues();
  for (let i = 0; i < HISTORY_LENGTH + 5; i++) v.record({ name: 'wx:temp', time: 100 + i, v: i, unit: 'Cel' });
  v.record({ name: 'wx:note', time: 200, vs: 'ok' });
  v.record({ name: 'meter:on', time: 201, vb: false });
  const temp = v.fields('wx').find((f) => f.name === 'wx:temp')!;
  assert.is(temp.value, HISTORY_LENGTH + 4);
  assert.is(temp.unit, 'Cel');
  assert.is(temp.at, (100 + HISTORY_LENGTH + 4) * 1000);
  assert.equal(temp.recent, Array.from({ length: HISTORY_LENGTH }, (_, i) => i + 5));
  assert.equal(v.fields('wx').map((f) => f.name), ['wx:note', 'wx:temp']);
  assert.equal(v.fields().map((f) => f.name), ['meter:on', 'wx:note', 'wx:temp']);
  assert.equal(v.fields('meter')[0]!.value, false);
  assert.is(v.readings('wx'), HISTORY_LENGTH + 6);
  assert.is(v.readings('nope'), 0);
});

test('last values: the field table is bounded; extra fields are counted, not stored', () => {
  const v = createLastValues();
  for (let i = 0; i < 600; i++) v.record({ name: `s:f${i}`, time: 1, v: i });
  assert.is(v.fields().length, 512);
  assert.is(v.untracked, 88);
  assert.is(v.readings('s'), 600);
});

test('log ring: the last n lines in order, bounded in lines and line length; the tee still writes', () => {
  const written: string[] = [];
  const ring = createLogRing(3);
  const w = writeAndKeep(ring, (l) => written.push(l));
  for (const l of ['a', 'b', 'c', 'd']) w(l);
  assert.equal(ring.last(10), ['b', 'c', 'd']);
  assert.equal(ring.last(2), ['c', 'd']);
  assert.equal(ring.last(0), []);
  assert.equal(written, ['a', 'b', 'c', 'd']);
  w('x'.repeat(1000));
  assert.is(ring.last(1)[0]!.length, 400);
});

test('port tap: a read-only port stays without write; bytes reach watchers only while they watch; a throwing watcher harms nothing', async () => {
  const serial = createSerialDoubleFactory();
  const tap = createPortTap(serial);
  const port = tap.serial.openReadOnly({ path: '/dev/ttyUSB0', baudRate: 9600 });
  assert.not.ok('write' in port, 'a passive source still gets a port without write');
  const seenBySource: string[] = [];
  port.onData((c) => seenBySource.push(c.toString()));
  await port.open();
  const watched: string[] = [];
  tap.watch('/dev/ttyUSB0', () => { throw new Error('bad watcher'); });
  const stop = tap.watch('/dev/ttyUSB0', (c) => watched.push(Buffer.from(c).toString()));
  serial.ports.get('/dev/ttyUSB0')!.emitData('abc');
  stop();
  serial.ports.get('/dev/ttyUSB0')!.emitData('def');
  assert.equal(seenBySource, ['abc', 'def'], 'the source sees everything, a throwing watcher notwithstanding');
  assert.equal(watched, ['abc']);
});

test('port tap: the Modbus master keeps its write; open failures and losses are kept as the reason, cleared on open', async () => {
  const serial = createSerialDoubleFactory();
  const tap = createPortTap(serial);
  const port = tap.serial.openReadWrite({ path: '/dev/ttyAMA0', baudRate: 9600 });
  const double = serial.ports.get('/dev/ttyAMA0')!;
  double.failOpen = 'No such file or directory';
  await port.open().then(() => assert.unreachable('open should fail'), () => undefined);
  assert.is(tap.error('/dev/ttyAMA0'), 'cannot open /dev/ttyAMA0: No such file or directory');
  await port.open();
  assert.is(tap.error('/dev/ttyAMA0'), undefined);
  await port.write(Uint8Array.from([1, 4, 0, 0, 0, 2]));
  assert.is(double.written.length, 1, 'writes go through to the port');
  port.onClose(() => undefined);
  double.unplug();
  assert.is(tap.error('/dev/ttyAMA0'), 'port lost: /dev/ttyAMA0 unplugged');
});

test.run();
