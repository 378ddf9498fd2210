// The polling master through the real serialport binding on a socat pty,
// against an independent slave (modbus-serial's ServerSerial) in a child
// process that records every byte the agent sends.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ModbusDeviceConfig } from '../../agent/sources/modbus-rtu/schema.js';
import type { RegisterConfig } from '../../agent/sources/modbus/schema.js';
import type { Counters } from '../../agent/counters.js';
import type { Reading } from '../../agent/reading.js';
import { createModbusRtuSource } from '../../agent/sources/modbus-rtu/source.js';
import type { Source } from '../../agent/sources/source.js';
import { waitFor } from '../helpers.js';
import type { SlaveUnit } from '../peers/modbus-slave.js';
import { withSlaveOnPty, withSource, type SourceRun } from '../peers/source-rig.js';
import { crcValid } from '../sources/modbus/fake-slave.js';

const BAUD = 38400;

const withBus = (
  units: Record<string, SlaveUnit>,
  devices: ModbusDeviceConfig[],
  intervalMs: number,
  body: (t: SourceRun) => Promise<void>,
): Promise<Buffer> => withSlaveOnPty({ baudRate: BAUD, parity: 'even', units }, (path) => withSource(
  (ctx) => createModbusRtuSource({ id: 'plc', type: 'modbus-rtu', port: { path, baudRate: BAUD, parity: 'even' }, intervalMs, devices }, ctx),
  body,
));

/** Splits what the slave received into 8-byte read requests and checks each one. */
function assertOnlyValidReads(bytes: Buffer): Array<{ unit: number; fc: number }> {
  assert.ok(bytes.length > 0, 'the agent sent something');
  assert.is(bytes.length % 8, 0, `${bytes.length} bytes are not whole read requests: ${bytes.toString('hex')}`);
  const frames: Array<{ unit: number; fc: number }> = [];
  for (let i = 0; i < bytes.length; i += 8) {
    const f = bytes.subarray(i, i + 8);
    assert.ok([1, 2, 3, 4].includes(f[1]!), `function code ${f[1]} in ${f.toString('hex')}`);
    assert.ok(crcValid(f), `CRC of ${f.toString('hex')} (checked with modbus-serial's crc16)`);
    frames.push({ unit: f[0]!, fc: f[1]! });
  }
  return frames;
}

// ── every type, both word orders, scale and offset ─────────────────────────
const words16 = (b: Buffer): number[] => Array.from({ length: b.length / 2 }, (_, i) => b.readUInt16BE(2 * i));
const be = (write: (b: Buffer) => void, n: number): number[] => { const b = Buffer.alloc(n); write(b); return words16(b); };
const u32 = (v: number) => be((b) => b.writeUInt32BE(v), 4);
const i32 = (v: number) => be((b) => b.writeInt32BE(v), 4);
const f32 = (v: number) => be((b) => b.writeFloatBE(v), 4);
const u64 = (v: bigint) => be((b) => b.writeBigUInt64BE(v), 8);
const i64 = (v: bigint) => be((b) => b.writeBigInt64BE(v), 8);
const f64 = (v: number) => be((b) => b.writeDoubleBE(v), 8);
const little = (ws: number[]) => [...ws].reverse();

interface Case { reg: RegisterConfig; words?: number[]; bit?: boolean; expect: Partial<Reading> }
const hr = (name: string, address: number, type: string, words: number[], expect: Partial<Reading>, extra: Partial<RegisterConfig> = {}): Case =>
  ({ reg: { name, fc: 3, address, type, ...extra } as RegisterConfig, words, expect });

const CASES: Case[] = [
  hr('u16', 0, 'u16', [65000], { v: 65000 }),
  hr('i16', 1, 'i16', [0xfb2e], { v: -1234 }),
  hr('u32_big', 2, 'u32', u32(305419896), { v: 305419896 }),
  hr('u32_little', 4, 'u32', little(u32(305419896)), { v: 305419896 }, { wordOrder: 'little' }),
  hr('i32_big', 6, 'i32', i32(-123456789), { v: -123456789 }),
  hr('i32_little', 8, 'i32', little(i32(-123456789)), { v: -123456789 }, { wordOrder: 'little' }),
  hr('f32_big', 10, 'f32', f32(3.14159), { v: Math.fround(3.14159) }),
  hr('f32_little', 12, 'f32', little(f32(-0.5)), { v: -0.5 }, { wordOrder: 'little' }),
  hr('u64_big', 14, 'u64', u64(2n ** 48n + 5n), { v: 2 ** 48 + 5 }),
  hr('u64_little_huge', 18, 'u64', little(u64(2n ** 64n - 1n)), { vs: '18446744073709551615' }, { wordOrder: 'little' }),
  hr('i64_big', 22, 'i64', i64(-9007199254740991n), { v: -9007199254740991 }),
  hr('i64_little', 26, 'i64', little(i64(-2n)), { v: -2 }, { wordOrder: 'little' }),
  hr('f64_big', 30, 'f64', f64(1234.5678), { v: 1234.5678 }),
  hr('f64_little', 34, 'f64', little(f64(-2.5e-10)), { v: -2.5e-10 }, { wordOrder: 'little' }),
  hr('temp', 38, 'i16', [215], { v: 21.5, unit: 'Cel' }, { scale: 0.1, unit: 'Cel' }),
  hr('far', 300, 'u16', [7], { v: 7 * 2 - 40 }, { scale: 2, offset: -40 }),
  { reg: { name: 'voltage', fc: 4, address: 0, type: 'f32', unit: 'V' } as RegisterConfig, words: f32(230.25), expect: { v: 230.25, unit: 'V' } },
  { reg: { name: 'flow', fc: 4, address: 2, type: 'u32', wordOrder: 'little', scale: 0.001, unit: 'm3/s' } as RegisterConfig, words: little(u32(1500)), expect: { v: 1.5, unit: 'm3/s' } },
  { reg: { name: 'pump', fc: 1, address: 3, type: 'bool' } as RegisterConfig, bit: true, expect: { vb: true } },
  { reg: { name: 'valve', fc: 1, address: 4, type: 'bool' } as RegisterConfig, bit: false, expect: { vb: false } },
  { reg: { name: 'door', fc: 2, address: 17, type: 'bool' } as RegisterConfig, bit: true, expect: { vb: true } },
];

function slaveTables(cases: Case[]): SlaveUnit {
  const u: Required<Pick<SlaveUnit, 'holding' | 'input' | 'coils' | 'discrete'>> = { holding: {}, input: {}, coils: {}, discrete: {} };
  for (const c of cases) {
    const table = c.reg.fc === 1 ? u.coils : c.reg.fc === 2 ? u.discrete : c.reg.fc === 3 ? u.holding : u.input;
    if (c.bit !== undefined) (table as Record<string, boolean>)[String(c.reg.address)] = c.bit;
    c.words?.forEach((w, i) => { (table as Record<string, number>)[String(c.reg.address + i)] = w; });
  }
  // the gaps a merged request reads across exist on the device too
  for (let a = 0; a < 40; a++) u.holding[String(a)] ??= 0;
  for (let a = 0; a < 20; a++) { u.coils[String(a)] ??= false; u.discrete[String(a)] ??= false; }
  return u;
}

test('every value type and word order decodes from a real slave into named readings with units; only valid FC 1-4 reads go out', async () => {
  let got: Reading[] = [];
  let startedAt = 0;
  const received = await withBus(
    { '1': slaveTables(CASES) },
    [{ unit: 1, timeoutMs: 100, registers: CASES.map((c) => c.reg) }],
    100,
    async ({ readings }) => {
      startedAt = Date.now() / 1000;
      await waitFor(() => CASES.every((c) => readings.some((r) => r.name === `plc:${c.reg.name}`)), 8000, 'a reading for every register');
      got = [...readings];
    },
  );
  for (const c of CASES) {
    const r = got.find((x) => x.name === `plc:${c.reg.name}`)!;
    const { time, name, ...value } = r;
    assert.equal(value, c.expect, name);
    assert.ok(time >= startedAt - 1 && time <= Date.now() / 1000, `${name} time ${time}`);
  }
  // what went over the wire: merged reads of unit 1, FC 1-4 only, valid CRCs
  const frames = assertOnlyValidReads(received);
  assert.ok(frames.every((f) => f.unit === 1));
  const perCycle = new Set(frames.map((f) => `${f.fc}`));
  assert.equal([...perCycle].sort(), ['1', '2', '3', '4']);
});

test('one dead unit and one answering exceptions do not slow the healthy unit', async () => {
  const intervalMs = 200;
  let healthyInWindow = 0;
  let counters: Counters | undefined;
  let source: Source | undefined;
  const received = await withBus(
    {
      '1': { holding: { '0': 11 } },
      '2': { mode: 'dead' },
      '3': { mode: 'exception', exceptionCode: 2 },
    },
    [
      // the bad ones first: the healthy unit always waits behind them. The units
      // that answer get a roomy timeout: a loaded test machine must not turn a
      // slow answer into a timeout (and a retry) here.
      { unit: 2, timeoutMs: 40, retries: 1, registers: [{ name: 'gone', fc: 3, address: 0, type: 'u16' }] },
      { unit: 3, timeoutMs: 400, retries: 1, registers: [{ name: 'refused', fc: 3, address: 0, type: 'u16' }, { name: 'refused_too', fc: 4, address: 50, type: 'u16' }] },
      { unit: 1, timeoutMs: 400, retries: 1, registers: [{ name: 'alive', fc: 3, address: 0, type: 'u16' }] },
    ],
    intervalMs,
    async (t) => {
      counters = t.counters;
      source = t.source;
      const healthy = (): number => t.readings.filter((r) => r.name === 'plc:alive').length;
      await waitFor(() => healthy() >= 2, 5000, 'healthy readings');
      const before = healthy();
      // The measurement window itself: count what arrives in 2 s of wall time.
      await new Promise((r) => setTimeout(r, 10 * intervalMs));
      healthyInWindow = healthy() - before;
    },
  );
  // 10 cycles fit in the window; allow for a loaded machine, but a stalled bus would give ~5 or fewer
  assert.ok(healthyInWindow >= 7 && healthyInWindow <= 11, `healthy readings in window: ${healthyInWindow} (expected ~10)`);
  const frames = assertOnlyValidReads(received);
  const to = (u: number): number => frames.filter((f) => f.unit === u).length;
  const cycles = counters!.get('source.plc.cycles');
  // stop() may cut one request short: it reached the slave but its answer was not awaited
  const inFlight = (sent: number, counted: number, what: string): void =>
    assert.ok(sent - counted === 0 || sent - counted === 1, `${what}: ${sent} sent, ${counted} counted`);
  // exceptions are answers: one request per read per cycle, never retried
  // (a loaded machine may make an answer miss its 150 ms window: that attempt is a timeout and is
  // retried, never an exception asked again)
  const u3 = (what: string): number => counters!.get(`source.plc.unit.3.${what}`);
  const missed = u3('timeouts') + u3('garbage') + u3('crc_errors');
  inFlight(to(3), u3('exceptions') + missed, 'unit 3 exceptions and missed answers');
  assert.ok(u3('exceptions') >= 2 * (cycles - 1) - missed && u3('exceptions') <= 2 * cycles, `unit 3: ${u3('exceptions')} exceptions in ${cycles} cycles`);
  // the dead unit was backed off: far fewer than 2 attempts per cycle
  inFlight(to(2), counters!.get('source.plc.unit.2.timeouts'), 'unit 2 timeouts');
  assert.ok(to(2) <= 10 && to(2) < cycles, `dead unit probed ${to(2)} times in ${cycles} cycles`);
  const detail = source!.health().detail?.units as Record<string, Record<string, unknown>>;
  assert.is(detail['2']!.state, 'backoff');
  assert.is(detail['3']!.state, 'ok');
  assert.is(detail['1']!.state, 'ok');
  assert.is(counters!.get('source.plc.unit.1.timeouts'), 0);
});

test.run();
