// agent/sources/port-handover: a read-only port handed from one reader to the
// next across a held swap keeps every byte, in order; what nobody takes is
// closed and counted; outside a swap a close is a close.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCounters } from '../../agent/counters.js';
import { silentLogger } from '../../agent/log.js';
import { createPortHandover } from '../../agent/sources/port-handover.js';
import { createSerialDoubleFactory } from '../../hal/serial-double.js';

const PATH = '/dev/ttyS9';
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup() {
  const doubles = createSerialDoubleFactory();
  const counters = createCounters();
  const h = createPortHandover(doubles, { counters, log: silentLogger });
  const field = (s: string): void => doubles.ports.get(PATH)!.emitData(s);
  const reader = (opts = { path: PATH, baudRate: 9600 }) => {
    const port = h.serial.openReadOnly(opts);
    const got: string[] = [];
    port.onData((c) => got.push(c.toString('latin1')));
    return { port, text: () => got.join('') };
  };
  return { doubles, counters, h, field, reader };
}

test('held swap: what arrives between two readers, and the half line the first gave back, go to the second first, in order', async () => {
  const t = setup();
  const a = t.reader();
  await a.port.open();
  t.field('n=1\nn=');
  t.h.hold();
  await a.port.close({ unconsumed: Buffer.from('n=') });
  assert.ok(t.doubles.ports.get(PATH)!.isOpen, 'the device stays open');
  t.field('2\nn=3\n');
  const b = t.reader();
  await b.port.open();
  t.field('n=4\n'); // live bytes right after the handover wait for the handed-over ones
  await tick();
  await t.h.release();
  assert.is(a.text(), 'n=1\nn=');
  assert.is(b.text(), 'n=2\nn=3\nn=4\n');
  assert.is(t.counters.get('serial.handover_bytes'), 'n=2\nn=3\n'.length);
  assert.is(t.counters.get('serial.handover_lost_bytes'), 0);
});

test('a reader that stopped inside a line it was discarding: the rest of that line is dropped, and counted', async () => {
  const t = setup();
  const a = t.reader();
  await a.port.open();
  t.h.hold();
  await a.port.close({ dropThrough: Buffer.from('\n') });
  t.field('tail of a long line\nn=5\n');
  const b = t.reader();
  await b.port.open();
  await tick();
  assert.is(b.text(), 'n=5\n');
  assert.is(t.counters.get('serial.handover_dropped_bytes'), 'tail of a long line\n'.length);
});

test('a port nobody takes is closed at release and its bytes are counted as lost; other settings mean a new open, also counted', async () => {
  const t = setup();
  const a = t.reader();
  await a.port.open();
  t.h.hold();
  await a.port.close();
  t.field('abc');
  await t.h.release();
  assert.not.ok(t.doubles.ports.get(PATH)!.isOpen);
  assert.is(t.counters.get('serial.handover_lost_bytes'), 3);

  const c = t.reader();
  await c.port.open();
  t.h.hold();
  await c.port.close();
  t.field('xy');
  const d = t.reader({ path: PATH, baudRate: 19200 });
  await d.port.open();
  await tick();
  assert.is(d.text(), '');
  assert.is(t.counters.get('serial.handover_lost_bytes'), 5);
  assert.ok(d.port.isOpen);
  await t.h.release();
});

test('outside a swap a close closes the device; reopening works; a second reader of an open port is refused', async () => {
  const t = setup();
  const a = t.reader();
  await a.port.open();
  await a.port.close({ unconsumed: Buffer.from('x') });
  assert.not.ok(t.doubles.ports.get(PATH)!.isOpen);
  await a.port.open();
  t.field('ok\n');
  assert.is(a.text(), 'ok\n');
  const b = t.reader();
  try {
    await b.port.open();
    assert.unreachable('a second reader');
  } catch (err) {
    assert.match((err as Error).message, 'already open');
  }
});

test('an unplug while held loses what was held (counted); the next reader opens the device anew', async () => {
  const t = setup();
  const a = t.reader();
  await a.port.open();
  t.h.hold();
  await a.port.close();
  t.field('12345');
  t.doubles.ports.get(PATH)!.unplug();
  assert.is(t.counters.get('serial.handover_lost_bytes'), 5);
  const b = t.reader();
  await b.port.open();
  t.field('after\n');
  assert.is(b.text(), 'after\n');
  await t.h.release();
});

test.run();
