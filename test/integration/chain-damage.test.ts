// Never a seq twice, every loss told (issue 11), with real damage to a
// stopped agent's journal: the real CLI as a child process reading a socat
// pty, a real Mosquitto, a cloud-side verifier subscribed the whole time.
// Segment headers overwritten, records flipped, the tail cut, the chain
// state file deleted — the chain never goes back, each lost range is told
// once, in a signed gap notice with a new seq.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { VerifyEvent } from '../../agent/verify/chain.js';
import type { AgentProcess } from '../peers/agent-process.js';
import { journalDir, scanJournalFiles, segmentFiles, type DiskRecord } from '../peers/journal-disk.js';
import { withFieldRig, type FieldRig } from '../peers/field-rig.js';
import { cutTail, destroySegmentHeader, flipBytes } from '../peers/journal-damage.js';
import { waitFor } from '../helpers.js';

const READING = 'field:n';
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const gapsOf = (events: VerifyEvent[]) => events.filter((e): e is Extract<VerifyEvent, { kind: 'gap' }> => e.kind === 'gap');
const nextSeqOf = (stderr: string): number => Number(/chain resumes .*next_seq=(\d+)/.exec(stderr)?.[1] ?? NaN);
/** The journal's committed offset as the stopped agent left it in status.json. */
const committedOf = (r: FieldRig): number => (JSON.parse(readFileSync(join(r.stateDir, 'status.json'), 'utf8')) as { journal: { committedSeq: number } }).journal.committedSeq;

async function streamAndDeliver(r: FieldRig, count: number, rate: number): Promise<void> {
  await r.stream(count, rate);
  const last = r.written[r.written.length - 1]!;
  await waitFor(() => r.cloud.values(READING).includes(last), 20_000, `reading ${last} at the cloud`);
}

/** 100 readings delivered, then the broker taken away and `count` more lines journaled only; the agent stopped (exit 0). */
async function deliverThenJournalOffline(r: FieldRig, count: number): Promise<void> {
  const agent = await r.startAgent();
  await streamAndDeliver(r, 100, 200);
  await r.broker.stop();
  await waitFor(() => /warn uplink disconnected/.test(agent.stderr()), 5000, 'the agent notices the outage');
  await r.stream(count, 300);
  await pause(300); // the last batch closes (maxAgeMs) and is journaled
  assert.is(await agent.stop(), 0);
}

function assertClean(r: FieldRig): void {
  const s = r.cloud.summary();
  assert.is(s.conflicts, 0, `no seq names two different batches: ${JSON.stringify(s)}`);
  assert.is(s.firstSeq, 1);
  assert.equal(s.missing, [], JSON.stringify(s));
  assert.is(s.unexplainedBreaks, 0, JSON.stringify(s));
  assert.ok(s.complete, JSON.stringify(s));
  const values = r.cloud.values(READING);
  assert.is(new Set(values).size, values.length, 'no reading arrives in two batches');
}

test('all acknowledged, then the only segment\'s header overwritten: the chain goes on after the last seq (not at 1), no seq is reused, nothing needs telling', () => withFieldRig({ device: 'damage-a1', batch: { maxRecords: 5, maxAgeMs: 100 }, journal: { fsyncIntervalMs: 50 } }, async (r) => {
  let agent = await r.startAgent();
  await streamAndDeliver(r, 100, 200);
  assert.is(await agent.stop(), 0);
  const files = segmentFiles(r.stateDir);
  assert.is(files.length, 1, 'one segment holds everything');
  const onDisk = await scanJournalFiles(r.stateDir);
  const lastSeq = onDisk[onDisk.length - 1]!.seq;
  assert.is(committedOf(r), lastSeq, 'everything was acknowledged');
  destroySegmentHeader(join(journalDir(r.stateDir), files[0]!));

  agent = await r.startAgent();
  const a = agent;
  assert.match(a.stderr(), /error journal unreadable segment quarantined/);
  assert.is(nextSeqOf(a.stderr()), lastSeq + 1, 'the chain resumes after the last seq it signed');
  await streamAndDeliver(r, 50, 200);
  assert.is(await agent.stop(), 0);

  assertClean(r);
  assert.equal(gapsOf(r.cloud.events), [], 'everything lost had been acknowledged');
  assert.ok(r.written.every((n) => r.cloud.values(READING).includes(n)), 'every reading arrived');
}));

test('unacknowledged batches, then the newest segment\'s header overwritten and a record in the middle flipped: exactly those are told, each once, and the chain goes on after the last seq', () => withFieldRig({ device: 'damage-a2', batch: { maxRecords: 5, maxAgeMs: 100 }, journal: { segmentBytes: 4096, fsyncIntervalMs: 50 } }, async (r) => {
  await deliverThenJournalOffline(r, 300);
  let agent: AgentProcess;

  const committed = committedOf(r);
  const files = segmentFiles(r.stateDir);
  assert.ok(files.length >= 3, `segments: ${files.length}`);
  const recs = await scanJournalFiles(r.stateDir);
  const inFile = (f: string): DiskRecord[] => recs.filter((x) => x.file === f);
  const lastSeq = recs[recs.length - 1]!.seq;
  const newest = inFile(files[files.length - 1]!);
  const middle = inFile(files[files.length - 2]!);
  const flipped = middle[Math.floor(middle.length / 2)]!;
  assert.ok(flipped.seq > committed && newest[0]!.seq > committed, 'the damaged records were not acknowledged');
  destroySegmentHeader(join(journalDir(r.stateDir), files[files.length - 1]!));
  flipBytes(join(journalDir(r.stateDir), files[files.length - 2]!), flipped.offset + 24 + Math.floor((flipped.frameBytes - 24) / 2), 4);
  const lost = new Set([flipped.seq, ...newest.map((x) => x.seq)]);

  await r.broker.start();
  agent = await r.startAgent();
  assert.is(nextSeqOf(agent.stderr()), lastSeq + 1, 'the chain resumes after the last seq signed, not after the last one readable');
  await streamAndDeliver(r, 20, 200);
  assert.is(await agent.stop(), 0);

  assertClean(r);
  const gaps = gapsOf(r.cloud.events);
  assert.equal(
    gaps.map((g) => [g.first, g.last, g.reason]).sort((x, y) => (x[0] as number) - (y[0] as number)),
    [[flipped.seq, flipped.seq, 'corrupt'], [newest[0]!.seq, newest[newest.length - 1]!.seq, 'corrupt']],
    'one gap notice per lost range, exact',
  );
  assert.ok(gaps.every((g) => g.seq > lastSeq), 'each told under a new seq');
  for (const seq of lost) assert.not.ok(r.cloud.hashes.has(seq), `lost seq ${seq} never arrives (it would be another batch)`);
  for (const rec of recs) if (!lost.has(rec.seq)) assert.ok(r.cloud.hashes.has(rec.seq), `intact seq ${rec.seq} delivered`);
}));

test('the tail cut by 100 bytes and a corrupt record, over three restarts: the lost tail batch is told under a new seq (never reused), each range exactly once', () => withFieldRig({ device: 'damage-c', batch: { maxRecords: 5, maxAgeMs: 100 }, journal: { segmentBytes: 4096, fsyncIntervalMs: 50 } }, async (r) => {
  let agent: AgentProcess;
  await r.broker.stop(); // nothing is acknowledged: every record stays unsent on disk
  agent = await r.startAgent();
  await r.stream(300, 300);
  await pause(300);
  assert.is(await agent.stop(), 0);

  const files = segmentFiles(r.stateDir);
  const recs = await scanJournalFiles(r.stateDir);
  const last = recs[recs.length - 1]!;
  const first = recs.filter((x) => x.file === files[0]);
  const flipped = first[Math.floor(first.length / 2)]!;
  assert.ok(last.frameBytes > 100, 'cutting 100 bytes tears the last record only');
  cutTail(join(journalDir(r.stateDir), last.file), 100);
  flipBytes(join(journalDir(r.stateDir), flipped.file), flipped.offset + 30, 4);

  // two restarts with the broker still down: the damage is found each time, told once
  agent = await r.startAgent();
  assert.is(nextSeqOf(agent.stderr()), last.seq + 1, 'the torn batch had been durable: its seq is not reused');
  assert.is(await agent.stop(), 0);
  agent = await r.startAgent();
  assert.match(agent.stderr(), /warn journal corrupt record skipped/, 'the corrupt record is found again');
  assert.is(await agent.stop(), 0);

  await r.broker.start();
  agent = await r.startAgent();
  await streamAndDeliver(r, 20, 200);
  assert.is(await agent.stop(), 0);

  assertClean(r);
  const gaps = gapsOf(r.cloud.events);
  assert.equal(gaps.map((g) => [g.first, g.last, g.reason]).sort((x, y) => (x[0] as number) - (y[0] as number)),
    [[flipped.seq, flipped.seq, 'corrupt'], [last.seq, last.seq, 'corrupt']], `each range told once: ${JSON.stringify(gaps)}`);
  assert.not.ok(r.cloud.hashes.has(last.seq), 'the torn batch\'s seq never names another batch');
  assert.is(r.cloud.summary().explainedBreaks, 2);
}));

test('the chain state file deleted and the newest segment destroyed: the agent says so loudly and starts a new chain epoch the verifier tells apart; no seq names two batches', () => withFieldRig({ device: 'damage-e', batch: { maxRecords: 5, maxAgeMs: 100 }, journal: { segmentBytes: 4096, fsyncIntervalMs: 50 } }, async (r) => {
  await deliverThenJournalOffline(r, 200);
  let agent: AgentProcess;
  const files = segmentFiles(r.stateDir);
  const recs = await scanJournalFiles(r.stateDir);
  rmSync(join(r.stateDir, 'chain'), { force: true });
  destroySegmentHeader(join(journalDir(r.stateDir), files[files.length - 1]!));

  await r.broker.start();
  agent = await r.startAgent();
  assert.match(agent.stderr(), /error journal CHAIN STATE LOST/, 'said loudly');
  const next = nextSeqOf(agent.stderr());
  assert.ok(next > Math.max(...recs.map((x) => x.seq)), `the new epoch begins after every seq in evidence (${next})`);
  await streamAndDeliver(r, 20, 200);
  assert.is(await agent.stop(), 0);

  const epochs = r.cloud.events.filter((e) => e.kind === 'epoch');
  assert.is(epochs.length, 1, 'the verifier saw the chain restart');
  const s = r.cloud.summary();
  assert.is(s.conflicts, 0);
  assert.not.ok(s.complete, 'a stream that spans a lost chain state is not complete');
  assert.is(s.epochs?.length, 2);
  assert.ok(s.epochs!.every((e) => e.missing.length === 0 && e.unexplainedBreaks === 0), JSON.stringify(s.epochs));
}));

test.run();
