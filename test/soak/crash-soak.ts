// Crash soak (issue 4): the whole agent — the real CLI as a child process, a
// socat pty, a real Mosquitto — killed with SIGKILL at random (seeded) moments
// while numbered lines `n=<i>` stream into the pty, restarted, again and again;
// then one clean stop. A cloud-side verifier is subscribed the whole time.
// Invariants checked: every record found on disk after a kill reaches the cloud
// with identical bytes, no seq names two batches (on disk or at the cloud), the
// next run continues at last-on-disk + 1, the chain is complete with no break,
// and readings are lost only from the window not yet durable at a crash.
//
//   node --import tsx test/soak/crash-soak.ts [--iterations N] [--seed S]
//
// Prints one row per crash and totals; exits 1 if an invariant broke.

import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { prng } from '../../agent/prng.js';
import { createChainVerifier, type ChainSummary } from '../../agent/verify/chain.js';
import { prepareDevice, scanJournalFiles, sha256Hex, startAgentProcess, watchCloud, type AgentProcess } from '../peers/agent-process.js';
import { startMosquitto } from '../peers/mosquitto.js';
import { createPtyPair } from '../peers/socat.js';
import { tempDir, waitFor } from '../helpers.js';

export interface CrashSoakOptions {
  iterations: number;
  seed: number;
  /** Each run is killed a random time in [min, max] ms after it logged "agent running". */
  killDelayMs: [number, number];
  /** Readings per batch at most (each line is one reading): the "window" of the loss bound. */
  maxRecords?: number;
  maxAgeMs?: number;
  fsyncIntervalMs?: number;
  /** Lines per second written into the pty while an agent runs. */
  linesPerSecond?: number;
  /** Progress lines (one per crash). */
  progress?: (line: string) => void;
}

export interface CrashIteration {
  /** 0-based; the last run (index = iterations) is the clean stop. */
  run: number;
  /** How long the run streamed before it was killed (or stopped). */
  ranMs: number;
  /** Time from spawn to "agent running". */
  startMs: number;
  /** Lines written while this run was alive. */
  written: number;
  /** Of those, not seen by the cloud. */
  lost: number;
  /** The lost lines are the newest ones written in this run (the undurable tail). */
  lostIsTail: boolean;
  /** Records on disk after the kill, and the newest seq. */
  diskRecords: number;
  diskLastSeq: number;
  /** The seq the next run continued with (from its "chain resumes" log). */
  nextSeq?: number;
}

export interface CrashSoakResult {
  iterations: CrashIteration[];
  window: number;
  written: number;
  lost: number;
  maxLostPerCrash: number;
  /** Distinct records seen on disk after kills, checked against the cloud. */
  diskRecordsChecked: number;
  /** Seqs on disk after a kill that never reached the cloud, or reached it with other bytes. */
  diskNotDelivered: number[];
  diskBytesDiffer: number[];
  /** Readings inside records on disk that the cloud never saw. */
  diskReadingsLost: number[];
  /** One seq, two different records on disk across kills. */
  diskSeqReused: number[];
  /** Runs that did not continue at last-on-disk + 1. */
  seqResumeErrors: string[];
  /** Values at the cloud that were never written, and values that arrived in two different batches. */
  unexpectedValues: number[];
  repeatedValues: number[];
  cloud: ChainSummary;
  finalExitCode: number | null;
  violations: string[];
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const DEVICE = 'soak-1';
const READING = 'field:n';

export async function runCrashSoak(opts: CrashSoakOptions): Promise<CrashSoakResult> {
  const window = opts.maxRecords ?? 20;
  const rate = opts.linesPerSecond ?? 100;
  const random = prng(opts.seed);
  const broker = await startMosquitto();
  const pty = await createPtyPair();
  const fd = openSync(pty.peerPath, constants.O_RDWR | constants.O_NOCTTY);
  const dir = tempDir('tapwire-soak-');
  const stateDir = join(dir.path, 'state');
  const configPath = join(dir.path, 'config.json');
  const publicKey = prepareDevice(configPath, {
    device: DEVICE,
    stateDir,
    uplink: { url: broker.url, protocolVersion: 5, reconnect: { initialMs: 100, maxMs: 1000 } },
    batch: { maxRecords: window, maxAgeMs: opts.maxAgeMs ?? 100 },
    journal: { fsyncIntervalMs: opts.fsyncIntervalMs ?? 50, segmentBytes: 16384 },
    sources: [{ id: 'field', type: 'lines', port: { path: pty.agentPath, baudRate: 115200 }, decoder: { type: 'kv' } }],
  });
  const cloud = watchCloud({ url: broker.url, device: DEVICE, publicKey });
  // the disk side: every record seen on disk after a kill, through a verifier of its own
  const disk = createChainVerifier({ device: DEVICE, publicKeys: [publicKey] });
  const diskHashes = new Map<number, string>();
  const diskValues = new Set<number>();
  const diskSeqReused: number[] = [];

  const iterations: CrashIteration[] = [];
  const writtenBy: number[][] = [];
  const violations: string[] = [];
  let n = 0;
  let alive: number[] | undefined; // lines of the run that is alive now; undefined = write nothing
  let writing = true;
  let agent: AgentProcess | undefined;
  let finalExitCode: number | null = null;

  // The writer: `rate` lines per second, only while an agent is alive (a dead
  // agent's pty input is flushed when the next run opens the port).
  const writer = (async () => {
    const t0 = Date.now();
    let sent = 0;
    while (writing) {
      const due = Math.floor(((Date.now() - t0) * rate) / 1000);
      for (; sent < due; sent++) {
        if (!alive) continue; // the schedule moves on: no burst after a restart
        n++;
        writeSync(fd, `n=${n}\n`);
        alive.push(n);
      }
      await pause(5);
    }
  })();

  const nextSeqOf = (stderr: string): number | undefined => {
    const m = /chain resumes .*next_seq=(\d+)/.exec(stderr);
    return m ? Number(m[1]) : undefined;
  };

  try {
    await cloud.ready;
    for (let run = 0; run <= opts.iterations; run++) {
      const last = run === opts.iterations;
      const t0 = Date.now();
      try {
        agent = await startAgentProcess(configPath);
      } catch (err) {
        violations.push(`run ${run}: the agent did not start: ${(err as Error).message.slice(0, 2000)}`);
        break;
      }
      const startMs = Date.now() - t0;
      const prev = iterations[iterations.length - 1];
      if (prev) {
        prev.nextSeq = nextSeqOf(agent.stderr());
        if (prev.nextSeq !== prev.diskLastSeq + 1) {
          violations.push(`run ${run} continued at seq ${prev.nextSeq}, the disk ended at ${prev.diskLastSeq}`);
        }
      }
      const lines: number[] = [];
      writtenBy.push(lines);
      alive = lines;
      const [lo, hi] = opts.killDelayMs;
      const ranMs = last ? 1000 : Math.round(lo + random() * (hi - lo));
      await pause(ranMs);
      alive = undefined; // nothing is written from here on: every counted line was written while the agent lived
      const it: CrashIteration = { run, ranMs, startMs, written: lines.length, lost: 0, lostIsTail: true, diskRecords: 0, diskLastSeq: 0 };
      iterations.push(it);
      if (last) {
        const lastLine = lines[lines.length - 1];
        if (lastLine !== undefined) {
          await waitFor(() => cloud.values(READING).includes(lastLine), 15_000, 'the last line at the cloud').catch((e: Error) => violations.push(e.message));
        }
        finalExitCode = await agent.stop();
        agent = undefined;
      } else {
        await agent.kill9();
        agent = undefined;
      }
      const records = await scanJournalFiles(stateDir);
      it.diskRecords = records.length;
      it.diskLastSeq = records[records.length - 1]?.seq ?? 0;
      for (const rec of records) {
        const h = sha256Hex(rec.bytes);
        const before = diskHashes.get(rec.seq);
        if (before !== undefined && before !== h) diskSeqReused.push(rec.seq);
        if (before !== undefined) continue;
        diskHashes.set(rec.seq, h);
        for (const e of disk.accept(rec.bytes)) {
          if (e.kind === 'batch') for (const r of e.readings) if (r.name === READING && r.v !== undefined) diskValues.add(r.v);
        }
      }
      opts.progress?.(`run ${run}: ${last ? 'stopped' : 'killed'} after ${ranMs} ms, ${lines.length} lines written, disk seq ${it.diskLastSeq} (${records.length} records)`);
    }
    // everything on disk after the clean stop must reach the cloud
    const lastSeq = iterations[iterations.length - 1]?.diskLastSeq ?? 0;
    await waitFor(() => {
      const s = cloud.summary();
      return (s.lastSeq ?? 0) >= lastSeq && s.missing.length === 0;
    }, 15_000, `the cloud holds every seq up to ${lastSeq}`).catch((e: Error) => violations.push(e.message));
  } finally {
    writing = false;
    await writer;
    if (agent) await agent.kill9();
    await cloud.close();
    closeSync(fd);
    await pty.close();
    await broker.close();
    dir.remove();
  }

  // ── accounting ──
  const cloudValues = cloud.values(READING);
  const seen = new Set<number>();
  const repeatedValues: number[] = [];
  for (const v of cloudValues) { if (seen.has(v)) repeatedValues.push(v); seen.add(v); }
  const writtenAll = new Set(writtenBy.flat());
  const unexpectedValues = [...seen].filter((v) => !writtenAll.has(v));
  for (let i = 0; i < writtenBy.length && i < iterations.length; i++) {
    const lines = writtenBy[i]!;
    const lost = lines.filter((v) => !seen.has(v));
    const it = iterations[i]!;
    it.lost = lost.length;
    // lines are consecutive numbers: the lost ones are the tail if none after the first lost one arrived
    it.lostIsTail = lost.length === 0 || lost.length === lines.length - lines.indexOf(lost[0]!);
  }
  const diskNotDelivered: number[] = [];
  const diskBytesDiffer: number[] = [];
  for (const [seq, h] of diskHashes) {
    const got = cloud.hashes.get(seq);
    if (got === undefined) diskNotDelivered.push(seq);
    else if (got !== h) diskBytesDiffer.push(seq);
  }
  const diskReadingsLost = [...diskValues].filter((v) => !seen.has(v)).sort((a, b) => a - b);
  const summary = cloud.summary();
  const crashes = iterations.filter((it) => it.run < opts.iterations);
  const lost = crashes.reduce((s, it) => s + it.lost, 0);
  const maxLostPerCrash = crashes.reduce((m, it) => Math.max(m, it.lost), 0);
  const seqResumeErrors = violations.filter((v) => v.includes('continued at seq'));

  const cleanRun = iterations.find((it) => it.run === opts.iterations);
  if (iterations.length !== opts.iterations + 1) violations.push(`only ${iterations.length} of ${opts.iterations + 1} runs happened`);
  if (finalExitCode !== 0) violations.push(`the clean stop exited with ${finalExitCode}`);
  if (cleanRun && cleanRun.lost > 0) violations.push(`${cleanRun.lost} lines of the cleanly stopped run were lost`);
  if (summary.conflicts > 0) violations.push(`${summary.conflicts} seq(s) arrived with two different contents`);
  if (summary.rejected > 0) violations.push(`${summary.rejected} message(s) rejected by the verifier`);
  if (!summary.complete || summary.unexplainedBreaks > 0 || summary.missing.length > 0) violations.push(`chain not complete: ${JSON.stringify(summary)}`);
  if (summary.explainedBreaks > 0 || summary.gaps.length > 0) violations.push(`gap notices in a crash soak (nothing may be dropped): ${JSON.stringify(summary.gaps)}`);
  if (summary.firstSeq !== 1) violations.push(`the cloud's first seq is ${summary.firstSeq}, not 1`);
  if (diskSeqReused.length) violations.push(`seq reused on disk: ${diskSeqReused.join(',')}`);
  if (disk.summary().conflicts > 0) violations.push('the disk verifier saw a seq with two contents');
  if (diskNotDelivered.length) violations.push(`journaled but never delivered: seq ${diskNotDelivered.join(',')}`);
  if (diskBytesDiffer.length) violations.push(`delivered with bytes other than journaled: seq ${diskBytesDiffer.join(',')}`);
  if (diskReadingsLost.length) violations.push(`readings in journaled batches lost: ${diskReadingsLost.join(',')}`);
  if (unexpectedValues.length) violations.push(`values never written arrived: ${unexpectedValues.join(',')}`);
  if (repeatedValues.length) violations.push(`readings delivered in two different batches: ${repeatedValues.join(',')}`);
  if (lost > crashes.length * window) violations.push(`${lost} lines lost in ${crashes.length} crashes, more than ${window} per crash`);
  for (const it of crashes) if (!it.lostIsTail) violations.push(`run ${it.run}: lost lines are not the newest ones of the run`);

  return {
    iterations, window, written: writtenAll.size, lost, maxLostPerCrash,
    diskRecordsChecked: diskHashes.size, diskNotDelivered, diskBytesDiffer, diskReadingsLost, diskSeqReused, seqResumeErrors,
    unexpectedValues, repeatedValues, cloud: summary, finalExitCode, violations,
  };
}

export function formatSoak(r: CrashSoakResult): string {
  const pad = (s: string | number, w: number): string => String(s).padStart(w);
  const rows = [
    `${pad('run', 4)} ${pad('ran ms', 7)} ${pad('start ms', 8)} ${pad('written', 8)} ${pad('lost', 5)} ${pad('tail', 5)} ${pad('disk recs', 9)} ${pad('disk last', 9)} ${pad('next seq', 8)}`,
    ...r.iterations.map((it) => `${pad(it.run, 4)} ${pad(it.ranMs, 7)} ${pad(it.startMs, 8)} ${pad(it.written, 8)} ${pad(it.lost, 5)} ${pad(it.lostIsTail ? 'yes' : 'NO', 5)} ${pad(it.diskRecords, 9)} ${pad(it.diskLastSeq, 9)} ${pad(it.nextSeq ?? '-', 8)}`),
  ];
  const crashes = r.iterations.length - 1;
  const s = r.cloud;
  rows.push(
    '',
    `crashes (kill -9)            ${crashes}`,
    `batches at the cloud         ${s.batches} (seq ${s.firstSeq ?? '-'}..${s.lastSeq ?? '-'}), duplicates removed ${s.duplicates}, conflicts ${s.conflicts}, rejected ${s.rejected}`,
    `chain                        ${s.complete ? 'complete' : 'INCOMPLETE'}, breaks explained ${s.explainedBreaks} / unexplained ${s.unexplainedBreaks}, missing ${JSON.stringify(s.missing)}`,
    `readings                     written ${r.written}, at the cloud ${s.readings}, lost ${r.lost}`,
    `lost per crash               avg ${crashes ? (r.lost / crashes).toFixed(1) : '-'}, max ${r.maxLostPerCrash} (window: ${r.window} readings per batch)`,
    `records checked on disk      ${r.diskRecordsChecked}: not delivered ${r.diskNotDelivered.length}, other bytes ${r.diskBytesDiffer.length}, seq reused ${r.diskSeqReused.length}, readings lost ${r.diskReadingsLost.length}`,
    `clean stop exit code         ${r.finalExitCode}`,
    r.violations.length ? `INVARIANTS BROKEN (${r.violations.length}):\n  ${r.violations.join('\n  ')}` : 'all invariants held',
  );
  return rows.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { iterations: { type: 'string' }, seed: { type: 'string' } } });
  const iterations = Number(values.iterations ?? 50);
  const seed = Number(values.seed ?? 0x50a6);
  if (!Number.isInteger(iterations) || iterations < 1 || !Number.isInteger(seed)) {
    process.stderr.write('usage: node --import tsx test/soak/crash-soak.ts [--iterations N] [--seed S]\n');
    process.exit(2);
  }
  process.stdout.write(`crash soak: ${iterations} kill -9 at random points (seed ${seed})\n`);
  const result = await runCrashSoak({
    iterations, seed, killDelayMs: [0, 2500],
    progress: (line) => process.stderr.write(line + '\n'),
  });
  process.stdout.write(formatSoak(result) + '\n');
  process.exit(result.violations.length ? 1 : 0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`crash soak failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
