import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cut, fitFrame, wrap, type FrameParts } from '../../agent/view/frame.js';
import { fieldRows } from '../../agent/view/field-rows.js';
import { chainLines } from '../../agent/view/chain-lines.js';
import type { ChainSummary } from '../../agent/verify/chain.js';

const fields = (n: number): string[] => ['FIELD  VALUE', ...Array.from({ length: n }, (_, i) => `f${i}  ${i}`)];
const parts = (o: Partial<FrameParts> = {}): FrameParts => ({
  title: 'tapwire demo', keys: 'keys: q quit', fields: fields(12), chain: ['device  d', 'last seq  5', 'verified  5 batches'], notes: ['10:00:00 one', '10:00:01 two'], ...o,
});
const summary = (o: Partial<ChainSummary> = {}): ChainSummary => ({
  batches: 0, readings: 0, duplicates: 0, rejected: 0, conflicts: 0, gaps: [], missing: [], explainedBreaks: 0, unexplainedBreaks: 0, complete: true, ...o,
});

test('a roomy terminal shows everything, in order, one row shorter than the screen', () => {
  const out = fitFrame(parts(), { rows: 40, cols: 100 });
  assert.ok(out.length <= 39);
  assert.is(out[0], 'tapwire demo');
  assert.is(out[1], 'keys: q quit');
  assert.is(out[2], 'FIELD  VALUE');
  assert.is(out.filter((l) => /^f\d+ /.test(l)).length, 12);
  const chainAt = out.indexOf('-- chain (as the cloud side verified it) --');
  assert.ok(chainAt > 2 && out[chainAt + 1] === 'device  d');
  assert.equal(out.slice(-2), ['10:00:00 one', '10:00:01 two']);
});

test('a short terminal drops field rows first (three stay), says how many, and keeps the chain whole', () => {
  const out = fitFrame(parts(), { rows: 14, cols: 100 });
  assert.is(out.length, 13);
  assert.ok(out.includes('f0  0') && out.includes('f1  1'), out.join('\n'));
  assert.ok(out.includes('last seq  5') && out.includes('verified  5 batches'), out.join('\n'));
  const more = out.find((l) => l.includes('more fields'));
  assert.ok(more, out.join('\n'));
  const shown = out.filter((l) => /^f\d+ /.test(l)).length;
  assert.is(Number(/… (\d+) more fields/.exec(more!)![1]), 12 - shown);
  assert.ok(out.includes('10:00:01 two'), 'the latest note is kept');
});

test('a terminal too short for everything keeps the title, a few field rows, then the chain\'s first lines', () => {
  const out = fitFrame(parts({ chain: Array.from({ length: 10 }, (_, i) => `c${i}`) }), { rows: 9, cols: 80 });
  assert.equal(out, ['tapwire demo', 'FIELD  VALUE', 'f0  0', 'f1  1', '… 10 more fields (a taller terminal shows them)', '-- chain (as the cloud side verified it) --', 'c0', 'c1']);
});

test('a tiny terminal still never has more rows than the screen, nor a line wider than it', () => {
  for (const [rows, cols] of [[1, 10], [2, 5], [5, 20], [8, 30], [3, 1]] as const) {
    const out = fitFrame(parts({ title: 'x'.repeat(200) }), { rows, cols });
    assert.ok(out.length <= Math.max(1, rows - 1), `${rows}x${cols}: ${out.length} rows`);
    for (const l of out) assert.ok(Array.from(l).length <= Math.max(1, cols - 1), `${rows}x${cols}: ${JSON.stringify(l)}`);
  }
});

test('a section header never stands alone without a line under it', () => {
  for (let rows = 2; rows < 20; rows++) {
    const out = fitFrame(parts(), { rows, cols: 80 });
    const last = out[out.length - 1]!;
    assert.not.ok(last.startsWith('-- '), `${rows} rows end in a bare header: ${out.join(' | ')}`);
  }
});

test('notes wrap at the width instead of being cut; a word longer than the width is cut', () => {
  assert.equal(wrap('10:00:00 b: broker stopped, watch pending grow', 24, '         '), ['10:00:00 b: broker', '         stopped, watch', '         pending grow']);
  const out = fitFrame(parts({ notes: ['10:00:00 b: broker stopped, watch pending grow while last seq stands still'] }), { rows: 40, cols: 30 });
  const at = out.indexOf('-- what happened --');
  assert.ok(out.slice(at + 1).join(' ').replace(/\s+/g, ' ').includes('watch pending grow while last seq stands still'), out.join('\n'));
  assert.is(cut('abcdef', 4), 'abc…');
  assert.is(cut('abc', 4), 'abc');
});

test('control characters from the wire reach the screen escaped: nothing can move the cursor', () => {
  const out = fitFrame(parts({ fields: ['FIELD', 'evil\u001b[2J\u0007name  1'], notes: ['gap reason \u009b31m'] }), { rows: 40, cols: 120 });
  const text = out.join('\n');
  assert.not.ok(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(text), JSON.stringify(text));
  assert.ok(text.includes('evil\\x1b[2J\\x07name'));
});

test('field rows: value rounded for display only, unit, age, sparkline of recent values', () => {
  const rows = fieldRows([
    { name: 'wx:sog', value: 0.15433333333333335, unit: 'm/s', at: 1000, recent: [1, 2, 3] },
    { name: 'env:ok', value: true, at: 2000, recent: [] },
  ], 3500);
  assert.match(rows[0]!, /^FIELD\s+VALUE\s+UNIT\s+AGE\s+RECENT$/);
  assert.match(rows[1]!, /^wx:sog\s+0\.154333\s+m\/s\s+2\.5 s\s+▁▅█$/);
  assert.match(rows[2]!, /^env:ok\s+true\s+1\.5 s$/);
});

test('chain lines: last seq, batches, duplicates, gap ranges with reasons, rejects, completeness, the caller\'s facts', () => {
  const lines = chainLines(summary({
    batches: 40, readings: 900, duplicates: 2, rejected: 1, firstSeq: 1, lastSeq: 42,
    gaps: [{ first: 10, last: 12, reason: 'journal-full' }], explainedBreaks: 1,
  }), { device: 'demo-station', clk: 'sync', facts: [['pending', '3 batches']] });
  const text = lines.join('\n');
  assert.match(text, /device\s+demo-station  \(clock synchronised\)/);
  assert.match(text, /last seq\s+42\n/);
  assert.match(text, /verified\s+40 batches, 900 readings/);
  assert.match(text, /duplicates\s+2 /);
  assert.match(text, /gap notices\s+1: 10\.\.12 journal-full/);
  assert.match(text, /rejects\s+1 /);
  assert.match(text, /chain\s+complete/);
  assert.match(text, /pending\s+3 batches$/);
  const broken = chainLines(summary({ batches: 3, lastSeq: 9, firstSeq: 1, missing: [[4, 6]], unexplainedBreaks: 1, complete: false }), { device: 'd' }).join('\n');
  assert.match(broken, /chain\s+INCOMPLETE: missing 4\.\.6; 1 unexplained chain break/);
});

test.run();
