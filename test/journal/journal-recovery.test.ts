// Recovery on open, with faults injected for real: files cut, bytes flipped,
// headers overwritten, the commit file removed — and power cuts at random fs
// calls on the double, torn at random bytes.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, statSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createCounters } from '../../agent/counters.js';
import { createJournal } from '../../agent/journal/journal.js';
import { createLogger, silentLogger } from '../../agent/log.js';
import { FORMAT_VERSION, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, encodeRecord, encodeSegmentHeader, segmentName } from '../../agent/journal/format.js';
import { createManualClock } from '../../hal/clock.js';
import { fileError } from '../../hal/file.js';
import type { FileHandle, FileSystem } from '../../hal/file.js';
import { doubleEnv, nodeEnv, appendRange, equalBytes, openJournal, payloadFor, prng, readAll, recordFor } from './fixtures.js';
import type { Env } from './fixtures.js';

const FRAME = RECORD_HEADER_BYTES + 200; // records in these tests carry 200-byte payloads

function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.twj')).sort();
}

/** A real-fs journal holding records first..last (200-byte payloads), closed. */
async function written(env: Env, last: number, opts: { segmentBytes?: number; commit?: number } = {}): Promise<void> {
  const o = await openJournal(env, { segmentBytes: opts.segmentBytes ?? 64 * 1024, maxBytes: 1024 * 1024 });
  await appendRange(o.j, 1, last, 200);
  await o.j.sync();
  if (opts.commit !== undefined) o.j.commit(opts.commit);
  await o.j.close();
}

function flipByte(path: string, at: number): void {
  const b = readFileSync(path);
  b[at]! ^= 0xa5;
  writeFileSync(path, b);
}

const nums = (from: number, to: number, except: number[] = []): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i).filter((n) => !except.includes(n));

test('torn tail: a segment cut mid-record opens, the torn bytes are truncated, every complete record is kept, and the lost durable record is told, its seq never reused', async () => {
  for (const cut of [1, 7, 23, 24, 25, 150, FRAME - 1]) {
    const env = nodeEnv();
    try {
      await written(env, 20);
      const [seg] = segmentFiles(env.dir);
      const path = `${env.dir}/${seg}`;
      const full = statSync(path).size;
      assert.is(full, SEGMENT_HEADER_BYTES + 20 * FRAME);
      truncateSync(path, full - cut);
      const o = await openJournal(env);
      assert.is(o.report.truncatedBytes, FRAME - cut, `cut ${cut}`);
      assert.is(o.report.records, 19);
      assert.is(o.report.corruptRecords, 0, 'a torn tail is not corruption');
      // seq 20 was durable (a clean close): it may have left the device, so it is told and never reused
      assert.equal(o.drops, [{ first: 20, last: 20, batches: 1, readings: 0, reason: 'corrupt' }], `cut ${cut}`);
      assert.is(o.report.chain.source, 'chain-state');
      assert.is(o.j.chainHead().seq, 20, 'the chain resumes after the lost record');
      assert.is(o.j.last()?.seq, 19);
      assert.is(statSync(path).size, SEGMENT_HEADER_BYTES + 19 * FRAME, 'file truncated to the last whole record');
      assert.is(o.counters.get('journal.truncated_bytes'), FRAME - cut);
      assert.equal((await readAll(o.j)).map((r) => r.seq), nums(1, 19));
      const refused = await o.j.append(recordFor(20, 200)).then(() => undefined, (e: unknown) => e);
      assert.is((refused as { code?: string }).code, 'ERR_JOURNAL_SEQ', 'the lost seq is never written again');
      await o.j.append(recordFor(21, 200));
      await o.j.close();
      const again = await openJournal(env);
      assert.is(again.report.truncatedBytes, 0);
      assert.equal(again.drops, [], 'told once: nothing is found missing again');
      assert.equal((await readAll(again.j)).map((r) => r.seq), [...nums(1, 19), 21]);
      await again.j.close();
    } finally { env.teardown(); }
  }
});

test('a flipped byte inside a middle record: that record is skipped and reported, the records after it recovered', async () => {
  const env = nodeEnv();
  try {
    await written(env, 20);
    const path = `${env.dir}/${segmentFiles(env.dir)[0]}`;
    flipByte(path, SEGMENT_HEADER_BYTES + 7 * FRAME + RECORD_HEADER_BYTES + 100); // payload of seq 8
    const o = await openJournal(env);
    assert.is(o.report.corruptRecords, 1);
    assert.is(o.report.records, 19);
    assert.is(o.report.truncatedBytes, 0);
    assert.equal((await readAll(o.j)).map((r) => r.seq), nums(1, 20, [8]));
    for (const r of await readAll(o.j)) assert.ok(equalBytes(r.bytes, payloadFor(r.seq, 200)), `bytes of ${r.seq}`);
    assert.equal(o.drops, [{ first: 8, last: 8, batches: 1, readings: 0, reason: 'corrupt' }], 'the unsent lost batch is told');
    assert.is(o.counters.get('journal.corrupt_records'), 1);
    assert.is(o.j.stats().corruptRecords, 1);
    assert.is(o.j.last()?.seq, 20);
    await o.j.close();
  } finally { env.teardown(); }
});

test('a drop notice found at open is told once open() resolved, so the listener can append its gap notice', async () => {
  const env = nodeEnv();
  try {
    await written(env, 10);
    flipByte(`${env.dir}/${segmentFiles(env.dir)[0]}`, SEGMENT_HEADER_BYTES + 3 * FRAME + RECORD_HEADER_BYTES + 9); // seq 4
    const j = createJournal({ dir: env.dir, maxBytes: 1 << 20, segmentBytes: 64 * 1024, fsyncIntervalMs: 1000, fsyncEveryRecords: 1000 },
      { fs: env.fs, clock: createManualClock(), log: silentLogger, counters: createCounters() });
    const appended: Array<Promise<void>> = [];
    j.onDrop((n) => { appended.push(j.append({ seq: j.last()!.seq + 1, readings: 0, bytes: Buffer.from(`gap ${n.first}-${n.last}`) })); });
    await j.open();
    assert.is(appended.length, 1);
    await Promise.all(appended);
    await j.sync();
    const last = (await j.readFrom(11, 5))[0];
    assert.is(last?.seq, 11);
    assert.is(Buffer.from(last!.bytes).toString(), 'gap 4-4');
    await j.close();
  } finally { env.teardown(); }
});

test('a corrupt length field in a middle record: the scan resynchronises on the next record', async () => {
  const env = nodeEnv();
  try {
    await written(env, 10);
    const path = `${env.dir}/${segmentFiles(env.dir)[0]}`;
    flipByte(path, SEGMENT_HEADER_BYTES + 4 * FRAME + 5); // length of seq 5
    const o = await openJournal(env);
    assert.equal((await readAll(o.j)).map((r) => r.seq), nums(1, 10, [5]));
    assert.is(o.report.corruptRecords, 1);
    await o.j.close();
  } finally { env.teardown(); }
});

test('a corrupt record that was already committed is skipped without a drop notice', async () => {
  const env = nodeEnv();
  try {
    await written(env, 20, { commit: 10 });
    const path = `${env.dir}/${segmentFiles(env.dir)[0]}`;
    flipByte(path, SEGMENT_HEADER_BYTES + 7 * FRAME + RECORD_HEADER_BYTES + 3);
    const o = await openJournal(env);
    assert.is(o.report.corruptRecords, 1);
    assert.is(o.j.committedSeq(), 10);
    assert.equal(o.drops, []);
    await o.j.close();
  } finally { env.teardown(); }
});

test('a garbage segment header: the segment is quarantined by renaming, the others recovered, its range told', async () => {
  const env = nodeEnv();
  try {
    await written(env, 16, { segmentBytes: 1024 }); // 4 records per segment
    const segs = segmentFiles(env.dir);
    assert.equal(segs, [1, 5, 9, 13].map(segmentName));
    writeFileSync(`${env.dir}/${segs[1]}`, Buffer.concat([Buffer.from('this is not a segment'), readFileSync(`${env.dir}/${segs[1]}`).subarray(21)]));
    const o = await openJournal(env);
    assert.equal(o.report.quarantined, [`${segs[1]}.quarantine`]);
    assert.ok(existsSync(`${env.dir}/${segs[1]}.quarantine`), 'kept for a human to look at');
    assert.not.ok(existsSync(`${env.dir}/${segs[1]}`));
    assert.equal((await readAll(o.j)).map((r) => r.seq), nums(1, 16, [5, 6, 7, 8]));
    assert.equal(o.drops, [{ first: 5, last: 8, batches: 4, readings: 0, reason: 'corrupt' }]);
    assert.is(o.j.last()?.seq, 16);
    await o.j.close();
    const again = await openJournal(env);
    assert.equal(again.report.quarantined, [], 'quarantined once, then ignored');
    await again.j.close();
  } finally { env.teardown(); }
});

test('a segment of an unknown (newer) format version is quarantined with a clear log line, not a crash', async () => {
  const env = nodeEnv();
  try {
    await written(env, 8, { segmentBytes: 1024 });
    const segs = segmentFiles(env.dir);
    const last = `${env.dir}/${segs[1]}`;
    const b = readFileSync(last);
    Buffer.from(encodeSegmentHeader(5, FORMAT_VERSION + 1)).copy(b, 0);
    writeFileSync(last, b);
    const lines: string[] = [];
    const o = await openJournal(env, {}, createManualClock(), { log: createLogger('test', { level: 'debug', write: (l) => lines.push(l) }) });
    assert.equal(o.report.quarantined, [`${segs[1]}.quarantine`]);
    assert.ok(lines.some((l) => l.startsWith('error journal') && l.includes(`unknown segment format version ${FORMAT_VERSION + 1}`) && l.includes(segs[1]!)), lines.join('\n'));
    assert.equal((await readAll(o.j)).map((r) => r.seq), nums(1, 4));
    await o.j.close();
  } finally { env.teardown(); }
});

test('a segment that fails with EIO is quarantined and the rest recovered', async () => {
  const env = doubleEnv();
  const o = await openJournal(env, { segmentBytes: 1024 });
  await appendRange(o.j, 1, 12, 200);
  await o.j.close();
  env.double!.failReads(`${env.dir}/${segmentName(5)}`, 'EIO');
  const again = await openJournal(env, { segmentBytes: 1024 });
  assert.equal(again.report.quarantined, [`${segmentName(5)}.quarantine`]);
  assert.equal((await readAll(again.j)).map((r) => r.seq), nums(1, 12, [5, 6, 7, 8]));
  assert.equal(again.drops.map((d) => [d.first, d.last, d.reason]), [[5, 8, 'corrupt']]);
});

test('an unreadable segment that cannot even be renamed makes open reject (failing storage), not start empty', async () => {
  const env = doubleEnv();
  const o = await openJournal(env);
  await appendRange(o.j, 1, 3);
  await o.j.close();
  env.double!.failReads(`${env.dir}/${segmentName(1)}`, 'EIO');
  const broken: FileSystem = { ...env.fs, rename: async (a) => { throw fileError('EIO', 'rename', a); } };
  const err = await openJournal(env, {}, createManualClock(), { fs: broken }).then(() => undefined, (e: unknown) => e);
  assert.is((err as { code?: string }).code, 'ERR_JOURNAL_IO');
  assert.match(String(err), segmentName(1));
});

test('a record with a valid CRC but a seq that does not increase is skipped', async () => {
  const env = nodeEnv();
  try {
    await written(env, 3);
    // plant a later segment that repeats seq 3 before 4
    const frames = [encodeRecord(3, 1, payloadFor(99)), encodeRecord(4, 1, payloadFor(4))];
    writeFileSync(`${env.dir}/${segmentName(3)}`, Buffer.concat([encodeSegmentHeader(3), ...frames]));
    const o = await openJournal(env);
    assert.is(o.report.corruptRecords, 1);
    const all = await readAll(o.j);
    assert.equal(all.map((r) => r.seq), [1, 2, 3, 4]);
    assert.ok(equalBytes(all[2]!.bytes, payloadFor(3, 200)), 'the first seq 3 is the one kept');
    await o.j.close();
  } finally { env.teardown(); }
});

test('a deleted commit file: committedSeq falls back to oldest-1 so everything is resent, and it is reported', async () => {
  const env = nodeEnv();
  try {
    await written(env, 16, { segmentBytes: 1024, commit: 10 }); // segments 1-4 and 5-8 fully committed: deleted
    const before = await openJournal(env, { segmentBytes: 1024 });
    assert.is(before.j.committedSeq(), 10);
    assert.is(before.report.firstSeq, 9);
    await before.j.close();
    unlinkSync(`${env.dir}/commit`);
    const o = await openJournal(env, { segmentBytes: 1024 });
    assert.is(o.report.commitFallback, 'commit file missing');
    assert.is(o.j.committedSeq(), 8, 'oldest record on disk is 9');
    assert.equal((await o.j.readFrom(o.j.committedSeq() + 1, 100)).map((r) => r.seq), nums(9, 16));
    assert.equal(o.drops, []);
    await o.j.close();
    const again = await openJournal(env, { segmentBytes: 1024 });
    assert.is(again.report.commitFallback, undefined, 'close wrote the commit file again');
    assert.is(again.j.committedSeq(), 8);
    await again.j.close();
  } finally { env.teardown(); }
});

test('a corrupt commit file: same fallback, reported as corrupt', async () => {
  const env = nodeEnv();
  try {
    await written(env, 6, { commit: 4 });
    writeFileSync(`${env.dir}/commit`, Buffer.from('\x00garbage-garbage-garbage-garbage-garbage'));
    const o = await openJournal(env);
    assert.match(o.report.commitFallback ?? '', /corrupt/);
    assert.is(o.j.committedSeq(), 0, 'oldest record is 1');
    assert.equal((await o.j.readFrom(1, 100)).map((r) => r.seq), nums(1, 6));
    await o.j.close();
  } finally { env.teardown(); }
});

test('a commit file torn at the last write still yields the previous offset', async () => {
  const env = nodeEnv();
  try {
    const o = await openJournal(env);
    await appendRange(o.j, 1, 5);
    await o.j.sync();
    o.j.commit(2);
    await o.j.sync();
    o.j.commit(4);
    await o.j.close();
    // tear the slot written last: the one holding 4
    const file = readFileSync(`${env.dir}/commit`);
    const slot = [0, 1].find((i) => file.readUInt32BE(i * 20 + 12) === 4)!;
    assert.ok(slot !== undefined && file.length === 40);
    const fd = openSync(`${env.dir}/commit`, 'r+');
    writeSync(fd, Buffer.from([0xde, 0xad]), 0, 2, slot * 20 + 10);
    closeSync(fd);
    const again = await openJournal(env);
    assert.is(again.report.commitFallback, undefined);
    assert.is(again.j.committedSeq(), 2);
    await again.j.close();
  } finally { env.teardown(); }
});

test('open rejects when the directory cannot be created', async () => {
  const env = nodeEnv();
  try {
    const parent = env.dir.replace(/\/journal$/, '');
    writeFileSync(`${parent}/file`, 'x');
    const o = openJournal({ ...env, dir: `${parent}/file/journal` });
    const err = await o.then(() => undefined, (e: unknown) => e);
    assert.is((err as { code?: string }).code, 'ENOTDIR');
  } finally { env.teardown(); }
});

/** Passes calls through until call number `at`; then cuts the power and fails everything after, like a dead process. */
function powerCutAt(inner: FileSystem & { crash(o: { torn: boolean; random: () => number }): void }, at: number, random: () => number) {
  let calls = 0;
  let dead = false;
  const gate = async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    if (!dead && ++calls >= at) { dead = true; inner.crash({ torn: true, random }); }
    if (dead) throw fileError('EIO', op, 'power cut');
    return fn();
  };
  const wrap = (h: FileHandle): FileHandle => ({
    path: h.path,
    size: () => gate('fstat', () => h.size()),
    read: (p, n) => gate('read', () => h.read(p, n)),
    append: (d) => gate('write', () => h.append(d)),
    write: (p, d) => gate('write', () => h.write(p, d)),
    truncate: (n) => gate('ftruncate', () => h.truncate(n)),
    sync: () => gate('fsync', () => h.sync()),
    close: () => gate('close', () => h.close()),
  });
  const fs: FileSystem = {
    open: (p, m) => gate('open', async () => wrap(await inner.open(p, m))),
    readdir: (d) => gate('readdir', () => inner.readdir(d)),
    stat: (p) => gate('stat', () => inner.stat(p)),
    rename: (a, b) => gate('rename', () => inner.rename(a, b)),
    unlink: (p) => gate('unlink', () => inner.unlink(p)),
    mkdir: (p) => gate('mkdir', () => inner.mkdir(p)),
    syncDir: (d) => gate('fsync', () => inner.syncDir(d)),
  };
  return { fs, dead: () => dead };
}

test('power cuts at random fs calls, torn at random bytes: nothing durable is lost, seqs strictly increase, appends continue', async () => {
  let cuts = 0;
  let lostTails = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const env = doubleEnv();
    const r = prng(seed);
    const opts = { segmentBytes: 2048, maxBytes: 4 * 1024 * 1024, fsyncIntervalMs: 50, fsyncEveryRecords: 1 + Math.floor(r() * 8) };
    let mustHave = { committed: 0, durable: 0 };
    for (let cycle = 0; cycle < 4; cycle++) {
      // recover on the bare double and check
      const o = await openJournal(env, opts);
      const all = await readAll(o.j);
      const seqs = all.map((x) => x.seq);
      for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!, `seed ${seed}: strictly increasing`);
      for (const x of all) assert.ok(equalBytes(x.bytes, payloadFor(x.seq)), `seed ${seed}: bytes of ${x.seq} are the ones written`);
      for (let s = mustHave.committed + 1; s <= mustHave.durable; s++) assert.ok(seqs.includes(s), `seed ${seed} cycle ${cycle}: durable seq ${s} survived`);
      assert.ok((o.j.last()?.seq ?? 0) >= mustHave.durable, `seed ${seed}: last() >= durable before the cut`);
      assert.ok(o.j.committedSeq() <= mustHave.committed || o.report.commitFallback !== undefined, `seed ${seed} cycle ${cycle}: committed ${o.j.committedSeq()} never ahead of ${JSON.stringify(mustHave)} ${JSON.stringify(o.report)}`);
      assert.is(o.report.corruptRecords, 0, `seed ${seed}: power cuts tear tails, never the middle`);
      if (o.report.truncatedBytes > 0) lostTails++;
      await o.j.close();

      // run against a power cut at a random fs call
      const cut = powerCutAt(env.double!, 5 + Math.floor(r() * 200), r);
      const clock = createManualClock();
      const w = await openJournal(env, opts, clock, { fs: cut.fs }).catch(() => undefined);
      if (!w) { cuts++; continue; }
      let durable = w.j.durableSeq();
      w.j.onDurable((s) => { durable = s; });
      // journaled batches the power cut took (the chain state reached the disk, their data did not) are told
      const head = w.j.chainHead().seq;
      const lastSeq = w.j.last()?.seq ?? 0;
      assert.ok(head >= lastSeq, `seed ${seed}: the chain is never behind the journal`);
      const told = w.drops.flatMap((d) => Array.from({ length: d.last - d.first + 1 }, (_, i) => d.first + i));
      for (let s = lastSeq + 1; s <= head; s++) assert.ok(told.includes(s) || s <= w.j.committedSeq(), `seed ${seed}: lost seq ${s} told`);
      let next = head + 1;
      while (!cut.dead()) {
        const roll = r();
        if (roll < 0.7) { await w.j.append(recordFor(next)).then(() => { next++; }, () => undefined); }
        else if (roll < 0.85) { await clock.advance(Math.floor(r() * 80)); await w.j.readFrom(1, 1).catch(() => undefined); }
        else if (roll < 0.95) { w.j.commit(durable - Math.floor(r() * 5)); }
        else { await w.j.sync().catch(() => undefined); }
      }
      await w.j.readFrom(1, 1).catch(() => undefined);
      mustHave = { committed: Math.max(mustHave.committed, w.j.committedSeq()), durable: Math.max(mustHave.durable, durable) };
      cuts++;
    }
  }
  assert.is(cuts, 160);
  assert.ok(lostTails > 0, 'some cuts tore a record (the test exercises torn tails)');
});

test.run();
