// The rules of a register map the schema cannot express, shared by the Modbus
// source types and the only judge of them: `config check` reports these
// problems, and the factories refuse the same ones (plan.ts resolves what passes).
//   FC 1/2 read single bits: type bool, or no type at all.
//   FC 3/4 read 16-bit registers: a type is required; bool means non-zero,
//   or the one bit `bit` (0-15) of the register. `bit` exists only there.
//   A register fits below address 65536; names and units are unique in a source.

import type { Problem, ProblemPath } from '../problem.js';
import type { RegisterConfig } from './schema.js';

export const VALUE_TYPES = ['bool', 'u16', 'i16', 'u32', 'i32', 'f32', 'u64', 'i64', 'f64'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

const FC_NAMES: Record<number, string> = { 1: 'coils', 2: 'discrete inputs', 3: 'holding registers', 4: 'input registers' };
const NUMERIC_TYPES = 'u16, i16, u32, i32, f32, u64, i64 or f64';

/** Width in items of the request: bits for FC 1/2, 16-bit registers for FC 3/4. */
export function registerWidth(type: ValueType): number {
  switch (type) {
    case 'bool': case 'u16': case 'i16': return 1;
    case 'u32': case 'i32': case 'f32': return 2;
    case 'u64': case 'i64': case 'f64': return 4;
  }
}

/** The value type of a register that passed checkDevices: a bit read is a bool. */
export function valueType(r: RegisterConfig): ValueType {
  return r.type ?? 'bool';
}

/** Problems of the devices of one source; paths start at "devices". */
export function checkDevices(devices: ReadonlyArray<{ unit: number; registers: readonly RegisterConfig[] }>): Problem[] {
  const problems: Problem[] = [];
  const names = new Map<string, ProblemPath>();
  const units = new Map<number, number>();
  devices.forEach((device, d) => {
    const first = units.get(device.unit);
    if (first === undefined) units.set(device.unit, d);
    else problems.push({ path: ['devices', d, 'unit'], kind: 'duplicate', message: `unit ${device.unit} is listed twice; put all its registers in one device`, also: ['devices', first, 'unit'] });
    device.registers.forEach((r, i) => {
      const here: ProblemPath = ['devices', d, 'registers', i];
      const seen = names.get(r.name);
      if (seen === undefined) names.set(r.name, here);
      else problems.push({ path: [...here, 'name'], kind: 'duplicate', message: `duplicate register name ${JSON.stringify(r.name)} in this source; reading names must be unique`, also: [...seen, 'name'] });
      problems.push(...registerProblems(r, here));
    });
  });
  return problems;
}

function registerProblems(r: RegisterConfig, here: ProblemPath): Problem[] {
  const bits = r.fc === 1 || r.fc === 2;
  if (bits && r.type !== undefined && r.type !== 'bool') {
    return [{ path: [...here, 'type'], kind: 'semantic', message: `expected "bool" (or no type) for fc ${r.fc} (${FC_NAMES[r.fc]} are single bits), got ${JSON.stringify(r.type)}; numeric types need fc 3 or 4` }];
  }
  if (bits && r.bit !== undefined) {
    return [{ path: [...here, 'bit'], kind: 'semantic', message: `bit is only for a bool on fc 3 or 4 (a bit of a 16-bit register); fc ${r.fc} (${FC_NAMES[r.fc]}) reads single bits already` }];
  }
  if (!bits && r.type === undefined) {
    return [{ path: [...here, 'type'], kind: 'required', message: `missing required key for fc ${r.fc} (${FC_NAMES[r.fc]}); expected ${NUMERIC_TYPES}, or bool (non-zero, or one \`bit\`)` }];
  }
  if (!bits && r.bit !== undefined && r.type !== 'bool') {
    return [{ path: [...here, 'bit'], kind: 'semantic', message: `bit needs type "bool" (one bit of the register), got type ${JSON.stringify(r.type)}` }];
  }
  const type = valueType(r);
  const words = registerWidth(type);
  if (r.address + words - 1 > 65535) {
    return [{ path: [...here, 'address'], kind: 'range', message: `expected at most ${65536 - words} for a ${type} (${words} registers wide, the last address is 65535), got ${r.address}` }];
  }
  return [];
}
