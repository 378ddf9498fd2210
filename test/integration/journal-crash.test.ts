// kill -9 at random moments (seeded) against a real journal writer process:
// every seq it reported durable survives with its exact bytes, no seq is
// reused, seqs strictly increase, and the next run continues from last()+1.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createCounters } from '../../agent/counters.js';
import { createJournal } from '../../agent/journal/journal.js';
import { silentLogger } from '../../agent/log.js';
import { createSystemClock } from '../../hal/clock.js';
import { nodeFileSystem } from '../../hal/file-node.js';
import { tempDir, waitFor } from '../helpers.js';
import { equalBytes, payloadFor, prng } from '../journal/fixtures.js';
import { WRITER_OPTIONS, writerPayload } from '../peers/journal-writer.js';
import { spawnProcess } from '../peers/process.js';

const WRITER = fileURLToPath(new URL('../peers/journal-writer.ts', import.meta.url));
const ITERATIONS = 10;

interface Run { openLast: number; openCommitted: number; durable: number; committed: number }

/** Starts a writer, waits until it has made something durable, lets it run `runMs` more, kills it with SIGKILL. */
async function runAndKill(dir: string, generation: number, runMs: number): Promise<Run> {
  const writer = spawnProcess({ file: process.execPath, args: ['--import', 'tsx', WRITER, dir, String(generation)] });
  const { child } = writer;
  const run: Run = { openLast: -1, openCommitted: -1, durable: 0, committed: 0 };
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    const [what, a, b] = line.split(' ');
    if (what === 'open') { run.openLast = Number(a); run.openCommitted = Number(b); }
    else if (what === 'durable') run.durable = Math.max(run.durable, Number(a));
    else if (what === 'commit') run.committed = Math.max(run.committed, Number(a));
  });
  const exited = once(child, 'close'); // after stdout is drained: every line printed before the kill is read
  try {
    await waitFor(() => run.durable > run.openLast && run.openLast >= 0, 10_000, `writer ${generation} durable (stderr: ${writer.stderr()})`);
    const t0 = Date.now();
    await waitFor(() => Date.now() - t0 >= runMs, runMs + 1000, 'run time');
  } finally {
    child.kill('SIGKILL');
    await exited;
    lines.close();
  }
  assert.is(writer.stderr(), '', 'the writer ran without errors');
  return run;
}

test('SIGKILL at random moments: nothing reported durable is lost or reused, and writing continues from last()+1', async () => {
  const tmp = tempDir('tapwire-journal-crash-');
  const dir = `${tmp.path}/journal`;
  const random = prng(20240607);
  const durableGen = new Map<number, number>(); // seq -> generation that reported it durable
  let maxDurable = 0;
  let maxCommitted = 0;
  let totalKilledMidRun = 0;
  try {
    for (let gen = 1; gen <= ITERATIONS; gen++) {
      const run = await runAndKill(dir, gen, 20 + Math.floor(random() * 400));
      // what the writer saw at start: nothing durable was lost, so it continued after everything durable
      assert.ok(run.openLast >= maxDurable, `gen ${gen}: started at last=${run.openLast} >= durable ${maxDurable}`);
      assert.ok(run.openCommitted <= maxCommitted, `gen ${gen}: committed ${run.openCommitted} never ahead of ${maxCommitted}`);
      for (let s = run.openLast + 1; s <= run.durable; s++) durableGen.set(s, gen);
      maxDurable = Math.max(maxDurable, run.durable);
      maxCommitted = Math.max(maxCommitted, run.committed);

      // reopen here and check every record
      const j = createJournal({ dir, ...WRITER_OPTIONS }, { fs: nodeFileSystem, clock: createSystemClock(), log: silentLogger, counters: createCounters() });
      const report = await j.open();
      assert.is(report.corruptRecords, 0, `gen ${gen}: a killed process leaves no corrupt records`);
      assert.equal(report.quarantined, []);
      const all = await j.readFrom(0, 10_000_000);
      const seqs = all.map((r) => r.seq);
      for (let i = 1; i < seqs.length; i++) assert.is(seqs[i], seqs[i - 1]! + 1, `gen ${gen}: seqs strictly increase without holes`);
      assert.ok((seqs[0] ?? 1) <= maxCommitted + 1, `gen ${gen}: nothing unacknowledged was deleted (oldest ${seqs[0]}, committed ${maxCommitted})`);
      assert.is(j.last()?.seq, seqs[seqs.length - 1]);
      const bySeq = new Map(all.map((r) => [r.seq, r.bytes]));
      for (const [seq, g] of durableGen) {
        const bytes = bySeq.get(seq);
        if (bytes === undefined) { assert.ok(seq <= maxCommitted, `gen ${gen}: durable seq ${seq} is on disk`); continue; }
        assert.ok(equalBytes(bytes, writerPayload(g, seq)), `gen ${gen}: seq ${seq} keeps the bytes of generation ${g}`);
      }
      for (const r of all) assert.ok(equalBytes(r.bytes.subarray(4), payloadFor(r.seq)), `gen ${gen}: record ${r.seq} is one the writer wrote`);
      // the run continued right after what it found
      const firstOfRun = bySeq.get(run.openLast + 1);
      if (firstOfRun) assert.is(new DataView(firstOfRun.buffer, firstOfRun.byteOffset).getUint32(0), gen, `gen ${gen}: continued at last()+1`);
      if ((j.last()?.seq ?? 0) > run.durable) totalKilledMidRun++;
      await j.close();
    }
    assert.ok(maxDurable > 100, `the writers made progress (${maxDurable})`);
    assert.ok(totalKilledMidRun > 0, 'some kills left written-but-not-yet-fsynced records behind');
  } finally { tmp.remove(); }
});

test.run();
