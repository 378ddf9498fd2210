// Modbus benchmarks: how many frames per second the sniffer's splitter and
// decoder get through, and the CPU cost of one poll cycle of the master
// against a serial double that answers at once. Prints a table; asserts nothing.
//
//   node --import tsx test/bench/modbus.bench.ts

import { pathToFileURL } from 'node:url';
import type { RegisterConfig } from '../../agent/sources/modbus/schema.js';
import { createCounters } from '../../agent/counters.js';
import { silentLogger } from '../../agent/log.js';
import { createModbusRtuSource } from '../../agent/sources/modbus-rtu/source.js';
import { createModbusSniffSource } from '../../agent/sources/modbus-sniff/source.js';
import { createRtuSplitter } from '../../agent/sources/modbus/frame.js';
import { createManualClock } from '../../hal/clock.js';
import { createSerialDoubleFactory } from '../../hal/serial-double.js';
import { attachFakeSlave, drive, withCrc, type FakeUnit } from '../sources/modbus/fake-slave.js';

const reg = (name: string, fc: 1 | 2 | 3 | 4, address: number, type: string, extra: Partial<RegisterConfig> = {}): RegisterConfig =>
  ({ name, fc, address, type, ...extra }) as RegisterConfig;

/** A synthetic capture: `transactions` request/response pairs over 4 units, optionally with noise. */
function syntheticCapture(transactions: number, noiseEvery = 0): { bytes: Buffer; frames: number } {
  const parts: Buffer[] = [];
  let frames = 0;
  for (let n = 0; n < transactions; n++) {
    const unit = 1 + (n % 4);
    const fc = n % 3 === 0 ? 4 : 3;
    const qty = 10;
    parts.push(withCrc([unit, fc, 0, 0, 0, qty]));
    const data: number[] = [];
    for (let i = 0; i < qty; i++) data.push((n + i) >> 8 & 0xff, (n + i) & 0xff);
    parts.push(withCrc([unit, fc, qty * 2, ...data]));
    frames += 2;
    if (noiseEvery > 0 && n % noiseEvery === 0) parts.push(Buffer.from([0xff, 0x13, 0x00, 0x77]));
  }
  return { bytes: Buffer.concat(parts), frames };
}

/** Cuts a capture into chunks the size a USB adapter delivers. */
function chunks(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

const SNIFF_DEVICES = [1, 2, 3, 4].map((unit) => ({
  unit,
  registers: [
    reg(`u${unit}_a`, 3, 0, 'u16'), reg(`u${unit}_b`, 3, 2, 'f32'), reg(`u${unit}_c`, 3, 6, 'i32', { scale: 0.1 }),
    reg(`u${unit}_d`, 4, 0, 'u32'), reg(`u${unit}_e`, 4, 4, 'i16', { scale: 0.01, offset: -40 }),
  ],
}));

function benchSplitter(label: string, capture: { bytes: Buffer; frames: number }, chunkSize: number): string[] {
  const cs = chunks(capture.bytes, chunkSize);
  const s = createRtuSplitter({ gapMs: 20 });
  let found = 0;
  const t0 = process.hrtime.bigint();
  for (const c of cs) found += s.push(c, 0).length;
  found += s.idle().length;
  const s1 = Number(process.hrtime.bigint() - t0) / 1e9;
  return [label, `${chunkSize} B`, String(capture.frames), (capture.frames / s1).toFixed(0), `${((capture.bytes.length / s1) / 1e6).toFixed(1)} MB/s`, `${found} out`];
}

async function benchSniffer(label: string, capture: { bytes: Buffer; frames: number }, chunkSize: number): Promise<string[]> {
  const serial = createSerialDoubleFactory();
  const clock = createManualClock();
  const counters = createCounters();
  const src = createModbusSniffSource({ id: 'tap', type: 'modbus-sniff', port: { path: '/dev/bench', baudRate: 19200 }, devices: SNIFF_DEVICES },
    { serial, clock, log: silentLogger, counters });
  let readings = 0;
  await src.start(() => { readings++; });
  const port = serial.ports.get('/dev/bench')!;
  const cs = chunks(capture.bytes, chunkSize);
  const t0 = process.hrtime.bigint();
  for (const c of cs) port.emitData(c);
  const s1 = Number(process.hrtime.bigint() - t0) / 1e9;
  await src.stop();
  return [label, `${chunkSize} B`, String(capture.frames), (capture.frames / s1).toFixed(0), `${(readings / s1).toFixed(0)} readings/s`, `${counters.get('source.tap.frames')} frames`];
}

async function benchMaster(label: string, units: number, cycles: number): Promise<string[]> {
  const serial = createSerialDoubleFactory();
  const clock = createManualClock();
  serial.openReadWrite({ path: '/dev/bench', baudRate: 115200 });
  const port = serial.ports.get('/dev/bench')!;
  const slaves: Record<number, FakeUnit> = {};
  const devices = [];
  for (let u = 1; u <= units; u++) {
    const holding: Record<number, number> = {};
    const input: Record<number, number> = {};
    for (let a = 0; a < 40; a++) { holding[a] = a * 3; input[a] = a * 5; }
    slaves[u] = { holding, input, coils: { 0: true, 1: false } };
    devices.push({ unit: u, registers: [
      reg('a', 3, 0, 'u16'), reg('b', 3, 1, 'f32'), reg('c', 3, 3, 'u64'), reg('d', 3, 30, 'i32', { scale: 0.1 }),
      reg('e', 4, 0, 'f64'), reg('f', 4, 4, 'i16'), reg('g', 1, 0, 'bool'), reg('h', 1, 1, 'bool'),
    ].map((r) => ({ ...r, name: `u${u}_${r.name}` })) });
  }
  attachFakeSlave(port, clock, slaves);
  const counters = createCounters();
  // 50 ms leaves room for 16 requests with t3.5 (1.75 ms) between them: no overruns
  const intervalMs = 50;
  const src = createModbusRtuSource({ id: 'm', type: 'modbus-rtu', port: { path: '/dev/bench', baudRate: 115200 }, intervalMs, devices },
    { serial, clock, log: silentLogger, counters });
  let readings = 0;
  await src.start(() => { readings++; });
  const c0 = process.cpuUsage();
  await drive(clock, cycles * intervalMs, 1);
  const cpu = process.cpuUsage(c0);
  await src.stop();
  // the harness (stepping the manual clock) costs too: measure it alone and subtract
  const idle = createManualClock();
  const b0 = process.cpuUsage();
  await drive(idle, cycles * intervalMs, 1);
  const base = process.cpuUsage(b0);
  const done = counters.get('source.m.cycles');
  const usPerCycle = (cpu.user + cpu.system - base.user - base.system) / done;
  const requests = port.written.length / done;
  return [label, String(units), String(done), requests.toFixed(0), `${usPerCycle.toFixed(0)} us`, `${(readings / done).toFixed(0)} readings`, String(counters.get('source.m.cycles_skipped'))];
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map(line)].join('\n');
}

export async function run(): Promise<void> {
  const clean = syntheticCapture(100_000);
  const noisy = syntheticCapture(100_000, 50);
  // warm up the JIT so the first row is not penalised
  benchSplitter('warm-up', syntheticCapture(5000), 64);
  const split = [
    benchSplitter('splitter, clean', clean, 64),
    benchSplitter('splitter, clean', clean, 8),
    benchSplitter('splitter, 2% noise', noisy, 64),
  ];
  const sniff = [
    await benchSniffer('sniffer (split+pair+decode)', clean, 64),
    await benchSniffer('sniffer, 2% noise', noisy, 64),
  ];
  process.stdout.write('\nModbus RTU sniffer: frames per second (one core)\n');
  process.stdout.write(table(['what', 'chunk', 'frames', 'frames/s', 'throughput', 'result'], [...split, ...sniff]) + '\n');
  await benchMaster('warm-up', 2, 50);
  const master = [
    await benchMaster('master, double answers at once', 1, 200),
    await benchMaster('master, double answers at once', 4, 200),
  ];
  process.stdout.write('\nModbus RTU master: CPU per poll cycle (user+system, harness subtracted)\n');
  process.stdout.write(table(['what', 'units', 'cycles', 'requests/cycle', 'CPU/cycle', 'per cycle', 'skipped'], master) + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
