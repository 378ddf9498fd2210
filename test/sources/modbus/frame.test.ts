import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRtuSplitter, encodeReadFrame, findAnswer, frameTiming, type RtuFrame } from '../../../agent/sources/modbus/frame.js';
import type { ReadFunctionCode } from '../../../agent/sources/modbus/pdu.js';
import { crcValid, withCrc } from './fake-slave.js';

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} != ${b}`);

test('frame timing counts start, data, parity and stop bits per character', () => {
  const t8n1 = frameTiming({ baudRate: 9600 });
  assert.is(t8n1.charBits, 10);
  close(t8n1.charMs, 10 / 9.6, '9600 8N1 char');
  close(t8n1.t35Ms, 3.5 * 10 / 9.6, '9600 8N1 t3.5');
  close(t8n1.t15Ms, 1.5 * 10 / 9.6, '9600 8N1 t1.5');
  const t8e1 = frameTiming({ baudRate: 9600, parity: 'even' });
  assert.is(t8e1.charBits, 11);
  close(t8e1.t35Ms, 3.5 * 11 / 9.6, '9600 8E1 t3.5');
  const t8n2 = frameTiming({ baudRate: 19200, stopBits: 2 });
  assert.is(t8n2.charBits, 11);
  close(t8n2.t35Ms, 3.5 * 11 / 19.2, '19200 8N2 t3.5 (still character-based at 19200)');
  assert.is(frameTiming({ baudRate: 1200, dataBits: 7, parity: 'odd' }).charBits, 10);
});

test('above 19200 baud t3.5 is fixed at 1.75 ms and t1.5 at 750 us', () => {
  for (const baudRate of [38400, 57600, 115200]) {
    const t = frameTiming({ baudRate, parity: 'even' });
    assert.is(t.t35Ms, 1.75);
    assert.is(t.t15Ms, 0.75);
    close(t.charMs, 11000 / baudRate, `${baudRate} char`);
  }
});

test('a read request frame is unit + PDU + CRC low byte first', () => {
  assert.equal([...encodeReadFrame(1, 3, 0, 1)], [0x01, 0x03, 0x00, 0x00, 0x00, 0x01, 0x84, 0x0a]);
  assert.equal([...encodeReadFrame(0x11, 3, 0x6b, 3)], [0x11, 0x03, 0x00, 0x6b, 0x00, 0x03, 0x76, 0x87]);
  assert.ok(crcValid(encodeReadFrame(247, 1, 100, 2000)));
});

test('a read frame for broadcast or out-of-range units, or a write fc, is refused', () => {
  assert.throws(() => encodeReadFrame(0, 3, 0, 1), /unit 0/);
  assert.throws(() => encodeReadFrame(248, 3, 0, 1), /unit 248/);
  assert.throws(() => encodeReadFrame(1, 6 as unknown as ReadFunctionCode, 0, 1), /function code 6/);
  assert.throws(() => encodeReadFrame(1, 16 as unknown as ReadFunctionCode, 0, 1), /function code 16/);
});

const expect3 = { unit: 1, fc: 3 as const, quantity: 2 };

const ok = (data: number[]): unknown => ({ kind: 'found', at: 0, length: 5 + data.length, answer: { kind: 'ok', data: Uint8Array.from(data) } });

test('findAnswer accepts a matching answer and returns its data bytes', () => {
  assert.equal(findAnswer(withCrc([1, 3, 4, 0x12, 0x34, 0x56, 0x78]), expect3), ok([0x12, 0x34, 0x56, 0x78]));
});

test('findAnswer waits for the rest of a partial answer', () => {
  const full = withCrc([1, 3, 4, 0x12, 0x34, 0x56, 0x78]);
  for (let n = 1; n < full.length; n++) assert.equal(findAnswer(full.subarray(0, n), expect3), { kind: 'incomplete' }, `${n} bytes`);
});

test('findAnswer reports exceptions and bad CRCs, and finds no answer from another unit, fc or byte count', () => {
  assert.equal(findAnswer(withCrc([1, 0x83, 2]), expect3), { kind: 'found', at: 0, length: 5, answer: { kind: 'exception', code: 2 } });
  const bad = withCrc([1, 3, 4, 0x12, 0x34, 0x56, 0x78]);
  bad[4]! ^= 1;
  assert.equal(findAnswer(bad, expect3), { kind: 'none', crc: true });
  const badEx = withCrc([1, 0x83, 2]);
  badEx[4]! ^= 1;
  assert.equal(findAnswer(badEx, expect3), { kind: 'none', crc: true });
  for (const other of [[2, 3, 4, 0, 0, 0, 0], [1, 4, 4, 0, 0, 0, 0], [1, 0x84, 2], [1, 3, 2, 0, 0]]) {
    assert.equal(findAnswer(withCrc(other), expect3), { kind: 'none', crc: false }, JSON.stringify(other));
  }
});

test('findAnswer sizes bit responses: 10 coils come in 2 bytes', () => {
  assert.equal(findAnswer(withCrc([5, 1, 2, 0xcd, 0x01]), { unit: 5, fc: 1, quantity: 10 }), ok([0xcd, 0x01]));
  assert.equal(findAnswer(withCrc([5, 1, 1, 0xcd]), { unit: 5, fc: 1, quantity: 10 }).kind, 'none');
});

// ── splitter ──────────────────────────────────────────────────────────────
const req = (unit: number, fc: number, address: number, quantity: number): Buffer =>
  withCrc([unit, fc, address >> 8, address & 0xff, quantity >> 8, quantity & 0xff]);
const resp = (unit: number, fc: number, data: number[]): Buffer => withCrc([unit, fc, data.length, ...data]);
const kinds = (fs: RtuFrame[]): string[] => fs.map((f) => f.kind);

test('splitter finds back-to-back request and response in one chunk', () => {
  const s = createRtuSplitter({ gapMs: 20 });
  const frames = s.push(Buffer.concat([req(1, 3, 0, 2), resp(1, 3, [0, 1, 0, 2])]), 0);
  assert.equal(frames, [
    { kind: 'read-request', unit: 1, fc: 3, address: 0, quantity: 2 },
    { kind: 'read-response', unit: 1, fc: 3, data: Uint8Array.of(0, 1, 0, 2) },
  ]);
});

test('splitter reassembles frames delivered one byte per chunk', () => {
  const s = createRtuSplitter({ gapMs: 20 });
  const bytes = Buffer.concat([req(7, 4, 10, 1), resp(7, 4, [0xab, 0xcd]), withCrc([7, 0x84, 2])]);
  const frames: RtuFrame[] = [];
  bytes.forEach((b, i) => frames.push(...s.push(Buffer.from([b]), i * 0.1)));
  assert.equal(kinds(frames), ['read-request', 'read-response', 'exception']);
  assert.equal(frames[2], { kind: 'exception', unit: 7, fc: 4, code: 2 });
});

test('splitter reports a corrupted frame as one crc-error run and resynchronises on the next frame', () => {
  const s = createRtuSplitter({ gapMs: 20 });
  const broken = resp(1, 3, [1, 2, 3, 4]);
  broken[5]! ^= 0x10;
  // Inside the broken frame "01 02 13 ..." looks like the start of a 24-byte coil
  // response: the splitter waits for more bytes or for silence before giving up.
  const frames = [...s.push(Buffer.concat([req(1, 3, 0, 2), broken, req(2, 3, 0, 1), resp(2, 3, [0, 9])]), 0), ...s.idle()];
  assert.equal(kinds(frames), ['read-request', 'crc-error', 'read-request', 'read-response']);
  assert.equal(frames[1], { kind: 'crc-error', bytes: broken.length, head: [1, 3] }, 'its first two bytes say whose answer it may have been');
});

test('splitter skips noise bytes as garbage and still finds the frames around them', () => {
  const s = createRtuSplitter({ gapMs: 20 });
  const frames = s.push(Buffer.concat([Buffer.from([0x00, 0xff, 0xfe]), req(1, 3, 0, 1), Buffer.from([0xf9, 0x00]), resp(1, 3, [0, 5])]), 0);
  assert.equal(kinds(frames), ['garbage', 'read-request', 'garbage', 'read-response']);
  assert.equal(frames[0], { kind: 'garbage', bytes: 3, head: [0x00, 0xff] });
  assert.equal(frames[2], { kind: 'garbage', bytes: 2, head: [0xf9, 0x00] });
});

test('a truncated frame is given up as garbage once the line has been silent for the gap', () => {
  const s = createRtuSplitter({ gapMs: 20 });
  const truncated = resp(1, 3, [1, 2, 3, 4]).subarray(0, 6);
  assert.equal(s.push(truncated, 0), [], 'may still be arriving');
  assert.equal(s.idle(), [{ kind: 'garbage', bytes: 6, head: [1, 3] }]);
  assert.equal(s.idle(), [], 'nothing left');
});

test('a chunk after a silence closes the previous segment first', () => {
  const s = createRtuSplitter({ gapMs: 20 });
  const truncated = req(1, 3, 0, 1).subarray(0, 5);
  assert.equal(s.push(truncated, 0), []);
  const frames = s.push(req(1, 3, 0, 1), 50);
  assert.equal(kinds(frames), ['garbage', 'read-request']);
});

test('"u 01 03 x x x crc" is a coil response after a 3-byte coil request and a request otherwise', () => {
  // 8 bytes, valid CRC both ways: a request for coils at 0x03xx, or 3 data bytes.
  const ambiguous = withCrc([1, 1, 3, 0x00, 0x00, 0x10]);
  const s = createRtuSplitter({ gapMs: 20 });
  const after = s.push(Buffer.concat([req(1, 1, 0, 20), ambiguous]), 0);
  assert.equal(kinds(after), ['read-request', 'read-response']);
  const cold = createRtuSplitter({ gapMs: 20 }).push(ambiguous, 0);
  assert.equal(cold, [{ kind: 'read-request', unit: 1, fc: 1, address: 0x0300, quantity: 0x10 }]);
});

test('write requests and their responses are reported as writes, never as reads', () => {
  const s = createRtuSplitter({ gapMs: 20 });
  const fc6 = withCrc([1, 6, 0, 1, 0, 3]);
  const fc16req = withCrc([1, 16, 0, 1, 0, 2, 4, 0, 10, 1, 2]);
  const fc16resp = withCrc([1, 16, 0, 1, 0, 2]);
  const fc5 = withCrc([1, 5, 0, 0xac, 0xff, 0]);
  const fc15req = withCrc([1, 15, 0, 0x13, 0, 10, 2, 0xcd, 0x01]);
  const frames = s.push(Buffer.concat([fc6, fc6, fc16req, fc16resp, fc5, fc15req, withCrc([1, 0x90, 2])]), 0);
  assert.equal(kinds(frames), ['write', 'write', 'write', 'write', 'write', 'write', 'exception']);
  assert.equal(frames.slice(0, 6).map((f) => (f as { fc: number }).fc), [6, 6, 16, 16, 5, 15]);
});

test('a request with an impossible quantity is not taken for a read request', () => {
  const frames = createRtuSplitter({ gapMs: 20 }).push(req(1, 3, 0, 126), 0);
  assert.ok(frames.every((f) => f.kind !== 'read-request'), JSON.stringify(frames));
});

test('a long run of frame-like noise holds frames back by at most one ADU of traffic', () => {
  const s = createRtuSplitter({ gapMs: 20 });
  // 01 03 fa ...: each looks like the header of a 255-byte response
  const noise = Buffer.alloc(600, 0);
  for (let i = 0; i < noise.length; i += 3) { noise[i] = 1; noise[i + 1] = 3; noise[i + 2] = 0xfa; }
  const requests = Array.from({ length: 40 }, (_, n) => req(1, 3, n, 1));
  const frames = s.push(Buffer.concat([noise, ...requests]), 0); // no idle(): no silence needed
  assert.is(frames.filter((f) => f.kind === 'read-request').length, 40);
  const skipped = frames.reduce((n, f) => n + (f.kind === 'garbage' || f.kind === 'crc-error' ? f.bytes : 0), 0);
  assert.is(skipped, noise.length, 'every noise byte is accounted for');
  assert.equal(s.idle(), []);
});

test('findAnswer skips junk before the answer, waits for a partial one, and reports a bad CRC', () => {
  const e = { unit: 1, fc: 3 as const, quantity: 2 };
  const answer = resp(1, 3, [0, 5, 0, 6]);
  const found = findAnswer(Buffer.concat([Buffer.from([0x00, 0x01, 0x03]), answer]), e);
  assert.equal(found, { kind: 'found', at: 3, length: answer.length, answer: { kind: 'ok', data: new Uint8Array([0, 5, 0, 6]) } });
  assert.equal(findAnswer(Buffer.concat([Buffer.from([0xff]), answer.subarray(0, 5)]), e), { kind: 'incomplete' });
  const bad = Buffer.from(answer);
  bad[4]! ^= 1;
  assert.equal(findAnswer(bad, e), { kind: 'none', crc: true });
  assert.equal(findAnswer(Buffer.from([0x22, 0x33, 0x44]), e), { kind: 'none', crc: false });
  const exception = withCrc([1, 0x83, 2]);
  assert.equal(findAnswer(Buffer.concat([Buffer.from([0]), exception]), e), { kind: 'found', at: 1, length: 5, answer: { kind: 'exception', code: 2 } });
});

test.run();
