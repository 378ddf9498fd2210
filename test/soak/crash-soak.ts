// Crash soak (issues 4 and 11): the whole agent — the real CLI as a child
// process, a socat pty, a real Mosquitto — killed with SIGKILL at random
// (seeded) moments while numbered lines `n=<i>` stream into the pty,
// restarted, again and again; then one clean stop. A cloud-side verifier is
// subscribed the whole time. With faults (faults.ts), some kills are followed
// by damage to the journal (a segment header, a record, the tail) or happen on
// a full disk (the state directory on a small tmpfs filled by a ballast, the
// broker down). Invariants: no seq names two batches (at the cloud), every seq
// is delivered or inside a gap notice and each is told once, every record seen
// on disk reaches the cloud with identical bytes or is told, a run continues
// after every seq on disk and at the cloud (exactly at last-on-disk + 1 after a
// plain kill), and readings not told are lost only from the window not yet
// durable at a crash.
//
//   node --import tsx test/soak/crash-soak.ts [--iterations N] [--seed S] [--kill-only | --faults kill,header,...]
//   (TAPWIRE_SOAK_LOGS=<dir> keeps each run's agent log there)
//
// Prints one row per crash and totals; exits 1 if an invariant broke.

import { closeSync, constants, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { prng } from '../../agent/prng.js';
import { createChainVerifier, type ChainSummary } from '../../agent/verify/chain.js';
import { prepareDevice, scanJournalFiles, sha256Hex, startAgentProcess, watchCloud, type AgentProcess } from '../peers/agent-process.js';
import { startMosquitto } from '../peers/mosquitto.js';
import { createPtyPair } from '../peers/socat.js';
import { mountSmallDisk, type SmallDisk } from '../peers/tmpfs.js';
import { tempDir, waitFor } from '../helpers.js';
import { account } from './account.js';
import { ALL_FAULTS, damageJournal, fillDisk, pickFault, type Fault } from './faults.js';

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
  /** The fault mix (default kill -9 only); 'disk-full' needs a tmpfs (root), else it is left out with a note. */
  faults?: Fault[];
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
  fault: Fault;
  /** What the fault did (damage: which part), and the seqs of records it destroyed. */
  faultDetail?: string;
  damaged: number[];
  /** The next run must continue above this: every seq on disk after the fault and at the cloud. */
  mustExceed: number;
}

export interface CrashSoakResult {
  iterations: CrashIteration[];
  window: number;
  written: number;
  lost: number;
  maxLostPerCrash: number;
  /** Distinct records seen on disk after kills, checked against the cloud. */
  diskRecordsChecked: number;
  /** Records destroyed by damage faults, and of those the ones told by a gap notice (the rest had been delivered). */
  damagedRecords: number;
  damagedTold: number;
  /** Faults that happened, by kind; notes (e.g. why disk-full was left out). */
  faultCounts: Record<string, number>;
  notes: string[];
  /** Gap notices at the cloud, and seqs covered by more than one (each range must be told once). */
  gapNotices: number;
  gapSeqs: number;
  toldTwice: number[];
  /** Readings lost and told (in a destroyed or dropped batch), and lost untold (the undurable window). */
  lostTold: number;
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
/** The state directory's disk when the mix has disk-full faults. */
const SOAK_DISK_BYTES = 16 * 1024 * 1024;
const READING = 'field:n';

export async function runCrashSoak(opts: CrashSoakOptions): Promise<CrashSoakResult> {
  const window = opts.maxRecords ?? 20;
  const rate = opts.linesPerSecond ?? 100;
  const random = prng(opts.seed);
  const notes: string[] = [];
  let faults = opts.faults ?? ['kill'];
  let disk: SmallDisk | undefined;
  const dir = tempDir('tapwire-soak-');
  let stateDir = join(dir.path, 'state');
  if (faults.includes('disk-full')) {
    const d = mountSmallDisk(SOAK_DISK_BYTES);
    if ('cannot' in d) { notes.push(`disk-full left out: ${d.cannot}`); faults = faults.filter((f) => f !== 'disk-full'); }
    else { disk = d; stateDir = join(d.path, 'state'); mkdirSync(stateDir, { mode: 0o700 }); }
  }
  const broker = await startMosquitto({ persistence: true });
  const pty = await createPtyPair();
  const fd = openSync(pty.peerPath, constants.O_RDWR | constants.O_NOCTTY);
  const configPath = join(dir.path, 'config.json');
  const publicKey = prepareDevice(configPath, {
    device: DEVICE,
    stateDir,
    uplink: { url: broker.url, protocolVersion: 5, reconnect: { initialMs: 100, maxMs: 1000 } },
    batch: { maxRecords: window, maxAgeMs: opts.maxAgeMs ?? 100 },
    journal: { fsyncIntervalMs: opts.fsyncIntervalMs ?? 50, segmentBytes: 16384 },
    sources: [{ id: 'field', type: 'lines', port: { path: pty.agentPath, baudRate: 115200 }, decoder: { type: 'kv' } }],
  });
  const cloud = watchCloud({ url: broker.url, device: DEVICE, publicKey, clientId: `soak-${process.pid}` });
  // the disk side: every record seen on disk after a kill (before any damage), through a verifier of its own
  const disk2 = createChainVerifier({ device: DEVICE, publicKeys: [publicKey] });
  const diskHashes = new Map<number, string>();
  /** value of a line -> seq of the record on disk that held it */
  const valueSeq = new Map<number, number>();
  const diskSeqReused: number[] = [];
  const damagedSeqs = new Set<number>();

  const iterations: CrashIteration[] = [];
  const writtenBy: number[][] = [];
  const violations: string[] = [];
  const faultCounts: Record<string, number> = {};
  let n = 0;
  let alive: number[] | undefined; // lines of the run that is alive now; undefined = write nothing
  let writing = true;
  let agent: AgentProcess | undefined;
  let ballast: (() => void) | undefined;
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
      const fault: Fault = last ? 'kill' : pickFault(random, faults);
      faultCounts[fault] = (faultCounts[fault] ?? 0) + 1;
      if (fault === 'disk-full') {
        // unsent batches pile up on a disk with a few KiB to spare: less than the journal's reserve, so real ENOSPC
        await broker.stop();
        ballast = fillDisk(stateDir, Math.floor(random() * 16_384));
      }
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
        if (prev.fault === 'kill' && prev.nextSeq !== prev.diskLastSeq + 1) {
          violations.push(`run ${run} continued at seq ${prev.nextSeq}, the disk ended at ${prev.diskLastSeq}`);
        } else if (prev.nextSeq === undefined || prev.nextSeq <= prev.mustExceed) {
          violations.push(`run ${run} continued at seq ${prev.nextSeq} after ${prev.fault}, but seq ${prev.mustExceed} was on disk or at the cloud`);
        }
      }
      const lines: number[] = [];
      writtenBy.push(lines);
      alive = lines;
      const [lo, hi] = opts.killDelayMs;
      // a full disk needs time to fill: those runs last at least the longest kill delay
      const ranMs = last ? 1000 : fault === 'disk-full' ? hi : Math.round(lo + random() * (hi - lo));
      await pause(ranMs);
      alive = undefined; // nothing is written from here on: every counted line was written while the agent lived
      const it: CrashIteration = { run, ranMs, startMs, written: lines.length, lost: 0, lostIsTail: true, diskRecords: 0, diskLastSeq: 0, fault, damaged: [], mustExceed: 0 };
      iterations.push(it);
      if (last) {
        const lastLine = lines[lines.length - 1];
        if (lastLine !== undefined) {
          await waitFor(() => cloud.values(READING).includes(lastLine), 15_000, 'the last line at the cloud').catch((e: Error) => violations.push(e.message));
        }
        finalExitCode = await agent.stop();
      } else {
        await agent.kill9();
      }
      const agentLog = agent.stderr();
      agent = undefined;
      if (ballast) { ballast(); ballast = undefined; await broker.start(); }
      if (process.env.TAPWIRE_SOAK_LOGS) writeFileSync(join(process.env.TAPWIRE_SOAK_LOGS, `run-${run}.log`), agentLog);
      const records = await scanJournalFiles(stateDir);
      it.diskRecords = records.length;
      it.diskLastSeq = records[records.length - 1]?.seq ?? 0;
      for (const rec of records) {
        const h = sha256Hex(rec.bytes);
        const before = diskHashes.get(rec.seq);
        if (before !== undefined && before !== h) diskSeqReused.push(rec.seq);
        if (before !== undefined) continue;
        diskHashes.set(rec.seq, h);
        for (const e of disk2.accept(rec.bytes)) {
          if (e.kind === 'batch') for (const r of e.readings) if (r.name === READING && r.v !== undefined) valueSeq.set(r.v, e.seq);
        }
      }
      if (!last && (fault === 'header' || fault === 'record' || fault === 'tail')) {
        const d = damageJournal(fault, stateDir, records, random);
        if (d) { it.faultDetail = d.what; it.damaged = d.seqs; for (const q of d.seqs) damagedSeqs.add(q); }
      }
      const after = it.damaged.length ? await scanJournalFiles(stateDir) : records;
      it.mustExceed = Math.max(after[after.length - 1]?.seq ?? 0, ...records.filter((x) => !it.damaged.includes(x.seq)).map((x) => x.seq), cloud.summary().lastSeq ?? 0);
      opts.progress?.(`run ${run}: ${last ? 'stopped' : 'killed'} after ${ranMs} ms (${fault}${it.faultDetail ? `: ${it.faultDetail}` : ''}), ${lines.length} lines written, disk seq ${it.diskLastSeq} (${records.length} records)`);
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
    ballast?.();
    await cloud.close();
    closeSync(fd);
    await pty.close();
    await broker.close();
    dir.remove();
    disk?.unmount();
  }
  return account({ opts, window, iterations, writtenBy, violations, cloud, diskHashes, valueSeq, diskSeqReused, damagedSeqs, faultCounts, notes, finalExitCode, diskVerifier: disk2 });
}

export function formatSoak(r: CrashSoakResult): string {
  const pad = (s: string | number, w: number): string => String(s).padStart(w);
  const rows = [
    `${pad('run', 4)} ${pad('fault', 9)} ${pad('ran ms', 7)} ${pad('start ms', 8)} ${pad('written', 8)} ${pad('lost', 5)} ${pad('tail', 5)} ${pad('disk recs', 9)} ${pad('disk last', 9)} ${pad('destroyed', 9)} ${pad('next seq', 8)}`,
    ...r.iterations.map((it) => `${pad(it.run, 4)} ${pad(it.fault, 9)} ${pad(it.ranMs, 7)} ${pad(it.startMs, 8)} ${pad(it.written, 8)} ${pad(it.lost, 5)} ${pad(it.lostIsTail ? 'yes' : 'NO', 5)} ${pad(it.diskRecords, 9)} ${pad(it.diskLastSeq, 9)} ${pad(it.damaged.length, 9)} ${pad(it.nextSeq ?? '-', 8)}`),
  ];
  const crashes = r.iterations.length - 1;
  const s = r.cloud;
  rows.push(
    '',
    `crashes (kill -9)            ${crashes}; faults ${Object.entries(r.faultCounts).map(([f, k]) => `${f} ${k}`).join(', ')} (the clean stop counts as kill)`,
    ...r.notes.map((n) => `note                         ${n}`),
    `batches at the cloud         ${s.batches} (seq ${s.firstSeq ?? '-'}..${s.lastSeq ?? '-'}), duplicates removed ${s.duplicates}, conflicts ${s.conflicts}, rejected ${s.rejected}`,
    `chain                        ${s.complete ? 'complete' : 'INCOMPLETE'}, breaks explained ${s.explainedBreaks} / unexplained ${s.unexplainedBreaks}, missing ${JSON.stringify(s.missing)}`,
    `gap notices                  ${r.gapNotices}, covering ${r.gapSeqs} seqs (${[...new Set(s.gaps.map((g) => g.reason))].join(', ') || 'none'}); seqs told twice ${r.toldTwice.length}`,
    `readings                     written ${r.written}, at the cloud ${s.readings}, lost and told ${r.lostTold}, lost untold (undurable window) ${r.lost}`,
    `lost untold per crash        avg ${crashes ? (r.lost / crashes).toFixed(1) : '-'}, max ${r.maxLostPerCrash} (window: ${r.window} readings per batch)`,
    `records checked on disk      ${r.diskRecordsChecked}: not delivered and untold ${r.diskNotDelivered.length}, other bytes ${r.diskBytesDiffer.length}, seq rewritten ${r.diskSeqReused.length}, readings lost untold ${r.diskReadingsLost.length}`,
    `records destroyed by damage  ${r.damagedRecords}: told in a gap notice ${r.damagedTold}, the rest had been delivered`,
    `clean stop exit code         ${r.finalExitCode}`,
    r.violations.length ? `INVARIANTS BROKEN (${r.violations.length}):\n  ${r.violations.join('\n  ')}` : 'all invariants held',
  );
  return rows.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { iterations: { type: 'string' }, seed: { type: 'string' }, 'kill-only': { type: 'boolean' }, faults: { type: 'string' } } });
  const iterations = Number(values.iterations ?? 50);
  const seed = Number(values.seed ?? 0x50a6);
  if (!Number.isInteger(iterations) || iterations < 1 || !Number.isInteger(seed)) {
    process.stderr.write('usage: node --import tsx test/soak/crash-soak.ts [--iterations N] [--seed S] [--kill-only]\n');
    process.exit(2);
  }
  const faults: Fault[] = values['kill-only'] ? ['kill'] : values.faults ? values.faults.split(',').filter((f): f is Fault => (ALL_FAULTS as string[]).includes(f)) : ALL_FAULTS;
  process.stdout.write(`crash soak: ${iterations} kill -9 at random points (seed ${seed}), faults: ${faults.join(', ')}\n`);
  const result = await runCrashSoak({
    iterations, seed, killDelayMs: [0, 2500], faults,
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
