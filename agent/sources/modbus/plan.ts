// Request planning and value decoding for Modbus registers. Registers of one
// unit and function code that are contiguous or at most `maxGap` addresses
// apart share one request, never beyond 125 registers / 2000 bits; at
// 9600-19200 baud requests, not bytes, are the budget.
//
// Values: every 16-bit register is big-endian on the wire (Modbus says so);
// only the order of the words of a 32/64-bit value varies by device:
//   wordOrder "big"    (high word first): regs [0x4049, 0x0FDB]       -> f32 3.14159...
//   wordOrder "little" (low word first):  regs [0x0FDB, 0x4049]       -> f32 3.14159...
// value = raw * scale + offset. u64/i64 whose raw integer is beyond 2^53 (not
// exactly representable as a double) with scale 1 and offset 0 are emitted as
// an exact decimal string (SenML vs) instead of silently losing digits; with a
// scale or offset they are measurements and go out as the nearest double.
// bool: a coil / discrete input (FC 1/2); on FC 3/4 the register is non-zero,
// or its bit `bit` (0 = least significant) is set.

import type { Reading } from '../../reading.js';
import { defaultOf } from '../../schema-parts.js';
import { maxQuantity, type ReadFunctionCode } from './pdu.js';
import { registerWidth, valueType, type ValueType } from './registers.js';
import { MaxGap, RegisterSchema, type RegisterConfig } from './schema.js';

export { registerWidth, type ValueType } from './registers.js';

/** A register with every default applied. */
export interface ResolvedRegister {
  name: string;
  fc: ReadFunctionCode;
  address: number;
  type: ValueType;
  wordOrder: 'big' | 'little';
  scale: number;
  offset: number;
  unit?: string;
  /** bool on FC 3/4: the bit of the register (else non-zero is true). */
  bit?: number;
}

/** One read request on the wire and the registers it carries. */
export interface PlannedRead {
  unit: number;
  fc: ReadFunctionCode;
  address: number;
  quantity: number;
  registers: ResolvedRegister[];
}

export type Decoded = { v: number } | { vs: string } | { vb: boolean } | { nonFinite: true };

/**
 * A register that passed checkDevices (registers.ts) with every default
 * applied, the defaults read from the schema.
 */
export function resolveRegister(r: RegisterConfig): ResolvedRegister {
  const out: ResolvedRegister = {
    name: r.name,
    fc: r.fc,
    address: r.address,
    type: valueType(r),
    wordOrder: r.wordOrder ?? defaultOf(RegisterSchema, 'wordOrder'),
    scale: r.scale ?? defaultOf(RegisterSchema, 'scale'),
    offset: r.offset ?? defaultOf(RegisterSchema, 'offset'),
  };
  if (r.unit !== undefined) out.unit = r.unit;
  if (r.bit !== undefined) out.bit = r.bit;
  return out;
}

/** Merges the registers of one unit into as few reads as the limits allow. */
export function planReads(unit: number, registers: readonly RegisterConfig[], maxGap = MaxGap.default as number): PlannedRead[] {
  const out: PlannedRead[] = [];
  for (const fc of [1, 2, 3, 4] as const) {
    const regs = registers.filter((r) => r.fc === fc).map((r) => resolveRegister(r))
      .sort((a, b) => a.address - b.address || registerWidth(b.type) - registerWidth(a.type));
    let cur: PlannedRead | undefined;
    for (const r of regs) {
      const end = r.address + registerWidth(r.type);
      if (cur) {
        const curEnd = cur.address + cur.quantity;
        const newEnd = Math.max(curEnd, end);
        if (r.address - curEnd <= maxGap && newEnd - cur.address <= maxQuantity(fc)) {
          cur.quantity = newEnd - cur.address;
          cur.registers.push(r);
          continue;
        }
      }
      cur = { unit, fc, address: r.address, quantity: end - r.address, registers: [r] };
      out.push(cur);
    }
  }
  return out;
}

/** Does `reg` lie wholly inside a read of `quantity` items from `address`? */
export function covers(address: number, quantity: number, reg: ResolvedRegister): boolean {
  return reg.address >= address && reg.address + registerWidth(reg.type) <= address + quantity;
}

// A decimal scale like 0.1 is not exact in binary: 215 * 0.1 = 21.500000000000004,
// while 215 / 10 is correctly rounded to 21.5. Divide when 1/scale is an integer.
function scaled(raw: number, reg: ResolvedRegister): number {
  const inverse = 1 / reg.scale;
  const v = Number.isInteger(inverse) && Math.abs(inverse) > 1 ? raw / inverse : raw * reg.scale;
  return v + reg.offset;
}

// One 8-byte scratch for every decode: a typed array per register is a native
// allocation, and the agent decodes every register of every scan.
const SCRATCH = new Uint8Array(8);
const SCRATCH_VIEW = new DataView(SCRATCH.buffer);

/**
 * Decodes `reg` from the data bytes of a response to a read that started at
 * `dataAddress` (bits packed LSB first for FC 1/2, big-endian words for FC 3/4).
 * The caller guarantees the read covers the register.
 */
export function decodeRegister(reg: ResolvedRegister, data: Uint8Array, dataAddress: number): Decoded {
  const index = reg.address - dataAddress;
  if (reg.fc === 1 || reg.fc === 2) return { vb: ((data[index >>> 3]! >>> (index & 7)) & 1) === 1 };
  const words = registerWidth(reg.type);
  // Assemble the value big-endian in the scratch view: words in value order, each word as sent.
  for (let w = 0; w < words; w++) {
    const src = 2 * (index + (reg.wordOrder === 'big' ? w : words - 1 - w));
    SCRATCH[2 * w] = data[src]!;
    SCRATCH[2 * w + 1] = data[src + 1]!;
  }
  const view = SCRATCH_VIEW;
  switch (reg.type) {
    case 'bool': return { vb: reg.bit === undefined ? view.getUint16(0) !== 0 : ((view.getUint16(0) >>> reg.bit) & 1) === 1 };
    case 'u16': return { v: scaled(view.getUint16(0), reg) };
    case 'i16': return { v: scaled(view.getInt16(0), reg) };
    case 'u32': return { v: scaled(view.getUint32(0), reg) };
    case 'i32': return { v: scaled(view.getInt32(0), reg) };
    case 'f32': return finite(scaled(view.getFloat32(0), reg));
    case 'f64': return finite(scaled(view.getFloat64(0), reg));
    case 'u64': return wide(view.getBigUint64(0), reg);
    case 'i64': return wide(view.getBigInt64(0), reg);
  }
}

/** The reading of source `sourceId`'s register `reg` with decoded value `d` at `timeSec` (Unix s). */
export function registerReading(sourceId: string, reg: ResolvedRegister, d: { v: number } | { vs: string } | { vb: boolean }, timeSec: number): Reading {
  const r: Reading = { name: `${sourceId}:${reg.name}`, time: timeSec };
  if ('v' in d) r.v = d.v;
  else if ('vs' in d) r.vs = d.vs;
  else r.vb = d.vb;
  if (reg.unit !== undefined) r.unit = reg.unit;
  return r;
}

// Devices report NaN / Inf for "sensor missing"; SenML has no way to say it.
function finite(v: number): Decoded {
  return Number.isFinite(v) ? { v } : { nonFinite: true };
}

function wide(raw: bigint, reg: ResolvedRegister): Decoded {
  const n = Number(raw);
  if (Number.isSafeInteger(n)) return { v: scaled(n, reg) };
  if (reg.scale === 1 && reg.offset === 0) return { vs: raw.toString() };
  return { v: scaled(n, reg) };
}
