// Journal benchmark: append throughput on the real fs (2 KiB batches, fsync
// batched at 1 s and per append), write amplification (logical and in 4 KiB
// pages an SD card would write), fsyncs per second at realistic rates (manual
// clock + the fs double), recovery scan and read-back speed, CRC-32C speed.
// Prints a table; asserts nothing.  node --import tsx test/bench/journal.bench.ts

import { pathToFileURL } from 'node:url';
import { createCounters } from '../../agent/counters.js';
import { crc32c } from '../../agent/journal/crc32c.js';
import { createJournal } from '../../agent/journal/journal.js';
import type { Journal, JournalOptions } from '../../agent/journal/journal.js';
import { silentLogger } from '../../agent/log.js';
import { createManualClock, createSystemClock } from '../../hal/clock.js';
import { createFileSystemDouble } from '../../hal/file-double.js';
import { nodeFileSystem } from '../../hal/file-node.js';
import type { FileSystem } from '../../hal/file.js';
import { tempDir } from '../helpers.js';

const DEFAULTS: Omit<JournalOptions, 'dir'> = { maxBytes: 64 << 20, segmentBytes: 4 << 20, fsyncIntervalMs: 1000, fsyncEveryRecords: 1000 };
const KB2 = 2048;

const rows: Array<[string, string]> = [];
const row = (what: string, value: string): void => { rows.push([what, value]); };
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function payload(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 7) & 0xff;
  return b;
}

function journalOn(fs: FileSystem, dir: string, opts: Partial<JournalOptions>, clock = createSystemClock('free')): Journal {
  return createJournal({ dir, ...DEFAULTS, ...opts }, { fs, clock, log: silentLogger, counters: createCounters() });
}

/** Appends 2 KiB records on the real fs for up to `ms` or `max` records. */
async function appendThroughput(fsyncIntervalMs: number, max: number, ms: number): Promise<void> {
  const t = tempDir('tapwire-bench-journal-');
  try {
    const j = journalOn(nodeFileSystem, `${t.path}/journal`, { fsyncIntervalMs, maxBytes: 1 << 30 });
    await j.open();
    const bytes = payload(KB2, 1);
    const t0 = performance.now();
    let seq = 0;
    while (seq < max && performance.now() - t0 < ms) await j.append({ seq: ++seq, readings: 100, bytes });
    await j.sync();
    const s = (performance.now() - t0) / 1000;
    const st = j.stats();
    await j.close();
    const label = fsyncIntervalMs === 0 ? 'fsync every append' : `fsyncIntervalMs ${fsyncIntervalMs}, every ${DEFAULTS.fsyncEveryRecords} records`;
    row(`append 2 KiB, ${label}`, `${fmt(seq / s)} records/s = ${fmt((seq * 100) / s)} readings/s at batch 100, ${fmt((st.appendedBytes / s) / 1e6, 1)} MB/s (${fmt(seq)} records, ${fmt(st.fsyncs)} fsyncs)`);
  } finally { t.remove(); }
}

/**
 * Simulated hours on the double with a manual clock: `perSecond` batches of
 * `size` bytes, each committed as soon as it is durable (an uplink that keeps up).
 */
async function fsyncRate(label: string, perSecond: number, size: number, seconds: number): Promise<void> {
  const fs = createFileSystemDouble();
  const clock = createManualClock();
  const j = journalOn(fs, '/j', {}, clock);
  j.onDurable((seq) => j.commit(seq));
  await j.open();
  const bytes = payload(size, 2);
  await j.append({ seq: 1, readings: 1, bytes }); // warm: first segment, commit file
  await j.sync();
  const base = { ...fs.stats, fsyncs: j.stats().fsyncs, written: j.stats().bytesWritten, payload: j.stats().appendedBytes };
  let seq = 1;
  if (perSecond === 0) {
    await clock.advance(seconds * 1000);
  } else {
    const step = 1000 / perSecond;
    for (let i = 0; i < seconds * perSecond; i++) {
      await clock.advance(step);
      await j.append({ seq: ++seq, readings: 100, bytes });
    }
  }
  await j.readFrom(seq + 1, 1); // let queued work finish
  const st = j.stats();
  const fsyncs = st.fsyncs - base.fsyncs;
  const pages = fs.stats.pagesFlushed - base.pagesFlushed;
  const pay = st.appendedBytes - base.payload;
  const wa = pay > 0 ? `WA ${fmt((st.bytesWritten - base.written) / pay, 3)}x logical, ${fmt((pages * 4096) / pay, 2)}x in 4 KiB pages` : 'no writes';
  row(`fsyncs/s: ${label}`, `${fmt(fsyncs / seconds, 2)}/s (data+commit+dir; ${fmt(pages / seconds, 2)} pages/s; ${wa})`);
  await j.close();
}

async function writeAmplification(size: number): Promise<void> {
  // real fs, 1 batch per fsync interval emulated by explicit syncs, every batch acknowledged
  const t = tempDir('tapwire-bench-journal-');
  try {
    const j = journalOn(nodeFileSystem, `${t.path}/journal`, {});
    j.onDurable((seq) => j.commit(seq));
    await j.open();
    const bytes = payload(size, 3);
    for (let seq = 1; seq <= 2000; seq++) {
      await j.append({ seq, readings: 100, bytes });
      if (seq % 10 === 0) await j.sync();
    }
    await j.close();
    const st = j.stats();
    row(`write amplification, ${size} B batches, commit file included`, `${fmt(st.bytesWritten / st.appendedBytes, 3)}x (${fmt(st.bytesWritten)} bytes written for ${fmt(st.appendedBytes)} payload)`);
  } finally { t.remove(); }
}

async function recoveryAndRead(totalBytes: number): Promise<void> {
  const t = tempDir('tapwire-bench-journal-');
  try {
    const dir = `${t.path}/journal`;
    const w = journalOn(nodeFileSystem, dir, { maxBytes: totalBytes + (8 << 20) });
    await w.open();
    const bytes = payload(KB2, 4);
    const n = Math.floor(totalBytes / (KB2 + 24));
    for (let seq = 1; seq <= n; seq++) await w.append({ seq, readings: 100, bytes });
    await w.close();
    const t0 = performance.now();
    const r = journalOn(nodeFileSystem, dir, { maxBytes: totalBytes + (8 << 20) });
    const report = await r.open();
    const openMs = performance.now() - t0;
    row(`open (scan + CRC check) of a ${fmt(totalBytes / (1 << 20))} MiB journal, page cache warm`, `${fmt(openMs)} ms = ${fmt(totalBytes / (1 << 20) / (openMs / 1000))} MiB/s (${fmt(report.records)} records, ${report.segments} segments)`);
    const t1 = performance.now();
    let got = 0;
    for (let from = 1; ; ) {
      const batch = await r.readFrom(from, 100);
      if (batch.length === 0) break;
      got += batch.length;
      from = batch[batch.length - 1]!.seq + 1;
    }
    const readS = (performance.now() - t1) / 1000;
    row('readFrom, 100 records per call, whole journal', `${fmt(got / readS)} records/s, ${fmt((got * KB2) / readS / 1e6, 1)} MB/s`);
    await r.close();
  } finally { t.remove(); }
}

function crcSpeed(): void {
  const buf = payload(16 << 20, 5);
  crc32c(buf);
  const t0 = performance.now();
  crc32c(buf);
  row('CRC-32C (slice-by-8, JS)', `${fmt((16 / ((performance.now() - t0) / 1000)))} MiB/s`);
}

export async function run(): Promise<void> {
  rows.length = 0;
  await appendThroughput(1000, 50_000, 3000);
  await appendThroughput(0, 2000, 2500);
  await writeAmplification(KB2);
  await writeAmplification(150);
  await fsyncRate('idle (nothing appended), 10 min', 0, KB2, 600);
  await fsyncRate('1 reading/s, batch maxAge 1 s (1 batch/s of ~150 B), 10 min', 1, 150, 600);
  await fsyncRate('100 readings/s, batch 100 (1 batch/s of 2 KiB), 10 min', 1, KB2, 600);
  await fsyncRate('100k readings/s, batch 100 (1000 batches/s of 2 KiB), 20 s', 1000, KB2, 20);
  await recoveryAndRead(64 << 20);
  crcSpeed();
  const w = Math.max(...rows.map(([a]) => a.length));
  console.log('journal (real fs on this machine unless noted; fsync rates simulated on the fs double with a manual clock)');
  console.log(`${'measure'.padEnd(w)} | result`);
  console.log(`${'-'.repeat(w)}-|-${'-'.repeat(40)}`);
  for (const [a, b] of rows) console.log(`${a.padEnd(w)} | ${b}`);
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  run().catch((err: unknown) => { console.error(err); process.exit(1); });
}
