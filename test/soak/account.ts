// The crash soak's accounting: what the runs, the disk scans and the cloud
// saw, turned into figures and broken invariants (see crash-soak.ts).

import type { ChainVerifier } from '../../agent/verify/chain.js';
import type { CloudWatch } from '../peers/agent-process.js';
import type { CrashIteration, CrashSoakOptions, CrashSoakResult } from './crash-soak.js';

const READING = 'field:n';

export interface Collected {
  opts: CrashSoakOptions; window: number; iterations: CrashIteration[]; writtenBy: number[][]; violations: string[];
  cloud: CloudWatch; diskHashes: Map<number, string>; valueSeq: Map<number, number>; diskSeqReused: number[];
  damagedSeqs: Set<number>; faultCounts: Record<string, number>; notes: string[]; finalExitCode: number | null;
  diskVerifier: ChainVerifier;
}

export function account(c: Collected): CrashSoakResult {
  const { iterations, writtenBy, violations, cloud, diskHashes, opts, window } = c;
  const summary = cloud.summary();
  const gaps = cloud.events.filter((e): e is Extract<typeof e, { kind: 'gap' }> => e.kind === 'gap');
  const coveredBy = new Map<number, number>();
  for (const g of gaps) for (let q = g.first; q <= g.last; q++) coveredBy.set(q, (coveredBy.get(q) ?? 0) + 1);
  const told = (seq: number): boolean => coveredBy.has(seq);
  const toldTwice = [...coveredBy].filter(([, k]) => k > 1).map(([q]) => q).sort((a, b) => a - b);

  const cloudValues = cloud.values(READING);
  const seen = new Set<number>();
  const repeatedValues: number[] = [];
  for (const v of cloudValues) { if (seen.has(v)) repeatedValues.push(v); seen.add(v); }
  const writtenAll = new Set(writtenBy.flat());
  const unexpectedValues = [...seen].filter((v) => !writtenAll.has(v));
  let lostTold = 0;
  for (let i = 0; i < writtenBy.length && i < iterations.length; i++) {
    const it = iterations[i]!;
    const lost = writtenBy[i]!.filter((v) => !seen.has(v));
    // a line in a record that was destroyed (told) is not part of the crash window
    const untold = lost.filter((v) => { const q = c.valueSeq.get(v); return q === undefined || !told(q); });
    lostTold += lost.length - untold.length;
    it.lost = untold.length;
    // lines are consecutive numbers: the lost ones are the tail if none after the first lost one arrived
    const lines = writtenBy[i]!;
    it.lostIsTail = untold.length === 0 || untold.every((v) => lines.indexOf(v) >= lines.length - untold.length);
  }
  const diskNotDelivered: number[] = [];
  const diskBytesDiffer: number[] = [];
  for (const [seq, h] of diskHashes) {
    const got = cloud.hashes.get(seq);
    if (got === undefined) { if (!told(seq)) diskNotDelivered.push(seq); }
    else if (got !== h) diskBytesDiffer.push(seq);
  }
  const diskReadingsLost = [...c.valueSeq].filter(([v, q]) => !seen.has(v) && !told(q)).map(([v]) => v).sort((a, b) => a - b);
  const damagedTold = [...c.damagedSeqs].filter(told).length;
  const crashes = iterations.filter((it) => it.run < opts.iterations);
  // untold losses are bounded only where nothing else was lost: kill -9 alone, with the broker up
  const bounded = crashes.filter((it) => it.fault !== 'disk-full');
  const lost = bounded.reduce((s, it) => s + it.lost, 0);
  const maxLostPerCrash = bounded.reduce((m, it) => Math.max(m, it.lost), 0);
  const seqResumeErrors = violations.filter((v) => v.includes('continued at seq'));
  const anyFault = iterations.some((it) => it.fault !== 'kill');

  const cleanRun = iterations.find((it) => it.run === opts.iterations);
  if (iterations.length !== opts.iterations + 1) violations.push(`only ${iterations.length} of ${opts.iterations + 1} runs happened`);
  if (c.finalExitCode !== 0) violations.push(`the clean stop exited with ${c.finalExitCode}`);
  if (cleanRun && cleanRun.lost > 0) violations.push(`${cleanRun.lost} lines of the cleanly stopped run were lost`);
  if (summary.conflicts > 0) violations.push(`${summary.conflicts} seq(s) arrived with two different contents`);
  if (summary.rejected > 0) violations.push(`${summary.rejected} message(s) rejected by the verifier`);
  if (!summary.complete || summary.unexplainedBreaks > 0 || summary.missing.length > 0) violations.push(`chain not complete: ${JSON.stringify(summary)}`);
  if (!anyFault && (summary.explainedBreaks > 0 || summary.gaps.length > 0)) violations.push(`gap notices in a kill-only soak (nothing may be dropped): ${JSON.stringify(summary.gaps)}`);
  if (toldTwice.length) violations.push(`seqs told in two gap notices: ${toldTwice.slice(0, 50).join(',')}`);
  // the chain starts at 1, or what came before its first arrival was told dropped
  const firstSeq = summary.firstSeq ?? 0;
  if (firstSeq !== 1 && !Array.from({ length: Math.max(0, firstSeq - 1) }, (_, i) => i + 1).every(told)) violations.push(`the cloud's first seq is ${summary.firstSeq}, and seqs before it were not told`);
  // a seq written again on disk is fine only if the first record never left (a torn, undurable tail)
  const reusedPublished = c.diskSeqReused.filter((q) => cloud.hashes.has(q));
  if (reusedPublished.length || (!anyFault && c.diskSeqReused.length)) violations.push(`seq reused on disk: ${c.diskSeqReused.join(',')}`);
  if (c.diskVerifier.summary().conflicts > 0 && !anyFault) violations.push('the disk verifier saw a seq with two contents');
  if (diskNotDelivered.length) violations.push(`journaled, never delivered, never told: seq ${diskNotDelivered.join(',')}`);
  if (diskBytesDiffer.length) violations.push(`delivered with bytes other than journaled: seq ${diskBytesDiffer.join(',')}`);
  if (diskReadingsLost.length) violations.push(`readings in journaled batches lost untold: ${diskReadingsLost.join(',')}`);
  if (unexpectedValues.length) violations.push(`values never written arrived: ${unexpectedValues.join(',')}`);
  if (repeatedValues.length) violations.push(`readings delivered in two different batches: ${repeatedValues.join(',')}`);
  if (lost > bounded.length * window) violations.push(`${lost} lines lost untold in ${bounded.length} crashes, more than ${window} per crash`);
  for (const it of bounded) if (!it.lostIsTail) violations.push(`run ${it.run}: lost lines are not the newest ones of the run`);

  return {
    iterations, window, written: writtenAll.size, lost, maxLostPerCrash,
    diskRecordsChecked: diskHashes.size, damagedRecords: c.damagedSeqs.size, damagedTold, faultCounts: c.faultCounts, notes: c.notes,
    gapNotices: gaps.length, gapSeqs: coveredBy.size, toldTwice, lostTold,
    diskNotDelivered, diskBytesDiffer, diskReadingsLost, diskSeqReused: c.diskSeqReused, seqResumeErrors,
    unexpectedValues, repeatedValues, cloud: summary, finalExitCode: c.finalExitCode, violations,
  };
}

