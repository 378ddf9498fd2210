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

import type { RegisterConfig } from '../../config/schema.js';
import { maxQuantity, type ReadFunctionCode } from './pdu.js';

export const VALUE_TYPES = ['bool', 'u16', 'i16', 'u32', 'i32', 'f32', 'u64', 'i64', 'f64'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

export function isValueType(t: unknown): t is ValueType {
  return (VALUE_TYPES as readonly unknown[]).includes(t);
}

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

export const DEFAULT_MAX_GAP = 4;

/** Width in items of the request: bits for FC 1/2, 16-bit registers for FC 3/4. */
export function registerWidth(type: ValueType): number {
  switch (type) {
    case 'bool': case 'u16': case 'i16': return 1;
    case 'u32': case 'i32': case 'f32': return 2;
    case 'u64': case 'i64': case 'f64': return 4;
  }
}

export function resolveRegister(r: RegisterConfig): ResolvedRegister {
  if (!isValueType(r.type)) throw Object.assign(new Error(`register ${r.name}: unknown type ${r.type}`), { code: 'ERR_CONFIG' });
  const out: ResolvedRegister = {
    name: r.name,
    fc: r.fc,
    address: r.address,
    type: r.type,
    wordOrder: r.wordOrder ?? 'big',
    scale: r.scale ?? 1,
    offset: r.offset ?? 0,
  };
  if (r.unit !== undefined) out.unit = r.unit;
  return out;
}

/**
 * Problems the schema cannot see, each with its place, e.g.
 * "devices[0].registers[2].type: u16 needs fc 3 or 4 (fc 1/2 read single bits)".
 * bool on FC 3/4 is allowed: true when the register is non-zero.
 */
export function checkRegisters(devices: ReadonlyArray<{ unit: number; registers: readonly RegisterConfig[] }>): string[] {
  const problems: string[] = [];
  const names = new Map<string, string>();
  const units = new Set<number>();
  devices.forEach((d, di) => {
    if (units.has(d.unit)) problems.push(`devices[${di}].unit: unit ${d.unit} is listed twice`);
    units.add(d.unit);
    d.registers.forEach((r, ri) => {
      const at = `devices[${di}].registers[${ri}]`;
      if (!isValueType(r.type)) { problems.push(`${at}.type: "${r.type}" is not one of ${VALUE_TYPES.join(' ')}`); return; }
      if ((r.fc === 1 || r.fc === 2) && r.type !== 'bool') problems.push(`${at}.type: ${r.type} needs fc 3 or 4 (fc 1/2 read single bits)`);
      if (r.address + registerWidth(r.type) > 0x10000) problems.push(`${at}.address: ${r.type} at ${r.address} runs past address 65535`);
      const seen = names.get(r.name);
      if (seen) problems.push(`${at}.name: "${r.name}" is already used by ${seen}`);
      else names.set(r.name, at);
    });
  });
  return problems;
}

/** Merges the registers of one unit into as few reads as the limits allow. */
export function planReads(unit: number, registers: readonly RegisterConfig[], maxGap = DEFAULT_MAX_GAP): PlannedRead[] {
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

/**
 * Decodes `reg` from the data bytes of a response to a read that started at
 * `dataAddress` (bits packed LSB first for FC 1/2, big-endian words for FC 3/4).
 * The caller guarantees the read covers the register.
 */
export function decodeRegister(reg: ResolvedRegister, data: Uint8Array, dataAddress: number): Decoded {
  const index = reg.address - dataAddress;
  if (reg.fc === 1 || reg.fc === 2) return { vb: ((data[index >>> 3]! >>> (index & 7)) & 1) === 1 };
  const words = registerWidth(reg.type);
  // Assemble the value big-endian: words in value order, each word as sent.
  const bytes = new Uint8Array(words * 2);
  for (let w = 0; w < words; w++) {
    const src = 2 * (index + (reg.wordOrder === 'big' ? w : words - 1 - w));
    bytes[2 * w] = data[src]!;
    bytes[2 * w + 1] = data[src + 1]!;
  }
  const view = new DataView(bytes.buffer);
  switch (reg.type) {
    case 'bool': return { vb: view.getUint16(0) !== 0 };
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

/** Throws an ERR_CONFIG error naming every register map problem of a source. */
export function assertReadableRegisters(sourceId: string, devices: Parameters<typeof checkRegisters>[0]): void {
  const problems = checkRegisters(devices);
  if (problems.length > 0) {
    throw Object.assign(new Error(`source ${sourceId}: ${problems.join('; ')}`), { code: 'ERR_CONFIG', place: `source ${sourceId}` });
  }
}
