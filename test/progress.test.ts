// agent/progress.ts: stuck means work waits on us and nothing of it moves for
// longer than the limit. The probe alone on a manual clock, then the whole agent
// (serial double, real files) with an fsync that never returns.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createAgent, keyPaths } from '../agent/agent.js';
import { validateConfig } from '../agent/config/load.js';
import { generateKeyPair, writeKeyPair } from '../agent/encode/keys.js';
import { parseSegmentName } from '../agent/journal/format.js';
import { silentLogger } from '../agent/log.js';
import { createProgressProbe, type PipelineView } from '../agent/progress.js';
import { createManualClock } from '../hal/clock.js';
import type { FileHandle, FileSystem } from '../hal/file.js';
import { nodeFileSystem } from '../hal/file-node.js';
import { createSerialDoubleFactory } from '../hal/serial-double.js';
import { tempDir, waitFor } from './helpers.js';

const view = (v: Partial<PipelineView> = {}): PipelineView => ({ pendingReadings: 0, lastSeq: 5, durableSeq: 5, ...v });

test('idle, or moving: never stalled, however long', async () => {
  const clock = createManualClock();
  const p = createProgressProbe(clock, { batchMaxAgeMs: 1000, fsyncIntervalMs: 1000 });
  for (let i = 0; i < 20; i++) {
    assert.is(p.stalled(2000, view()), undefined, 'nothing waits');
    await clock.advance(60_000);
  }
  for (let i = 0; i < 20; i++) {
    p.queued(); p.settled(); p.queued(); // work comes and goes, one always waiting
    assert.is(p.stalled(2000, view({ pendingReadings: 3, lastSeq: 10 + i, durableSeq: 9 + i })), undefined, 'everything moved since the last look');
    await clock.advance(10_000);
    p.settled();
  }
});

test('an append that never finishes is stuck after the limit, not before', async () => {
  const clock = createManualClock();
  const p = createProgressProbe(clock, { batchMaxAgeMs: 1000, fsyncIntervalMs: 1000 });
  p.queued();
  assert.is(p.stalled(2000, view()), undefined);
  await clock.advance(2000);
  assert.is(p.stalled(2000, view()), undefined, 'exactly the limit: still patient');
  await clock.advance(1);
  assert.is(p.stalled(2000, view()), 'journal append not finished for 2.0 s (1 waiting)');
  p.settled();
  assert.is(p.stalled(2000, view()), undefined, 'it finished: moving again');
});

test('batches not made durable for fsyncIntervalMs + limit, and readings no batch takes for maxAgeMs + limit, are stuck', async () => {
  const clock = createManualClock();
  const p = createProgressProbe(clock, { batchMaxAgeMs: 500, fsyncIntervalMs: 1000 });
  const unsynced = view({ lastSeq: 9, durableSeq: 7 });
  assert.is(p.stalled(2000, unsynced), undefined);
  await clock.advance(3000);
  assert.is(p.stalled(2000, unsynced), undefined);
  await clock.advance(1);
  assert.is(p.stalled(2000, unsynced), 'no journal fsync for 3.0 s (durable seq 7, newest 9)');
  assert.is(p.stalled(2000, view({ lastSeq: 9, durableSeq: 8 })), undefined, 'the durable seq moved');

  const waiting = view({ pendingReadings: 4 });
  assert.is(p.stalled(2000, waiting), undefined);
  await clock.advance(2501);
  assert.is(p.stalled(2000, waiting), 'no batch closed for 2.5 s with 4 readings waiting');
  p.queued(); // the batcher handed a batch over
  assert.is(p.stalled(2000, waiting), undefined);
  p.settled();
});

test('the agent: while fsyncs complete it is never stalled; an fsync that never returns makes it stalled, naming the journal', async () => {
  const dir = tempDir('tapwire-progress-');
  const clock = createManualClock();
  const serial = createSerialDoubleFactory();
  // real files; sync() of a segment hangs while `hang` is set (a dying SD card), and is released at the end
  let hang = false;
  const hung: Array<() => void> = [];
  const fs: FileSystem = {
    ...nodeFileSystem,
    async open(path, mode) {
      const h = await nodeFileSystem.open(path, mode);
      const wrapped: FileHandle = {
        path: h.path, size: () => h.size(), read: (p, n) => h.read(p, n), append: (d) => h.append(d),
        write: (p, d) => h.write(p, d), truncate: (n) => h.truncate(n), close: () => h.close(),
        sync: () => (hang && parseSegmentName(basename(path)) !== undefined ? new Promise<void>((resolve) => { hung.push(() => { void h.sync().then(resolve); }); }) : h.sync()),
      };
      return wrapped;
    },
  };
  const stateDir = join(dir.path, 'state');
  const checked = validateConfig({
    device: 'stall-1', stateDir, clock: 'free',
    uplink: { url: 'mqtt://127.0.0.1:9', protocolVersion: 4 }, // nothing listens: an outage is not a stall
    batch: { maxRecords: 1, maxAgeMs: 1000 },
    journal: { fsyncIntervalMs: 1000 },
    sources: [{ id: 'env', type: 'lines', port: { path: '/dev/double0', baudRate: 9600 }, decoder: { type: 'kv' } }],
  });
  if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeKeyPair(keyPaths(stateDir).key, keyPaths(stateDir).pub, generateKeyPair());
  const agent = createAgent(checked.config, { serial, clock, fs, log: silentLogger, statusDir: dir.path });
  try {
    await agent.start();
    const port = serial.ports.get('/dev/double0')!;
    const journal = (): { lastSeq: number; durableSeq: number } => agent.status().journal;
    for (let i = 1; i <= 5; i++) {
      port.emitData(`t=${i}\n`);
      await waitFor(() => journal().lastSeq === i, 5000, `batch ${i} journaled`);
      await clock.advance(1000); // the fsync timer
      await waitFor(() => journal().durableSeq === i, 5000, `batch ${i} durable`);
      assert.is(agent.stalled(2000), undefined, `healthy at batch ${i}`);
      await clock.advance(10_000);
      assert.is(agent.stalled(2000), undefined, 'idle between readings');
    }
    hang = true;
    port.emitData('t=6\n');
    await waitFor(() => journal().lastSeq === 6, 5000, 'batch 6 journaled');
    await clock.advance(1000);
    await waitFor(() => hung.length > 0, 5000, 'the fsync started');
    const seen: Array<string | undefined> = [];
    for (let t = 0; t < 8; t++) { seen.push(agent.stalled(2000)); await clock.advance(500); }
    assert.is(seen[0], undefined, 'first look: nothing known yet');
    const stuck = seen.find((s) => s !== undefined);
    assert.match(stuck ?? '', /^no journal fsync for \d+\.\d s \(durable seq 5, newest 6\)$/);
    hang = false;
    for (const release of hung.splice(0)) release();
    await waitFor(() => journal().durableSeq === 6, 5000, 'the released fsync completes');
    assert.is(agent.stalled(2000), undefined, 'moving again');
  } finally {
    hang = false;
    for (const release of hung.splice(0)) release();
    await agent.stop();
    dir.remove();
  }
});

test.run();
