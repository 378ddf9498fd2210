import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RegisterConfig } from '../../../agent/sources/modbus/schema.js';
import { decodeRegister, planReads, resolveRegister } from '../../../agent/sources/modbus/plan.js';
import { checkDevices } from '../../../agent/sources/modbus/registers.js';
import { problemPath } from '../../../agent/sources/problem.js';

const reg = (name: string, fc: 1 | 2 | 3 | 4, address: number, type: string, extra: Partial<RegisterConfig> = {}): RegisterConfig =>
  ({ name, fc, address, type, ...extra }) as RegisterConfig;
const spans = (rs: ReturnType<typeof planReads>): Array<[number, number, number, string[]]> =>
  rs.map((r) => [r.fc, r.address, r.quantity, r.registers.map((x) => x.name)]);

test('contiguous registers of one fc become one request', () => {
  const plan = planReads(1, [reg('a', 3, 0, 'u16'), reg('b', 3, 1, 'f32'), reg('c', 3, 3, 'u64')]);
  assert.equal(spans(plan), [[3, 0, 7, ['a', 'b', 'c']]]);
  assert.ok(plan.every((r) => r.unit === 1));
});

test('registers at most maxGap apart are merged; one more apart splits', () => {
  assert.equal(spans(planReads(1, [reg('a', 4, 10, 'u16'), reg('b', 4, 15, 'u16')], 4)), [[4, 10, 6, ['a', 'b']]]);
  assert.equal(spans(planReads(1, [reg('a', 4, 10, 'u16'), reg('b', 4, 16, 'u16')], 4)), [[4, 10, 1, ['a']], [4, 16, 1, ['b']]]);
  assert.equal(spans(planReads(1, [reg('a', 4, 10, 'u16'), reg('b', 4, 11, 'u16')], 0)), [[4, 10, 2, ['a', 'b']]]);
  assert.equal(spans(planReads(1, [reg('a', 4, 10, 'u16'), reg('b', 4, 12, 'u16')], 0)), [[4, 10, 1, ['a']], [4, 12, 1, ['b']]]);
});

test('the default maxGap is 4 and input order does not matter', () => {
  assert.equal(spans(planReads(1, [reg('b', 3, 9, 'u16'), reg('a', 3, 4, 'u16')])), [[3, 4, 6, ['a', 'b']]]);
});

test('function codes are never mixed in one request', () => {
  const plan = planReads(2, [reg('h', 3, 0, 'u16'), reg('i', 4, 1, 'u16'), reg('c', 1, 0, 'bool'), reg('d', 2, 1, 'bool')]);
  assert.equal(spans(plan), [[1, 0, 1, ['c']], [2, 1, 1, ['d']], [3, 0, 1, ['h']], [4, 1, 1, ['i']]]);
});

test('a request never exceeds 125 registers', () => {
  const regs = Array.from({ length: 130 }, (_, n) => reg(`r${n}`, 3, n, 'u16'));
  const plan = planReads(1, regs);
  assert.equal(plan.map((r) => [r.address, r.quantity]), [[0, 125], [125, 5]]);
  // a 32-bit value that would straddle the limit starts the next request whole
  const fill = (n: number) => Array.from({ length: n }, (_, i) => reg(`r${i}`, 3, i, 'u16'));
  assert.equal(planReads(1, [...fill(124), reg('b', 3, 124, 'u32')]).map((r) => [r.address, r.quantity]), [[0, 124], [124, 2]]);
  assert.equal(planReads(1, [...fill(123), reg('b', 3, 123, 'u32')]).map((r) => [r.address, r.quantity]), [[0, 125]]);
});

test('a bit request never exceeds 2000 coils or inputs', () => {
  const regs = Array.from({ length: 2010 }, (_, n) => reg(`c${n}`, 1, n, 'bool'));
  assert.equal(planReads(1, regs).map((r) => [r.address, r.quantity]), [[0, 2000], [2000, 10]]);
});

test('overlapping registers share the request that covers both', () => {
  const plan = planReads(1, [reg('whole', 3, 0, 'u32'), reg('high', 3, 0, 'u16'), reg('low', 3, 1, 'u16')]);
  assert.equal(plan.map((r) => [r.address, r.quantity, r.registers.length]), [[0, 2, 3]]);
});

// ── decoding ──────────────────────────────────────────────────────────────
const words = (...ws: number[]): Uint8Array => Uint8Array.from(ws.flatMap((w) => [w >> 8, w & 0xff]));
const dec = (type: string, data: Uint8Array, extra: Partial<RegisterConfig> = {}, address = 0, dataAddress = 0) =>
  decodeRegister(resolveRegister(reg('x', 3, address, type, extra)), data, dataAddress);
const f32Bits = (v: number): [number, number] => { const b = Buffer.alloc(4); b.writeFloatBE(v); return [b.readUInt16BE(0), b.readUInt16BE(2)]; };
const f64Words = (v: number): number[] => { const b = Buffer.alloc(8); b.writeDoubleBE(v); return [0, 2, 4, 6].map((o) => b.readUInt16BE(o)); };

test('u16 and i16 decode from one big-endian register', () => {
  assert.equal(dec('u16', words(0xfb2e)), { v: 0xfb2e });
  assert.equal(dec('i16', words(0xfb2e)), { v: -1234 });
  assert.equal(dec('i16', words(0x7fff)), { v: 32767 });
});

test('u32, i32 and f32 decode with high word first (big) and low word first (little)', () => {
  assert.equal(dec('u32', words(0x1234, 0x5678)), { v: 0x12345678 });
  assert.equal(dec('u32', words(0x5678, 0x1234), { wordOrder: 'little' }), { v: 0x12345678 });
  assert.equal(dec('i32', words(0xffff, 0xfffe)), { v: -2 });
  assert.equal(dec('i32', words(0xfffe, 0xffff), { wordOrder: 'little' }), { v: -2 });
  const [hi, lo] = f32Bits(3.14159);
  assert.equal(dec('f32', words(hi, lo)), { v: Math.fround(3.14159) });
  assert.equal(dec('f32', words(lo, hi), { wordOrder: 'little' }), { v: Math.fround(3.14159) });
});

test('u64, i64 and f64 decode four words in either word order', () => {
  const u = 0x0001_0002_0003_0004n;
  assert.equal(dec('u64', words(1, 2, 3, 4)), { v: Number(u) });
  assert.equal(dec('u64', words(4, 3, 2, 1), { wordOrder: 'little' }), { v: Number(u) });
  assert.equal(dec('i64', words(0xffff, 0xffff, 0xffff, 0xfffb)), { v: -5 });
  assert.equal(dec('i64', words(0xfffb, 0xffff, 0xffff, 0xffff), { wordOrder: 'little' }), { v: -5 });
  const w = f64Words(-1234.5678e-3);
  assert.equal(dec('f64', words(...w)), { v: -1234.5678e-3 });
  assert.equal(dec('f64', words(...[...w].reverse()), { wordOrder: 'little' }), { v: -1234.5678e-3 });
});

test('u64/i64 beyond 2^53 go out as exact decimal strings unless scaled', () => {
  assert.equal(dec('u64', words(0xffff, 0xffff, 0xffff, 0xffff)), { vs: '18446744073709551615' });
  assert.equal(dec('u64', words(0x0020, 0, 0, 0)), { vs: '9007199254740992' }, '2^53 itself is not safe');
  assert.equal(dec('u64', words(0x001f, 0xffff, 0xffff, 0xffff)), { v: 2 ** 53 - 1 }, '2^53-1 is exact');
  assert.equal(dec('i64', words(0x8000, 0, 0, 0)), { vs: '-9223372036854775808' });
  assert.equal(dec('u64', words(0xffff, 0xffff, 0xffff, 0xffff), { scale: 0.001 }), { v: 18446744073709551615 / 1000 });
});

test('scale and offset apply as raw * scale + offset; decimal scales divide exactly', () => {
  assert.equal(dec('i16', words(215), { scale: 0.1 }), { v: 21.5 });
  assert.equal(dec('u16', words(12345), { scale: 0.01 }), { v: 123.45 });
  assert.equal(dec('i16', words(0xffff), { scale: 2, offset: -40 }), { v: -42 });
  assert.equal(dec('u32', words(0, 100), { scale: 0.5, offset: 1 }), { v: 51 });
  assert.equal(dec('u16', words(3), { scale: 1, offset: 273.15 }), { v: 276.15 });
});

test('NaN and infinite floats are flagged, not emitted as values', () => {
  assert.equal(dec('f32', words(0x7fc0, 0)), { nonFinite: true });
  assert.equal(dec('f32', words(0x7f80, 0)), { nonFinite: true });
  assert.equal(dec('f64', words(0x7ff8, 0, 0, 0)), { nonFinite: true });
});

test('a register is decoded at its offset inside a merged read', () => {
  assert.equal(dec('u16', words(1, 2, 3, 0x00ff), {}, 13, 10), { v: 0xff });
  assert.equal(dec('u32', words(9, 9, 0xabcd, 0x0001), {}, 12, 10), { v: 0xabcd0001 });
});

test('bools decode from packed bits, LSB first; bool on a register is "non-zero"', () => {
  // coils 20..30 as in the spec example: CD 01 -> 1011 0011 1...
  const data = Uint8Array.of(0xcd, 0x01);
  const bits = Array.from({ length: 9 }, (_, i) => decodeRegister(resolveRegister(reg('c', 1, 20 + i, 'bool')), data, 20));
  assert.equal(bits.map((b) => (b as { vb: boolean }).vb), [true, false, true, true, false, false, true, true, true]);
  assert.equal(dec('bool', words(0)), { vb: false });
  assert.equal(dec('bool', words(0x0100)), { vb: true });
});

test('register defaults: big word order, scale 1, offset 0, no unit unless given', () => {
  assert.equal(resolveRegister(reg('a', 4, 7, 'u16')), { name: 'a', fc: 4, address: 7, type: 'u16', wordOrder: 'big', scale: 1, offset: 0 });
  assert.is(resolveRegister(reg('a', 4, 7, 'u16', { unit: 'V' })).unit, 'V');
});

test('checkDevices names the place of every problem the schema cannot see', () => {
  const problems = checkDevices([
    { unit: 1, registers: [reg('a', 1, 0, 'u16'), reg('b', 3, 65535, 'u32'), reg('a', 3, 0, 'u16')] },
    { unit: 1, registers: [reg('c', 3, 0, 'u16', { bit: 3 })] },
  ]);
  assert.equal(problems.map((p) => [problemPath(p.path), p.kind]), [
    ['devices[0].registers[0].type', 'semantic'],
    ['devices[0].registers[1].address', 'range'],
    ['devices[0].registers[2].name', 'duplicate'],
    ['devices[1].unit', 'duplicate'],
    ['devices[1].registers[0].bit', 'semantic'],
  ]);
  assert.equal(checkDevices([{ unit: 1, registers: [reg('ok', 3, 65532, 'u64'), reg('on', 2, 65535, 'bool'), reg('b', 4, 0, 'bool')] }]), []);
});

test('a bit read (fc 1/2) may omit its type: it is a bool', () => {
  const coil = { name: 'run', fc: 1, address: 3 } as RegisterConfig;
  assert.equal(checkDevices([{ unit: 1, registers: [coil, { name: 'in', fc: 2, address: 0 } as RegisterConfig] }]), []);
  assert.is(resolveRegister(coil).type, 'bool');
  assert.equal(decodeRegister(resolveRegister(coil), Uint8Array.of(0x08), 0), { vb: true });
  // fc 3/4 read 16-bit words: there a type is required
  assert.equal(checkDevices([{ unit: 1, registers: [{ name: 'w', fc: 3, address: 0 } as RegisterConfig] }]).map((p) => [problemPath(p.path), p.kind]),
    [['devices[0].registers[0].type', 'required']]);
});

test('bool on fc 3/4: non-zero is true, or one bit of the register with `bit`', () => {
  const alarm = (bit?: number): RegisterConfig => reg('alarm', 3, 0, 'bool', bit === undefined ? {} : { bit });
  assert.equal(checkDevices([{ unit: 1, registers: [alarm(), { ...alarm(15), name: 'b15' }] }]), []);
  const word = Uint8Array.of(0x80, 0x04); // bits 15 and 2
  assert.equal(decodeRegister(resolveRegister(alarm()), word, 0), { vb: true });
  assert.equal(decodeRegister(resolveRegister(alarm(2)), word, 0), { vb: true });
  assert.equal(decodeRegister(resolveRegister(alarm(15)), word, 0), { vb: true });
  assert.equal(decodeRegister(resolveRegister(alarm(3)), word, 0), { vb: false });
  assert.equal(decodeRegister(resolveRegister(alarm(0)), word, 0), { vb: false });
  // bit belongs to a word: refused on fc 1/2
  assert.equal(checkDevices([{ unit: 1, registers: [reg('c', 1, 0, 'bool', { bit: 1 })] }]).map((p) => problemPath(p.path)), ['devices[0].registers[0].bit']);
});

test.run();
