// agent/gap-teller: every loss told once, on a real journal (the in-memory
// double) with a real encoder and signer.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCounters } from '../agent/counters.js';
import { createBatchEncoder, parseBatchPayload, type BatchEncoder } from '../agent/encode/batch.js';
import { decodeSign1 } from '../agent/encode/cose.js';
import { createCryptoSigner } from '../agent/encode/signer.js';
import { createGapTeller } from '../agent/gap-teller.js';
import { createJournal, type Journal } from '../agent/journal/journal.js';
import { silentLogger } from '../agent/log.js';
import { createManualClock } from '../hal/clock.js';
import { createFileSystemDouble, type FileSystemDouble } from '../hal/file-double.js';

const signer = createCryptoSigner(new Uint8Array(32).fill(3));

async function session(fs: FileSystemDouble): Promise<{ journal: Journal; encoder: BatchEncoder; drained: () => Promise<void>; start: () => Promise<void> }> {
  const journal = createJournal(
    { dir: '/state/journal', maxBytes: 1024 * 1024, segmentBytes: 64 * 1024, fsyncIntervalMs: 0, fsyncEveryRecords: 1 },
    { fs, clock: createManualClock(), log: silentLogger, counters: createCounters() },
  );
  let chain: Promise<void> = Promise.resolve();
  let encoder: BatchEncoder | undefined;
  const gaps = createGapTeller({
    journal, encoder: () => encoder!, counters: createCounters(), log: silentLogger,
    enqueue: (work) => { chain = chain.then(() => gaps.tellUntold()).then(work).catch(() => undefined); },
  });
  const report = await journal.open();
  const head = journal.chainHead();
  encoder = createBatchEncoder({ device: 'd', signer, clockSynced: () => true, nowMs: () => 0 }, { seq: head.seq, prev: head.hash });
  return {
    journal, encoder,
    start: () => gaps.start({ newEpoch: report.chain.source === 'new-epoch' }),
    drained: async () => { await chain; await chain; },
  };
}

async function gapNotices(journal: Journal): Promise<Array<[number, number, string]>> {
  const out: Array<[number, number, string]> = [];
  for (const r of await journal.readFrom(1, 10_000)) {
    const p = parseBatchPayload(decodeSign1(r.bytes).payload);
    if (p.gap) out.push(p.gap);
  }
  return out;
}

test('a hole no notice tells (a drop cut short by a crash) is told as lost at the next start, exactly once', async () => {
  const fs = createFileSystemDouble();
  const a = await session(fs);
  await a.start();
  for (let i = 0; i < 5; i++) { const b = a.encoder.encodeReadings([{ name: 'x:n', time: 1, v: i }]); await a.journal.append({ seq: b.seq, readings: 1, bytes: b.bytes }); }
  // seqs 6 and 7 were signed and dropped, and the process died before their notice was journaled
  a.encoder.encodeReadings([{ name: 'x:n', time: 1, v: 6 }]);
  a.encoder.encodeReadings([{ name: 'x:n', time: 1, v: 7 }]);
  for (let i = 8; i <= 10; i++) { const b = a.encoder.encodeReadings([{ name: 'x:n', time: 1, v: i }]); await a.journal.append({ seq: b.seq, readings: 1, bytes: b.bytes }); }
  await a.journal.close();

  const b = await session(fs);
  await b.start();
  await b.drained();
  assert.equal(await gapNotices(b.journal), [[6, 7, 'lost']]);
  await b.journal.close();

  const c = await session(fs);
  await c.start();
  await c.drained();
  assert.equal(await gapNotices(c.journal), [[6, 7, 'lost']], 'not told again: the pending notice tells it');
  await c.journal.close();
});

test('a batch signed but not journaled (the disk failed) is told before the next batch, under a new seq', async () => {
  const fs = createFileSystemDouble();
  const a = await session(fs);
  await a.start();
  const first = a.encoder.encodeReadings([{ name: 'x:n', time: 1, v: 1 }]);
  await a.journal.append({ seq: first.seq, readings: 1, bytes: first.bytes });
  await a.journal.close();
  const b = await session(fs);
  const gaps = createGapTeller({ journal: b.journal, encoder: () => b.encoder, counters: createCounters(), log: silentLogger, enqueue: () => undefined });
  const spent = b.encoder.encodeReadings([{ name: 'x:n', time: 1, v: 2 }]);
  fs.failNextWrite('EIO');
  const err = await gaps.journalBatch(spent).then(() => undefined, (e: unknown) => e);
  assert.ok(err, 'the append failed');
  await gaps.tellUntold();
  assert.equal(await gapNotices(b.journal), [[2, 2, 'write-error']]);
  assert.equal((await b.journal.readFrom(1, 10)).map((r) => r.seq), [1, 3], 'seq 2 is never reused');
  await b.journal.close();
});

test.run();
