// The passive sniffer on the serial double and a manual clock: traffic of
// another master is played into the port; readings come out, nothing goes in.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RegisterConfig } from '../../../agent/sources/modbus/schema.js';
import type { SniffDeviceConfig } from '../../../agent/sources/modbus-sniff/schema.js';
import { createCounters } from '../../../agent/counters.js';
import { silentLogger } from '../../../agent/log.js';
import type { Reading } from '../../../agent/reading.js';
import { createModbusSniffSource } from '../../../agent/sources/modbus-sniff/source.js';
import { createManualClock } from '../../../hal/clock.js';
import { createSerialDoubleFactory } from '../../../hal/serial-double.js';
import { drive, withCrc } from './fake-slave.js';
import { HOSTILE_DEVICES, hostileCapture, registerName, truth, UNITS, ADDRESSES } from './hostile-bus.js';

const PATH = '/dev/ttyTAP';
const reg = (name: string, fc: 1 | 2 | 3 | 4, address: number, type: string, extra: Partial<RegisterConfig> = {}): RegisterConfig =>
  ({ name, fc, address, type, ...extra }) as RegisterConfig;
const req = (unit: number, fc: number, address: number, quantity: number): Buffer =>
  withCrc([unit, fc, address >> 8, address & 0xff, quantity >> 8, quantity & 0xff]);
const regs = (unit: number, fc: number, ...words: number[]): Buffer =>
  withCrc([unit, fc, words.length * 2, ...words.flatMap((w) => [w >> 8, w & 0xff])]);

const DEVICES: SniffDeviceConfig[] = [
  { unit: 1, registers: [reg('voltage', 4, 0, 'f32', { unit: 'V' }), reg('current', 4, 2, 'u16', { scale: 0.01, unit: 'A' }), reg('far', 4, 200, 'u16')] },
  { unit: 2, registers: [reg('level', 3, 10, 'i16', { unit: 'm', scale: 0.001 }), reg('pump', 1, 3, 'bool')] },
];

function setup(devices: SniffDeviceConfig[] = DEVICES) {
  const clock = createManualClock();
  const serial = createSerialDoubleFactory();
  const counters = createCounters();
  const src = createModbusSniffSource({ id: 'tap', type: 'modbus-sniff', port: { path: PATH, baudRate: 19200 }, devices }, { serial, clock, log: silentLogger, counters });
  const readings: Reading[] = [];
  return {
    clock, counters, src, readings, serial,
    port: () => serial.ports.get(PATH)!,
    start: () => src.start((r) => readings.push(r)),
    /** The field side: bytes on the bus, then `gapMs` of silence. */
    async bus(bytes: Buffer, gapMs = 5): Promise<void> { serial.ports.get(PATH)!.emitData(bytes); await drive(clock, gapMs); },
  };
}

const values = (rs: Reading[]): Array<[string, number | boolean | string | undefined]> => rs.map((r) => [r.name, r.v ?? r.vb ?? r.vs]);

test('a request and its response become readings with names, units and the response time', async () => {
  const t = setup();
  await t.start();
  await t.bus(req(1, 4, 0, 3));
  await t.bus(regs(1, 4, 0x4366, 0x8000, 1234));
  await t.src.stop();
  assert.equal(t.readings, [
    { name: 'tap:voltage', time: 1_700_000_000.005, v: 230.5, unit: 'V' },
    { name: 'tap:current', time: 1_700_000_000.005, v: 12.34, unit: 'A' },
  ]);
  assert.is(t.counters.get('source.tap.frames'), 2);
});

test('the port is opened read-only and not one byte is written', async () => {
  const t = setup();
  await t.start();
  await t.bus(req(2, 3, 10, 1));
  await t.bus(regs(2, 3, 0xfc18));
  await t.src.stop();
  assert.equal(values(t.readings), [['tap:level', -1]]);
  assert.is(t.port().written.length, 0);
});

test('back-to-back frames in one chunk and frames split over many chunks decode alike', async () => {
  const t = setup();
  await t.start();
  const traffic = Buffer.concat([req(1, 4, 2, 1), regs(1, 4, 500), req(2, 1, 0, 8), withCrc([2, 1, 1, 0b0000_1000])]);
  await t.bus(traffic, 30);
  for (const b of traffic) t.port().emitData(Buffer.from([b]));
  await drive(t.clock, 30);
  await t.src.stop();
  assert.equal(values(t.readings), [['tap:current', 5], ['tap:pump', true], ['tap:current', 5], ['tap:pump', true]]);
});

test('only registers inside the requested range, of the requested unit and fc, are emitted', async () => {
  const t = setup();
  await t.start();
  await t.bus(req(1, 4, 1, 2));          // covers current (2) but only half of voltage (0-1)
  await t.bus(regs(1, 4, 0x8000, 77));
  await t.bus(req(1, 3, 0, 3));          // holding registers: nothing configured for fc 3 on unit 1
  await t.bus(regs(1, 3, 1, 2, 3));
  await t.bus(req(9, 4, 0, 3));          // unit not configured
  await t.bus(regs(9, 4, 1, 2, 3));
  await t.src.stop();
  assert.equal(values(t.readings), [['tap:current', 0.77]]);
  assert.is(t.counters.get('source.tap.unpaired'), 0);
});

test('garbage, truncated frames and CRC errors are counted, never fatal, and decoding resumes', async () => {
  const t = setup();
  await t.start();
  const bad = regs(1, 4, 0x4366, 0x8000, 1);
  bad[4]! ^= 0x01;
  await t.bus(Buffer.from([0xff, 0x00, 0xfe, 0x13]), 30);   // line noise
  await t.bus(req(1, 4, 0, 3));
  await t.bus(bad, 30);                                      // answer with a bit error
  await t.bus(req(1, 4, 0, 3).subarray(0, 5), 30);           // master cut off mid-frame
  await t.bus(req(1, 4, 0, 3));
  await t.bus(regs(1, 4, 0x4366, 0x8000, 2));
  await t.src.stop();
  assert.equal(values(t.readings), [['tap:voltage', 230.5], ['tap:current', 0.02]]);
  assert.is(t.counters.get('source.tap.crc_errors'), 1);
  assert.is(t.counters.get('source.tap.garbage'), 2);
  assert.is(t.counters.get('source.tap.garbage_bytes'), 4 + 5);
  // the corrupted answer was the first request's answer, garbled: nothing left waiting, nothing unpaired
  assert.is(t.counters.get('source.tap.unpaired'), 0);
  assert.is(t.counters.get('source.tap.unanswered'), 0);
  const d = t.src.health().detail as Record<string, number>;
  assert.is(d.crc_errors, 1);
  assert.is(d.requests, 2);
});

test('write requests on the bus are counted and never produce readings', async () => {
  const t = setup();
  await t.start();
  const fc6 = withCrc([2, 6, 0, 10, 0x12, 0x34]);
  await t.bus(fc6);
  await t.bus(fc6);
  const fc16 = withCrc([2, 16, 0, 10, 0, 1, 2, 0x12, 0x34]);
  await t.bus(fc16);
  await t.bus(withCrc([2, 16, 0, 10, 0, 1]));
  await t.src.stop();
  assert.is(t.counters.get('source.tap.writes_seen'), 4);
  assert.equal(t.readings, []);
  assert.is(t.port().written.length, 0);
});

test('exceptions pair with their request; answers without a request, or after a request whose predecessor may still be answered, are unpaired', async () => {
  const t = setup();
  await t.start();
  await t.bus(req(1, 4, 0, 3));
  await t.bus(withCrc([1, 0x84, 2]));
  await t.bus(regs(1, 4, 1, 2, 3));             // nobody asked
  await t.bus(req(2, 3, 10, 1));
  await t.bus(regs(1, 3, 5));                    // a different unit answers
  await t.bus(req(1, 4, 0, 3));
  await t.bus(req(1, 4, 0, 3));                  // the first one got no answer (yet)
  await t.bus(regs(1, 4, 0x4366, 0x8000, 100)); // its late answer, or the second's: nobody can tell
  assert.equal(t.readings, []);
  await drive(t.clock, 1000);                    // the response window passes: nothing is waiting any more
  await t.bus(req(1, 4, 0, 3));
  await t.bus(regs(1, 4, 0x4366, 0x8000, 100));
  await t.src.stop();
  assert.is(t.counters.get('source.tap.exceptions'), 1);
  assert.is(t.counters.get('source.tap.unpaired'), 3);
  assert.is(t.counters.get('source.tap.unanswered'), 2, 'the request of unit 2 and one of the two of unit 1');
  assert.equal(values(t.readings), [['tap:voltage', 230.5], ['tap:current', 1]]);
});

test('a coil response that also parses as a request is read as the response it is', async () => {
  const t = setup([{ unit: 2, registers: [reg('a', 1, 0, 'bool'), reg('b', 1, 17, 'bool')] }]);
  await t.start();
  // 20 coils -> 3 data bytes: "02 01 03 xx xx xx crc" is 8 bytes, like a request
  const resp = withCrc([2, 1, 3, 0x01, 0x00, 0x02]);
  await t.bus(Buffer.concat([req(2, 1, 0, 20), resp]));
  await t.src.stop();
  assert.equal(values(t.readings), [['tap:a', true], ['tap:b', true]]);
  assert.is(t.counters.get('source.tap.unpaired'), 0);
});

test('after an unplug the port is reopened and decoding starts clean', async () => {
  const t = setup();
  await t.start();
  await t.bus(req(1, 4, 0, 3).subarray(0, 4), 1);  // half a frame, then the cable goes
  t.port().unplug();
  assert.not.ok(t.src.health().open);
  await drive(t.clock, 1100, 10);
  assert.ok(t.src.health().open, 'reopened after 1 s');
  await t.bus(req(1, 4, 2, 1));
  await t.bus(regs(1, 4, 9));
  await t.src.stop();
  assert.equal(values(t.readings), [['tap:current', 0.09]]);
  assert.is(t.counters.get('source.tap.port_lost'), 1);
});

test('a port missing at start does not fail start(): the sniffer listens once it appears', async () => {
  const t = setup();
  t.serial.openReadWrite({ path: PATH, baudRate: 19200 }); // create the double to make it fail
  t.port().failOpen = 'No such file or directory';
  await t.start();
  assert.not.ok(t.src.health().open);
  assert.is(t.counters.get('source.tap.open_failures'), 1);
  await drive(t.clock, 1100, 10);
  assert.ok(t.src.health().open, 'opened on the retry');
  await t.bus(req(1, 4, 2, 1));
  await t.bus(regs(1, 4, 9));
  assert.equal(values(t.readings), [['tap:current', 0.09]]);
  await t.src.stop();
});

test('stop() cancels timers: nothing is decoded afterwards', async () => {
  const t = setup();
  await t.start();
  await t.bus(req(1, 4, 0, 3), 1);
  await t.src.stop();
  t.port().emitData(regs(1, 4, 0x4366, 0x8000, 1));
  await drive(t.clock, 100);
  assert.equal(t.readings, []);
  assert.not.ok(t.src.health().open);
});

test('a register map the protocol cannot read is refused when the source is created', () => {
  const ctx = { serial: createSerialDoubleFactory(), clock: createManualClock(), log: silentLogger, counters: createCounters() };
  assert.throws(
    () => createModbusSniffSource({ id: 'x', type: 'modbus-sniff', port: { path: PATH, baudRate: 9600 }, devices: [{ unit: 1, registers: [reg('c', 2, 0, 'u32')] }] }, ctx),
    /devices\[0\]\.registers\[0\]\.type/,
  );
});

// ── pairing: a response pairs only with the valid request right before it ──

test('request A unanswered, then request C with a bad CRC, then C\'s answer: not published as A\'s values', async () => {
  const t = setup();
  await t.start();
  await t.bus(req(1, 4, 0, 2), 40);
  const c = req(1, 4, 20, 2);
  c[7]! ^= 0xff;
  await t.bus(c);
  await t.bus(regs(1, 4, 0x1111, 0x2222));
  await t.src.stop();
  assert.equal(t.readings, []);
  assert.is(t.counters.get('source.tap.unpaired'), 1);
  assert.is(t.counters.get('source.tap.crc_errors'), 1);
});

test('request A, silence longer than the response window, an answer: not published as A\'s values', async () => {
  const t = setup();
  await t.start();
  await t.bus(req(1, 4, 0, 2), 3000);
  await t.bus(regs(1, 4, 0x4366, 0x8000));
  await t.src.stop();
  assert.equal(t.readings, []);
  assert.is(t.counters.get('source.tap.unpaired'), 1);
  assert.is(t.counters.get('source.tap.unanswered'), 1);
});

test('two masters interleaved (A, C, A\'s answer, C\'s answer): neither answer is published', async () => {
  const t = setup([{ unit: 1, registers: [reg('a', 3, 0, 'u16'), reg('c', 3, 20, 'u16')] }]);
  await t.start();
  await t.bus(req(1, 3, 0, 1), 2);
  await t.bus(req(1, 3, 20, 1), 3);
  await t.bus(regs(1, 3, 1000), 3);
  await t.bus(regs(1, 3, 1020), 3);
  // the bus settles: the next exchange pairs again
  await drive(t.clock, 1000);
  await t.bus(req(1, 3, 20, 1));
  await t.bus(regs(1, 3, 1020));
  await t.src.stop();
  assert.equal(values(t.readings), [['tap:c', 1020]]);
  assert.is(t.counters.get('source.tap.unpaired'), 2);
});

test('an answer sent twice is published once; the copy is counted unpaired', async () => {
  const t = setup();
  await t.start();
  await t.bus(req(1, 4, 2, 1));
  await t.bus(regs(1, 4, 500), 3);
  await t.bus(regs(1, 4, 500));
  await t.src.stop();
  assert.equal(values(t.readings), [['tap:current', 5]]);
  assert.is(t.counters.get('source.tap.unpaired'), 1);
});

test('a requests of another shape in flight does not hold up the others: a dead unit costs its own reads only', async () => {
  const t = setup();
  await t.start();
  for (let i = 0; i < 5; i++) {
    await t.bus(req(7, 3, 0, 1), 40);            // a unit nobody answers for
    await t.bus(req(2, 3, 10, 1));
    await t.bus(regs(2, 3, 100 + i));
  }
  await t.src.stop();
  assert.is(t.readings.length, 5);
});

test('generated hostile capture (lost, late, doubled answers, bad CRC between, stale, two masters, noise): no published value differs from the register it is named for; every answer is published or counted', async () => {
  for (const seed of [1, 2, 3]) {
    const t = setup(HOSTILE_DEVICES);
    await t.start();
    const { steps, counts } = hostileCapture(seed, 120, 1000);
    for (const s of steps) await t.bus(s.bytes, s.gapMs);
    await t.src.stop();
    const byName = new Map<string, number>(UNITS.flatMap((u) => ADDRESSES.map((a) => [`tap:${registerName(u, a)}`, truth(u, a)] as const)));
    for (const r of t.readings) assert.is(r.v, byName.get(r.name), `seed ${seed}: ${r.name} published ${r.v}`);
    const answers = t.counters.get('source.tap.responses');
    assert.is(t.readings.length + t.counters.get('source.tap.unpaired'), answers, `seed ${seed}: every answer is published or counted`);
    // clean exchanges still pair: at least the normal episodes that follow a quiet spell
    assert.ok(t.readings.length >= counts.normal / 4, `seed ${seed}: ${t.readings.length} readings from ${counts.normal} normal exchanges`);
  }
});

test.run();
