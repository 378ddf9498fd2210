// The polling master against a faithful slave on the serial double, on a
// manual clock: every timing here is exact and nothing waits on wall time.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ModbusDeviceConfig } from '../../../agent/sources/modbus-rtu/schema.js';
import type { RegisterConfig } from '../../../agent/sources/modbus/schema.js';
import { createCounters } from '../../../agent/counters.js';
import { silentLogger } from '../../../agent/log.js';
import type { Reading } from '../../../agent/reading.js';
import { createModbusRtuSource } from '../../../agent/sources/modbus-rtu/source.js';
import { createManualClock } from '../../../hal/clock.js';
import { createSerialDoubleFactory } from '../../../hal/serial-double.js';
import { attachFakeSlave, crcValid, drive, readResponse, type FakeUnit } from './fake-slave.js';

const PATH = '/dev/ttyRS485';
const reg = (name: string, fc: 1 | 2 | 3 | 4, address: number, type: string, extra: Partial<RegisterConfig> = {}): RegisterConfig =>
  ({ name, fc, address, type, ...extra }) as RegisterConfig;

function setup(devices: ModbusDeviceConfig[], units: Record<number, FakeUnit>, opts: { intervalMs?: number | 'default'; maxGap?: number; echo?: boolean } = {}) {
  const clock = createManualClock();
  const serial = createSerialDoubleFactory();
  const counters = createCounters();
  serial.openReadWrite({ path: PATH, baudRate: 19200 }); // create the double so the slave can sit on it
  const port = serial.ports.get(PATH)!;
  const slave = attachFakeSlave(port, clock, units, { echo: opts.echo ?? false });
  const src = createModbusRtuSource(
    { id: 'meter', type: 'modbus-rtu', port: { path: PATH, baudRate: 19200, ...(opts.echo ? { echo: true } : {}) }, ...(opts.intervalMs === 'default' ? {} : { intervalMs: opts.intervalMs ?? 100 }), devices, ...(opts.maxGap !== undefined ? { maxGap: opts.maxGap } : {}) },
    { serial, clock, log: silentLogger, counters },
  );
  const readings: Reading[] = [];
  const start = async (): Promise<void> => {
    await src.start((r) => readings.push(r));
    await new Promise((r) => setImmediate(r)); // let the loop reach its first wait before time moves
  };
  return { clock, counters, src, port, slave, readings, start };
}

const named = (rs: Reading[], name: string): Reading[] => rs.filter((r) => r.name === name);
const cycleOf = (at: number, interval: number): number => Math.floor(at / interval);

test('registers become readings named <source>:<register> with unit and the time their scan began', async () => {
  const t = setup(
    [{ unit: 1, registers: [
      reg('voltage', 4, 0, 'f32', { unit: 'V' }),
      reg('temp', 3, 10, 'i16', { scale: 0.1, unit: 'Cel' }),
      reg('running', 1, 5, 'bool'),
    ] }],
    { 1: { input: { 0: 0x4366, 1: 0x8000 }, holding: { 10: 0xff06 }, coils: { 5: true } } },
  );
  await t.start();
  await drive(t.clock, 15);
  // three reads (fc 1, 3, 4) in one scan: their readings share the time the scan began (one SenML bt per scan)
  const at = 1_700_000_000; // manual clock start, seconds
  assert.equal(t.readings.length, 3);
  assert.equal(t.readings.map((r) => r.time), [at, at, at]);
  // the next scan (100 ms later on the grid): its own, later time
  await drive(t.clock, 100);
  assert.equal(t.readings.slice(3).map((r) => r.time), [at + 0.1, at + 0.1, at + 0.1]);
  t.readings.length = 3;
  const strip = (r: Reading) => ({ ...r, time: 0 });
  assert.equal(named(t.readings, 'meter:voltage').map(strip), [{ name: 'meter:voltage', time: 0, v: 230.5, unit: 'V' }]);
  assert.equal(named(t.readings, 'meter:temp').map(strip), [{ name: 'meter:temp', time: 0, v: -25, unit: 'Cel' }]);
  assert.equal(named(t.readings, 'meter:running').map(strip), [{ name: 'meter:running', time: 0, vb: true }]);
  await t.src.stop();
});

test('contiguous registers are read with one request per cycle, and only FC 1-4 frames with valid CRC are sent', async () => {
  const t = setup(
    [{ unit: 9, registers: [reg('a', 3, 0, 'u16'), reg('b', 3, 1, 'u32'), reg('c', 3, 6, 'u16'), reg('d', 2, 0, 'bool'), reg('e', 2, 3, 'bool')] }],
    { 9: { holding: { 0: 1, 1: 0, 2: 2, 3: 0, 4: 0, 5: 0, 6: 3 }, discrete: { 0: true, 1: false, 2: false, 3: true } } },
  );
  await t.start();
  await drive(t.clock, 350);
  await t.src.stop();
  assert.equal(t.slave.requests.map((r) => [r.fc, r.address, r.quantity]),
    [[2, 0, 4], [3, 0, 7], [2, 0, 4], [3, 0, 7], [2, 0, 4], [3, 0, 7], [2, 0, 4], [3, 0, 7]]);
  assert.equal(named(t.readings, 'meter:b').map((r) => r.v), [2, 2, 2, 2]);
  assert.equal(named(t.readings, 'meter:e').map((r) => r.vb), [true, true, true, true]);
  assert.ok(t.port.written.length > 0);
  for (const f of t.port.written) {
    assert.is(f.length, 8);
    assert.ok([1, 2, 3, 4].includes(f[1]!), `fc ${f[1]}`);
    assert.ok(crcValid(f), 'CRC');
  }
});

test('a dead unit backs off exponentially and never delays the healthy unit beyond its timeout budget', async () => {
  const t = setup(
    [
      { unit: 2, timeoutMs: 20, retries: 1, registers: [reg('dead', 3, 0, 'u16')] },
      { unit: 1, registers: [reg('ok', 3, 0, 'u16')] },
    ],
    { 1: { holding: { 0: 42 } } },
  );
  await t.start();
  await drive(t.clock, 1990);
  await t.src.stop();
  // one reading per cycle from the healthy unit: 20 cycles in 1990 ms
  assert.is(t.counters.get('source.meter.cycles'), 20);
  assert.is(named(t.readings, 'meter:ok').length, 20);
  // probed at cycles 0, 2, 5, 10, 19: skipped 1, 2, 4, 8 cycles' worth in between, 2 attempts each
  const dead = t.slave.requests.filter((r) => r.unit === 2);
  assert.equal(dead.map((r) => cycleOf(r.at, 100)), [0, 0, 2, 2, 5, 5, 10, 10, 19, 19]);
  assert.is(t.counters.get('source.meter.unit.2.timeouts'), 10);
  // the healthy unit waits at most the dead one's budget: 2 x 20 ms, 20 ms between them
  // (in which a late answer could still start), plus inter-frame silences
  for (const r of t.slave.requests.filter((q) => q.unit === 1)) {
    assert.ok(r.at % 100 <= 3 * 20 + 3 * 2, `healthy request at ${r.at}`);
  }
  const h = t.src.health();
  const units = h.detail?.units as Record<string, Record<string, unknown>>;
  assert.is(units['2']!.state, 'backoff');
  assert.is(units['2']!.timeouts, 10);
  assert.is(units['1']!.state, 'ok');
  assert.is(units['1']!.ok, 20);
  assert.is(h.problem, 'unit 2 not answering', 'status says a unit is silent');
});

test('backoff is capped at backoffMaxMs', async () => {
  const t = setup([{ unit: 2, timeoutMs: 10, retries: 0, backoffMaxMs: 300, registers: [reg('dead', 3, 0, 'u16')] }], {});
  await t.start();
  await drive(t.clock, 2050);
  await t.src.stop();
  // skips 1, 2, then at most 300 ms (3 cycles) each time
  assert.equal(t.slave.requests.map((r) => cycleOf(r.at, 100)), [0, 2, 5, 9, 13, 17]);
});

test('a unit that answers again leaves backoff by itself and is polled every cycle', async () => {
  const units: Record<number, FakeUnit> = { 1: { holding: { 0: 1 } } };
  const t = setup(
    [{ unit: 2, timeoutMs: 20, retries: 1, registers: [reg('back', 3, 0, 'u16')] }, { unit: 1, registers: [reg('ok', 3, 0, 'u16')] }],
    units,
  );
  await t.start();
  await drive(t.clock, 650); // dead: probed at cycles 0, 2, 5; next probe at 10
  units[2] = { holding: { 0: 7 } };
  await drive(t.clock, 840); // up to 1490 ms
  await t.src.stop();
  const probes = t.slave.requests.filter((r) => r.unit === 2).map((r) => cycleOf(r.at, 100));
  assert.equal(probes, [0, 0, 2, 2, 5, 5, 10, 11, 12, 13, 14]);
  assert.is(named(t.readings, 'meter:back').length, 5);
  assert.is(named(t.readings, 'meter:back')[0]!.v, 7);
  const units2 = (t.src.health().detail?.units as Record<string, Record<string, unknown>>)['2']!;
  assert.is(units2.state, 'ok');
  assert.is(units2.ok, 5);
  assert.is(t.src.health().problem, undefined, 'answering again: nothing wrong');
});

test('an exception is an answer: counted per unit, not retried, no backoff, other units unaffected', async () => {
  const t = setup(
    [
      { unit: 3, retries: 2, registers: [reg('x', 3, 0, 'u16'), reg('y', 4, 0, 'u16')] },
      { unit: 1, registers: [reg('ok', 4, 0, 'u16')] },
    ],
    { 3: { fault: 'exception', exceptionCode: 2 }, 1: { input: { 0: 5 } } },
  );
  await t.start();
  await drive(t.clock, 450);
  await t.src.stop();
  const to3 = t.slave.requests.filter((r) => r.unit === 3);
  assert.is(to3.length, 10, 'two reads per cycle, each asked once, five cycles');
  assert.is(t.counters.get('source.meter.unit.3.exceptions'), 10);
  assert.is(t.counters.get('source.meter.unit.3.timeouts'), 0);
  assert.is(named(t.readings, 'meter:ok').length, 5);
  assert.is(t.readings.filter((r) => r.name === 'meter:x' || r.name === 'meter:y').length, 0);
  const u3 = (t.src.health().detail?.units as Record<string, Record<string, unknown>>)['3']!;
  assert.is(u3.state, 'ok');
  assert.is(u3.lastException, 2);
});

test('bad CRC, wrong unit, wrong fc, wrong byte count and truncated answers are counted and never delivered', async () => {
  const regs = [reg('v', 3, 0, 'u16')];
  const t = setup(
    [
      { unit: 4, timeoutMs: 20, registers: [reg('v4', 3, 0, 'u16')] },
      { unit: 5, timeoutMs: 20, registers: [reg('v5', 3, 0, 'u16')] },
      { unit: 6, timeoutMs: 20, registers: [reg('v6', 3, 0, 'u16')] },
      { unit: 7, timeoutMs: 20, registers: [reg('v7', 3, 0, 'u16')] },
      { unit: 8, timeoutMs: 20, registers: [reg('v8', 3, 0, 'u16')] },
      { unit: 1, registers: regs },
    ],
    {
      4: { holding: { 0: 4 }, fault: 'bad-crc' },
      5: { holding: { 0: 5 }, fault: 'wrong-unit' },
      6: { holding: { 0: 6 }, fault: 'wrong-fc' },
      7: { holding: { 0: 7 }, fault: 'wrong-count' },
      8: { holding: { 0: 8 }, fault: 'truncated' },
      1: { holding: { 0: 1 } },
    },
    { intervalMs: 1000 },
  );
  await t.start();
  await drive(t.clock, 400);
  await t.src.stop();
  // one cycle, retries 1: two attempts per faulty unit (each waits out its 20 ms window:
  // junk before a valid answer is skipped, so a wrong frame decides nothing before the window closes)
  assert.is(t.counters.get('source.meter.unit.4.crc_errors'), 2);
  assert.is(t.counters.get('source.meter.unit.5.garbage'), 2);
  assert.is(t.counters.get('source.meter.unit.6.garbage'), 2);
  assert.is(t.counters.get('source.meter.unit.7.garbage'), 2);
  assert.is(t.counters.get('source.meter.unit.8.garbage'), 2, 'a truncated answer is garbage, not a timeout');
  assert.is(t.counters.get('source.meter.unit.8.timeouts'), 0);
  assert.equal(t.readings.map((r) => r.name), ['meter:v']);
});

test('junk that never becomes an answer ends the attempt when the answer window closes and the line is quiet', async () => {
  const t = setup([{ unit: 5, timeoutMs: 40, retries: 1, registers: [reg('v', 3, 0, 'u16')] }], {}, { intervalMs: 1000 });
  // a babbling device: 20 bytes of junk, one per ms, starting with a wrong unit id
  const sentAt: number[] = [];
  t.port.onWrite = () => {
    sentAt.push(t.clock.monotonic());
    for (let i = 0; i < 20; i++) t.clock.setTimeout(() => t.port.emitData(Buffer.from([0x77])), i);
  };
  await t.start();
  await drive(t.clock, 200);
  await t.src.stop();
  assert.is(t.counters.get('source.meter.unit.5.garbage'), 2);
  assert.is(sentAt.length, 2);
  // the junk ends at 19 ms, but the answer could still follow it until the 40 ms window closes; then t3.5
  assert.ok(sentAt[1]! - sentAt[0]! >= 40 + 1.8, `retry at ${sentAt[1]}`);
  assert.ok(sentAt[1]! - sentAt[0]! <= 40 + 2 * 2.1, `retry at ${sentAt[1]}`);
});

test('a late answer to a timed-out request is discarded and counted, never paired with the next request', async () => {
  // 'a' (fc 3 @0) is answered 25 ms late, after its 20 ms timeout; 'b' (fc 3 @100,
  // same unit, fc and byte count) is answered at once. a's answer must not become b's.
  const t = setup(
    [{ unit: 1, timeoutMs: 20, retries: 0, registers: [reg('a', 3, 0, 'u32'), reg('b', 3, 100, 'u32')] }],
    { 1: { holding: { 0: 0x1111, 1: 0x2222, 100: 0x3333, 101: 0x4444 }, delayMs: (_fc, address) => (address === 0 ? 25 : 0) } },
  );
  await t.start();
  await drive(t.clock, 350);
  await t.src.stop();
  // cycle 0: a times out, the unit's turn ends, and having answered nothing it backs off one cycle;
  // from cycle 2 on b goes first (the reads behind a timed-out one go first), then a times out again
  assert.equal(t.slave.requests.map((r) => r.address), [0, 100, 0, 100, 0]);
  assert.equal(t.readings.map((r) => [r.name, r.v]), [['meter:b', 0x33334444], ['meter:b', 0x33334444]]);
  assert.is(t.counters.get('source.meter.unit.1.timeouts'), 3);
  assert.is(t.counters.get('source.meter.unit.1.late'), 3, 'every late answer dropped and counted as late');
  assert.is(t.counters.get('source.meter.discarded_bytes'), 27);
});

test('after a timeout nothing goes to that unit until its late answer could no longer start; other units go on at once', async () => {
  const t = setup(
    [
      { unit: 2, timeoutMs: 20, retries: 1, registers: [reg('slow', 3, 0, 'u16'), reg('slow_b', 3, 50, 'u16')] },
      { unit: 1, registers: [reg('ok', 3, 0, 'u16')] },
    ],
    { 2: { holding: { 0: 2222, 50: 3333 }, delayMs: 23 }, 1: { holding: { 0: 11 } } },
    { intervalMs: 200 },
  );
  await t.start();
  await drive(t.clock, 190);
  await t.src.stop();
  const to2 = t.slave.requests.filter((r) => r.unit === 2);
  // attempt 1 at 0 times out at 20; its answer comes at 23 and is discarded; the retry waits until 40
  assert.equal(to2.map((r) => r.address), [0, 0], 'slow_b is not asked after slow timed out: the turn ends');
  assert.ok(to2[1]!.at >= 40, `retry at ${to2[1]!.at}`);
  const to1 = t.slave.requests.filter((r) => r.unit === 1);
  assert.ok(to1[0]!.at < 2 * 40 + 10, `the healthy unit is asked right after the slow one's last attempt (${to1[0]!.at})`);
  assert.equal(t.readings.map((r) => [r.name, r.v]), [['meter:ok', 11]]);
  assert.is(t.counters.get('source.meter.unit.2.late'), 2);
  assert.is(t.counters.get('source.meter.unit.2.timeouts'), 2);
  assert.is((t.src.health().detail?.units as Record<string, Record<string, unknown>>)['2']!.state, 'backoff', 'a unit that only answers late backs off like a dead one');
});

test('an answer later than the wait lands on the retry of the same read (the right register), and the retry\'s own answer is waited out', async () => {
  // a: fc 3, answered 45 ms late (timeout 20): attempt 1 at 0 times out at 20, nothing
  // comes until 40, the retry goes out at 40 and attempt 1's answer (45) falls in its window.
  // That is a's value: same read. The retry's own answer (85) must not reach b.
  const t = setup(
    [{ unit: 1, timeoutMs: 20, retries: 1, registers: [reg('a', 3, 0, 'u32'), reg('b', 3, 100, 'u32')] }],
    { 1: { holding: { 0: 0x1111, 1: 0x2222, 100: 0x3333, 101: 0x4444 }, delayMs: (_fc, address) => (address === 0 ? 45 : 0) } },
    { intervalMs: 1000 },
  );
  await t.start();
  await drive(t.clock, 200);
  await t.src.stop();
  assert.equal(t.readings.map((r) => [r.name, r.v]), [['meter:a', 0x11112222], ['meter:b', 0x33334444]]);
  const b = t.slave.requests.find((r) => r.address === 100)!;
  assert.ok(b.at >= 85, `b asked at ${b.at}, after the retry's answer came and went`);
  assert.is(t.counters.get('source.meter.unit.1.late'), 1);
});

test('answers arriving when no request waits are counted as stray and dropped', async () => {
  const t = setup(
    [{ unit: 1, timeoutMs: 20, retries: 0, registers: [reg('a', 3, 0, 'u32'), reg('b', 3, 100, 'u32')] }],
    { 1: { holding: { 0: 0x1111, 1: 0x2222, 100: 0x3333, 101: 0x4444 }, delayMs: 0 } },
  );
  await t.start();
  await drive(t.clock, 20);
  t.port.emitData(Buffer.from([1, 3, 4, 0x11, 0x11, 0x22, 0x22, 0x00, 0x00]));
  await drive(t.clock, 90);
  await t.src.stop();
  assert.is(t.counters.get('source.meter.discarded_bytes'), 9);
  assert.is(t.counters.get('source.meter.stray'), 1);
  assert.equal(named(t.readings, 'meter:a').map((r) => r.v), [0x11112222, 0x11112222]);
});

test('a cycle that overruns its interval skips the missed slots, counts them, and stays on the grid', async () => {
  const t = setup(
    [
      { unit: 1, registers: [reg('ok', 3, 0, 'u16')] },
      { unit: 2, timeoutMs: 20, retries: 1, backoffMaxMs: 0, registers: [reg('dead', 3, 0, 'u16')] },
    ],
    { 1: { holding: { 0: 1 } } },
    { intervalMs: 50 },
  );
  await t.start();
  await drive(t.clock, 990);
  await t.src.stop();
  // each cycle takes ~62 ms (two 20 ms attempts, 20 ms between them for a late answer): every other 50 ms slot is skipped
  assert.is(t.counters.get('source.meter.cycles'), 10);
  assert.is(t.counters.get('source.meter.cycles_skipped'), 10);
  const starts = t.slave.requests.filter((r) => r.unit === 1).map((r) => r.at);
  assert.equal(starts, [0, 100, 200, 300, 400, 500, 600, 700, 800, 900], 'cycles start on the 50 ms grid');
  assert.is(t.src.health().detail?.cyclesSkipped, 10);
});

test('stop() returns promptly while a request waits, and nothing is sent afterwards', async () => {
  const t = setup([{ unit: 2, timeoutMs: 5000, retries: 5, registers: [reg('dead', 3, 0, 'u16')] }], {});
  await t.start();
  await drive(t.clock, 10);
  assert.is(t.port.written.length, 1);
  assert.ok(t.src.health().open);
  await t.src.stop(); // the manual clock does not move: only cancellation can end this
  assert.not.ok(t.src.health().open);
  assert.not.ok(t.port.isOpen);
  await drive(t.clock, 20_000, 100);
  assert.is(t.port.written.length, 1);
});

test('stop() during the wait between cycles returns promptly', async () => {
  const t = setup([{ unit: 1, registers: [reg('v', 3, 0, 'u16')] }], { 1: { holding: { 0: 1 } } }, { intervalMs: 60_000 });
  await t.start();
  await drive(t.clock, 5);
  await t.src.stop();
  assert.is(t.readings.length, 1);
});

test('an unplugged port is reopened at the next cycle and polling resumes', async () => {
  const t = setup([{ unit: 1, registers: [reg('v', 3, 0, 'u16')] }], { 1: { holding: { 0: 3 } } });
  await t.start();
  await drive(t.clock, 150);
  t.port.unplug();
  assert.not.ok(t.src.health().open);
  await drive(t.clock, 300);
  await t.src.stop();
  assert.is(t.counters.get('source.meter.port_errors'), 1);
  assert.is(named(t.readings, 'meter:v').length, 5, 'cycles 0, 1 before and 2, 3, 4 after the unplug');
});

test('a port that cannot be reopened is retried each cycle without stopping the source', async () => {
  const t = setup([{ unit: 1, registers: [reg('v', 3, 0, 'u16')] }], { 1: { holding: { 0: 3 } } });
  await t.start();
  await drive(t.clock, 50);
  t.port.unplug();
  t.port.failOpen = 'No such file or directory';
  await drive(t.clock, 300);
  await t.src.stop();
  assert.is(t.counters.get('source.meter.open_errors'), 1);
  assert.is(named(t.readings, 'meter:v').length, 3, 'cycle 0, (1 fails to open), 2, 3');
});

test('a port missing at start does not fail start(): polling begins once the port appears', async () => {
  const t = setup([{ unit: 1, registers: [reg('v', 3, 0, 'u16')] }], { 1: { holding: { 0: 3 } } });
  t.port.failOpen = 'No such file or directory';
  await t.start(); // the first cycle retries the open at once
  assert.is(t.counters.get('source.meter.open_errors'), 1);
  await drive(t.clock, 250);
  assert.ok(t.src.health().open);
  await t.src.stop();
  assert.ok(named(t.readings, 'meter:v').length >= 2, 'polled after the port appeared');
});

test('a register map the protocol cannot read is refused when the source is created', () => {
  const serial = createSerialDoubleFactory();
  const ctx = { serial, clock: createManualClock(), log: silentLogger, counters: createCounters() };
  const err = (() => {
    try {
      createModbusRtuSource({ id: 'm', type: 'modbus-rtu', port: { path: PATH, baudRate: 9600 }, devices: [{ unit: 1, registers: [reg('x', 1, 0, 'f32')] }] }, ctx);
    } catch (e) { return e as Error & { code?: string }; }
    return undefined;
  })();
  assert.instance(err, Error);
  assert.is(err!.code, 'ERR_CONFIG');
  assert.match(err!.message, 'devices[0].registers[0].type');
});

test('defaults apply: timeout 200 ms, one retry, 5 s interval', async () => {
  const t = setup([{ unit: 2, registers: [reg('dead', 3, 0, 'u16')] }], {}, { intervalMs: 'default' });
  await t.start();
  await drive(t.clock, 650, 5);
  await t.src.stop();
  assert.equal(t.slave.requests.map((r) => r.at), [0, 400], 'a retry after the 200 ms timeout and 200 ms more in which a late answer could start');
  assert.is(t.counters.get('source.meter.unit.2.timeouts'), 2);
});

// ── line tolerance and the issue 12 reproduction ─────────────────────────

test('issue 12: a unit answering every request 230 ms after a 200 ms timeout never has one register\'s answer published as another\'s; it backs off; the healthy unit keeps its rate', async () => {
  const t = setup(
    [
      { unit: 2, timeoutMs: 200, retries: 1, registers: [reg('u2_a', 3, 0, 'u16'), reg('u2_b', 3, 50, 'u16')] },
      { unit: 1, timeoutMs: 200, registers: [reg('ok', 3, 0, 'u16')] },
    ],
    { 2: { holding: { 0: 2222, 50: 3333 }, delayMs: 230 }, 1: { holding: { 0: 11 } } },
    { intervalMs: 1000 },
  );
  await t.start();
  await drive(t.clock, 20_000, 2);
  await t.src.stop();
  assert.equal(t.readings.filter((r) => r.name.startsWith('meter:u2')), [], 'no late answer is published');
  // probed at cycles 0, 2, 5, 10, 19: a timing-out unit, like a dead one
  const probes = t.slave.requests.filter((r) => r.unit === 2);
  assert.equal([...new Set(probes.map((r) => cycleOf(r.at, 1000)))], [0, 2, 5, 10, 19]);
  assert.is(t.counters.get('source.meter.unit.2.late'), probes.length, 'every late answer is counted');
  assert.is(named(t.readings, 'meter:ok').length, 20, 'one healthy reading per cycle');
  assert.ok(t.slave.requests.filter((r) => r.unit === 1).every((r) => r.at % 1000 < 700), 'the healthy unit is never pushed into the next slot');
});

test('junk bytes before a valid answer: the master resynchronises on the first CRC-valid frame of the right length', async () => {
  const t = setup(
    [{ unit: 1, registers: [reg('v', 3, 0, 'u16')] }],
    { 1: { holding: { 0: 1234 }, junkBefore: [0x00, 0xff] } },
  );
  await t.start();
  await drive(t.clock, 250);
  await t.src.stop();
  assert.equal(t.readings.map((r) => r.v), [1234, 1234, 1234]);
  assert.is(t.counters.get('source.meter.junk_bytes'), 6);
  assert.is(t.counters.get('source.meter.unit.1.garbage'), 0);
});

test('junk that looks like the start of an answer (the unit address) is skipped too', async () => {
  const t = setup([{ unit: 1, registers: [reg('v', 3, 0, 'u16')] }], { 1: { holding: { 0: 77 }, junkBefore: [0x01, 0x03, 0x01] } });
  await t.start();
  await drive(t.clock, 50);
  await t.src.stop();
  assert.equal(t.readings.map((r) => r.v), [77]);
});

test('an adapter with local echo: with "echo": true the copy of the request is skipped and answers are read', async () => {
  const t = setup([{ unit: 1, registers: [reg('v', 4, 3, 'u16')] }], { 1: { input: { 3: 42 } } }, { echo: true });
  await t.start();
  await drive(t.clock, 250);
  await t.src.stop();
  assert.equal(t.readings.map((r) => r.v), [42, 42, 42]);
  assert.is(t.counters.get('source.meter.unit.1.garbage'), 0);
});

test('an adapter with local echo but no "echo" option: the echo is skipped as junk before the answer, never read as one', async () => {
  // "01 04 00 03 00 01 crc" (the request) is no answer to it: its third byte is no byte count of 2
  const t = setup([{ unit: 1, timeoutMs: 20, registers: [reg('v', 4, 3, 'u16')] }], { 1: { input: { 3: 42 } } });
  attachFakeSlave(t.port, t.clock, { 1: { input: { 3: 42 } } }, { echo: true });
  await t.start();
  await drive(t.clock, 250);
  await t.src.stop();
  assert.equal(t.readings.map((r) => r.v), [42, 42, 42]);
  assert.is(t.counters.get('source.meter.junk_bytes'), 3 * 8, 'each echo counted as junk');
});

test('with "echo": true an echo that differs from what was sent is garbage, and no answer behind it is read', async () => {
  const t = setup([{ unit: 1, timeoutMs: 20, retries: 0, registers: [reg('v', 4, 3, 'u16')] }], { 1: { input: { 3: 42 } } }, { echo: true });
  // a bent echo, then the real answer
  t.port.onWrite = (frame) => {
    const bent = Uint8Array.from(frame);
    bent[3]! ^= 1;
    t.port.emitData(bent);
    t.port.emitData(readResponse(1, 4, 3, 1, { input: { 3: 42 } }) as Buffer);
  };
  await t.start();
  await drive(t.clock, 250);
  await t.src.stop();
  assert.equal(t.readings, []);
  assert.ok(t.counters.get('source.meter.unit.1.garbage') >= 2, 'probed at cycles 0 and 2, garbage each time');
});

test('a unit that answers twice, back to back: the answer is read once and the copy counted; anything else after an answer is garbage', async () => {
  const t = setup(
    [{ unit: 1, timeoutMs: 20, registers: [reg('a', 3, 0, 'u16'), reg('b', 3, 10, 'u16')] }, { unit: 2, timeoutMs: 20, registers: [reg('c', 3, 0, 'u16')] }],
    { 1: { holding: { 0: 1, 10: 2 }, twice: true }, 2: { holding: { 0: 3 } } },
    { intervalMs: 1000 },
  );
  // unit 2 answers, then adds another (valid) frame of the same shape: which one is the answer?
  const inner = t.port.onWrite!;
  t.port.onWrite = (frame) => {
    if (frame[0] === 2) { t.port.emitData(Buffer.concat([readResponse(2, 3, 0, 1, { holding: { 0: 3 } }) as Buffer, readResponse(2, 3, 0, 1, { holding: { 0: 9 } }) as Buffer])); return; }
    inner(frame);
  };
  await t.start();
  await drive(t.clock, 250);
  await t.src.stop();
  assert.equal(t.readings.map((r) => [r.name, r.v]), [['meter:a', 1], ['meter:b', 2]]);
  assert.is(t.counters.get('source.meter.unit.1.duplicates'), 2);
  assert.is(t.counters.get('source.meter.unit.2.garbage'), 2, 'two different answers to one request: neither is published');
});

test('a line that never goes quiet still gets its attempts ended and the other units polled', async () => {
  const t = setup(
    [{ unit: 5, timeoutMs: 20, retries: 0, registers: [reg('v', 3, 0, 'u16')] }, { unit: 1, registers: [reg('ok', 3, 0, 'u16')] }],
    { 1: { holding: { 0: 9 } } },
    { intervalMs: 3000 },
  );
  const inner = t.port.onWrite!;
  let babbling = false;
  const babble = (): void => { if (!babbling) return; t.port.emitData(Buffer.from([0x55])); t.clock.setTimeout(babble, 1); };
  t.port.onWrite = (frame) => { if (frame[0] === 5 && !babbling) { babbling = true; babble(); } inner(frame); };
  await t.start();
  await drive(t.clock, 2500);
  babbling = false;
  await drive(t.clock, 50);
  await t.src.stop();
  assert.is(t.counters.get('source.meter.unit.5.garbage'), 1);
  assert.equal(named(t.readings, 'meter:ok').map((r) => r.v), [9]);
});

test.run();
