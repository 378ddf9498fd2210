// Readings <-> SenML records (RFC 8428, CBOR integer labels). Invariant: a
// reading's name and time resolve back EXACTLY (bn + n, bt + t == time, by
// Object.is) from the records this module writes.
//
// Base fields are set again inside the pack (RFC 8428 §4.1): a record that
// carries bn or bt changes it for itself and the records after it. The writer
// sets bn where the source changes (bn = "urn:dev:tapwire:<dev>:<source>:",
// n = the field) and bt where the time changes (one per scan or sentence),
// so no name prefix and no time is repeated per reading:
//
//   { -2 bn: "urn:dev:tapwire:<dev>:plc:", -3 bt: <abs Unix s>, 0 n: "m1_v", 1 u: "V", 2 v: 230.2 }
//   { 0 n: "m1_i", 1 u: "A", 2 v: 12.35 }                      same source, same scan
//   { -3 bt: <abs Unix s>, 0 n: "m1_v", 1 u: "V", 2 v: 230.3 }  the next scan's time
//   { -2 bn: "urn:dev:tapwire:<dev>:weather:", 0 n: "temp", 1 u: "Cel", 2 v: 21.5 }
// t is never written (bt is absolute, so bt + 0 is the time exactly); u is
// omitted when there is no unit; exactly one of v (2), vs (3), vb (4).
// Every verifier resolves this (agent/encode/senml.ts resolveSenml, the
// independent test/peers/py_cose_verify.py): it is plain RFC 8428.

import type { Reading } from '../reading.js';

export const SENML = { bn: -2, bt: -3, bu: -4, n: 0, u: 1, v: 2, vs: 3, vb: 4, t: 6 } as const;

export const BASE_NAME_PREFIX = 'urn:dev:tapwire:';
export const baseNameOf = (device: string): string => `${BASE_NAME_PREFIX}${device}:`;

export interface ResolvedReading {
  /** bn + n, e.g. "urn:dev:tapwire:pump-7:weather:temp" */
  fullName: string;
  /** relative to "urn:dev:tapwire:<dev>:", e.g. "weather:temp" (= fullName if it is not under such a prefix) */
  name: string;
  /** absolute Unix seconds (bt + t) */
  time: number;
  v?: number;
  vs?: string;
  vb?: boolean;
  unit?: string;
}

/** SenML records (Maps with integer labels) for one batch, ready for encodeCbor. */
export function senmlRecords(device: string, readings: Reading[]): unknown[] {
  const root = baseNameOf(device);
  const out: unknown[] = new Array(readings.length);
  let source: string | undefined; // "<source>:" of the bn in force ('' for a name without one)
  let bt = NaN;
  for (let i = 0; i < readings.length; i++) {
    const r = readings[i]!;
    // typed at compile time; checked here because a wrong type would get a
    // whole signed batch rejected by every verifier
    if (typeof r.name !== 'string' || r.name === '') throw new TypeError('reading without a name');
    if (r.unit !== undefined && typeof r.unit !== 'string') throw new TypeError(`reading ${r.name}: unit must be a string`);
    const rec = new Map<number, unknown>();
    const cut = r.name.indexOf(':') + 1; // 0: no source part
    if (source === undefined || source.length !== cut || !r.name.startsWith(source)) {
      source = r.name.slice(0, cut);
      rec.set(SENML.bn, root + source);
    }
    // a different time (or -0 after 0): a new base time; equal times share one
    if (!Object.is(r.time, bt)) {
      rec.set(SENML.bt, r.time);
      bt = r.time;
    }
    rec.set(SENML.n, cut === 0 ? r.name : r.name.slice(cut));
    if (r.unit !== undefined) rec.set(SENML.u, r.unit);
    if (r.v !== undefined) {
      if (typeof r.v !== 'number') throw new TypeError(`reading ${r.name}: v must be a number`);
      rec.set(SENML.v, r.v);
    } else if (r.vs !== undefined) {
      if (typeof r.vs !== 'string') throw new TypeError(`reading ${r.name}: vs must be a string`);
      rec.set(SENML.vs, r.vs);
    } else if (r.vb !== undefined) {
      if (typeof r.vb !== 'boolean') throw new TypeError(`reading ${r.name}: vb must be a boolean`);
      rec.set(SENML.vb, r.vb);
    } else {
      throw new TypeError(`reading ${r.name} has no value (v, vs or vb)`);
    }
    out[i] = rec;
  }
  return out;
}

export class SenmlError extends Error {
  readonly code = 'ERR_SENML_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'SenmlError';
  }
}

const KNOWN = new Set<unknown>(Object.values(SENML));
const DEVICE_PREFIX = /^urn:dev:tapwire:([^:]+):/;

function finite(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/**
 * Validates SenML records (array of integer-labelled maps) and resolves base
 * fields into absolute readings. With `device`, every name must lie under
 * "urn:dev:tapwire:<device>:" (a batch cannot speak for another device).
 * Throws SenmlError naming the record and field.
 */
export function resolveSenml(records: unknown, device?: string): ResolvedReading[] {
  if (!Array.isArray(records)) throw new SenmlError('senml: expected an array of records');
  const prefix = device === undefined ? undefined : baseNameOf(device);
  const out: ResolvedReading[] = [];
  let bn = '';
  let bt = 0;
  let bu: string | undefined;
  for (let i = 0; i < records.length; i++) {
    const rec: unknown = records[i];
    const where = `senml[${i}]`;
    if (!(rec instanceof Map)) throw new SenmlError(`${where}: expected a map with integer labels`);
    for (const k of rec.keys()) {
      if (typeof k !== 'number') throw new SenmlError(`${where}: label ${JSON.stringify(String(k))} is not an integer label`);
      // RFC 8428 §4.4: labels ending in "_" (must-understand) would be text; an
      // unknown integer label is not ours to guess at
      if (!KNOWN.has(k)) throw new SenmlError(`${where}: unknown label ${k}`);
    }
    const get = (label: number): unknown => rec.get(label);
    if (rec.has(SENML.bn)) {
      const x = get(SENML.bn);
      if (typeof x !== 'string') throw new SenmlError(`${where}: bn must be a string`);
      bn = x;
    }
    if (rec.has(SENML.bt)) {
      const x = get(SENML.bt);
      if (!finite(x)) throw new SenmlError(`${where}: bt must be a finite number`);
      bt = x;
    }
    if (rec.has(SENML.bu)) {
      const x = get(SENML.bu);
      if (typeof x !== 'string') throw new SenmlError(`${where}: bu must be a string`);
      bu = x;
    }
    const n = rec.has(SENML.n) ? get(SENML.n) : '';
    if (typeof n !== 'string') throw new SenmlError(`${where}: n must be a string`);
    const fullName = bn + n;
    if (fullName === '') throw new SenmlError(`${where}: record has no name (bn + n is empty)`);
    let t = 0;
    if (rec.has(SENML.t)) {
      const x = get(SENML.t);
      if (!finite(x)) throw new SenmlError(`${where}: t must be a finite number`);
      t = x;
    }
    // bt alone when there is no t: bt + 0 would turn a -0 into 0
    const r: ResolvedReading = { fullName, name: fullName, time: rec.has(SENML.t) ? bt + t : bt };
    if (prefix !== undefined) {
      if (!fullName.startsWith(prefix)) throw new SenmlError(`${where}: name ${JSON.stringify(fullName)} is not under ${prefix}`);
      r.name = fullName.slice(prefix.length);
    } else {
      const m = DEVICE_PREFIX.exec(fullName);
      if (m) r.name = fullName.slice(m[0].length);
    }
    let values = 0;
    if (rec.has(SENML.v)) {
      const x = get(SENML.v);
      // NaN / Infinity are valid CBOR and are kept: a sensor's NaN is data
      if (typeof x !== 'number') throw new SenmlError(`${where}: v must be a number`);
      r.v = x;
      values++;
    }
    if (rec.has(SENML.vs)) {
      const x = get(SENML.vs);
      if (typeof x !== 'string') throw new SenmlError(`${where}: vs must be a string`);
      r.vs = x;
      values++;
    }
    if (rec.has(SENML.vb)) {
      const x = get(SENML.vb);
      if (typeof x !== 'boolean') throw new SenmlError(`${where}: vb must be a boolean`);
      r.vb = x;
      values++;
    }
    if (values !== 1) throw new SenmlError(`${where}: expected exactly one of v, vs, vb (got ${values})`);
    const u = rec.has(SENML.u) ? get(SENML.u) : bu;
    if (u !== undefined) {
      if (typeof u !== 'string') throw new SenmlError(`${where}: u must be a string`);
      r.unit = u;
    }
    out.push(r);
  }
  return out;
}
