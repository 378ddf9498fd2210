import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  FORMAT_VERSION, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, decodeSegmentHeader, encodeRecord, encodeSegmentHeader,
  parseSegmentName, scanRecords, segmentName,
} from '../../agent/journal/format.js';
import type { ScanItem } from '../../agent/journal/format.js';
import { payloadFor } from './fixtures.js';

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

async function scan(file: Uint8Array, chunk?: number): Promise<Array<ScanItem | { kind: 'record'; seq: number; offset: number; payload: number[] }>> {
  const read = async (p: number, n: number): Promise<Uint8Array> => file.slice(p, p + n);
  const out = [];
  for await (const it of scanRecords(read, 0, file.length, chunk)) {
    out.push(it.kind === 'record' ? { kind: 'record' as const, seq: it.seq, offset: it.offset, payload: [...it.payload] } : it);
  }
  return out;
}

const seqs = (items: Awaited<ReturnType<typeof scan>>): number[] => items.flatMap((i) => (i.kind === 'record' ? [i.seq] : []));

test('segment names sort by first seq and carry it', () => {
  assert.is(segmentName(1), 'seg-000000000001.twj');
  assert.is(parseSegmentName(segmentName(987654321012)), 987654321012);
  assert.is(parseSegmentName(segmentName(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  const names = [segmentName(20), segmentName(3), segmentName(100)].sort();
  assert.equal(names.map(parseSegmentName), [3, 20, 100]);
  for (const other of ['commit', 'seg-000000000001.twj.quarantine', 'seg-1.twj', 'seg-00000000000x.twj']) {
    assert.is(parseSegmentName(other), undefined, other);
  }
});

test('segment header round-trips its version and base seq', () => {
  const h = encodeSegmentHeader(4242);
  assert.is(h.length, SEGMENT_HEADER_BYTES);
  assert.equal(decodeSegmentHeader(h), { ok: true, version: FORMAT_VERSION, baseSeq: 4242 });
});

test('segment header: bad magic, bad CRC, short and unknown version are rejected with a reason', () => {
  const h = encodeSegmentHeader(1);
  const badMagic = h.slice(); badMagic[0] = 0;
  const badCrc = h.slice(); badCrc[10]! ^= 1;
  const r1 = decodeSegmentHeader(badMagic);
  const r2 = decodeSegmentHeader(badCrc);
  const r3 = decodeSegmentHeader(h.subarray(0, 10));
  const r4 = decodeSegmentHeader(encodeSegmentHeader(1, FORMAT_VERSION + 1));
  assert.ok(!r1.ok && /magic/.test(r1.reason));
  assert.ok(!r2.ok && /CRC/.test(r2.reason));
  assert.ok(!r3.ok && /short/.test(r3.reason));
  assert.ok(!r4.ok && /unknown segment format version 2/.test(r4.reason), 'a newer format is refused, not guessed');
});

test('records scan back with seq, readings and payload; seq up to 2^53-1 survives', async () => {
  const big = Number.MAX_SAFE_INTEGER;
  const file = concat([encodeRecord(1, 100, payloadFor(1)), encodeRecord(2 ** 40 + 3, 0, new Uint8Array(0)), encodeRecord(big, 7, payloadFor(9))]);
  const items = [];
  for await (const it of scanRecords(async (p, n) => file.slice(p, p + n), 0, file.length)) {
    if (it.kind === 'record') items.push({ seq: it.seq, readings: it.readings, payload: it.payload.slice(), frame: it.frameBytes });
  }
  assert.equal(items.map((i) => i.seq), [1, 2 ** 40 + 3, big]);
  assert.equal(items.map((i) => i.readings), [100, 0, 7]);
  assert.equal([...items[0]!.payload], [...payloadFor(1)]);
  assert.is(items[1]!.frame, RECORD_HEADER_BYTES);
  assert.equal([...items[2]!.payload], [...payloadFor(9)]);
});

test('a torn last record is reported as tail damage from its first byte', async () => {
  const a = encodeRecord(1, 1, payloadFor(1));
  const b = encodeRecord(2, 1, payloadFor(2));
  const file = concat([a, b.subarray(0, b.length - 5)]);
  const items = await scan(file);
  assert.equal(seqs(items), [1]);
  assert.equal(items[1], { kind: 'damage', offset: a.length, bytes: b.length - 5, tail: true });
});

test('a flipped byte inside a middle record is skipped as damage and the scan resynchronises', async () => {
  const recs = [1, 2, 3, 4].map((s) => encodeRecord(s, 1, payloadFor(s)));
  recs[1]![RECORD_HEADER_BYTES + 10]! ^= 0xff;
  const items = await scan(concat(recs));
  assert.equal(seqs(items), [1, 3, 4]);
  const dmg = items.find((i) => i.kind === 'damage');
  assert.equal(dmg, { kind: 'damage', offset: recs[0]!.length, bytes: recs[1]!.length, tail: false });
});

test('garbage between records (including a fake magic) is one damage run', async () => {
  const a = encodeRecord(1, 1, payloadFor(1));
  const junk = Uint8Array.from([0x89, 0x54, 0x57, 0x52, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 0x89, 0x54]);
  const b = encodeRecord(2, 1, payloadFor(2));
  const items = await scan(concat([a, junk, b]));
  assert.equal(seqs(items), [1, 2]);
  assert.equal(items.filter((i) => i.kind === 'damage'), [{ kind: 'damage', offset: a.length, bytes: junk.length, tail: false }]);
});

test('tiny read chunks give the same result as one big read (records straddle chunk edges)', async () => {
  const recs = [1, 2, 3, 4, 5, 6].map((s) => encodeRecord(s, s, payloadFor(s)));
  recs[2]![30]! ^= 1;
  const file = concat([...recs, Uint8Array.from([0x89, 0x54, 0x57])]);
  const whole = await scan(file, 1 << 20);
  for (const chunk of [1, 7, 64, 333]) assert.equal(await scan(file, chunk), whole, `chunk ${chunk}`);
  assert.equal(seqs(whole), [1, 2, 4, 5, 6]);
  assert.is(whole.filter((i) => i.kind === 'damage').length, 2);
});

test('a zero-filled region (blocks allocated, never written) is damage, not records', async () => {
  const a = encodeRecord(1, 1, payloadFor(1));
  const items = await scan(concat([a, new Uint8Array(4096)]));
  assert.equal(seqs(items), [1]);
  assert.equal(items[1], { kind: 'damage', offset: a.length, bytes: 4096, tail: true });
});

test.run();
