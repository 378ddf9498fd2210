import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc32c } from '../../agent/journal/crc32c.js';

test('check value: "123456789" gives 0xE3069283', () => {
  assert.is(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('RFC 3720 B.4 vectors: 32 zeros, 32 x 0xFF, 0..31, 31..0', () => {
  assert.is(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.is(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.is(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.is(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

test('empty input gives 0', () => {
  assert.is(crc32c(new Uint8Array(0)), 0);
});

test('continuing a CRC over split input equals the CRC of the whole, at every split point', () => {
  const data = Uint8Array.from({ length: 67 }, (_, i) => (i * 73 + 11) & 0xff);
  const whole = crc32c(data);
  for (let cut = 0; cut <= data.length; cut++) {
    assert.is(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))), whole, `split at ${cut}`);
  }
});

test('one flipped bit changes the CRC', () => {
  const data = new Uint8Array(2048).fill(0x5a);
  const before = crc32c(data);
  data[1000]! ^= 0x10;
  assert.is.not(crc32c(data), before);
});

test.run();
