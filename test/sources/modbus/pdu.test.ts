import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeReadRequest, maxQuantity, responseDataBytes, type ReadFunctionCode } from '../../../agent/sources/modbus/pdu.js';

test('read requests for FC 1-4 encode function code, address and quantity big-endian', () => {
  assert.equal([...encodeReadRequest(3, 0x006b, 3)], [0x03, 0x00, 0x6b, 0x00, 0x03]);
  assert.equal([...encodeReadRequest(1, 0x0013, 0x13)], [0x01, 0x00, 0x13, 0x00, 0x13]);
  assert.equal([...encodeReadRequest(2, 0xffff, 1)], [0x02, 0xff, 0xff, 0x00, 0x01]);
  assert.equal([...encodeReadRequest(4, 0x1234, 125)], [0x04, 0x12, 0x34, 0x00, 0x7d]);
});

test('the encoder refuses write function codes 5, 6, 15, 16 (and any other) at run time', () => {
  for (const fc of [0, 5, 6, 7, 8, 15, 16, 17, 22, 23, 43, 0x83, 3.5, '3']) {
    const err = (() => { try { encodeReadRequest(fc as unknown as ReadFunctionCode, 0, 1); } catch (e) { return e as Error & { code?: string }; } return undefined; })();
    assert.instance(err, Error, `fc ${String(fc)} must be refused`);
    assert.is(err!.code, 'ERR_MODBUS_READ_ONLY');
  }
});

test('quantities beyond the protocol limits and reads past 65535 are refused', () => {
  assert.throws(() => encodeReadRequest(3, 0, 0), /quantity/);
  assert.throws(() => encodeReadRequest(3, 0, 126), /quantity/);
  assert.throws(() => encodeReadRequest(1, 0, 2001), /quantity/);
  assert.throws(() => encodeReadRequest(4, 65535, 2), /past address 65535/);
  assert.throws(() => encodeReadRequest(4, -1, 1), /address/);
  assert.throws(() => encodeReadRequest(4, 65536, 1), /address/);
  assert.is(encodeReadRequest(1, 0, 2000).length, 5);
});

test('limits and response sizes follow the spec: 125 registers, 2000 bits packed 8 per byte', () => {
  assert.is(maxQuantity(3), 125);
  assert.is(maxQuantity(4), 125);
  assert.is(maxQuantity(1), 2000);
  assert.is(maxQuantity(2), 2000);
  assert.is(responseDataBytes(3, 10), 20);
  assert.is(responseDataBytes(1, 1), 1);
  assert.is(responseDataBytes(1, 8), 1);
  assert.is(responseDataBytes(2, 9), 2);
  assert.is(responseDataBytes(1, 2000), 250);
});

test.run();
