// agent/parts/heap-trim.ts on the ticker, and hal/heap.ts: V8's full GC is
// there only with --expose-gc (a real node process each way), and it is run
// HEAP_TRIM_FIRST_MS after start, then every HEAP_TRIM_EVERY_MS.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { silentLogger } from '../../agent/log.js';
import { createHeapTrim, HEAP_TRIM_EVERY_MS, HEAP_TRIM_FIRST_MS } from '../../agent/parts/heap-trim.js';
import { createTicker } from '../../agent/parts/ticker.js';
import { createManualClock } from '../../hal/clock.js';
import { exposedFullGc } from '../../hal/heap.js';

test('the heap trim runs 30 s after start (not at start: the first batch comes first), then every 2 minutes, until stop', async () => {
  const clock = createManualClock();
  let runs = 0;
  const ticker = createTicker([createHeapTrim(() => { runs++; })], { clock, log: silentLogger });
  await ticker.start();
  assert.is(runs, 0, 'not at start');
  await clock.advance(HEAP_TRIM_FIRST_MS - 1);
  assert.is(runs, 0);
  await clock.advance(1);
  assert.is(runs, 1, 'the first');
  await clock.advance(HEAP_TRIM_EVERY_MS - 1);
  assert.is(runs, 1);
  await clock.advance(1);
  assert.is(runs, 2);
  await clock.advance(2 * HEAP_TRIM_EVERY_MS);
  assert.is(runs, 4);
  await ticker.stop();
  await clock.advance(2 * HEAP_TRIM_EVERY_MS);
  assert.is(runs, 4, 'none after stop');
});

test('hal/heap: no full GC without --expose-gc (this test process has none)', () => {
  assert.is(exposedFullGc(), undefined);
});

test('hal/heap: with --expose-gc the full GC runs and frees garbage', () => {
  // a child node: a large garbage array, then the exposed GC; heapUsed must drop
  const script = `
    const { exposedFullGc } = await import(${JSON.stringify(new URL('../../hal/heap.ts', import.meta.url).href)});
    const fullGc = exposedFullGc();
    if (!fullGc) { console.log('none'); process.exit(0); }
    let junk = Array.from({ length: 300000 }, (_, i) => ({ i, s: 'x' + i }));
    const before = process.memoryUsage().heapUsed;
    junk = undefined;
    fullGc();
    setTimeout(() => console.log(before - process.memoryUsage().heapUsed > 5e6 ? 'freed' : 'kept ' + (before - process.memoryUsage().heapUsed)), 500);`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), 'freed');
});

test.run();
