// agent/parts/status-file.ts on the hal doubles: status.json is rewritten only
// when its content changed (gentle on an SD card), refreshed now and then so its
// age tells a reader something, replaced whole, and written last at stop.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../agent/log.js';
import { createStatusFile } from '../../agent/parts/status-file.js';
import { createTicker } from '../../agent/parts/ticker.js';
import { createManualClock } from '../../hal/clock.js';
import { createFileSystemDouble } from '../../hal/file-double.js';

function rig() {
  const clock = createManualClock();
  const fs = createFileSystemDouble();
  const content = { state: 'running', readings: 0 };
  const status = () => ({ ...content, updated: Math.floor(clock.now() / 1000) });
  const file = createStatusFile({ dir: '/run/tapwire', everyMs: 5000, refreshMs: 60_000 }, { fs, clock, log: silentLogger, content: status });
  const ticker = createTicker([file], { clock, log: silentLogger });
  const read = (): Record<string, unknown> => JSON.parse(Buffer.from(fs.readRaw('/run/tapwire/status.json')).toString('utf8')) as Record<string, unknown>;
  /** Files created so far: each status write creates one temp file. */
  const writes = (): number => fs.stats.writes;
  // lets the write started by a tick finish (the double resolves at once)
  const settle = async (): Promise<void> => { for (let i = 0; i < 20; i++) await Promise.resolve(); };
  return { clock, fs, content, file, ticker, read, writes, settle };
}

test('nothing changed: no write on the ticks after the first, however many', async () => {
  const r = rig();
  await r.file.start();
  await r.ticker.start();
  assert.is(r.writes(), 1, 'written once at start');
  assert.is(r.read().state, 'running');
  for (let i = 0; i < 10; i++) { await r.clock.advance(5000); await r.settle(); }
  assert.is(r.writes(), 1, 'ten ticks with the same content: no write (the `updated` time alone is no change)');
  await r.ticker.stop();
});

test('a change is written at the next tick, and only once', async () => {
  const r = rig();
  await r.file.start();
  await r.ticker.start();
  r.content.readings = 7;
  await r.clock.advance(4999); await r.settle();
  assert.is(r.writes(), 1, 'not before the tick');
  await r.clock.advance(1); await r.settle();
  assert.is(r.writes(), 2, 'written at the tick');
  assert.is(r.read().readings, 7);
  await r.clock.advance(5000); await r.settle();
  assert.is(r.writes(), 2, 'not again while it stays the same');
  await r.ticker.stop();
});

test('unchanged content is refreshed after refreshMs, so its age stays meaningful', async () => {
  const r = rig();
  await r.file.start();
  await r.ticker.start();
  const first = r.read().updated as number;
  await r.clock.advance(55_000); await r.settle();
  assert.is(r.writes(), 1);
  await r.clock.advance(5000); await r.settle();
  assert.is(r.writes(), 2, 'refreshed after 60 s');
  assert.is(r.read().updated, first + 60);
  await r.ticker.stop();
});

test('stop writes the last status even when unchanged, and the ticks end', async () => {
  const r = rig();
  await r.file.start();
  await r.ticker.start();
  await r.ticker.stop();
  await r.file.stop();
  assert.is(r.writes(), 2, 'the last write at stop');
  r.content.readings = 9;
  await r.clock.advance(60_000); await r.settle();
  assert.is(r.writes(), 2, 'no tick after stop');
});

test('a full disk: the write fails quietly, no temp file stays, the next tick tries again', async () => {
  const r = rig();
  await r.file.start();
  r.fs.failNextWrite('ENOSPC');
  await r.ticker.start();
  assert.equal(await r.fs.readdir('/run/tapwire'), [], 'no status.json, no status.json.tmp');
  await r.clock.advance(5000); await r.settle();
  assert.is(r.read().state, 'running', 'written at the next tick although nothing changed');
  assert.equal(await r.fs.readdir('/run/tapwire'), ['status.json']);
  await r.ticker.stop();
});

test.run();
