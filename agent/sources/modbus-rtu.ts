// Modbus RTU polling master: one read request (FC 1-4 only) at a time on the
// half-duplex bus, every `intervalMs` without drift. A silent, garbling or
// refusing unit costs at most timeoutMs x (1 + retries) per request, and
// nothing at all while it is in backoff, so it never starves the others.

import type { ModbusDeviceConfig, ModbusRtuSourceConfig } from '../config/schema.js';
import { createKeyedRateLimitedWarn } from '../log.js';
import type { ReadingSink } from '../reading.js';
import type { SerialPort } from '../../hal/serial.js';
import type { Timer } from '../../hal/clock.js';
import type { Source, SourceContext, SourceHealth } from './source.js';
import { encodeReadFrame, frameTiming, parseResponse, type Expectation, type ResponseParse } from './modbus/frame.js';
import { assertReadableRegisters, decodeRegister, planReads, type PlannedRead } from './modbus/plan.js';

const DEFAULTS = { timeoutMs: 200, retries: 1, backoffMaxMs: 60_000, intervalMs: 5000, maxGap: 4 } as const;
const WRITE_STALL_MS = 1000;

type Stat = 'ok' | 'timeouts' | 'exceptions' | 'crc_errors' | 'garbage';

interface UnitState {
  unit: number;
  timeoutMs: number;
  retries: number;
  backoffMaxMs: number;
  reads: PlannedRead[];
  /** Consecutive cycles in which the unit answered nothing. */
  failedCycles: number;
  /** Monotonic ms before which the unit is skipped (backoff). */
  probeAt: number;
  stats: Record<Stat, number>;
  lastOkAt?: number;
  lastException?: number;
}

type Outcome =
  | Exclude<ResponseParse, { kind: 'incomplete' }>
  | { kind: 'timeout'; partial: number }
  | { kind: 'write-failed'; error: string }
  | { kind: 'stopped' };

type ReadResult = 'answered' | 'failed' | 'stopped';

interface Pending {
  /** Bytes that arrived while this request waits. */
  feed(chunk: Buffer): void;
  settle(o: Outcome): void;
}

export function createModbusRtuSource(config: ModbusRtuSourceConfig, ctx: SourceContext): Source {
  assertReadableRegisters(config.id, config.devices);
  const id = config.id;
  const { clock, counters } = ctx;
  const log = ctx.log.child(`source:${id}`);
  const warn = createKeyedRateLimitedWarn(log, 10_000, () => clock.monotonic());
  const timing = frameTiming(config.port);
  const intervalMs = config.intervalMs ?? DEFAULTS.intervalMs;
  const maxGap = config.maxGap ?? DEFAULTS.maxGap;
  const units: UnitState[] = config.devices.map((d: ModbusDeviceConfig) => ({
    unit: d.unit,
    timeoutMs: d.timeoutMs ?? DEFAULTS.timeoutMs,
    retries: d.retries ?? DEFAULTS.retries,
    backoffMaxMs: d.backoffMaxMs ?? DEFAULTS.backoffMaxMs,
    reads: planReads(d.unit, d.registers, maxGap),
    failedCycles: 0,
    probeAt: 0,
    stats: { ok: 0, timeouts: 0, exceptions: 0, crc_errors: 0, garbage: 0 },
  }));

  let port: SerialPort | undefined;
  let sink: ReadingSink = () => {};
  let running = false;
  let loopDone: Promise<void> = Promise.resolve();
  let pending: Pending | undefined;
  let wake: (() => void) | undefined;
  let lastRxAt = -Infinity;
  let lastTxAt = -Infinity;
  let lastReadingAt: number | undefined;
  let cyclesSkipped = 0;

  const count = (u: UnitState, what: Stat): void => {
    u.stats[what]++;
    counters.inc(`source.${id}.unit.${u.unit}.${what}`);
  };

  /** A sleep that stop() cuts short. */
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => {
    let timer: Timer | undefined;
    const done = (): void => { timer?.cancel(); wake = undefined; resolve(); };
    wake = done;
    timer = clock.setTimeout(done, Math.max(0, ms));
  });

  const onData = (chunk: Buffer): void => {
    lastRxAt = clock.monotonic();
    if (pending) { pending.feed(chunk); return; }
    // A late answer to a request that already timed out: it belongs to nobody.
    counters.inc(`source.${id}.stray_bytes`, chunk.length);
  };

  const onClose = (err?: Error): void => {
    if (!err || !running) return;
    counters.inc(`source.${id}.port_errors`);
    warn('port closed; reopening at the next cycle', { path: config.port.path, cause: err.message });
  };

  /** Waits for t3.5 of silence on the bus (at most `maxMs`: a line that never goes quiet still gets polled). */
  const quiet = async (maxMs: number): Promise<void> => {
    const until = clock.monotonic() + maxMs;
    for (;;) {
      const now = clock.monotonic();
      const wait = Math.max(lastRxAt, lastTxAt) + timing.t35Ms - now;
      if (wait <= 0 || now >= until || !running) return;
      await sleep(Math.min(wait, until - now));
    }
  };

  /**
   * Sends one request and waits for its answer, its garbage, or its timeout.
   * Garbage ends the wait only once the line is quiet again (t3.5), so the
   * retry does not collide with the rest of it and the whole attempt stays
   * within the unit's timeout.
   */
  const exchange = (p: SerialPort, frame: Uint8Array, expect: Expectation, timeoutMs: number): Promise<Outcome> =>
    new Promise<Outcome>((resolve) => {
      let timer: Timer | undefined;
      let silence: Timer | undefined;
      let settled = false;
      // Flush: whatever arrived before this request is not its answer.
      let bytes: Buffer = Buffer.alloc(0);
      let verdict: Outcome | undefined;
      const me: Pending = {
        feed(chunk) {
          if (!verdict) {
            bytes = bytes.length === 0 ? chunk : Buffer.concat([bytes, chunk]);
            const r = parseResponse(bytes, expect);
            if (r.kind === 'incomplete') return;
            if (r.kind === 'ok' || r.kind === 'exception') { me.settle(r); return; }
            verdict = r;
          }
          silence?.cancel();
          silence = clock.setTimeout(() => me.settle(verdict!), timing.t35Ms);
        },
        settle(o) {
          if (settled) return;
          settled = true;
          timer?.cancel();
          silence?.cancel();
          if (pending === me) pending = undefined;
          resolve(o);
        },
      };
      pending = me;
      // A driver that never drains (a wedged USB adapter) must not wedge the loop.
      timer = clock.setTimeout(() => me.settle({ kind: 'write-failed', error: 'write did not complete' }), WRITE_STALL_MS + timeoutMs);
      // The answer may arrive before write() resolves (a fast device, the test double).
      p.write(frame).then(() => {
        lastTxAt = clock.monotonic();
        if (settled) return;
        // The response timeout runs from the end of our transmission (write drains).
        timer?.cancel();
        timer = clock.setTimeout(() => me.settle(verdict ?? { kind: 'timeout', partial: bytes.length }), timeoutMs);
      }, (err: Error) => me.settle({ kind: 'write-failed', error: err.message }));
    });

  const deliver = (read: PlannedRead, data: Uint8Array): void => {
    const now = clock.now();
    for (const reg of read.registers) {
      const d = decodeRegister(reg, data, read.address);
      if ('nonFinite' in d) { counters.inc(`source.${id}.non_finite`); continue; }
      lastReadingAt = now;
      sink({ name: `${id}:${reg.name}`, time: now / 1000, ...d, ...(reg.unit !== undefined ? { unit: reg.unit } : {}) });
    }
  };

  const transact = async (p: SerialPort, u: UnitState, read: PlannedRead): Promise<ReadResult> => {
    const frame = encodeReadFrame(u.unit, read.fc, read.address, read.quantity);
    const expect: Expectation = { unit: u.unit, fc: read.fc, quantity: read.quantity };
    for (let attempt = 0; attempt <= u.retries; attempt++) {
      await quiet(u.timeoutMs);
      if (!running) return 'stopped';
      const o = await exchange(p, frame, expect, u.timeoutMs);
      switch (o.kind) {
        case 'ok':
          count(u, 'ok');
          u.lastOkAt = clock.now();
          deliver(read, o.data);
          return 'answered';
        case 'exception':
          // An exception is an answer: asking again gets the same one.
          count(u, 'exceptions');
          u.lastException = o.code;
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
          // A truncated answer is garbage; silence is a timeout.
          count(u, o.partial > 0 ? 'garbage' : 'timeouts');
          break;
        case 'write-failed':
          counters.inc(`source.${id}.port_errors`);
          warn('write failed', { path: config.port.path, cause: o.error });
          return 'failed';
        case 'stopped':
          return 'stopped';
      }
    }
    return 'failed';
  };

  const pollUnit = async (p: SerialPort, u: UnitState): Promise<'stopped' | void> => {
    let answered = false;
    for (const read of u.reads) {
      const r = await transact(p, u, read);
      if (r === 'stopped') return 'stopped';
      if (r === 'answered') answered = true;
      // A unit that was already silent and stays silent is not asked the rest:
      // one request's budget is enough to learn it is still gone.
      else if (!answered && u.failedCycles > 0) break;
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
    warn('unit not answering; backing off', { unit: u.unit, failed_cycles: u.failedCycles, backoff_ms: backoffMs });
  };

  const cycle = async (p: SerialPort): Promise<void> => {
    counters.inc(`source.${id}.cycles`);
    for (const u of units) {
      if (!running) return;
      if (clock.monotonic() < u.probeAt) continue;
      if (await pollUnit(p, u) === 'stopped') return;
    }
  };

  const ensureOpen = async (p: SerialPort): Promise<boolean> => {
    if (p.isOpen) return true;
    try {
      await p.open();
      log.info('port reopened', { path: config.port.path });
      return true;
    } catch (err) {
      counters.inc(`source.${id}.open_errors`);
      warn('cannot reopen port', { path: config.port.path, cause: (err as Error).message });
      return false;
    }
  };

  const loop = async (p: SerialPort): Promise<void> => {
    // Cycle k is due at t0 + k * interval: a slow cycle never shifts the grid.
    const t0 = clock.monotonic();
    let k = 0;
    while (running) {
      try {
        if (await ensureOpen(p)) await cycle(p);
      } catch (err) {
        // Not expected; but nothing escapes the loop.
        counters.inc(`source.${id}.errors`);
        warn('poll cycle failed', { cause: (err as Error).message });
      }
      if (!running) return;
      const next = Math.max(k + 1, Math.ceil((clock.monotonic() - t0) / intervalMs));
      if (next > k + 1) {
        cyclesSkipped += next - k - 1;
        counters.inc(`source.${id}.cycles_skipped`, next - k - 1);
        warn('poll cycle overran its interval; skipping', { interval_ms: intervalMs, skipped: next - k - 1 });
      }
      k = next;
      await sleep(t0 + k * intervalMs - clock.monotonic());
    }
  };

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
      if (running) return;
      sink = s;
      if (!port) {
        const { path, baudRate, dataBits, stopBits, parity } = config.port;
        port = ctx.serial.openReadWrite({ path, baudRate, dataBits, stopBits, parity });
        port.onData(onData);
        port.onClose(onClose);
      }
      // A port missing at start is retried at every cycle (ensureOpen).
      try { await port.open(); } catch (err) {
        counters.inc(`source.${id}.open_errors`);
        log.error('cannot open port; retrying every cycle', { path: config.port.path, cause: (err as Error).message });
      }
      running = true;
      log.info('polling', { path: config.port.path, units: units.length, requests: units.reduce((n, u) => n + u.reads.length, 0), interval_ms: intervalMs });
      loopDone = loop(port);
    },
    async stop() {
      if (!running) return;
      running = false;
      wake?.();
      pending?.settle({ kind: 'stopped' });
      await loopDone;
      await port?.close();
    },
    health(): SourceHealth {
      const h: SourceHealth = {
        open: running && (port?.isOpen ?? false),
        detail: {
          cyclesSkipped,
          units: Object.fromEntries(units.map((u) => [String(u.unit), unitHealth(u)])),
        },
      };
      if (lastReadingAt !== undefined) h.lastReadingAt = lastReadingAt;
      return h;
    },
  };
}
