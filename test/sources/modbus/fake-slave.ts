// A faithful Modbus RTU slave on the serial double, for unit tests: answers
// FC 1-4 from register maps like a device would (exception 2 for unknown
// addresses, silence for unknown units) with fault hooks per unit. Frames are
// built and checked with modbus-serial's CRC, not ours.

import { createRequire } from 'node:module';
import type { Clock } from '../../../hal/clock.js';
import type { PortDouble } from '../../../hal/serial-double.js';

const require = createRequire(import.meta.url);
/** modbus-serial's CRC-16, an implementation independent of the agent's. */
export const refCrc16 = require('modbus-serial/utils/crc16') as (b: Buffer) => number;

export function withCrc(bytes: ArrayLike<number>): Buffer {
  const b = Buffer.from(Array.from(bytes));
  const c = refCrc16(b);
  return Buffer.concat([b, Buffer.from([c & 0xff, c >> 8])]);
}

export function crcValid(frame: Uint8Array): boolean {
  if (frame.length < 4) return false;
  const c = refCrc16(Buffer.from(frame.subarray(0, frame.length - 2)));
  return frame[frame.length - 2] === (c & 0xff) && frame[frame.length - 1] === c >> 8;
}

export type Fault = 'dead' | 'exception' | 'bad-crc' | 'wrong-unit' | 'wrong-fc' | 'wrong-count' | 'truncated';

export interface FakeUnit {
  holding?: Record<number, number>;
  input?: Record<number, number>;
  coils?: Record<number, boolean>;
  discrete?: Record<number, boolean>;
  fault?: Fault;
  exceptionCode?: number;
  /** Answer this many ms late (on the test's clock), per function code if a function. */
  delayMs?: number | ((fc: number, address: number) => number);
  /** Bytes sent right before each answer (a transceiver's turn-on glitch). */
  junkBefore?: number[];
  /** Send every answer twice, back to back. */
  twice?: boolean;
}

export interface Request { unit: number; fc: number; address: number; quantity: number; at: number }

/** Builds the normal response a device sends for a read (no CRC check of the request). */
export function readResponse(unit: number, fc: number, address: number, quantity: number, u: FakeUnit): Buffer | { exception: number } {
  if (fc === 1 || fc === 2) {
    const table = fc === 1 ? u.coils : u.discrete;
    const bytes = new Array<number>(Math.ceil(quantity / 8)).fill(0);
    for (let i = 0; i < quantity; i++) {
      const v = table?.[address + i];
      if (v === undefined) return { exception: 2 };
      if (v) bytes[i >> 3]! |= 1 << (i & 7);
    }
    return withCrc([unit, fc, bytes.length, ...bytes]);
  }
  const table = fc === 3 ? u.holding : u.input;
  const out: number[] = [unit, fc, quantity * 2];
  for (let i = 0; i < quantity; i++) {
    const v = table?.[address + i];
    if (v === undefined) return { exception: 2 };
    out.push(v >> 8, v & 0xff);
  }
  return withCrc(out);
}

export function attachFakeSlave(port: PortDouble, clock: Clock, units: Record<number, FakeUnit>, opts: { echo?: boolean } = {}): { requests: Request[] } {
  const requests: Request[] = [];
  port.onWrite = (frame) => {
    // an RS-485 adapter with local echo hears its own request first
    if (opts.echo) port.emitData(frame);
    if (frame.length !== 8 || !crcValid(frame)) return; // a real slave ignores a bad frame
    const [unit, fc] = [frame[0]!, frame[1]!];
    const address = (frame[2]! << 8) | frame[3]!;
    const quantity = (frame[4]! << 8) | frame[5]!;
    requests.push({ unit, fc, address, quantity, at: clock.monotonic() });
    const u = units[unit];
    if (!u || u.fault === 'dead') return;
    let answer: Buffer;
    const r = readResponse(unit, fc, address, quantity, u);
    if (u.fault === 'exception' || !Buffer.isBuffer(r)) {
      answer = withCrc([unit, fc | 0x80, u.exceptionCode ?? (Buffer.isBuffer(r) ? 4 : r.exception)]);
    } else {
      answer = r;
      switch (u.fault) {
        case 'bad-crc': answer = Buffer.from(r); answer[answer.length - 1]! ^= 0xff; break;
        case 'wrong-unit': answer = withCrc([unit + 1, ...r.subarray(1, r.length - 2)]); break;
        case 'wrong-fc': answer = withCrc([unit, fc === 3 ? 4 : 3, ...r.subarray(2, r.length - 2)]); break;
        case 'wrong-count': answer = withCrc([unit, fc, r[2]! + 2, ...r.subarray(3, r.length - 2), 0, 0]); break;
        case 'truncated': answer = r.subarray(0, r.length - 3); break;
        default: break;
      }
    }
    if (u.junkBefore) answer = Buffer.concat([Buffer.from(u.junkBefore), answer]);
    if (u.twice) answer = Buffer.concat([answer, answer]);
    const delay = typeof u.delayMs === 'function' ? u.delayMs(fc, address) : u.delayMs ?? 0;
    if (delay > 0) clock.setTimeout(() => port.emitData(answer), delay);
    else port.emitData(answer);
  };
  return { requests };
}

/** Advances a manual clock in small steps, letting promise chains run between them. */
export async function drive(clock: { advance(ms: number): Promise<void> }, ms: number, step = 1): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await clock.advance(step);
    await new Promise((r) => setImmediate(r));
  }
}
