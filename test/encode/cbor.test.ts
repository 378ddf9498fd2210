// agent/encode/cbor: plain CBOR (no cbor-x extension tags), shortest exact
// floats, integers as integers, strict decoding.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeCbor, encodeCbor, Tag } from '../../agent/encode/cbor.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

test('a small int-keyed Map encodes to exactly the plain CBOR bytes (no tag 259, no tag 64)', () => {
  const bytes = encodeCbor(new Map<number, unknown>([[1, -8], [3, 'ab'], [4, new Uint8Array([1, 2])]]));
  // a3: map(3)  01 27: 1 => -8  03 62 61 62: 3 => "ab"  04 42 01 02: 4 => h'0102'
  assert.is(hex(bytes), 'a3' + '0127' + '03626162' + '04420102');
});

test('plain objects become text-keyed maps in insertion order; undefined members are skipped', () => {
  assert.is(hex(encodeCbor({ a: 1, skip: undefined, b: [true, null, false] })), 'a2' + '616101' + '6162' + '83f5f6f4');
});

test('repeated object shapes are not turned into cbor-x records', () => {
  // cbor-x's default Encoder would emit a record definition tag (d9 df xx) here
  assert.is(hex(encodeCbor([{ a: 1 }, { a: 2 }])), '82' + 'a1616101' + 'a1616102');
});

test('explicit Tag encodes as major type 6 and decodes back as Tag', () => {
  const bytes = encodeCbor(new Tag([1], 18));
  assert.is(hex(bytes), 'd28101');
  const back = decodeCbor(bytes);
  assert.instance(back, Tag);
  assert.is((back as Tag).tag, 18);
  assert.equal((back as Tag).value, [1]);
});

const FLOATS: Array<[number, string]> = [
  [21.5, 'f94d60'], // exact in f16: 3 bytes
  [0.5, 'f93800'],
  [-1.5, 'f9be00'],
  [65504.5, 'fa477fe080'], // beyond f16 precision, exact in f32
  [100000.5, 'fa47c35040'], // above the f16 range, exact in f32: 5 bytes
  [1013.25, 'fa447d5000'], // 12 significant bits: too many for f16
  [0.1, 'fb3fb999999999999a'], // not exact in f32: f64, 9 bytes
  [1 / 3, 'fb3fd5555555555555'],
  [5.960464477539063e-8, 'f90001'], // smallest f16 subnormal
  [6.103515625e-5, 'f90400'], // smallest f16 normal
  [2 ** -25, 'fa33000000'], // below the f16 subnormal range
  [1e300, 'fb7e37e43c8800759c'],
  [-0, 'f98000'],
  [Infinity, 'f97c00'],
  [-Infinity, 'f9fc00'],
  [NaN, 'f97e00'], // canonical quiet NaN
];

test('floats take the shortest form that round-trips exactly (f16, else f32, else f64)', () => {
  for (const [v, expected] of FLOATS) {
    const bytes = encodeCbor(v);
    assert.is(hex(bytes), expected, `encoding of ${v}`);
    assert.ok(Object.is(decodeCbor(bytes), v), `${v} must decode to itself`);
  }
});

test('random doubles, f32 and f16 values round-trip exactly and never take more bytes than needed', () => {
  const f32 = new Float32Array(1);
  const view = new DataView(new ArrayBuffer(8));
  let seed = 12345;
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed; };
  for (let i = 0; i < 3000; i++) {
    view.setUint32(0, rnd());
    view.setUint32(4, rnd());
    const d = view.getFloat64(0);
    f32[0] = d;
    const s = f32[0];
    const h = ((rnd() & 0x7ff) / 64) * (rnd() & 1 ? -1 : 1); // <= 11 significant bits: exact in f16
    for (const v of [d, s, h]) {
      if (Number.isNaN(v) || Number.isInteger(v)) continue;
      const bytes = encodeCbor(v);
      assert.ok(Object.is(decodeCbor(bytes), v), `round trip of ${v}`);
      if (v === s) assert.ok(bytes.length <= 5, `${v} is exact in f32, took ${bytes.length} bytes`);
      if (v === h) assert.is(bytes.length, 3, `${v} is exact in f16`);
    }
  }
});

test('a float is never rounded to float32 (what cbor-x DECIMAL_FIT would do)', () => {
  for (const v of [21.53, 1013.27, 0.123, 3.7, 1700000000.123]) {
    const bytes = encodeCbor(v);
    assert.is(bytes.length, 9, `${v} is not exact in f32 and needs f64`);
    assert.is(decodeCbor(bytes), v);
  }
});

test('integers encode as CBOR integers with the shortest head and decode as numbers', () => {
  const cases: Array<[number, string]> = [
    [0, '00'], [23, '17'], [24, '1818'], [255, '18ff'], [256, '190100'], [65535, '19ffff'],
    [65536, '1a00010000'], [4294967295, '1affffffff'], [4294967296, '1b0000000100000000'],
    [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
    [-1, '20'], [-24, '37'], [-25, '3818'], [-256, '38ff'], [-257, '390100'],
    [-4294967296, '3affffffff'], [-4294967297, '3b0000000100000000'],
    [-Number.MAX_SAFE_INTEGER, '3b001ffffffffffffe'],
  ];
  for (const [v, expected] of cases) {
    const bytes = encodeCbor(v);
    assert.is(hex(bytes), expected, `encoding of ${v}`);
    assert.ok(Object.is(decodeCbor(bytes), v), `${v} must decode to the number ${v}`);
  }
});

test('integral values beyond 2^53 are floats (exact), bigints are 64-bit integers', () => {
  assert.is(hex(encodeCbor(2 ** 53)), 'fa5a000000');
  assert.is(decodeCbor(encodeCbor(2 ** 53)), 2 ** 53);
  assert.is(hex(encodeCbor(2n ** 64n - 1n)), '1bffffffffffffffff');
  assert.is(decodeCbor(encodeCbor(2n ** 64n - 1n)), 2n ** 64n - 1n);
  assert.is(hex(encodeCbor(-(2n ** 64n))), '3bffffffffffffffff');
  assert.is(decodeCbor(encodeCbor(5n)), 5);
  assert.throws(() => encodeCbor(2n ** 64n), /64 bits/);
  // another encoder's long head for a small integer still decodes as a number
  assert.is(decodeCbor(unhex('1b0000000000000007')), 7);
});

test('strings (ASCII and UTF-8), byte strings, nested containers round-trip', () => {
  const value = new Map<unknown, unknown>([
    ['ascii', 'weather:temp'],
    ['utf8', 'Grüße, 温度 🌡'],
    [-3, new Uint8Array([0, 255, 7])],
    [7, [1, [2, [3, new Map([[1, 'x']])]]]],
  ]);
  const back = decodeCbor(encodeCbor(value));
  assert.instance(back, Map);
  const m = back as Map<unknown, unknown>;
  assert.is(m.get('ascii'), 'weather:temp');
  assert.is(m.get('utf8'), 'Grüße, 温度 🌡');
  assert.equal([...(m.get(-3) as Uint8Array)], [0, 255, 7]);
  assert.equal((m.get(7) as unknown[])[0], 1);
  assert.is(hex(encodeCbor('ü')), '62c3bc');
});

test('a value larger than the scratch buffer encodes completely', () => {
  const big = Array.from({ length: 20000 }, (_, i) => `reading-${i}`);
  const bytes = encodeCbor(big);
  assert.ok(bytes.length > 200_000);
  assert.equal(decodeCbor(bytes), big);
  assert.is(hex(encodeCbor([1])), '8101', 'a later small encode is unaffected');
});

test('values outside the data model are refused instead of guessed', () => {
  assert.throws(() => encodeCbor(undefined), /undefined/);
  assert.throws(() => encodeCbor([undefined]), /undefined/);
  assert.throws(() => encodeCbor(new Float32Array(2)), /Uint8Array/);
  assert.throws(() => encodeCbor(new Date(0)), /cannot encode/);
  assert.throws(() => encodeCbor(() => 1), /function/);
});

test('decodeCbor refuses empty, truncated and trailing input with ERR_CBOR_INVALID', () => {
  for (const bad of ['', '82', '8201', '0102', '6261']) {
    try {
      decodeCbor(unhex(bad));
      assert.unreachable(`${bad} should not decode`);
    } catch (err) {
      assert.is((err as { code?: string }).code, 'ERR_CBOR_INVALID', `error code for ${bad || 'empty'}`);
    }
  }
});

test('decoded byte strings are copies: changing the input later does not change them', () => {
  const input = encodeCbor(new Uint8Array([1, 2, 3]));
  const out = decodeCbor(input) as Uint8Array;
  input[1] = 99;
  assert.equal([...out], [1, 2, 3]);
});

test('maps decode as Map with their integer keys intact', () => {
  const m = decodeCbor(unhex('a2 01 27 20 61 78')) as Map<unknown, unknown>;
  assert.instance(m, Map);
  assert.is(m.get(1), -8);
  assert.is(m.get(-1), 'x');
});


test('indefinite-length byte and text strings (RFC 8949 3.2.3) decode like their definite forms, also inside containers and tags', () => {
  // (_ h'0102', h'03')  and  (_ "ab", "c")
  assert.equal(decodeCbor(unhex('5f 42 0102 41 03 ff')), new Uint8Array([1, 2, 3]));
  assert.is(decodeCbor(unhex('7f 62 6162 61 63 ff')), 'abc');
  assert.is(decodeCbor(unhex('7f ff')), '', 'no chunks at all is the empty string');
  // {_ (_ "k","ey"): [_ (_ "v"), 1]} inside tag 18
  const v = decodeCbor(unhex('d2 bf 7f 616b 626579 ff 9f 7f 6176 ff 01 ff ff'));
  assert.instance(v, Tag);
  assert.equal((v as Tag).value, new Map([['key', ['v', 1]]]));
  // a 300-byte text in two chunks: the rewritten head takes two length bytes
  const long = 'x'.repeat(300);
  assert.is(decodeCbor(unhex(`7f 79012b ${Buffer.from(long.slice(0, 299)).toString('hex')} 61 78 ff`)), long);
});

test('malformed indefinite-length strings are refused with ERR_CBOR_INVALID, never mended', () => {
  for (const bad of [
    '7f 6161',          // no break
    '7f 4161 ff',       // a byte-string chunk inside a text string
    '5f 5f 41 01 ff ff', // nested indefinite chunk
    '7f 6261 ff',       // chunk longer than the input
    '7f 6161 ff 00',    // trailing bytes
    '81 7f 6161',       // truncated inside an array
  ]) {
    assert.throws(() => decodeCbor(unhex(bad)), (e: Error & { code?: string }) => e.code === 'ERR_CBOR_INVALID', bad);
  }
});

test.run();
