// The device id of a fleet config. `"device": "pump-${machine-id}"` is expanded
// here, when a config is validated — so `config check`, `provision` and `run`
// (and an over-the-air config) all see the same id — and one config, on one
// SD-card image, fits every device of a batch. Nothing is cached: the id is
// read where the config is loaded, on the device.
//
//   ${machine-id}   /etc/machine-id (systemd writes a new one at first boot when the image's is empty)
//   ${serial}       the board's serial number: /sys/firmware/devicetree/base/serial-number,
//                   else the "Serial" line of /proc/cpuinfo (Raspberry Pi)
//   ${hostname}     /proc/sys/kernel/hostname
//   ${file:<path>}  the first line of a per-device file, e.g. ${file:/boot/firmware/tapwire-device}

import { readFileSync } from 'node:fs';
import { IssueCode, type ConfigIssue } from './errors.js';

/** Reads a whole text file (throws like fs.readFileSync); tests pass their own. */
export type ReadText = (path: string) => string;

const TEMPLATE = /\$\{([^}]*)\}/g;
export const DEVICE_VARIABLES = ['machine-id', 'serial', 'hostname', 'file:<path>'] as const;

const readText: ReadText = (path) => readFileSync(path, 'utf8');

const firstLine = (text: string): string => (text.split('\n')[0] ?? '').trim();

function serialNumber(read: ReadText): string {
  let dtError: string;
  try {
    // a devicetree string property: NUL-terminated
    const s = read('/sys/firmware/devicetree/base/serial-number').replace(/\0/g, '').trim();
    if (s) return s.toLowerCase();
    dtError = '/sys/firmware/devicetree/base/serial-number is empty';
  } catch (err) {
    dtError = `/sys/firmware/devicetree/base/serial-number: ${reason(err)}`;
  }
  let cpuinfo: string;
  try { cpuinfo = read('/proc/cpuinfo'); } catch (err) {
    throw new Error(`no serial number (${dtError}; /proc/cpuinfo: ${reason(err)})`);
  }
  const m = /^Serial\s*:\s*([0-9A-Za-z]+)\s*$/m.exec(cpuinfo);
  if (!m?.[1] || /^0+$/.test(m[1])) throw new Error(`no serial number (${dtError}; /proc/cpuinfo has no Serial line)`);
  return m[1].toLowerCase();
}

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}

/** The value of one ${name}; throws an Error saying what is missing. */
function variable(name: string, read: ReadText): string {
  if (name === 'machine-id') {
    let id: string;
    try { id = firstLine(read('/etc/machine-id')); } catch (err) { throw new Error(`/etc/machine-id: ${reason(err)}`); }
    if (!/^[0-9a-f]{32}$/.test(id)) {
      throw new Error(`/etc/machine-id holds ${JSON.stringify(id.slice(0, 40))}, not a machine id yet (systemd writes one at first boot)`);
    }
    return id;
  }
  if (name === 'serial') return serialNumber(read);
  if (name === 'hostname') {
    try {
      const h = firstLine(read('/proc/sys/kernel/hostname'));
      if (h) return h;
    } catch (err) {
      throw new Error(`/proc/sys/kernel/hostname: ${reason(err)}`);
    }
    throw new Error('the host name is empty');
  }
  if (name.startsWith('file:')) {
    const path = name.slice('file:'.length);
    if (!path.startsWith('/')) throw new Error(`\${file:<path>} needs an absolute path, got ${JSON.stringify(path)}`);
    let line: string;
    try { line = firstLine(read(path)); } catch (err) { throw new Error(`${path}: ${reason(err)}`); }
    if (!line) throw new Error(`${path} is empty (its first line is the device id)`);
    return line;
  }
  throw new Error(`unknown variable \${${name}} (known: ${DEVICE_VARIABLES.map((v) => `\${${v}}`).join(', ')})`);
}

export type DeviceExpansion =
  | { kind: 'literal' }
  | { kind: 'expanded'; template: string; device: string }
  | { kind: 'failed'; issue: ConfigIssue };

/** Expands the ${...} variables of a `device` value; a value without any is left alone. */
export function expandDeviceId(value: unknown, read: ReadText = readText): DeviceExpansion {
  if (typeof value !== 'string' || !value.includes('${')) return { kind: 'literal' };
  const problems: string[] = [];
  const device = value.replace(TEMPLATE, (_all, name: string) => {
    try { return variable(name.trim(), read); } catch (err) {
      problems.push((err as Error).message);
      return '';
    }
  });
  if (problems.length === 0 && device.includes('${')) problems.push('an unclosed "${" (write ${name})');
  if (problems.length > 0) {
    return { kind: 'failed', issue: { path: 'device', code: IssueCode.DEVICE_TEMPLATE, message: `cannot expand ${JSON.stringify(value)}: ${problems.join('; ')}` } };
  }
  return { kind: 'expanded', template: value, device };
}
