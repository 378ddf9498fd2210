// fsync policy, driven by a manual clock: batched data fsyncs, no timer while
// idle, the commit offset and chain position riding along with data fsyncs,
// one directory fsync per rollover.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from '../helpers.js';
import { ENVS, appendRange, doubleEnv, openJournal, recordFor, envTest } from './fixtures.js';
import type { Opened } from './fixtures.js';
import { CHAIN_SLOT_BYTES } from '../../agent/journal/chain-file.js';
import { CHAIN_LEASE } from '../../agent/journal/journal.js';

/** Appends one record to create the first segment and syncs it, so later counts start clean. */
async function primed(o: Opened): Promise<number> {
  await o.j.append(recordFor(1));
  await o.j.sync();
  return o.j.stats().fsyncs;
}

for (const makeEnv of ENVS) {
  const t = envTest(makeEnv);

  t('N appends within one interval cost one fsync, and a record waits at most one interval', async (env) => {
    const o = await openJournal(env, { fsyncIntervalMs: 1000 });
    const base = await primed(o);
    for (let s = 2; s <= 11; s++) { await o.j.append(recordFor(s)); await o.clock.advance(90); }
    assert.is(o.j.stats().fsyncs, base, 'no fsync before the interval since the first unsynced write');
    assert.is(o.j.durableSeq(), 1);
    await o.clock.advance(100); // 1000 ms after the first unsynced write
    await waitFor(() => o.j.durableSeq() === 11, 2000, 'timer fsync');
    assert.is(o.j.stats().fsyncs, base + 1);
    assert.is(o.counters.get('journal.fsyncs'), o.j.stats().fsyncs);
    assert.equal(o.durable, [1, 11]);
    await o.j.close();
  });

  t('an idle journal runs no fsync at all', async (env) => {
    const o = await openJournal(env);
    const base = await primed(o);
    await o.clock.advance(60 * 60 * 1000);
    await o.j.readFrom(1, 1); // anything queued has run
    assert.is(o.j.stats().fsyncs, base);
    await o.j.close();
    // close fsyncs no data; only the chain state, marked clean (the commit offset did not change)
    assert.is(o.j.stats().fsyncs, base + 1, 'close with no data pending syncs only the chain state');
  });

  t('fsyncEveryRecords forces the fsync before the interval ends', async (env) => {
    const o = await openJournal(env, { fsyncIntervalMs: 1000, fsyncEveryRecords: 5 });
    const base = await primed(o);
    await appendRange(o.j, 2, 5);
    assert.is(o.j.stats().fsyncs, base);
    await o.j.append(recordFor(6)); // the 5th unsynced record
    assert.is(o.j.stats().fsyncs, base + 1);
    assert.is(o.j.durableSeq(), 6);
    await o.clock.advance(1000);
    await o.j.readFrom(1, 1);
    assert.is(o.j.stats().fsyncs, base + 1, 'the interval timer was cancelled by that fsync');
    await o.j.close();
  });

  t('fsyncIntervalMs 0 fsyncs on every append, and append resolves once durable', async (env) => {
    const o = await openJournal(env, { fsyncIntervalMs: 0 });
    const base = await primed(o);
    for (let s = 2; s <= 8; s++) {
      await o.j.append(recordFor(s));
      assert.is(o.j.durableSeq(), s);
    }
    assert.is(o.j.stats().fsyncs, base + 7);
    await o.j.close();
  });

  t('commits are written with the next data fsync and never fsynced on their own (only at close)', async (env) => {
    const o = await openJournal(env);
    await appendRange(o.j, 1, 10);
    await o.j.sync();
    const base = o.j.stats().fsyncs;
    for (let s = 1; s <= 10; s++) o.j.commit(s);
    await o.clock.advance(10_000);
    await o.j.readFrom(1, 1);
    assert.is(o.j.stats().fsyncs, base, 'commit() alone never fsyncs');
    await o.j.append(recordFor(11));
    await o.clock.advance(1000);
    await waitFor(() => o.j.durableSeq() === 11, 2000, 'timer fsync');
    const perSync = o.j.stats().fsyncs - base;
    assert.is(perSync, 1, 'the data fsync only: the commit file and chain state are written, not fsynced');
    const bytesBefore = o.j.stats().bytesWritten;
    await o.j.append(recordFor(12));
    await o.clock.advance(1000);
    await waitFor(() => o.j.durableSeq() === 12, 2000, 'timer fsync');
    assert.is(o.j.stats().fsyncs - base - perSync, 1, 'unchanged commit offset: nothing to rewrite');
    assert.is(o.j.stats().bytesWritten - bytesBefore, 24 + recordFor(12).bytes.length + CHAIN_SLOT_BYTES, 'the record and one chain state slot');
    await o.j.close();
    const again = await openJournal(env);
    assert.is(again.j.committedSeq(), 10);
    await again.j.close();
  });

  t('close fsyncs pending records and persists the commit offset', async (env) => {
    const o = await openJournal(env);
    await appendRange(o.j, 1, 4);
    await o.j.sync();
    o.j.commit(3);
    await o.j.append(recordFor(5));
    await o.j.close();
    assert.is(o.j.durableSeq(), 5);
    const again = await openJournal(env);
    assert.is(again.j.committedSeq(), 3);
    assert.is(again.j.last()?.seq, 5);
    await again.j.close();
  });
}

test('[double] a rollover fsyncs each written segment once and the directory once', async () => {
  const env = doubleEnv();
  const o = await openJournal(env, { segmentBytes: 1024 });
  await primed(o);
  const before = { ...env.double!.stats };
  await appendRange(o.j, 2, 20, 200); // ~4 segments' worth
  await o.j.sync();
  const segs = o.j.stats().segments;
  const after = env.double!.stats;
  assert.ok(segs >= 4, `rolled over (${segs} segments)`);
  assert.is(after.dirSyncs - before.dirSyncs, 1, 'one directory fsync for all new segments');
  assert.is(after.fsyncs - before.fsyncs - 1, segs, 'one data fsync per segment written to');
});

test('[double] a failed fsync leaves records non-durable and the next interval retries', async () => {
  const env = doubleEnv();
  const o = await openJournal(env);
  await primed(o);
  await o.j.append(recordFor(2));
  env.double!.failNextSync('EIO');
  await o.clock.advance(1000);
  await o.j.readFrom(1, 1);
  assert.is(o.j.durableSeq(), 1, 'not durable after a failed fsync');
  assert.equal(await o.j.readFrom(2, 5), []);
  await o.clock.advance(1000);
  await waitFor(() => o.j.durableSeq() === 2, 2000, 'retried fsync');
  assert.equal((await o.j.readFrom(2, 5)).map((r) => r.seq), [2]);
  assert.is(o.counters.get('journal.fsync_errors'), 1);
});

test('[double] fsyncIntervalMs 0: a failed fsync does not fail the append; the record turns durable on the retry', async () => {
  const env = doubleEnv();
  const o = await openJournal(env, { fsyncIntervalMs: 0 });
  await primed(o);
  env.double!.failNextSync('EIO');
  await o.j.append(recordFor(2));
  assert.is(o.j.durableSeq(), 1);
  assert.is(o.counters.get('journal.fsync_errors'), 1);
  await o.clock.advance(1000);
  await waitFor(() => o.j.durableSeq() === 2, 2000, 'retried fsync');
});

test('[double] a failed write (EIO, partly written) is taken back: the segment stays whole and the seq can be retried', async () => {
  const env = doubleEnv();
  const o = await openJournal(env);
  await primed(o);
  env.double!.failNextWrite('EIO', 30);
  const err = await o.j.append(recordFor(2)).then(() => undefined, (e: unknown) => e);
  assert.is((err as { code?: string }).code, 'EIO');
  assert.is(o.j.last()?.seq, 1);
  await o.j.append(recordFor(2));
  await o.j.close();
  const again = await openJournal(env);
  assert.is(again.report.truncatedBytes, 0);
  assert.is(again.report.corruptRecords, 0);
  assert.equal((await again.j.readFrom(1, 10)).map((r) => r.seq), [1, 2]);
});

test('[double] ENOSPC (partly written) is a full disk: the partial write is taken back, the oldest segment dropped and told, the record written', async () => {
  const env = doubleEnv();
  const o = await openJournal(env, { segmentBytes: 1024 });
  await appendRange(o.j, 1, 12, 200); // a few segments
  await o.j.sync();
  const segs = o.j.stats().segments;
  assert.ok(segs >= 3, `several segments: ${segs}`);
  env.double!.failNextWrite('ENOSPC', 30);
  await o.j.append(recordFor(13, 200));
  assert.is(o.j.last()?.seq, 13);
  assert.is(o.drops.length, 1);
  assert.is(o.drops[0]!.reason, 'disk-full');
  assert.is(o.drops[0]!.first, 1, 'the oldest went');
  assert.is(o.j.stats().segments, segs, 'one segment dropped, one begun or grown');
  assert.is(o.counters.get('journal.disk_full'), 1);
  await o.j.close();
  const again = await openJournal(env);
  assert.is(again.report.truncatedBytes, 0);
  assert.is(again.report.corruptRecords, 0);
  assert.equal(again.drops, [], 'the drop was told once, at the time');
  const seqs = (await again.j.readFrom(1, 100)).map((r) => r.seq);
  assert.is(seqs[0], o.drops[0]!.last + 1);
  assert.is(seqs[seqs.length - 1], 13);
});

test('[double] the chain state is fsynced once per lease, not per data fsync', async () => {
  const env = doubleEnv();
  const o = await openJournal(env, { fsyncIntervalMs: 0, segmentBytes: 1024 * 1024, maxBytes: 64 * 1024 * 1024 });
  const base = o.j.stats().fsyncs;
  const n = CHAIN_LEASE + 10;
  await appendRange(o.j, 1, n, 50);
  const fsyncs = o.j.stats().fsyncs - base;
  // one data fsync per append, one directory fsync (first segment), one chain fsync when the lease ran out
  assert.is(fsyncs, n + 1 + 1, `fsyncs for ${n} appends`);
  await o.j.close();
});

test.run();
