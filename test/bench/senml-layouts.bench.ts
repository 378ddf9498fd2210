// SenML layouts (issue 16's bytes goal): the footprint workload's readings
// (test/bench/footprint/workload.ts: 26 per scan, the 100 ms poll, values as
// the agent decodes them) packed into signed batches under several record
// layouts, built and measured rather than estimated. Every layout is decoded
// again and must give back each reading's name, time, unit and value exactly
// (Object.is), or the bench says so. Prints B/reading per layout; asserts nothing.
//
//   npm run bench -- layouts
//
// What a layout may do (all plain RFC 8428 but the last), alone and together:
//   shipped        agent/encode/senml.ts: bn per source, bt per scan
//   bn per meter   bn set to the longest name prefix a run of records shares ("plc:m1_")
//   bu             a scan's records grouped by unit under bu; records without a unit
//                  must come before the first bu of the pack (bu cannot be unset)
//   decimals       a value that is the double of a short decimal as a decimal fraction
//                  (tag 4, RFC 8428 §6 allows it; cbor2 decodes it to Decimal)
//   260/batch      batch.maxRecords 260 (one batch per second; DESIGN's default is 100)
//   not SenML      names and units once per batch, then [bt, v1..v26] per scan

import { pathToFileURL } from 'node:url';
import { decodeCbor, encodeCbor, Tag } from '../../agent/encode/cbor.js';
import { signSign1 } from '../../agent/encode/cose.js';
import { generateKeyPair } from '../../agent/encode/keys.js';
import { baseNameOf, resolveSenml, senmlRecords, SENML } from '../../agent/encode/senml.js';
import { createCryptoSigner } from '../../agent/encode/signer.js';
import type { Reading } from '../../agent/reading.js';
import { expectedValue, meterRegisters, SOURCE_ID, UNITS } from './footprint/workload.js';

const DEVICE = 'bench-1';
const SCANS = 100;
const signer = createCryptoSigner(generateKeyPair().seed);

/** SCANS scans at the 100 ms poll, one bt per scan (ms-resolution Unix seconds, as Date.now() / 1000 gives). */
function workload(): Reading[][] {
  const scans: Reading[][] = [];
  for (let k = 0; k < SCANS; k++) {
    const time = (1_796_000_000_123 + k * 100) / 1000;
    scans.push(UNITS.flatMap((u) => meterRegisters(u).map((r): Reading => ({
      name: `${SOURCE_ID}:${r.name}`, time, v: expectedValue(r), ...(r.unit !== undefined ? { unit: r.unit } : {}),
    }))));
  }
  return scans;
}

/** The message a batch of `records` makes: the payload of agent/encode/batch.ts, signed. */
function message(records: unknown, seq: number): Uint8Array {
  return signSign1(signer, encodeCbor({ v: 1, dev: DEVICE, seq, prev: new Uint8Array(32), clk: 'sync', senml: records }));
}

/** A decimal fraction (tag 4) for `v` when it is shorter than the float and reads back exactly. */
function decimal(v: number): unknown {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(v));
  if (!m) return v;
  const exp = -(m[3]?.length ?? 0);
  const mantissa = Number(`${m[1]}${m[2]}${m[3] ?? ''}`);
  if (exp === 0 || !Number.isSafeInteger(mantissa) || Number(`${mantissa}e${exp}`) !== v) return v;
  const tagged = new Tag([exp, mantissa], 4);
  return encodeCbor(tagged).length < encodeCbor(v).length ? tagged : v;
}

/** Tag 4 back to the double nearest the decimal (what a decoder must give, RFC 8428 §6). */
function untag(x: unknown): unknown {
  if (x instanceof Tag && x.tag === 4) { const [e, mnt] = x.value as [number, number]; return Number(`${mnt}e${e}`); }
  if (Array.isArray(x)) return x.map(untag);
  if (x instanceof Map) return new Map([...x].map(([k, v]) => [k, untag(v)]));
  return x;
}

const commonPrefix = (a: string, b: string): string => { let i = 0; while (i < a.length && a[i] === b[i]) i++; return a.slice(0, i); };

interface Pack { bn: boolean; bu: boolean; decimals: boolean }

/**
 * Records for one batch (whole scans' readings, in scan order) under `p`. bn: a run of records whose
 * names share a prefix longer than the source's gets that prefix as bn. bu: per scan, records grouped
 * by unit, bu set for a group of two or more; the unitless records of the whole batch go first.
 */
function records(readings: Reading[], p: Pack): unknown[] {
  if (!p.bn && !p.bu && !p.decimals) return senmlRecords(DEVICE, readings);
  const root = baseNameOf(DEVICE);
  let ordered = readings;
  if (p.bu) {
    const unitless = readings.filter((r) => r.unit === undefined);
    const scans = new Map<number, Reading[]>();
    for (const r of readings) if (r.unit !== undefined) (scans.get(r.time) ?? scans.set(r.time, []).get(r.time)!).push(r);
    ordered = [...unitless, ...[...scans.values()].flatMap((s) => [...s].sort((a, b) => a.unit!.localeCompare(b.unit!)))];
  }
  const out: unknown[] = [];
  let bn: string | undefined;
  let bt = NaN;
  let bu: string | undefined;
  for (let i = 0; i < ordered.length; i++) {
    const r = ordered[i]!;
    const rec = new Map<number, unknown>();
    let prefix = r.name.slice(0, r.name.indexOf(':') + 1);
    if (p.bn) {
      // the prefix this record shares with the next one, if it is longer than the source's
      const next = ordered[i + 1];
      const shared = next ? commonPrefix(r.name, next.name) : '';
      if (bn !== undefined && r.name.startsWith(bn) && bn.length > prefix.length) prefix = bn;
      else if (shared.length > prefix.length + 2) prefix = shared;
    }
    if (prefix !== bn) { rec.set(SENML.bn, root + prefix); bn = prefix; }
    if (!Object.is(r.time, bt)) { rec.set(SENML.bt, r.time); bt = r.time; }
    if (p.bu && r.unit !== undefined && r.unit !== bu && ordered[i + 1]?.unit === r.unit) { rec.set(SENML.bu, r.unit); bu = r.unit; }
    rec.set(SENML.n, r.name.slice(prefix.length));
    if (r.unit !== undefined && r.unit !== bu) rec.set(SENML.u, r.unit);
    if (r.unit === undefined && bu !== undefined) throw new Error(`layout: ${r.name} has no unit after bu was set`);
    rec.set(SENML.v, p.decimals ? decimal(r.v!) : r.v);
    out.push(rec);
  }
  return out;
}

/** Whether the records, encoded and decoded again, give back `readings` exactly (as a set: layouts reorder within a batch). */
function exact(senml: unknown, readings: Reading[]): boolean {
  const back = resolveSenml(untag(decodeCbor(encodeCbor(senml))), DEVICE);
  if (back.length !== readings.length) return false;
  const key = (n: string, t: number): string => `${n}@${t}`;
  const want = new Map(readings.map((r) => [key(r.name, r.time), r]));
  return back.every((b) => {
    const r = want.get(key(b.name, b.time));
    return r !== undefined && Object.is(r.v, b.v) && r.unit === b.unit;
  });
}

/** Batches of `maxRecords` readings, as the batcher cuts them at the 100 ms poll (maxRecords closes a batch before maxAgeMs). */
function batches(scans: Reading[][], maxRecords: number): Reading[][] {
  const all = scans.flat();
  const out: Reading[][] = [];
  for (let i = 0; i < all.length; i += maxRecords) out.push(all.slice(i, i + maxRecords));
  return out;
}

function senmlLayout(label: string, p: Pack, maxRecords: number, scans: Reading[][]): string {
  let bytes = 0, readings = 0, ok = true, seq = 0;
  for (const b of batches(scans, maxRecords)) {
    const senml = records(b, p);
    bytes += message(senml, ++seq).length;
    readings += b.length;
    ok &&= exact(senml, b);
  }
  return `| ${label.padEnd(28)} | ${(bytes / readings).toFixed(1).padStart(9)} | ${ok ? 'yes' : 'NO'} |`;
}

/** Not SenML: per batch {names, units} once, then [bt, v...] per scan. */
function tableLayout(scans: Reading[][], perBatch: number): string {
  let bytes = 0, readings = 0, seq = 0;
  for (let i = 0; i < scans.length; i += perBatch) {
    const group = scans.slice(i, i + perBatch);
    const first = group[0]!;
    const body = { names: first.map((r) => r.name), units: first.map((r) => r.unit ?? ''), rows: group.map((s) => [s[0]!.time, ...s.map((r) => r.v)]) };
    bytes += signSign1(signer, encodeCbor({ v: 1, dev: DEVICE, seq: ++seq, prev: new Uint8Array(32), clk: 'sync', table: body })).length;
    readings += group.flat().length;
  }
  return `| ${'not SenML: names once'.padEnd(28)} | ${(bytes / readings).toFixed(1).padStart(9)} | (not checked) |`;
}

export async function run(): Promise<void> {
  const scans = workload();
  process.stdout.write(`\nSenML layouts: the footprint workload, ${SCANS} scans of ${scans[0]!.length} readings at the 100 ms poll, signed batches\n`);
  process.stdout.write(`| ${'layout'.padEnd(28)} | B/reading | exact |\n|${'-'.repeat(30)}|-----------|-------|\n`);
  const lines = [
    senmlLayout('shipped (100/batch)', { bn: false, bu: false, decimals: false }, 100, scans),
    senmlLayout('bn per meter', { bn: true, bu: false, decimals: false }, 100, scans),
    senmlLayout('bu', { bn: false, bu: true, decimals: false }, 100, scans),
    senmlLayout('decimals (tag 4)', { bn: false, bu: false, decimals: true }, 100, scans),
    senmlLayout('bn per meter + decimals', { bn: true, bu: false, decimals: true }, 100, scans),
    senmlLayout('bu + decimals', { bn: false, bu: true, decimals: true }, 100, scans),
    senmlLayout('shipped, 260/batch', { bn: false, bu: false, decimals: false }, 260, scans),
    senmlLayout('bn per meter + decimals, 260', { bn: true, bu: false, decimals: true }, 260, scans),
    senmlLayout('bu + decimals, 260/batch', { bn: false, bu: true, decimals: true }, 260, scans),
    tableLayout(scans, 4),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run().then(() => process.exit(0), (err: unknown) => { process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`); process.exit(1); });
}
