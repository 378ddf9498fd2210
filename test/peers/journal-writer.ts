// A journal writer to be killed: opens the journal in argv[2] on the real fs,
// then appends numbered records forever, printing (synchronously, so a line
// that was printed is in the pipe before SIGKILL can land):
//   open <last seq> <committed seq>
//   durable <seq>          after each fsync
//   commit <seq>           before committing (lags 20 behind durable)
// Record payload: generation (argv[3], u32 BE) + payloadFor(seq), so a reused
// seq shows up as different bytes.
//   node --import tsx test/peers/journal-writer.ts <dir> <generation>

import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { createCounters } from '../../agent/counters.js';
import { createJournal } from '../../agent/journal/journal.js';
import { createLogger } from '../../agent/log.js';
import { createSystemClock } from '../../hal/clock.js';
import { nodeFileSystem } from '../../hal/file-node.js';
import { payloadFor } from '../journal/fixtures.js';

export const WRITER_OPTIONS = { maxBytes: 64 * 1024 * 1024, segmentBytes: 32 * 1024, fsyncIntervalMs: 50, fsyncEveryRecords: 1000 };
export const COMMIT_LAG = 20;

export function writerPayload(generation: number, seq: number): Uint8Array {
  const p = payloadFor(seq);
  const b = new Uint8Array(4 + p.length);
  new DataView(b.buffer).setUint32(0, generation);
  b.set(p, 4);
  return b;
}

const say = (line: string): void => { writeSync(1, `${line}\n`); };

async function main(dir: string, generation: number): Promise<void> {
  const j = createJournal({ dir, ...WRITER_OPTIONS }, {
    fs: nodeFileSystem, clock: createSystemClock(), log: createLogger('journal-writer', { level: 'error' }), counters: createCounters(),
  });
  await j.open();
  say(`open ${j.last()?.seq ?? 0} ${j.committedSeq()}`);
  j.onDurable((seq) => {
    say(`durable ${seq}`);
    const c = seq - COMMIT_LAG;
    if (c > j.committedSeq()) { say(`commit ${c}`); j.commit(c); }
  });
  let seq = (j.last()?.seq ?? 0) + 1;
  for (;;) {
    for (let i = 0; i < 10; i++, seq++) await j.append({ seq, readings: 1 + (seq % 7), bytes: writerPayload(generation, seq) });
    await new Promise((r) => setTimeout(r, 1)); // let the fsync timer run
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const [dir, gen] = process.argv.slice(2);
  if (!dir || gen === undefined) { process.stderr.write('usage: journal-writer.ts <dir> <generation>\n'); process.exit(2); }
  main(dir, Number(gen)).catch((err: unknown) => { process.stderr.write(`journal-writer: ${String(err)}\n`); process.exit(1); });
}
