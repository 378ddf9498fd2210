import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc16, crcOk } from '../../../agent/sources/modbus/crc16.js';
import { refCrc16 } from './fake-slave.js';

test('crc16 of 01 03 00 00 00 01 goes on the wire as 84 0A', () => {
  const crc = crc16(Uint8Array.of(0x01, 0x03, 0x00, 0x00, 0x00, 0x01));
  assert.is(crc & 0xff, 0x84);
  assert.is(crc >>> 8, 0x0a);
});

test('crc16 matches the Modbus spec example 11 03 00 6B 00 03 -> 76 87', () => {
  const crc = crc16(Uint8Array.of(0x11, 0x03, 0x00, 0x6b, 0x00, 0x03));
  assert.equal([crc & 0xff, crc >>> 8], [0x76, 0x87]);
});

test('crc16 is CRC-16/MODBUS: check value of "123456789" is 0x4B37', () => {
  assert.is(crc16(Buffer.from('123456789')), 0x4b37);
});

test('crc16 agrees with modbus-serial on random buffers and sub-ranges', () => {
  let seed = 7;
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed >>> 24; };
  for (let n = 0; n < 200; n++) {
    const b = Buffer.from(Array.from({ length: 1 + (n % 60) }, rnd));
    assert.is(crc16(b), refCrc16(b));
    const framed = Buffer.concat([Buffer.from([0xaa]), b, Buffer.from([0xbb])]);
    assert.is(crc16(framed, 1, framed.length - 1), refCrc16(b));
  }
});

test('crcOk accepts a framed message and rejects any single flipped bit', () => {
  const f = Uint8Array.of(0x01, 0x03, 0x00, 0x00, 0x00, 0x01, 0x84, 0x0a);
  assert.ok(crcOk(f, 0, f.length));
  for (let bit = 0; bit < f.length * 8; bit++) {
    const g = Uint8Array.from(f);
    g[bit >> 3]! ^= 1 << (bit & 7);
    assert.not.ok(crcOk(g, 0, g.length), `bit ${bit}`);
  }
  assert.not.ok(crcOk(f, 0, 3), 'too short to hold a CRC and data');
});

test.run();
