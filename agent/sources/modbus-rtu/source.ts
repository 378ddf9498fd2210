// Modbus RTU polling master: one read request (FC 1-4 only) at a time on the
// half-duplex bus, every `intervalMs` without drift. Answers are matched by
// time (modbus/line.ts): a late answer is never taken for another request. A
// unit that times out is waited out before it is asked anything again (its
// late answer is discarded and counted), its turn ends for the cycle, and if
// it answered nothing it backs off like a dead unit: a silent or slow unit
// costs the others at most one read's attempts per probe.

import { createKeyedRateLimitedWarn } from '../../log.js';
import type { ReadingSink } from '../../reading.js';
import type { SerialPort } from '../../../hal/serial.js';
import type { Source, SourceContext, SourceHealth } from '../source.js';
import { encodeReadFrame, frameTiming, type Expectation } from '../modbus/frame.js';
import { createRtuLine } from '../modbus/line.js';
import { decodeRegister, registerReading, planReads, type PlannedRead } from '../modbus/plan.js';
import { createPollLoop } from '../modbus/poll-loop.js';
import { checkDevices } from '../modbus/registers.js';
import { refuse } from '../problem.js';
import { defaultOf } from '../../schema-parts.js';
import { MasterPortSchema, ModbusDeviceSchema, ModbusRtuSourceSchema, type ModbusDeviceConfig, type ModbusRtuSourceConfig } from './schema.js';

type Stat = 'ok' | 'timeouts' | 'late' | 'duplicates' | 'exceptions' | 'crc_errors' | 'garbage';

interface UnitState {
  unit: number;
  timeoutMs: number;
  retries: number;
  backoffMaxMs: number;
  reads: PlannedRead[];
  /** Where the next turn starts: after a read that timed out, the reads behind it go first. */
  nextRead: number;
  /** Consecutive cycles in which the unit answered nothing. */
  failedCycles: number;
  /** Monotonic ms before which the unit is skipped (backoff). */
  probeAt: number;
  /** Monotonic ms before which nothing is sent to the unit: a late answer of its may still come. */
  quietUntil: number;
  stats: Record<Stat, number>;
  lastOkAt?: number;
  lastException?: number;
}

type ReadResult = 'answered' | 'timed-out' | 'failed' | 'stopped';

export function createModbusRtuSource(config: ModbusRtuSourceConfig, ctx: SourceContext): Source {
  refuse(`source ${config.id}`, checkDevices(config.devices));
  const id = config.id;
  const { clock, counters } = ctx;
  const log = ctx.log.child(`source:${id}`);
  const warn = createKeyedRateLimitedWarn(log, 10_000, () => clock.monotonic());
  const intervalMs = config.intervalMs ?? defaultOf(ModbusRtuSourceSchema, 'intervalMs');
  const maxGap = config.maxGap ?? defaultOf(ModbusRtuSourceSchema, 'maxGap');
  const echo = config.port.echo ?? defaultOf(MasterPortSchema, 'echo');
  const units: UnitState[] = config.devices.map((d: ModbusDeviceConfig) => ({
    unit: d.unit,
    timeoutMs: d.timeoutMs ?? defaultOf(ModbusDeviceSchema, 'timeoutMs'),
    retries: d.retries ?? defaultOf(ModbusDeviceSchema, 'retries'),
    backoffMaxMs: d.backoffMaxMs ?? defaultOf(ModbusDeviceSchema, 'backoffMaxMs'),
    reads: planReads(d.unit, d.registers, maxGap),
    nextRead: 0,
    failedCycles: 0,
    probeAt: 0,
    quietUntil: 0,
    stats: { ok: 0, timeouts: 0, late: 0, duplicates: 0, exceptions: 0, crc_errors: 0, garbage: 0 },
  }));

  const line = createRtuLine({
    clock,
    timing: frameTiming(config.port),
    echo,
    onDiscard(bytes: number, startedAt: number) {
      counters.inc(`source.${id}.discarded_bytes`, bytes);
      // a burst while a unit is waited out after its timeout is that unit's late answer
      const late = units.filter((u) => startedAt < u.quietUntil).sort((a, b) => b.quietUntil - a.quietUntil)[0];
      if (late) count(late, 'late');
      else counters.inc(`source.${id}.stray`);
    },
  });

  let port: SerialPort | undefined;
  let sink: ReadingSink = () => {};
  let lastReadingAt: number | undefined;

  const count = (u: UnitState, what: Stat): void => {
    u.stats[what]++;
    counters.inc(`source.${id}.unit.${u.unit}.${what}`);
  };

  /** Wall ms when the current scan began: a scan's readings share one time (one SenML bt per scan). */
  let scanStartedAt = 0;

  const deliver = (read: PlannedRead, data: Uint8Array): void => {
    const now = scanStartedAt;
    for (const reg of read.registers) {
      const d = decodeRegister(reg, data, read.address);
      if ('nonFinite' in d) { counters.inc(`source.${id}.non_finite`); continue; }
      lastReadingAt = now;
      sink(registerReading(id, reg, d, now / 1000));
    }
  };

  /** Waits until `u` may be asked again (its late answers discarded), then for t3.5 of silence. */
  const clearLine = (u: UnitState): Promise<void> =>
    line.quiet(u.quietUntil, u.timeoutMs + Math.max(0, u.quietUntil - clock.monotonic()));

  const transact = async (p: SerialPort, u: UnitState, read: PlannedRead, running: () => boolean): Promise<ReadResult> => {
    const frame = encodeReadFrame(u.unit, read.fc, read.address, read.quantity);
    const expect: Expectation = { unit: u.unit, fc: read.fc, quantity: read.quantity };
    const firstSentAt = clock.monotonic();
    let timedOut = false;
    for (let attempt = 0; attempt <= u.retries; attempt++) {
      await clearLine(u);
      if (!running()) return 'stopped';
      const sentAt = clock.monotonic();
      const o = await line.exchange(p, frame, expect, u.timeoutMs);
      if (o.kind === 'ok' || o.kind === 'exception') {
        if (o.junk > 0) counters.inc(`source.${id}.junk_bytes`, o.junk);
        for (let c = 0; c < o.copies; c++) count(u, 'duplicates');
      }
      switch (o.kind) {
        case 'ok':
          count(u, 'ok');
          u.lastOkAt = clock.now();
          // After a timed-out attempt this answer may be that attempt's (late): the
          // answer to the last attempt may then still come. Wait it out before asking the unit again.
          if (timedOut) u.quietUntil = clock.monotonic() + (sentAt - firstSentAt) + u.timeoutMs;
          deliver(read, o.data);
          return 'answered';
        case 'exception':
          // An exception is an answer: asking again gets the same one.
          count(u, 'exceptions');
          u.lastException = o.code;
          if (timedOut) u.quietUntil = clock.monotonic() + (sentAt - firstSentAt) + u.timeoutMs;
          warn('exception response', { unit: u.unit, fc: read.fc, address: read.address, quantity: read.quantity, code: o.code });
          return 'answered';
        case 'crc-error':
          count(u, 'crc_errors');
          warn('response with bad CRC', { unit: u.unit, fc: read.fc, address: read.address });
          break;
        case 'garbage':
          count(u, 'garbage');
          warn('unexpected response', { unit: u.unit, fc: read.fc, address: read.address, cause: o.reason });
          break;
        case 'timeout':
          // Its answer may still come: nothing goes to this unit until the window it could start in has passed.
          count(u, 'timeouts');
          timedOut = true;
          u.quietUntil = clock.monotonic() + u.timeoutMs;
          break;
        case 'write-failed':
          counters.inc(`source.${id}.port_errors`);
          warn('write failed', { path: config.port.path, cause: o.error });
          return 'failed';
        case 'stopped':
          return 'stopped';
      }
    }
    return timedOut ? 'timed-out' : 'failed';
  };

  const pollUnit = async (p: SerialPort, u: UnitState, running: () => boolean): Promise<'stopped' | void> => {
    let answered = false;
    const n = u.reads.length;
    const start = u.nextRead % n;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      const r = await transact(p, u, u.reads[i]!, running);
      if (r === 'stopped') return 'stopped';
      if (r === 'answered') { answered = true; continue; }
      if (r === 'timed-out' || !answered) {
        // Silent or late: its turn ends (the reads behind this one go first next time), and a
        // unit that answered nothing at all is not asked the rest: one read's budget tells.
        u.nextRead = (i + 1) % n;
        break;
      }
    }
    if (answered) {
      if (u.failedCycles > 0) log.info('unit answers again', { unit: u.unit, after_cycles: u.failedCycles });
      u.failedCycles = 0;
      u.probeAt = 0;
      return;
    }
    u.failedCycles++;
    // Skip 1, 2, 4, ... cycles' worth of time, capped: then probe again.
    const backoffMs = Math.min(u.backoffMaxMs, intervalMs * 2 ** Math.min(u.failedCycles - 1, 30));
    u.probeAt = clock.monotonic() + backoffMs;
    warn('unit not answering in time; backing off', { unit: u.unit, failed_cycles: u.failedCycles, backoff_ms: backoffMs, late: u.stats.late });
  };

  const loop = createPollLoop({
    id, intervalMs, clock, counters, log, warn, path: config.port.path,
    async cycle(p, running) {
      counters.inc(`source.${id}.cycles`);
      scanStartedAt = clock.now();
      for (const u of units) {
        if (!running()) return;
        if (clock.monotonic() < u.probeAt) continue;
        if (await pollUnit(p, u, running) === 'stopped') return;
      }
    },
    stopWaits: () => line.stop(),
    resumeWaits: () => line.resume(),
  });

  const unitHealth = (u: UnitState): Record<string, unknown> => ({
    state: u.failedCycles === 0 ? (u.stats.ok + u.stats.exceptions > 0 ? 'ok' : 'unknown') : 'backoff',
    ...u.stats,
    ...(u.failedCycles > 0 ? { failedCycles: u.failedCycles, probeInMs: Math.max(0, Math.round(u.probeAt - clock.monotonic())) } : {}),
    ...(u.lastOkAt !== undefined ? { lastOkAt: u.lastOkAt } : {}),
    ...(u.lastException !== undefined ? { lastException: u.lastException } : {}),
  });

  return {
    id,
    async start(s) {
      if (loop.running()) return;
      sink = s;
      if (!port) {
        const { path, baudRate, dataBits, stopBits, parity } = config.port;
        port = ctx.serial.openReadWrite({ path, baudRate, dataBits, stopBits, parity });
        port.onData((chunk) => line.onData(chunk));
        port.onClose((err) => loop.portClosed(err));
      }
      log.info('polling', { path: config.port.path, units: units.length, requests: units.reduce((k, u) => k + u.reads.length, 0), interval_ms: intervalMs, echo });
      await loop.start(port);
    },
    async stop() {
      await loop.stop();
      await port?.close();
    },
    health(): SourceHealth {
      const h: SourceHealth = {
        open: loop.running() && (port?.isOpen ?? false),
        detail: {
          cyclesSkipped: loop.cyclesSkipped(),
          units: Object.fromEntries(units.map((u) => [String(u.unit), unitHealth(u)])),
        },
      };
      if (lastReadingAt !== undefined) h.lastReadingAt = lastReadingAt;
      const silent = units.filter((u) => u.failedCycles > 0).map((u) => u.unit);
      if (silent.length > 0) h.problem = `${silent.length === 1 ? 'unit' : 'units'} ${silent.join(', ')} not answering`;
      return h;
    },
  };
}
