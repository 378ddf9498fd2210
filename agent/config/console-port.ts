// The console-port rule, in one place for `config check`, `run`, an
// over-the-air config and the console itself (checked again at every open):
// the console is never the device of a source, compared after resolving
// symlinks (/dev/serial/by-id/..., a pty's link), and it comes from the local
// config file only — a config from the network cannot move it.

import { statSync, type Stats } from 'node:fs';
import { physicalPath } from './secret-paths.js';

/** What a port path names: the real device after symlinks and "..", or the absolute path if it does not exist (yet). */
export function portIdentity(path: string): string {
  return physicalPath(path);
}

const statOf = (p: string): Stats | undefined => {
  try { return statSync(p); } catch { return undefined; }
};

/** One device under two names: the same path after symlinks, or the same character device (major:minor) or inode. */
export function sameDevice(a: string, b: string): boolean {
  if (a === b) return true;
  const sa = statOf(a);
  const sb = statOf(b);
  if (!sa || !sb) return false;
  if (sa.isCharacterDevice() && sb.isCharacterDevice()) return sa.rdev === sb.rdev;
  return sa.dev === sb.dev && sa.ino === sb.ino;
}

export interface ConsoleClash {
  /** Index of the source whose port is the console's device. */
  source: number;
  message: string;
}

/** Sources whose port is the console's device (none when there is no console). */
export function consoleClashes(consolePath: string | undefined, sourcePaths: ReadonlyArray<string | undefined>): ConsoleClash[] {
  if (consolePath === undefined || consolePath === '') return [];
  const device = portIdentity(consolePath);
  const out: ConsoleClash[] = [];
  sourcePaths.forEach((p, i) => {
    if (p === undefined || p === '' || !sameDevice(portIdentity(p), device)) return;
    const same = p === consolePath ? '' : ` (${JSON.stringify(p)} and ${JSON.stringify(consolePath)} are both ${device})`;
    out.push({
      source: i,
      message: `the console port ${JSON.stringify(consolePath)} is the port of sources[${i}]${same}; a field port is never the console (the console writes to its port)`,
    });
  });
  return out;
}

interface PortOwner { port: { path: string; baudRate: number } }

/**
 * Why an over-the-air config may not run next to the local console, if it may
 * not: it names another console than the local file (a remote config must not
 * choose which device the agent writes prompts to), or one of its sources is
 * the local console's device.
 */
export function otaConsoleProblem(
  config: { console?: PortOwner | undefined; sources: ReadonlyArray<PortOwner> },
  local: PortOwner | undefined,
): string | undefined {
  if (config.console !== undefined) {
    const same = local !== undefined
      && sameDevice(portIdentity(config.console.port.path), portIdentity(local.port.path))
      && config.console.port.baudRate === local.port.baudRate;
    if (!same) {
      return `"console" cannot be set or changed over the air (it comes from the local config file${local ? `: ${local.port.path} at ${local.port.baudRate}` : ', which has none'}); leave it out`;
    }
  }
  const clash = consoleClashes(local?.port.path, config.sources.map((s) => s.port.path))[0];
  return clash ? `${clash.message} (the local console)` : undefined;
}
