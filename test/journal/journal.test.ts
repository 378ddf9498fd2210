// The journal's API contract, run against the in-memory double and the real fs.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ENVS, appendRange, equalBytes, openJournal, payloadFor, prng, readAll, recordFor, envTest } from './fixtures.js';

for (const makeEnv of ENVS) {
  const t = envTest(makeEnv);

  t('a fresh journal opens empty', async (env) => {
    const { j, report } = await openJournal(env);
    assert.equal(report, {
      segments: 0, records: 0, truncatedBytes: 0, corruptRecords: 0, quarantined: [],
      chain: { seq: 0, source: 'fresh', epoch: '0000000000000000', lost: [], why: 'chain state file missing' },
    });
    assert.equal(j.chainHead(), { seq: 0, hash: new Uint8Array(32), epoch: new Uint8Array(8) });
    assert.is(j.last(), undefined);
    assert.is(j.durableSeq(), 0);
    assert.is(j.committedSeq(), 0);
    assert.equal(await j.readFrom(1, 10), []);
    await j.close();
  });

  t('appended records read back in order with identical bytes once synced', async (env) => {
    const { j } = await openJournal(env);
    await appendRange(j, 1, 50);
    await j.sync();
    const got = await readAll(j);
    assert.equal(got.map((r) => r.seq), Array.from({ length: 50 }, (_, i) => i + 1));
    for (const r of got) {
      assert.ok(equalBytes(r.bytes, payloadFor(r.seq)), `bytes of ${r.seq}`);
      assert.is(r.readings, recordFor(r.seq).readings);
    }
    assert.is(j.stats().appended, 50);
    await j.close();
  });

  t('readFrom returns only durable records', async (env) => {
    const { j } = await openJournal(env);
    await appendRange(j, 1, 5);
    assert.equal(await j.readFrom(1, 10), [], 'written but not fsynced: not readable for the uplink');
    assert.is(j.durableSeq(), 0);
    await j.sync();
    await appendRange(j, 6, 8);
    assert.equal((await j.readFrom(1, 10)).map((r) => r.seq), [1, 2, 3, 4, 5]);
    assert.is(j.durableSeq(), 5);
    await j.close();
  });

  t('readFrom starts at seq, returns at most max, crosses segments and skips holes', async (env) => {
    const { j } = await openJournal(env, { segmentBytes: 1024 });
    const seqs = [1, 2, 3, 7, 8, 20, 21, 22, 23, 24, 25, 30];
    for (const s of seqs) await j.append(recordFor(s, 200));
    await j.sync();
    assert.ok(j.stats().segments >= 3, `spans segments (${j.stats().segments})`);
    assert.equal((await j.readFrom(4, 3)).map((r) => r.seq), [7, 8, 20]);
    assert.equal((await j.readFrom(9, 100)).map((r) => r.seq), [20, 21, 22, 23, 24, 25, 30]);
    assert.equal((await j.readFrom(26, 1)).map((r) => r.seq), [30]);
    assert.equal(await j.readFrom(31, 5), []);
    assert.equal(await j.readFrom(1, 0), []);
    await j.close();
  });

  t('readFrom at random positions over a large journal matches a filter of all records', async (env) => {
    const { j } = await openJournal(env, { segmentBytes: 256 * 1024, maxBytes: 4 * 1024 * 1024 });
    const all: number[] = [];
    const r = prng(7);
    let seq = 0;
    for (let i = 0; i < 1500; i++) { seq += 1 + Math.floor(r() * 2); all.push(seq); await j.append(recordFor(seq, 600)); }
    await j.sync();
    for (let k = 0; k < 60; k++) {
      const from = Math.floor(r() * (seq + 5));
      const max = 1 + Math.floor(r() * 40);
      const got = await j.readFrom(from, max);
      assert.equal(got.map((x) => x.seq), all.filter((s) => s >= from).slice(0, max), `readFrom(${from}, ${max})`);
      for (const x of got) assert.ok(equalBytes(x.bytes, payloadFor(x.seq, 600)));
    }
    await j.close();
  });

  t('reopen continues: last(), durableSeq and committedSeq survive close', async (env) => {
    const a = await openJournal(env);
    await appendRange(a.j, 1, 30);
    await a.j.sync();
    a.j.commit(12);
    await a.j.close();
    const b = await openJournal(env);
    assert.is(b.report.records, 30);
    assert.is(b.report.firstSeq, 1);
    assert.is(b.report.lastSeq, 30);
    assert.is(b.report.commitFallback, undefined);
    assert.is(b.j.last()?.seq, 30);
    assert.ok(equalBytes(b.j.last()!.bytes, payloadFor(30)));
    assert.is(b.j.last()?.readings, recordFor(30).readings);
    assert.is(b.j.durableSeq(), 30);
    assert.is(b.j.committedSeq(), 12);
    await b.j.append(recordFor(31));
    await b.j.sync();
    assert.equal((await b.j.readFrom(29, 10)).map((r) => r.seq), [29, 30, 31]);
    await b.j.close();
  });

  t('append refuses a seq that does not increase and a record too big for a segment', async (env) => {
    const { j } = await openJournal(env, { segmentBytes: 1024 });
    await j.append(recordFor(5));
    for (const bad of [5, 4, 0, -1, 1.5]) {
      const err = await j.append(recordFor(bad)).then(() => undefined, (e: Error) => e);
      assert.instance(err, RangeError, `seq ${bad}`);
    }
    const tooBig = await j.append({ seq: 6, readings: 1, bytes: new Uint8Array(2000) }).then(() => undefined, (e: unknown) => e);
    assert.is((tooBig as { code?: string }).code, 'ERR_JOURNAL_RECORD_TOO_LARGE');
    await j.append(recordFor(6)); // the refused ones did not consume the seq
    assert.is(j.last()?.seq, 6);
    await j.close();
  });

  t('appends issued without awaiting are written in call order', async (env) => {
    const { j } = await openJournal(env);
    await Promise.all([1, 2, 3, 4, 5].map((s) => j.append(recordFor(s))));
    await j.sync();
    assert.equal((await readAll(j)).map((r) => r.seq), [1, 2, 3, 4, 5]);
    await j.close();
  });

  t('commit never moves backwards and never passes durableSeq', async (env) => {
    const { j } = await openJournal(env);
    await appendRange(j, 1, 10);
    j.commit(5);
    assert.is(j.committedSeq(), 0, 'nothing durable yet');
    await j.sync();
    j.commit(7);
    j.commit(3);
    assert.is(j.committedSeq(), 7);
    await appendRange(j, 11, 12);
    j.commit(12);
    assert.is(j.committedSeq(), 10, 'clamped to durableSeq');
    await j.close();
  });

  t('write amplification stays under 1.5x for 2 KiB batches, segment headers and state files included', async (env) => {
    const before = env.double ? env.double.stats.bytesWritten : 0; // the state files are created by open()
    const { j } = await openJournal(env, { segmentBytes: 64 * 1024, maxBytes: 1024 * 1024 });
    j.onDurable((seq) => j.commit(seq));
    for (let s = 1; s <= 300; s++) {
      await j.append(recordFor(s, 2048));
      if (s % 5 === 0) await j.sync();
    }
    await j.close();
    const st = j.stats();
    assert.is(st.appendedBytes, 300 * 2048);
    assert.ok(st.bytesWritten / st.appendedBytes <= 1.5, `WA ${st.bytesWritten / st.appendedBytes}`);
    assert.ok(st.bytesWritten > st.appendedBytes + 300 * 24, 'framing and commit writes are counted');
    if (env.double) assert.is(env.double.stats.bytesWritten - before, st.bytesWritten, 'the journal counts what the fs was asked to write');
  });

  t('a journal refuses appends after close and open twice', async (env) => {
    const { j } = await openJournal(env);
    await j.close();
    const err = await j.append(recordFor(1)).then(() => undefined, (e: unknown) => e);
    assert.is((err as { code?: string }).code, 'ERR_JOURNAL_STATE');
    const again = await j.open().then(() => undefined, (e: unknown) => e);
    assert.instance(again, Error);
  });
}

test.run();
