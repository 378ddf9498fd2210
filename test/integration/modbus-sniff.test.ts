// The passive sniffer through the real serialport binding on a socat pty: a
// recorded master/slave conversation (with noise, a bit error, a truncated
// frame and a foreign master's write) is replayed into the pty from the field
// side with realistic gaps. Readings come out; not one byte goes back.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readSync } from 'node:fs';
import type { SniffDeviceConfig } from '../../agent/sources/modbus-sniff/schema.js';
import { createModbusSniffSource } from '../../agent/sources/modbus-sniff/source.js';
import { nodeSerial } from '../../hal/serial-node.js';
import { waitFor } from '../helpers.js';
import { openFieldPty } from '../peers/field-pty.js';
import { withSource } from '../peers/source-rig.js';
import { withCrc } from '../sources/modbus/fake-slave.js';
import { ADDRESSES, HOSTILE_DEVICES, hostileCapture, registerName, truth, UNITS } from '../sources/modbus/hostile-bus.js';

const DEVICES: SniffDeviceConfig[] = [
  { unit: 1, registers: [
    { name: 'voltage', fc: 4, address: 0, type: 'f32', unit: 'V' },
    { name: 'current', fc: 4, address: 2, type: 'u16', scale: 0.1, unit: 'A' },
  ] },
  { unit: 2, registers: [
    { name: 'level', fc: 3, address: 10, type: 'i16', scale: 0.01, unit: 'm' },
    { name: 'pump', fc: 1, address: 2, type: 'bool' },
  ] },
];

const req = (unit: number, fc: number, address: number, quantity: number): Buffer =>
  withCrc([unit, fc, address >> 8, address & 0xff, quantity >> 8, quantity & 0xff]);
const words = (unit: number, fc: number, ws: number[]): Buffer =>
  withCrc([unit, fc, ws.length * 2, ...ws.flatMap((w) => [(w >> 8) & 0xff, w & 0xff])]);
const f32Words = (v: number): number[] => { const b = Buffer.alloc(4); b.writeFloatBE(v); return [b.readUInt16BE(0), b.readUInt16BE(2)]; };

interface Step { bytes: Buffer; gapMs: number }
const CYCLES = 15;

/**
 * One master polling three units every cycle, as a bus capture: request,
 * ~4 ms slave turnaround, response, ~8 ms to the next request. Faults:
 * cycle 3 noise, cycle 6 a bit error in unit 1's answer, cycle 9 unit 2's
 * answer cut short, cycle 12 a write (fc 16) by the other master.
 */
function capture(): Step[] {
  const steps: Step[] = [];
  const tx = (bytes: Buffer, gapMs: number): void => { steps.push({ bytes, gapMs }); };
  for (let c = 0; c < CYCLES; c++) {
    if (c === 3) tx(Buffer.from([0x00, 0xff, 0x55, 0xaa, 0x13]), 30);
    tx(req(1, 4, 0, 3), 4);
    const answer1 = words(1, 4, [...f32Words(230 + c / 2), 100 + c]);
    if (c === 6) answer1[5]! ^= 0x40;
    tx(answer1, 8);
    tx(req(2, 3, 10, 1), 4);
    const answer2 = words(2, 3, [(-c * 25) & 0xffff]);
    tx(c === 9 ? answer2.subarray(0, 4) : answer2, c === 9 ? 30 : 8);
    tx(req(2, 1, 0, 8), 4);
    tx(withCrc([2, 1, 1, c % 2 === 0 ? 0b100 : 0]), 8);
    tx(req(5, 3, 0, 2), 4);                          // a unit we do not map
    tx(words(5, 3, [1, 2]), 8);
    if (c === 12) {
      tx(withCrc([2, 16, 0, 10, 0, 1, 2, 0, 42]), 4);
      tx(withCrc([2, 16, 0, 10, 0, 1]), 8);
    }
  }
  return steps;
}

test('replayed bus traffic yields readings, faults are counted, and the agent sends zero bytes', async () => {
  const pty = await openFieldPty({ nonBlocking: true });
  let fromAgent = 0;
  try {
    await withSource((ctx) => createModbusSniffSource({ id: 'tap', type: 'modbus-sniff', port: { path: pty.agentPath, baudRate: 19200, parity: 'even' }, devices: DEVICES }, ctx), async ({ readings, counters, source }) => {
      assert.not.ok('write' in (nodeSerial.openReadOnly({ path: pty.agentPath, baudRate: 19200 })), 'the port type a sniffer gets has no write');
      for (const step of capture()) {
        pty.write(step.bytes);
        // The gap is part of the stimulus (bus timing), not a wait for a result.
        await new Promise((r) => setTimeout(r, step.gapMs));
      }
      const expected = 4 * CYCLES - 3; // voltage+current lost in cycle 6, level in cycle 9
      const faults = (): number => counters.get('source.tap.crc_errors') + counters.get('source.tap.garbage');
      await waitFor(() => readings.length >= expected && faults() >= 3, 5000, `${expected} readings and 3 faults`);
      const series = (name: string): Array<number | boolean | undefined> => readings.filter((r) => r.name === `tap:${name}`).map((r) => r.v ?? r.vb);
      const cycles = Array.from({ length: CYCLES }, (_, c) => c);
      assert.equal(series('voltage'), cycles.filter((c) => c !== 6).map((c) => 230 + c / 2));
      assert.equal(series('current'), cycles.filter((c) => c !== 6).map((c) => (100 + c) / 10));
      assert.equal(series('level'), cycles.filter((c) => c !== 9).map((c) => (-c * 25) / 100));
      assert.equal(series('pump'), cycles.map((c) => c % 2 === 0));
      const units = readings.filter((r) => r.name === 'tap:voltage').map((r) => r.unit);
      assert.ok(units.every((u) => u === 'V'));
      assert.is(readings.length, expected, 'nothing from the unmapped unit or the write');
      // the bit error is a CRC error and the noise is garbage; the truncated answer is
      // garbage too, unless a loaded machine hands it over together with the next
      // request, when it looks like a frame with a bad CRC
      assert.is(faults(), 3, 'noise, bit error, truncated answer: each counted once');
      assert.ok(counters.get('source.tap.crc_errors') >= 1);
      assert.ok(counters.get('source.tap.garbage') >= 1);
      assert.is(counters.get('source.tap.writes_seen'), 2);
      // the corrupted and the truncated answer are taken as their requests' answers, garbled: nothing pairs wrongly, nothing waits
      assert.is(counters.get('source.tap.unpaired'), 0);
      assert.is(counters.get('source.tap.unanswered'), 0);
      assert.ok(source.health().open);
    });
    // the source stopped: everything the agent could have sent is waiting in the pty for us
    const buf = Buffer.alloc(4096);
    try { fromAgent = readSync(pty.fd, buf, 0, buf.length, null); } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  } finally {
    await pty.close();
  }
  assert.is(fromAgent, 0, 'the peer side received zero bytes from the agent');
});

test('a generated hostile capture through a real pty: no published value differs from what the slave holds for that register, every answer is published or counted', async () => {
  const pty = await openFieldPty({ nonBlocking: true });
  const windowMs = 150;
  try {
    await withSource((ctx) => createModbusSniffSource({ id: 'tap', type: 'modbus-sniff', port: { path: pty.agentPath, baudRate: 19200 }, responseWindowMs: windowMs, devices: HOSTILE_DEVICES }, ctx), async ({ readings, counters }) => {
      const { steps, counts } = hostileCapture(7, 60, windowMs);
      for (const step of steps) {
        pty.write(step.bytes);
        await new Promise((r) => setTimeout(r, step.gapMs)); // bus timing: part of the stimulus
      }
      const answers = (): number => counters.get('source.tap.responses');
      const expected = steps.filter((s) => s.answer).length;
      await waitFor(() => answers() >= expected && readings.length + counters.get('source.tap.unpaired') >= answers(), 5000, `${expected} answers seen`);
      const byName = new Map<string, number>(UNITS.flatMap((u) => ADDRESSES.map((a) => [`tap:${registerName(u, a)}`, truth(u, a)] as const)));
      for (const r of readings) assert.is(r.v, byName.get(r.name), `${r.name} published ${r.v}`);
      assert.is(readings.length + counters.get('source.tap.unpaired'), answers(), 'every answer is published or counted unpaired');
      assert.ok(readings.length >= counts.normal / 4, `${readings.length} readings from ${counts.normal} normal exchanges`);
    });
  } finally {
    await pty.close();
  }
});

test.run();
