// Store-and-forward on the whole agent (issue 4), with real faults: the real
// CLI as a child process reading a socat pty, a real Mosquitto, a cloud-side
// verifier subscribed the whole time. kill -9 at random points, a broker
// outage, the disk bound reached during an outage, a corrupted journal, a
// deleted commit offset: each starts, recovers what is recoverable, tells the rest.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, truncateSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { VerifyEvent } from '../../agent/verify/chain.js';
import { createChainVerifier } from '../../agent/verify/chain.js';
import { runCli, type AgentProcess } from '../peers/agent-process.js';
import { journalDir, scanJournalFiles, segmentBytesOnDisk, segmentFiles, type DiskRecord } from '../peers/journal-disk.js';
import { startFieldRig, withFieldRig, type FieldRig, type FieldRigOptions } from '../peers/field-rig.js';
import { flipBytes } from '../peers/journal-damage.js';
import { waitFor } from '../helpers.js';
import { runCrashSoak, formatSoak } from '../soak/crash-soak.js';

const DEVICE = 'faults-1';
const READING = 'field:n';
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Rig = FieldRig;
const rig = (config: { batch: Record<string, number>; journal: Record<string, number> }, extraFields = 0): FieldRigOptions =>
  ({ device: DEVICE, ...config, extraFields });

type Ev<K extends VerifyEvent['kind']> = Extract<VerifyEvent, { kind: K }>;
const eventsOf = <K extends VerifyEvent['kind']>(events: VerifyEvent[], kind: K): Array<Ev<K>> =>
  events.filter((e): e is Ev<K> => e.kind === kind);

/** Every written n arrived exactly once as a first arrival. */
function assertAllArrivedOnce(r: Rig): void {
  const values = r.cloud.values(READING);
  assert.is(new Set(values).size, values.length, 'no reading arrives in two different batches');
  const missing = r.written.filter((n) => !values.includes(n));
  assert.equal(missing, [], 'every reading written arrives');
}

test('kill -9 at random points while lines stream (6 crashes): nothing journaled is lost or renumbered, the chain is unbroken, only undurable tails lost, at most one batch window per crash in total', async () => {
  const iterations = 6;
  const window = 20;
  const r = await runCrashSoak({ iterations, seed: 0x7a9e, killDelayMs: [150, 1200], maxRecords: window, maxAgeMs: 100, fsyncIntervalMs: 50, linesPerSecond: 100 });
  const detail = formatSoak(r);
  assert.equal(r.violations, [], detail);
  assert.is(r.iterations.length, iterations + 1, detail);
  assert.is(r.finalExitCode, 0, 'the last run stops cleanly with exit 0');
  // zero journaled batches lost, delivered with the very bytes on disk
  assert.ok(r.diskRecordsChecked > iterations, `records were on disk after the kills: ${r.diskRecordsChecked}`);
  assert.equal(r.diskNotDelivered, [], 'every record on disk after a kill reached the verifier');
  assert.equal(r.diskBytesDiffer, [], 'with identical bytes');
  assert.equal(r.diskReadingsLost, [], 'no reading inside a journaled batch is lost');
  // zero seq reused: on disk, at the cloud, and each run continues after the last record on disk
  assert.equal(r.diskSeqReused, []);
  assert.is(r.cloud.conflicts, 0, 'no seq arrives with two different contents');
  for (const it of r.iterations.slice(0, -1)) assert.is(it.nextSeq, it.diskLastSeq + 1, `run ${it.run + 1} continues at the seq after the disk's last`);
  // chain unbroken across restarts
  assert.is(r.cloud.firstSeq, 1);
  assert.ok(r.cloud.complete, detail);
  assert.is(r.cloud.unexplainedBreaks, 0);
  assert.is(r.cloud.explainedBreaks, 0, 'nothing was dropped, so nothing needs explaining');
  assert.equal(r.cloud.missing, []);
  // readings: lost only from the undurable tail of a run, at most one window per crash in total
  assert.equal(r.unexpectedValues, []);
  assert.equal(r.repeatedValues, []);
  for (const it of r.iterations.slice(0, -1)) assert.ok(it.lostIsTail, `run ${it.run}: only the newest lines of the run may be lost`);
  assert.is(r.iterations[iterations]!.lost, 0, 'the cleanly stopped run loses nothing');
  assert.ok(r.lost <= iterations * window, `lost ${r.lost} readings in ${iterations} crashes (window ${window})\n${detail}`);
});

test('Mosquitto stopped for 2 s during streaming, then back: every reading arrives once, first arrivals in seq order, duplicates only of unacknowledged batches', () => withFieldRig(rig({ batch: { maxRecords: 20, maxAgeMs: 100 }, journal: { fsyncIntervalMs: 50 } }), async (r) => {
  const inflight = 16;
  let agent = await r.startAgent();
  const a = agent;
  await r.stream(100, 100);
  await waitFor(() => r.cloud.values(READING).length >= 50, 10_000, 'readings before the outage');
  // the outage happens while lines keep streaming
  const streaming = r.stream(400, 100);
  await pause(300);
  await r.broker.stop();
  await waitFor(() => /warn uplink disconnected/.test(a.stderr()), 5000, 'the agent notices the outage');
  await pause(2000);
  await r.broker.start();
  await streaming;
  const last = r.written[r.written.length - 1]!;
  await waitFor(() => r.cloud.values(READING).includes(last), 15_000, 'the last reading after the outage');
  const code = await agent.stop();
  assert.is(code, 0);

  const log = a.stderr();
  const connects = [...log.matchAll(/info uplink connected .*resendFrom=(\d+)/g)];
  assert.ok(connects.length >= 2, `the agent reconnected after the outage:\n${log.slice(-3000)}`);
  const resendFrom = Number(connects[connects.length - 1]![1]);
  assert.ok(resendFrom > 1, 'batches acknowledged before the outage are not resent');

  assertAllArrivedOnce(r);
  const batches = eventsOf(r.cloud.events, 'batch').map((e) => e.seq);
  for (let i = 1; i < batches.length; i++) assert.ok(batches[i]! > batches[i - 1]!, `first arrivals in seq order: ${batches[i - 1]} then ${batches[i]}`);
  const dups = eventsOf(r.cloud.events, 'duplicate').map((e) => e.seq);
  // Two QoS 1 legs can repeat a batch around the outage: the agent resends what the
  // broker had not acknowledged (resendFrom .. +inflight), and the broker redelivers
  // to the cloud's persistent session what the cloud's PUBACK did not reach before
  // the broker stopped (the last few batches before resendFrom). Nothing else.
  for (const d of dups) {
    assert.ok(d >= resendFrom - inflight && d < resendFrom + inflight, `duplicate seq ${d} is one of the batches in flight at the outage (agent resent from ${resendFrom})`);
  }
  const s = r.cloud.summary();
  assert.is(s.duplicates, dups.length, 'duplicates are removed by the verifier');
  assert.is(s.readings, r.written.length, 'the verifier counts each reading once');
  assert.is(s.firstSeq, 1);
  assert.ok(s.complete, JSON.stringify(s));
  assert.is(s.unexplainedBreaks, 0);
  assert.is(s.conflicts, 0);
  assert.is(s.gaps.length, 0, 'no gap: the outage fits the journal');
}));

interface LoggedDrop { first: number; last: number; batches: number; readings: number; reason: string }
/** What the journal logged as dropped unsent (one line per drop notice). */
function loggedDrops(log: string): LoggedDrop[] {
  return [...log.matchAll(/warn journal dropped unsent batches first=(\d+) last=(\d+) batches=(\d+) readings=(\d+) reason=([\w-]+)/g)]
    .map((m) => ({ first: Number(m[1]), last: Number(m[2]), batches: Number(m[3]), readings: Number(m[4]), reason: m[5]! }));
}

test('journal bound reached during an outage: the disk stays within maxBytes, signed gap notices arrive with the exact dropped ranges, the verifier explains the break, counters tell the loss', async () => {
  const maxBytes = 65_536;
  const fields = 5; // n + 4 extra per line; maxRecords is a multiple: a batch holds whole lines
  const r = await startFieldRig(rig({ batch: { maxRecords: 20, maxAgeMs: 100 }, journal: { maxBytes, segmentBytes: 8192, fsyncIntervalMs: 50 } }, fields - 1));
  let agent: AgentProcess;
  let maxSeen = 0;
  const sampler = setInterval(() => { maxSeen = Math.max(maxSeen, segmentBytesOnDisk(r.stateDir)); }, 5);
  try {
    agent = await r.startAgent();
    const a = agent;
    await r.stream(40, 200);
    await waitFor(() => r.cloud.values(READING).length === 40, 10_000, 'readings before the outage');
    await r.broker.stop();
    await waitFor(() => /warn uplink disconnected/.test(a.stderr()), 5000, 'the agent notices the outage');
    // ~250 KiB of batches: the 64 KiB bound overflows several times
    await r.stream(2400, 1000);
    await waitFor(() => loggedDrops(a.stderr()).length >= 3, 10_000, 'the journal drops oldest segments');
    await pause(300); // the last batch closes (maxAgeMs) and is journaled
    await r.broker.start();
    await r.stream(20, 200);
    const last = r.written[r.written.length - 1]!;
    await waitFor(() => r.cloud.values(READING).includes(last), 15_000, 'readings after the outage');
    const code = await agent.stop();
    assert.is(code, 0);
    clearInterval(sampler);
    maxSeen = Math.max(maxSeen, segmentBytesOnDisk(r.stateDir));

    assert.ok(maxSeen <= maxBytes, `journal segments on disk never exceed maxBytes: saw ${maxSeen}`);
    assert.ok(maxSeen > maxBytes / 2, `the journal was actually filled: ${maxSeen}`);

    const drops = loggedDrops(a.stderr());
    assert.ok(drops.length >= 3, 'the bound overflowed several times');
    for (const d of drops) assert.is(d.reason, 'journal-full');
    const droppedSeqs = new Set(drops.flatMap((d) => Array.from({ length: d.last - d.first + 1 }, (_, i) => d.first + i)));
    const gaps = eventsOf(r.cloud.events, 'gap');
    assert.ok(gaps.length >= 1, 'a signed gap notice arrived');
    for (const g of gaps) {
      assert.is(g.reason, 'journal-full');
      // exact: it names dropped seqs only, from the start of a dropped range to the end of one
      const exact = drops.some((d) => d.first === g.first) && drops.some((d) => d.last === g.last)
        && Array.from({ length: g.last - g.first + 1 }, (_, i) => g.first + i).every((seq) => droppedSeqs.has(seq));
      assert.ok(exact, `gap notice [${g.first}, ${g.last}] names exactly seqs the agent dropped: ${JSON.stringify(drops)}`);
    }
    const s = r.cloud.summary();
    const received = new Set(r.cloud.hashes.keys());
    for (let seq = s.firstSeq!; seq <= s.lastSeq!; seq++) {
      assert.ok(received.has(seq) !== droppedSeqs.has(seq), `seq ${seq} is either received or dropped, not both or neither; dropped: ${JSON.stringify(drops)}`);
    }
    assert.equal(s.missing, [], `every hole is covered by a gap notice: ${JSON.stringify(s)}\ndropped (agent log): ${JSON.stringify(drops)}`);
    assert.ok(s.explainedBreaks > 0, 'the chain break is explained by the gap notice');
    assert.is(s.unexplainedBreaks, 0, JSON.stringify(s));
    assert.ok(s.complete);
    assert.is(s.conflicts, 0);

    // counters, as `tapwire status --json` shows them
    const st = await runCli(['status', '--config', r.configPath, '--json']);
    const status = JSON.parse(st.stdout) as { counters: Record<string, number>; journal: { droppedBatches: number; droppedReadings: number } };
    const droppedBatches = drops.reduce((n, d) => n + d.batches, 0);
    const droppedReadings = drops.reduce((n, d) => n + d.readings, 0);
    assert.is(status.counters['journal.dropped_batches'], droppedBatches);
    assert.is(status.counters['journal.dropped_readings'], droppedReadings);
    assert.is(status.journal.droppedBatches, droppedBatches);
    assert.ok(status.counters['gaps.notices']! >= drops.length, 'every drop is counted as told');
    // no reading disappears untold: at the cloud + dropped = written
    assert.is(s.readings + droppedReadings, r.written.length * fields, 'readings at the cloud + readings dropped = readings written');
  } finally {
    clearInterval(sampler);
    await r.close();
  }
});

const seqsOf = (recs: DiskRecord[]): number[] => recs.map((x) => x.seq);

test('corrupt journal (bit flip in a record, segment truncated mid-record, segment header destroyed): the agent starts, logs what it skipped, delivers the rest, and signed "corrupt" gap notices explain every hole', () => withFieldRig(rig({ batch: { maxRecords: 5, maxAgeMs: 100 }, journal: { segmentBytes: 4096, fsyncIntervalMs: 50 } }), async (r) => {
  let agent: AgentProcess;
  // the broker is down: nothing is acknowledged, so every record stays unsent on disk
  await r.broker.stop();
  agent = await r.startAgent();
  await r.stream(700, 700);
  await pause(300); // the last batch closes and is journaled
  assert.is(await agent.stop(), 0);

  const files = segmentFiles(r.stateDir);
  assert.ok(files.length >= 7, `enough segments to damage: ${files.length}`);
  const recs = await scanJournalFiles(r.stateDir);
  const inFile = (f: string): DiskRecord[] => recs.filter((x) => x.file === f);
  const dir = journalDir(r.stateDir);
  // 1: bit flip in the payload of the middle record of segment 1
  const f1 = inFile(files[1]!);
  const flipped = f1[Math.floor(f1.length / 2)]!;
  flipBytes(join(dir, files[1]!), flipped.offset + 24 + Math.floor((flipped.frameBytes - 24) / 2), 4);
  // 2: segment 2 truncated in the middle of a record
  const f2 = inFile(files[2]!);
  const torn = f2[Math.floor(f2.length / 2)]!;
  truncateSync(join(dir, files[2]!), torn.offset + Math.floor(torn.frameBytes / 2));
  const tornLost = seqsOf(f2.filter((x) => x.seq >= torn.seq));
  // 3: segment 4's header destroyed (CRC-covered base seq): unreadable, to be quarantined
  flipBytes(join(dir, files[4]!), 10, 2);
  const headerLost = seqsOf(inFile(files[4]!));
  const lost = new Set([flipped.seq, ...tornLost, ...headerLost]);
  const intact = recs.filter((x) => !lost.has(x.seq));
  const disk = createChainVerifier({ device: DEVICE, publicKeys: [r.publicKey] });
  const intactValues = intact.flatMap((x) => disk.accept(x.bytes)).flatMap((e) => (e.kind === 'batch' ? e.readings.filter((v) => v.name === READING).map((v) => v.v!) : []));

  await r.broker.start();
  agent = await r.startAgent(); // never refuses to start
  const a = agent;
  const log = a.stderr();
  assert.match(log, /warn journal corrupt record skipped/, 'the skipped record is logged');
  assert.match(log, /warn journal torn tail truncated file=seg-/, 'the truncation is logged');
  assert.match(log, /error journal unreadable segment quarantined/, 'the quarantine is logged');
  assert.ok(readdirSync(dir).some((f) => f.startsWith(files[4]!) && f.endsWith('.quarantine')), 'the unreadable segment was renamed, not deleted');

  await r.stream(20, 200);
  const last = r.written[r.written.length - 1]!;
  await waitFor(() => r.cloud.values(READING).includes(last), 15_000, 'readings after the restart');
  assert.is(await agent.stop(), 0);

  // the rest is delivered
  const values = new Set(r.cloud.values(READING));
  const undelivered = intactValues.filter((v) => !values.has(v));
  assert.equal(undelivered, [], 'every reading of an intact record is delivered');
  for (const rec of intact) assert.ok(r.cloud.hashes.has(rec.seq), `intact seq ${rec.seq} delivered`);
  for (const seq of lost) assert.not.ok(r.cloud.hashes.has(seq), `damaged seq ${seq} is not delivered`);
  // and every hole is told, signed, with its reason
  const gaps = eventsOf(r.cloud.events, 'gap');
  const expected = [
    { first: flipped.seq, last: flipped.seq },
    { first: torn.seq, last: f2[f2.length - 1]!.seq },
    { first: headerLost[0]!, last: headerLost[headerLost.length - 1]! },
  ];
  const journalLines = log.split('\n').filter((l) => / (journal|agent) /.test(l) && !l.startsWith('debug')).join('\n');
  assert.equal(gaps.map((g) => ({ first: g.first, last: g.last })), expected, `one gap notice per hole, with the exact range; agent log:\n${journalLines}`);
  for (const g of gaps) assert.is(g.reason, 'corrupt');
  const s = r.cloud.summary();
  assert.is(s.firstSeq, 1);
  assert.equal(s.missing, [], JSON.stringify(s));
  assert.is(s.explainedBreaks, 3, `each hole is an explained chain break: ${JSON.stringify(s)}`);
  assert.is(s.unexplainedBreaks, 0);
  assert.ok(s.complete);
  assert.is(s.conflicts, 0);
}));

test('commit-offset file deleted while stopped: the agent resends everything still on disk (duplicates at the verifier), loses nothing, chain complete', () => withFieldRig(rig({ batch: { maxRecords: 20, maxAgeMs: 100 }, journal: { segmentBytes: 4096, fsyncIntervalMs: 50 } }), async (r) => {
  let agent = await r.startAgent();
  await r.stream(200, 200);
  const lastBefore = r.written[r.written.length - 1]!;
  await waitFor(() => r.cloud.values(READING).includes(lastBefore), 10_000, 'readings before the stop');
  assert.is(await agent.stop(), 0);
  const onDisk = seqsOf(await scanJournalFiles(r.stateDir));
  assert.ok(onDisk.length > 0, 'records are left on disk (the newest segment is kept)');
  const commitPath = join(journalDir(r.stateDir), 'commit');
  assert.ok(existsSync(commitPath));
  unlinkSync(commitPath);
  assert.is(eventsOf(r.cloud.events, 'duplicate').length, 0, 'no duplicate before the commit file was deleted');

  agent = await r.startAgent();
  assert.match(agent.stderr(), /warn journal commit offset reset reason=/, 'the fallback is logged');
  await r.stream(20, 200);
  const last = r.written[r.written.length - 1]!;
  await waitFor(() => r.cloud.values(READING).includes(last), 15_000, 'readings after the restart');
  await waitFor(() => eventsOf(r.cloud.events, 'duplicate').length >= onDisk.length, 10_000, 'the resent batches');
  assert.is(await agent.stop(), 0);

  const dups = eventsOf(r.cloud.events, 'duplicate').map((e) => e.seq).sort((x, y) => x - y);
  assert.equal(dups, onDisk, 'exactly the records on disk were resent, once each');
  assertAllArrivedOnce(r);
  const s = r.cloud.summary();
  assert.is(s.duplicates, onDisk.length);
  assert.is(s.firstSeq, 1);
  assert.ok(s.complete, JSON.stringify(s));
  assert.is(s.conflicts, 0);
  assert.is(s.unexplainedBreaks, 0);
  assert.is(s.explainedBreaks, 0);
}));

test.run();
