// The polling master against a slave that misbehaves on purpose, through the
// real serialport binding on a socat pty: answers just over the timeout, junk
// before the answer, local echo, answers twice. The slave is modbus-serial's
// ServerSerial (independent encoding) with the misbehaviour added on its wire
// (test/peers/modbus-slave.ts). Every register holds a value that names it, so
// a wrong pairing shows as a wrong value; none may ever be published.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ModbusDeviceConfig } from '../../agent/sources/modbus-rtu/schema.js';
import type { Reading } from '../../agent/reading.js';
import { createModbusRtuSource } from '../../agent/sources/modbus-rtu/source.js';
import { waitFor } from '../helpers.js';
import type { ModbusSlave, SlaveSpec } from '../peers/modbus-slave.js';
import { withSlaveOnPty, withSource, type SourceRun } from '../peers/source-rig.js';

const BAUD = 38400;

interface Bus extends SourceRun { slave: ModbusSlave }

async function withBus(spec: Omit<SlaveSpec, 'path' | 'baudRate'>, devices: ModbusDeviceConfig[], opts: { intervalMs: number; echo?: boolean }, body: (b: Bus) => Promise<void>): Promise<void> {
  await withSlaveOnPty({ baudRate: BAUD, ...spec }, (path, slave) => withSource(
    (ctx) => createModbusRtuSource({ id: 'plc', type: 'modbus-rtu', port: { path, baudRate: BAUD, ...(opts.echo ? { echo: true } : {}) }, intervalMs: opts.intervalMs, devices }, ctx),
    (run) => body({ ...run, slave }),
  ));
}

/** Every published value equals what the slave holds for that register. */
function assertTrue(readings: Reading[], truth: Record<string, number>): void {
  for (const r of readings) assert.is(r.v, truth[r.name], `${r.name} published ${r.v}, the slave holds ${truth[r.name]}`);
}

test('a unit answering just over its timeout: no late answer is ever published (under any register), each is counted, the unit backs off, the healthy unit keeps its rate', async () => {
  const intervalMs = 500;
  await withBus(
    { units: { '2': { holding: { '0': 2222, '50': 3333 }, lateMs: 115 }, '1': { holding: { '0': 11 } } } },
    [
      { unit: 2, timeoutMs: 100, retries: 1, registers: [{ name: 'u2_a', fc: 3, address: 0, type: 'u16' }, { name: 'u2_b', fc: 3, address: 50, type: 'u16' }] },
      { unit: 1, timeoutMs: 400, registers: [{ name: 'ok', fc: 3, address: 0, type: 'u16' }] },
    ],
    { intervalMs },
    async ({ readings, counters, source, slave }) => {
      const healthy = (): number => readings.filter((r) => r.name === 'plc:ok').length;
      await waitFor(() => healthy() >= 1, 5000, 'a first healthy reading');
      const cycles0 = counters.get('source.plc.cycles');
      const before = healthy();
      // six cycles of bus traffic, counted by the source's own cycle counter (not wall time)
      await waitFor(() => counters.get('source.plc.cycles') >= cycles0 + 6, 15_000, 'six more cycles');
      const cycles = counters.get('source.plc.cycles') - cycles0;
      const got = healthy() - before;
      assert.ok(got >= cycles - 1, `healthy readings ${got} in ${cycles} cycles: the slow unit does not cost the healthy one its rate`);
      assertTrue(readings, { 'plc:ok': 11, 'plc:u2_a': 2222, 'plc:u2_b': 3333 });
      assert.equal(readings.filter((r) => r.name !== 'plc:ok'), [], 'a unit that only answers late is a timing-out unit');
      // every answer the slave sent to unit 2 was discarded and counted as late (the last may be in flight)
      const sent2 = (): number => slave.answers().filter((a) => a[0] === 2).length;
      await waitFor(() => counters.get('source.plc.unit.2.late') >= sent2() - 1, 3000, 'late answers counted');
      assert.ok(sent2() >= 2, `unit 2 answered ${sent2()} times`);
      const detail = source.health().detail?.units as Record<string, Record<string, unknown>>;
      assert.is(detail['2']!.state, 'backoff');
      assert.is(counters.get('source.plc.unit.1.timeouts'), 0);
    },
  );
});

test('junk bytes before every answer: the master resynchronises on the answer, values are right, the junk is counted', async () => {
  await withBus(
    { units: { '1': { holding: { '0': 1234, '1': 42 }, junkBefore: [0x00, 0xff] } } },
    [{ unit: 1, timeoutMs: 400, registers: [{ name: 'a', fc: 3, address: 0, type: 'u16' }, { name: 'b', fc: 3, address: 1, type: 'u16' }] }],
    { intervalMs: 100 },
    async ({ readings, counters }) => {
      await waitFor(() => readings.length >= 6, 8000, 'readings despite the junk');
      assertTrue(readings, { 'plc:a': 1234, 'plc:b': 42 });
      assert.ok(counters.get('source.plc.junk_bytes') >= 2 * 3);
    },
  );
});

test('an adapter with local echo: with "echo": true every answer is read and nothing is counted as junk', async () => {
  await withBus(
    { echo: true, units: { '1': { input: { '3': 77 } } } },
    [{ unit: 1, timeoutMs: 400, registers: [{ name: 'v', fc: 4, address: 3, type: 'u16' }] }],
    { intervalMs: 100, echo: true },
    async ({ readings, counters }) => {
      await waitFor(() => readings.length >= 3, 8000, 'readings through the echo');
      assertTrue(readings, { 'plc:v': 77 });
      assert.is(counters.get('source.plc.junk_bytes'), 0);
      assert.is(counters.get('source.plc.unit.1.garbage'), 0);
    },
  );
});

test('a unit that answers twice: each value is published once, right, and every copy is counted', async () => {
  await withBus(
    { units: { '1': { holding: { '0': 5, '10': 6 }, twice: true } } },
    [{ unit: 1, timeoutMs: 400, registers: [{ name: 'a', fc: 3, address: 0, type: 'u16' }, { name: 'b', fc: 3, address: 10, type: 'u16' }] }],
    { intervalMs: 100 },
    async ({ readings, counters, slave }) => {
      await waitFor(() => readings.length >= 6, 8000, 'readings');
      assertTrue(readings, { 'plc:a': 5, 'plc:b': 6 });
      const dup = counters.get('source.plc.unit.1.duplicates');
      const ok = counters.get('source.plc.unit.1.ok');
      assert.ok(dup >= ok - 1 && dup <= slave.answers().length, `${dup} copies counted for ${ok} answers`);
    },
  );
});

test.run();
