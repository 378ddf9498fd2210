// agent/gap-teller: every loss told once, on a real journal (the in-memory
// double) with a real encoder and signer.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCounters } from '../../agent/counters.js';
import { createBatchEncoder, parseBatchPayload, type BatchEncoder } from '../../agent/encode/batch.js';
import { decodeSign1 } from '../../agent/encode/cose.js';
import { createCryptoSigner } from '../../agent/encode/signer.js';
import { createGapTeller } from '../../agent/parts/gap-teller.js';
import { createJournal, type Journal } from '../../agent/journal/journal.js';
import { silentLogger } from '../../agent/log.js';
import { createManualClock } from '../../hal/clock.js';
import { createFileSystemDouble } from '../../hal/file-double.js';
import type { FileHandle, FileSystem } from '../../hal/file.js';

const signer = createCryptoSigner(new Uint8Array(32).fill(3));

async function session(fs: FileSystem): Promise<{ journal: Journal; encoder: BatchEncoder; drained: () => Promise<void>; start: () => Promise<void> }> {
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

/** The double, counting the bytes read from segment files. */
function countingReads(fs: FileSystem): { fs: FileSystem; segmentBytesRead: () => number } {
  let n = 0;
  const wrap = (h: FileHandle): FileHandle => ({
    ...h,
    path: h.path,
    size: () => h.size(),
    read: async (p, len) => { const b = await h.read(p, len); if (h.path.endsWith('.twj')) n += b.length; return b; },
    append: (d) => h.append(d), write: (p, d) => h.write(p, d), truncate: (len) => h.truncate(len), sync: () => h.sync(), close: () => h.close(),
  });
  return { fs: { ...fs, open: async (path, mode) => wrap(await fs.open(path, mode)) }, segmentBytesRead: () => n };
}

test('start-up reads the journal once: the recall of pending records and notices works from the open scan', async () => {
  const disk = createFileSystemDouble();
  const a = await session(disk);
  await a.start();
  for (let i = 0; i < 40; i++) {
    const b = a.encoder.encodeReadings(Array.from({ length: 20 }, (_, k) => ({ name: 'x:n', time: 1 + i, v: i * 100 + k })));
    await a.journal.append({ seq: b.seq, readings: 20, bytes: b.bytes });
  }
  const g = a.encoder.encodeGap(3, 4, 'journal-full'); // a pending gap notice the recall must find
  await a.journal.append({ seq: g.seq, readings: 0, bytes: g.bytes });
  await a.journal.close();
  const segmentBytes = disk.stats.bytesWritten;

  const counted = countingReads(disk);
  const pending: number[] = [];
  const journal = createJournal(
    { dir: '/state/journal', maxBytes: 1024 * 1024, segmentBytes: 64 * 1024, fsyncIntervalMs: 0, fsyncEveryRecords: 1 },
    { fs: counted.fs, clock: createManualClock(), log: silentLogger, counters: createCounters() },
  );
  let encoder: BatchEncoder | undefined;
  const gaps = createGapTeller({
    journal, encoder: () => encoder!, counters: createCounters(), log: silentLogger, enqueue: () => undefined,
    onPending: (seq) => pending.push(seq),
  });
  await journal.open();
  encoder = createBatchEncoder({ device: 'd', signer, clockSynced: () => true, nowMs: () => 0 }, { seq: journal.chainHead().seq, prev: journal.chainHead().hash });
  await gaps.start({ newEpoch: false });
  assert.equal(pending, Array.from({ length: 41 }, (_, i) => i + 1), 'every pending record is recalled');
  const read = counted.segmentBytesRead();
  // the scan reads every segment byte once (and the last record once more for the chain);
  // before, the recall read every pending record a second time
  assert.ok(read < segmentBytes * 1.15, `read ${read} bytes of ${segmentBytes} on disk`);
  await journal.close();
});

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
