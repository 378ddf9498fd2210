// Passive Modbus RTU sniffer: listens to another master's traffic on a port
// opened read-only (the type has no write), cuts it into frames by CRC and
// silence, pairs a response with the request right before it only when nothing
// else could have asked for it (modbus/pairing.ts), and turns the configured
// registers into readings. It never puts a byte on the bus; an answer it is not
// certain of is counted (unpaired), never published.

import { createKeyedRateLimitedWarn } from '../../log.js';
import type { ReadingSink } from '../../reading.js';
import type { ReadOnlyPort } from '../../../hal/serial.js';
import type { Timer } from '../../../hal/clock.js';
import { createPortKeeper } from '../reopen.js';
import type { Source, SourceContext, SourceHealth } from '../source.js';
import { createRtuSplitter, frameTiming, type RtuFrame, type RtuSplitter } from '../modbus/frame.js';
import { covers, decodeRegister, registerReading, resolveRegister, type ResolvedRegister } from '../modbus/plan.js';
import { createPairing } from '../modbus/pairing.js';
import type { ReadFunctionCode } from '../modbus/pdu.js';
import { checkDevices } from '../modbus/registers.js';
import { refuse } from '../problem.js';
import { defaultOf } from '../../schema-parts.js';
import { ModbusSniffSourceSchema, type ModbusSniffSourceConfig } from './schema.js';

type Stat = 'frames' | 'requests' | 'responses' | 'exceptions' | 'unpaired' | 'unanswered' | 'crc_errors' | 'garbage' | 'garbage_bytes' | 'writes_seen';

export function createModbusSniffSource(config: ModbusSniffSourceConfig, ctx: SourceContext): Source {
  refuse(`source ${config.id}`, checkDevices(config.devices));
  const id = config.id;
  const { clock, counters } = ctx;
  const log = ctx.log.child(`source:${id}`);
  const warn = createKeyedRateLimitedWarn(log, 10_000, () => clock.monotonic());
  // Silence that closes a segment: at least t3.5, but never shorter than a USB
  // adapter's batching delay (FTDI latency timer: 16 ms), or frames get cut.
  const gapMs = Math.max(2 * frameTiming(config.port).t35Ms, 20);

  // "unit:fc" -> the registers to decode from a read of that unit and fc
  const wanted = new Map<string, ResolvedRegister[]>();
  for (const d of config.devices) {
    for (const r of d.registers) {
      const key = `${d.unit}:${r.fc}`;
      const list = wanted.get(key) ?? [];
      list.push(resolveRegister(r));
      wanted.set(key, list);
    }
  }

  const stats: Record<Stat, number> = {
    frames: 0, requests: 0, responses: 0, exceptions: 0, unpaired: 0, unanswered: 0, crc_errors: 0, garbage: 0, garbage_bytes: 0, writes_seen: 0,
  };
  const count = (what: Stat, by = 1): void => {
    stats[what] += by;
    counters.inc(`source.${id}.${what}`, by);
  };

  let splitter: RtuSplitter = createRtuSplitter({ gapMs });
  let sink: ReadingSink = () => {};
  let running = false;
  let idleTimer: Timer | undefined;
  let lastReadingAt: number | undefined;
  const pairing = createPairing(config.responseWindowMs ?? defaultOf(ModbusSniffSourceSchema, 'responseWindowMs'));

  const deliver = (unit: number, fc: ReadFunctionCode, address: number, quantity: number, data: Uint8Array): void => {
    const regs = wanted.get(`${unit}:${fc}`);
    if (!regs) return;
    const now = clock.now();
    for (const reg of regs) {
      if (!covers(address, quantity, reg)) continue;
      const d = decodeRegister(reg, data, address);
      if ('nonFinite' in d) { counters.inc(`source.${id}.non_finite`); continue; }
      lastReadingAt = now;
      sink(registerReading(id, reg, d, now / 1000));
    }
  };

  const answered = (unit: number, fc: number, bytes: number | undefined, now: number): ReturnType<typeof pairing.response> => {
    const v = pairing.response(unit, fc, bytes, now);
    if ('unpaired' in v) {
      count('unpaired');
      warn('response not paired with a request: dropped', { unit, fc, why: v.unpaired });
    }
    return v;
  };

  const handle = (f: RtuFrame): void => {
    const now = clock.monotonic();
    switch (f.kind) {
      case 'read-request':
        count('frames');
        count('requests');
        pairing.request({ unit: f.unit, fc: f.fc, address: f.address, quantity: f.quantity }, now);
        break;
      case 'read-response': {
        count('frames');
        count('responses');
        const v = answered(f.unit, f.fc, f.data.length, now);
        if ('paired' in v) deliver(v.paired.unit, v.paired.fc, v.paired.address, v.paired.quantity, f.data);
        break;
      }
      case 'exception':
        count('frames');
        count('exceptions');
        answered(f.unit, f.fc, undefined, now);
        break;
      case 'write':
        // Another master writing to the field: we only count it, we never act on it.
        count('frames');
        count('writes_seen');
        pairing.other(now);
        break;
      case 'crc-error':
        count('crc_errors');
        pairing.other(now, f.head);
        warn('frame with bad CRC', { bytes: f.bytes });
        break;
      case 'garbage':
        count('garbage');
        count('garbage_bytes', f.bytes);
        pairing.other(now, f.head);
        warn('bytes that are no frame', { bytes: f.bytes });
        break;
    }
    const lost = pairing.takeUnanswered();
    if (lost > 0) count('unanswered', lost);
  };

  const handleAll = (frames: RtuFrame[]): void => {
    for (const f of frames) {
      try { handle(f); } catch (err) {
        counters.inc(`source.${id}.errors`);
        warn('frame handling failed', { cause: (err as Error).message });
      }
    }
  };

  const onData = (chunk: Buffer): void => {
    if (!running) return;
    handleAll(splitter.push(chunk, clock.monotonic()));
    idleTimer?.cancel();
    idleTimer = clock.setTimeout(() => { idleTimer = undefined; handleAll(splitter.idle()); }, gapMs);
  };

  const { path, baudRate, dataBits, stopBits, parity } = config.port;
  const port: ReadOnlyPort = ctx.serial.openReadOnly({ path, baudRate, dataBits, stopBits, parity });
  port.onData(onData);
  const keeper = createPortKeeper(port, {
    counterPrefix: `source.${id}`,
    // A frame cut by an unplug is not finished by whatever comes after the replug.
    onOpen: () => { splitter = createRtuSplitter({ gapMs }); pairing.reset(); },
  }, { clock, log, counters });

  return {
    id,
    async start(s) {
      if (running) return;
      sink = s;
      running = true;
      await keeper.start();
      log.info('listening', { path: config.port.path, units: config.devices.length, open: keeper.isOpen });
    },
    async stop() {
      if (!running) return;
      running = false;
      idleTimer?.cancel();
      idleTimer = undefined;
      await keeper.stop();
    },
    health(): SourceHealth {
      const h: SourceHealth = { open: running && keeper.isOpen, detail: { ...stats } };
      if (lastReadingAt !== undefined) h.lastReadingAt = lastReadingAt;
      return h;
    },
  };
}
