// The disk bound: oldest segments dropped when full, with the exact unsent
// range told; committed segments deleted (retention); the bound never exceeded.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, statSync } from 'node:fs';
import { RECORD_HEADER_BYTES } from '../../agent/journal/format.js';
import type { DropNotice } from '../../agent/journal/journal.js';
import { ENVS, appendRange, openJournal, readAll, recordFor, envTest } from './fixtures.js';
import type { Env } from './fixtures.js';

const BOUND = { maxBytes: 16 * 1024, segmentBytes: 4096 };

async function segmentBytesOnDisk(env: Env): Promise<number> {
  let n = 0;
  for (const name of await env.fs.readdir(env.dir)) if (name.endsWith('.twj')) n += (await env.fs.stat(`${env.dir}/${name}`)).size;
  return n;
}

const readingsOf = (first: number, last: number): number => {
  let n = 0;
  for (let s = first; s <= last; s++) n += recordFor(s).readings;
  return n;
};

for (const makeEnv of ENVS) {
  const t = envTest(makeEnv);

  t('filling the bound drops the oldest segments, tells the exact unsent range, and stays within maxBytes', async (env) => {
    const o = await openJournal(env, BOUND);
    for (let s = 1; s <= 300; s++) {
      await o.j.append(recordFor(s, 300));
      assert.ok(o.j.stats().diskBytes <= BOUND.maxBytes, `bound after seq ${s}: ${o.j.stats().diskBytes}`);
    }
    await o.j.sync();
    assert.ok(o.drops.length > 0, 'something was dropped');
    // the notices tile 1..k exactly: contiguous, in order, nothing told twice
    let expectFirst = 1;
    for (const d of o.drops) {
      assert.is(d.reason, 'journal-full');
      assert.is(d.first, expectFirst);
      assert.is(d.batches, d.last - d.first + 1);
      assert.is(d.readings, readingsOf(d.first, d.last));
      expectFirst = d.last + 1;
    }
    const kept = (await readAll(o.j)).map((r) => r.seq);
    assert.equal(kept, Array.from({ length: 300 - expectFirst + 1 }, (_, i) => expectFirst + i), 'everything after the drops is there');
    assert.ok(await segmentBytesOnDisk(env) <= BOUND.maxBytes, 'bound holds on disk, not just in the index');
    assert.is(await segmentBytesOnDisk(env), o.j.stats().diskBytes);
    const dropped = expectFirst - 1;
    assert.is(o.j.stats().droppedBatches, dropped);
    assert.is(o.j.stats().droppedReadings, readingsOf(1, dropped));
    assert.is(o.counters.get('journal.dropped_batches'), dropped);
    assert.is(o.counters.get('journal.dropped_readings'), readingsOf(1, dropped));
    await o.j.close();
  });

  t('dropping a partly committed segment tells only its unsent records', async (env) => {
    const o = await openJournal(env, BOUND);
    await appendRange(o.j, 1, 5, 300);
    await o.j.sync();
    o.j.commit(5); // commits into the middle of the first segment (12 records of 324 bytes fit)
    let first: DropNotice | undefined;
    for (let s = 6; !first; s++) { await o.j.append(recordFor(s, 300)); first = o.drops[0]; }
    assert.is(first.first, 6);
    assert.is(first.batches, first.last - 5);
    assert.is(first.readings, readingsOf(6, first.last), 'readings counted from disk for the unsent part');
    await o.j.close();
  });

  /** Seqs 1..5 durable and published (in flight), then appends until the bound drops the first segment. */
  async function dropWhileInFlight(env: Env): Promise<{ o: Awaited<ReturnType<typeof openJournal>>; next: number }> {
    const o = await openJournal(env, BOUND);
    await appendRange(o.j, 1, 5, 300);
    await o.j.sync();
    for (const r of await o.j.readFrom(1, 5)) assert.ok(o.j.sent(r.seq), `seq ${r.seq} may be published`);
    let s = 6;
    while (o.j.stats().segments === 0 || (await o.j.readFrom(1, 1))[0]?.seq === 1) await o.j.append(recordFor(s++, 300));
    return { o, next: s };
  }

  t('a drop that takes batches in flight tells only the unsent ones; the PUBACK then ends it (nothing lost)', async (env) => {
    const { o } = await dropWhileInFlight(env);
    assert.is(o.drops.length, 1);
    assert.is(o.drops[0]!.first, 6, 'seqs 1..5 are in flight, not unsent');
    assert.is(o.drops[0]!.readings, readingsOf(6, o.drops[0]!.last));
    assert.is(o.counters.get('journal.dropped_in_flight'), 5);
    assert.is(o.j.stats().droppedBatches, o.drops[0]!.batches, 'the dropped count holds only what is lost');
    o.j.commit(5); // the broker acknowledged them
    o.j.rewind(); // a later reconnect: nothing held any more
    assert.is(o.drops.length, 1, 'delivered batches are never told as lost');
    await o.j.close();
  });

  t('batches dropped in flight and never acknowledged are told when the uplink rewinds (its connection is gone)', async (env) => {
    const { o } = await dropWhileInFlight(env);
    o.j.commit(2); // 1..2 acknowledged before the connection went
    o.j.rewind();
    assert.is(o.drops.length, 2);
    assert.equal(o.drops[1], { first: 3, last: 5, batches: 3, readings: readingsOf(3, 5), reason: 'journal-full' });
    assert.is(o.j.stats().droppedBatches, o.drops[0]!.batches + 3);
    o.j.rewind();
    assert.is(o.drops.length, 2, 'told once');
    await o.j.close();
  });

  t('a batch read for publishing and dropped before it went out is not published (it was told unsent)', async (env) => {
    const o = await openJournal(env, BOUND);
    await appendRange(o.j, 1, 5, 300);
    await o.j.sync();
    const read = await o.j.readFrom(1, 5);
    for (let s = 6; o.drops.length === 0; s++) await o.j.append(recordFor(s, 300));
    assert.is(o.drops[0]!.first, 1, 'nothing was in flight: all unsent');
    assert.equal(read.map((r) => o.j.sent(r.seq)), [false, false, false, false, false]);
    await o.j.close();
  });

  t('fully committed segments are deleted without a drop notice; the active one stays', async (env) => {
    const o = await openJournal(env, BOUND);
    await appendRange(o.j, 1, 40, 300);
    await o.j.sync();
    const before = o.j.stats().segments;
    o.j.commit(40);
    await o.j.readFrom(41, 1); // let the queued retention run
    assert.ok(before >= 4);
    assert.is(o.j.stats().segments, 1, 'only the active segment is left');
    assert.equal(o.drops, []);
    assert.is(o.j.last()?.seq, 40);
    await o.j.close();
    const again = await openJournal(env, BOUND);
    assert.is(again.j.last()?.seq, 40, 'seq continuity survives retention');
    assert.is(again.j.committedSeq(), 40);
    await again.j.close();
  });

  t('an uplink that keeps up never loses a batch however long the journal runs', async (env) => {
    const o = await openJournal(env, { ...BOUND, fsyncEveryRecords: 4 });
    for (let s = 1; s <= 500; s++) {
      await o.j.append(recordFor(s, 300));
      o.j.commit(o.j.durableSeq());
    }
    assert.equal(o.drops, []);
    assert.ok(o.j.stats().diskBytes <= BOUND.maxBytes);
    assert.ok(o.j.stats().segments <= 2, `retention keeps the journal short (${o.j.stats().segments} segments)`);
    await o.j.close();
  });
}

test('[node fs] segment files on disk never exceed maxBytes while a long outage fills the journal', async () => {
  const env = ENVS[1]!();
  try {
    const o = await openJournal(env, { maxBytes: 64 * 1024, segmentBytes: 8192 });
    let max = 0;
    for (let s = 1; s <= 1000; s++) {
      await o.j.append(recordFor(s, 200));
      if (s % 50 === 0) {
        const bytes = readdirSync(env.dir).filter((n) => n.endsWith('.twj')).reduce((n, f) => n + statSync(`${env.dir}/${f}`).size, 0);
        max = Math.max(max, bytes);
      }
    }
    assert.ok(max <= 64 * 1024, `max on disk ${max}`);
    assert.ok(max > 48 * 1024, `the journal is used up to the bound (${max})`);
    await o.j.sync();
    const dropped = o.drops.reduce((n, d) => n + d.batches, 0);
    assert.ok(dropped > 0);
    assert.is(dropped + (await readAll(o.j)).length, 1000, 'every batch is either kept or told');
    await o.j.close();
  } finally { env.teardown(); }
});

test('segment size is capped at a quarter of maxBytes so one drop always makes room', async () => {
  const env = ENVS[0]!();
  const o = await openJournal(env, { maxBytes: 8192, segmentBytes: 1024 * 1024 });
  await appendRange(o.j, 1, 100, 100);
  await o.j.sync();
  assert.ok(o.j.stats().diskBytes <= 8192);
  assert.ok(o.j.stats().segments >= 3, `segments of <= 2 KiB (${o.j.stats().segments})`);
  const tooBig = await o.j.append({ seq: 101, readings: 1, bytes: new Uint8Array(2048 - RECORD_HEADER_BYTES) }).then(() => undefined, (e: unknown) => e);
  assert.is((tooBig as { code?: string }).code, 'ERR_JOURNAL_RECORD_TOO_LARGE');
});

test.run();
