// The chain never moves backwards (issue 11): damage to segments, a lost
// chain state file and unclean stops, injected for real on the real file
// system (bytes overwritten, files deleted) and on the double (power cuts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createChainFile } from '../../agent/journal/chain-file.js';
import { appendRange, doubleEnv, nodeEnv, openJournal, payloadFor, prng, readAll } from './fixtures.js';
import type { Env } from './fixtures.js';

const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
const segs = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.twj')).sort();
const nums = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const BOOT_A = '11111111-1111-1111-1111-111111111111';
const BOOT_B = '22222222-2222-2222-2222-222222222222';

/** A closed real-fs journal with records 1..last (200-byte payloads), `commit` acknowledged. */
async function written(env: Env, last: number, commit: number, segmentBytes = 64 * 1024): Promise<void> {
  const o = await openJournal(env, { segmentBytes, maxBytes: 1024 * 1024 });
  await appendRange(o.j, 1, last, 200);
  await o.j.sync();
  o.j.commit(commit);
  await o.j.close();
}

function destroyHeader(path: string): void {
  const b = readFileSync(path);
  b.fill(0x41, 0, 16); // what the issue did: the first 16 bytes overwritten
  writeFileSync(path, b);
}

test('segment header destroyed after everything was acknowledged: the chain resumes after the last seq with its hash, nothing to tell, no seq reused', async () => {
  const env = nodeEnv();
  try {
    await written(env, 20, 20);
    destroyHeader(`${env.dir}/${segs(env.dir)[0]}`);
    const o = await openJournal(env, { maxBytes: 1024 * 1024 });
    assert.is(o.report.quarantined.length, 1);
    assert.is(o.report.chain.source, 'chain-state');
    assert.is(o.j.chainHead().seq, 20, 'not 0: the chain state file survives the segment');
    assert.equal(o.j.chainHead().hash, sha(payloadFor(20, 200)), 'prev of the next batch is the hash of seq 20');
    assert.equal(o.drops, [], 'everything lost had been acknowledged');
    const refused = await o.j.append({ seq: 1, readings: 1, bytes: payloadFor(1) }).then(() => undefined, (e: unknown) => e);
    assert.is((refused as { code?: string }).code, 'ERR_JOURNAL_SEQ');
    await o.j.append({ seq: 21, readings: 1, bytes: payloadFor(21) });
    await o.j.close();
  } finally { env.teardown(); }
});

test('segment header destroyed with unacknowledged records in it: exactly those are told (corrupt), once', async () => {
  const env = nodeEnv();
  try {
    await written(env, 20, 12);
    destroyHeader(`${env.dir}/${segs(env.dir)[0]}`);
    const o = await openJournal(env, { maxBytes: 1024 * 1024 });
    assert.equal(o.drops, [{ first: 13, last: 20, batches: 8, readings: 0, reason: 'corrupt' }]);
    assert.is(o.j.chainHead().seq, 20);
    await o.j.append({ seq: 21, readings: 0, bytes: payloadFor(21) }); // the gap notice a real agent appends
    await o.j.close();
    const again = await openJournal(env, { maxBytes: 1024 * 1024 });
    assert.equal(again.drops, [], 'the quarantined segment is not found again');
    assert.is(again.j.chainHead().seq, 21);
    await again.j.close();
  } finally { env.teardown(); }
});

test('the newest segment file gone entirely: its durable records are told and their seqs never reused', async () => {
  const env = nodeEnv();
  try {
    await written(env, 30, 5, 2048);
    const files = segs(env.dir);
    assert.ok(files.length >= 3);
    const lastFile = files[files.length - 1]!;
    const firstLost = Number(/seg-(\d+)/.exec(lastFile)![1]);
    unlinkSync(`${env.dir}/${lastFile}`);
    const o = await openJournal(env, { segmentBytes: 2048, maxBytes: 1024 * 1024 });
    assert.equal(o.drops, [{ first: firstLost, last: 30, batches: 30 - firstLost + 1, readings: 0, reason: 'corrupt' }]);
    assert.is(o.j.chainHead().seq, 30);
    assert.equal((await readAll(o.j)).map((r) => r.seq), nums(1, firstLost - 1));
    await o.j.close();
  } finally { env.teardown(); }
});

test('chain state file deleted, journal intact: the chain is rebuilt from the journal (seq and hash)', async () => {
  const env = nodeEnv();
  try {
    await written(env, 20, 10);
    unlinkSync(`${env.dir}/chain`);
    const o = await openJournal(env, { maxBytes: 1024 * 1024 });
    assert.is(o.report.chain.source, 'journal');
    assert.match(o.report.chain.why ?? '', /chain state file missing/);
    assert.equal(o.j.chainHead(), { seq: 20, hash: sha(payloadFor(20, 200)), epoch: new Uint8Array(8) });
    assert.equal(o.drops, []);
    await o.j.close();
    const again = await openJournal(env, { maxBytes: 1024 * 1024 });
    assert.is(again.report.chain.source, 'chain-state', 'rewritten at open');
    await again.j.close();
  } finally { env.teardown(); }
});

test('chain state file deleted and a segment header destroyed: a new epoch, after every seq in evidence, said loudly, kept across restarts', async () => {
  const env = nodeEnv();
  try {
    await written(env, 30, 5, 2048);
    unlinkSync(`${env.dir}/chain`);
    const files = segs(env.dir);
    destroyHeader(`${env.dir}/${files[files.length - 1]}`);
    const lastName = Number(/seg-(\d+)/.exec(files[files.length - 1]!)![1]);
    const o = await openJournal(env, { segmentBytes: 2048, maxBytes: 1024 * 1024 }, undefined, { randomBytes: () => Uint8Array.from([7, 7, 7, 7, 7, 7, 7, 7]) });
    assert.is(o.report.chain.source, 'new-epoch');
    assert.is(o.report.chain.epoch, '0707070707070707');
    const head = o.j.chainHead();
    assert.ok(head.seq >= lastName, `the new epoch starts after every seq still in evidence (${head.seq} >= ${lastName})`);
    assert.equal(head.hash, new Uint8Array(32), 'a new chain: prev of its first batch is zeros');
    assert.equal(o.drops, [], 'the old chain\'s losses cannot be told in the new epoch');
    assert.is(o.counters.get('journal.chain_epochs'), 1);
    await o.j.append({ seq: head.seq + 1, readings: 1, bytes: payloadFor(head.seq + 1) });
    await o.j.close();
    const again = await openJournal(env, { segmentBytes: 2048, maxBytes: 1024 * 1024 }, undefined, { randomBytes: () => Uint8Array.from([9, 9, 9, 9, 9, 9, 9, 9]) });
    assert.is(again.report.chain.source, 'chain-state');
    assert.is(again.report.chain.epoch, '0707070707070707', 'the epoch is kept, not started again');
    assert.is(again.j.chainHead().seq, head.seq + 1);
    await again.j.close();
  } finally { env.teardown(); }
});

test('[double] an unclean stop: a process crash (same boot) resumes exactly; a power cut (new boot) with damage resumes after the lease and tells it', async () => {
  for (const boot of [BOOT_A, BOOT_B]) {
    const env = doubleEnv();
    const o = await openJournal(env, { bootId: BOOT_A, segmentBytes: 2048 });
    await appendRange(o.j, 1, 30, 200);
    await o.j.sync();
    o.j.commit(10);
    await o.j.sync();
    env.double!.crash(); // no close: the chain state is not marked clean
    // and the medium damaged the middle segment's header
    const dir = env.dir;
    const names = (await env.fs.readdir(dir)).filter((n) => n.endsWith('.twj')).sort();
    const victim = `${dir}/${names[1]}`;
    const bytes = env.double!.readRaw(victim);
    bytes.fill(0x41, 0, 16);
    env.double!.writeRaw(victim, bytes);
    const before = await createChainFile(`${dir}/chain`, env.fs).load();
    assert.ok(before.ok && !before.value.clean);
    const lease = before.value.lease;
    assert.ok(lease >= 30, `the lease covers what was durable (${lease})`);
    const r = await openJournal(env, { bootId: boot, segmentBytes: 2048 });
    if (boot === BOOT_A) {
      assert.is(r.report.chain.source, 'chain-state', 'same boot: the page cache survived, the chain state is exact');
      assert.is(r.j.chainHead().seq, 30);
      assert.is(r.drops.length, 1, JSON.stringify(r.drops));
      assert.is(r.drops[0]!.reason, 'corrupt');
    } else {
      assert.is(r.report.chain.source, 'lease');
      assert.is(r.j.chainHead().seq, lease, 'nothing that may have been durable is reused');
      const told = r.drops.flatMap((d) => nums(d.first, d.last));
      for (const s of nums(31, lease)) assert.ok(told.includes(s), `seq ${s} told`);
      assert.ok(r.drops.every((d) => d.reason === 'corrupt'));
    }
    await r.j.close();
  }
});

test('[double] a power cut without damage: the chain goes on after every batch journaled whose position reached the disk; those lost are told', async () => {
  let ahead = 0;
  for (let seed = 1; seed <= 30; seed++) {
    const env = doubleEnv();
    const o = await openJournal(env, { bootId: BOOT_A });
    await appendRange(o.j, 1, 10);
    await o.j.sync();
    await appendRange(o.j, 11, 15); // written, not fsynced: data and chain position may each survive, or not
    env.double!.crash({ torn: true, random: prng(seed) });
    const r = await openJournal(env, { bootId: BOOT_B });
    assert.is(r.report.chain.source, 'chain-state', 'no damage: no lease jump');
    const last = r.j.last()!.seq;
    const head = r.j.chainHead().seq;
    assert.ok(last >= 10, 'the durable part survived');
    assert.ok(head >= last && head <= 15, `seed ${seed}: ${last}..${head}`);
    if (head > last) {
      ahead++;
      assert.equal(r.drops, [{ first: last + 1, last: head, batches: head - last, readings: 0, reason: 'corrupt' }], 'told, not reused');
    } else {
      assert.equal(r.drops, [], 'nothing journaled was lost');
    }
    await r.j.close();
  }
  assert.ok(ahead > 0, 'some power cuts kept a chain position whose batch data was lost');
});

test.run();
