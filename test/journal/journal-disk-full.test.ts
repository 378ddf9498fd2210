// A full disk is the journal being full (issue 11): on the double as a small
// disk (whole 4 KiB pages, ENOSPC with a partial write, as Linux does).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DISK_FLOOR_BYTES, DISK_RESERVE_BYTES } from '../../agent/journal/space.js';
import { doubleEnv, openJournal, readAll, recordFor } from './fixtures.js';

const KIB = 1024;

/** Bytes in use on the double: whole pages per file. */
async function used(env: ReturnType<typeof doubleEnv>): Promise<number> {
  const s = await env.fs.space!('/');
  return s.total - s.free;
}

test('[double] a disk smaller than maxBytes: the bound is the disk less the reserve, oldest unsent segments are dropped as disk-full, the newest kept, every append succeeds', async () => {
  const env = doubleEnv();
  env.double!.setCapacity(512 * KIB);
  const o = await openJournal(env, { maxBytes: 64 * 1024 * KIB, segmentBytes: 4096 * KIB });
  const st0 = o.j.stats();
  assert.is(st0.limitedBy, 'disk');
  assert.ok(st0.limitBytes <= 512 * KIB - DISK_RESERVE_BYTES, `limit ${st0.limitBytes}`);
  let maxUsed = 0;
  for (let s = 1; s <= 2000; s++) {
    await o.j.append(recordFor(s, 400)); // ~850 KiB in all: more than the disk
    if (s % 10 === 0) { await o.j.sync(); maxUsed = Math.max(maxUsed, await used(env)); }
  }
  await o.j.sync();
  assert.ok(maxUsed <= 512 * KIB, `never more than the disk: ${maxUsed}`);
  assert.ok(o.drops.length > 0, 'dropped');
  for (const d of o.drops) assert.is(d.reason, 'disk-full');
  // what is left is the newest, contiguous up to the last append, and every dropped seq was told
  const left = (await readAll(o.j)).map((r) => r.seq);
  assert.is(left[left.length - 1], 2000);
  const told = new Set(o.drops.flatMap((d) => Array.from({ length: d.last - d.first + 1 }, (_, i) => d.first + i)));
  for (let s = 1; s <= 2000; s++) assert.ok(told.has(s) !== left.includes(s), `seq ${s}: either kept or told, not both or neither`);
  assert.is(o.j.durableSeq(), 2000, 'the journal never stalled: the newest record is durable');
  const st = o.j.stats();
  assert.is(st.droppedBatches, told.size);
  assert.is(o.counters.get('journal.disk_full') ?? 0, 0, 'the bound kept it from ever hitting ENOSPC');
  await o.j.close(); // the state files are rewritten in place: a full disk does not stop a clean close
  const again = await openJournal(env, { maxBytes: 64 * 1024 * KIB, segmentBytes: 4096 * KIB });
  assert.is(again.report.chain.source, 'chain-state');
  assert.is(again.j.chainHead().seq, 2000);
  assert.equal(again.drops, []);
  await again.j.close();
});

test('[double] another writer fills the disk: ENOSPC drops the oldest segment (told as disk-full) and the append goes through', async () => {
  const env = doubleEnv();
  env.double!.setCapacity(4096 * KIB);
  // segments large enough that the appends below stay in the one being written: they hit ENOSPC, not a rollover
  const o = await openJournal(env, { maxBytes: 64 * 1024 * KIB, segmentBytes: 256 * KIB });
  for (let s = 1; s <= 1000; s++) await o.j.append(recordFor(s, 400));
  await o.j.sync();
  o.j.commit(100);
  await o.j.sync();
  // a ballast file takes every free page behind the journal's back
  const ballast = await env.fs.open(`${env.dir}/../ballast`, 'create');
  const chunk = new Uint8Array(4096);
  for (let at = 0; ; at += chunk.length) {
    const ok = await ballast.write(at, chunk).then(() => true, () => false);
    if (!ok) break;
  }
  assert.is((await env.fs.space!('/')).free, 0, 'the disk is full');
  for (let s = 1001; s <= 1100; s++) await o.j.append(recordFor(s, 400));
  await o.j.sync();
  assert.ok((o.counters.get('journal.disk_full') ?? 0) > 0, 'ENOSPC was hit and handled');
  assert.ok(o.drops.length > 0 && o.drops.every((d) => d.reason === 'disk-full'), JSON.stringify(o.drops));
  assert.ok(o.drops.every((d) => d.first > 100), 'acknowledged records are deleted without a notice');
  assert.is(o.j.last()?.seq, 1100);
  assert.is(o.j.durableSeq(), 1100);
  await o.j.close();
});

test('[double] opening on a full disk makes room first (told), then creates its state files and runs', async () => {
  const env = doubleEnv();
  const a = await openJournal(env, { maxBytes: 64 * 1024 * KIB, segmentBytes: 32 * KIB });
  for (let s = 1; s <= 400; s++) await a.j.append(recordFor(s, 400));
  await a.j.close();
  await env.fs.unlink(`${env.dir}/chain`); // as if it never existed: it must be created on the full disk
  env.double!.setCapacity(await used(env)); // the disk is exactly full now
  const o = await openJournal(env, { maxBytes: 64 * 1024 * KIB, segmentBytes: 32 * KIB });
  assert.ok(o.drops.length > 0 && o.drops[0]!.reason === 'disk-full', JSON.stringify(o.drops));
  assert.is(o.report.chain.source, 'journal');
  assert.ok((await env.fs.stat(`${env.dir}/chain`)).isFile, 'the chain state file was created');
  await o.j.append(recordFor(401, 400));
  await o.j.close();
});

test('[double] other files leave the journal less than its reserve: the bound stays at its floor, so an append does not evict the one before (no livelock of gap notices)', async () => {
  const env = doubleEnv();
  env.double!.setCapacity(4096 * KIB);
  const ballast = await env.fs.open('/ballast', 'create');
  await ballast.append(new Uint8Array(4096 * KIB - 32 * KIB)); // 32 KiB left: half the reserve
  const o = await openJournal(env, { maxBytes: 64 * 1024 * KIB, segmentBytes: 4096 * KIB });
  assert.is(o.j.stats().limitBytes, DISK_FLOOR_BYTES, 'the floor, not zero');
  for (let s = 1; s <= 400; s++) await o.j.append(recordFor(s, 200));
  await o.j.sync();
  // real ENOSPC drops the oldest segments (each holding many records), never one drop per append
  assert.ok(o.drops.length > 0, 'the disk was full');
  assert.ok(o.drops.length < 100, `drops: ${o.drops.length} for 400 appends`);
  assert.ok(o.drops.every((d) => d.batches > 1), 'each drop frees several records');
  const kept = (await readAll(o.j)).map((r) => r.seq);
  assert.ok(kept.length >= 10, `the newest records are kept: ${kept.length}`);
  assert.is(kept[kept.length - 1], 400);
  await o.j.close();
});

test.run();
