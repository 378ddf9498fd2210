// The secret-path rule, the one place it is decided (config check, run and
// over-the-air apply all reach it through validateConfig): no file a config
// names may be a secret of the device. Uplink credentials (ca, cert, key,
// passwordFile) are read and sent to (or shown to) the broker the same config
// names; ports are read into signed readings, and a console port is written
// to. So none of them may resolve, after symlinks and "..", into the state
// directory (device keys, next and old key, operator keys, journal, OTA
// state), nor be a hard link to a file there. (That the console port is never
// a source's device is the console-port rule, agent/config/console-port.ts.)
//
// Paths resolve as the kernel does (realpath(3): ".." after a symlink goes to
// the parent of its target). A path that does not exist yet resolves through
// its longest existing prefix, so a file that appears later cannot slip in.

import { readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { IssueCode, formatPath, type ConfigIssue, type PathSegment } from './errors.js';

/** What the rule needs of a config (a resolved config has it all). */
export interface NamedFiles {
  stateDir: string;
  uplink: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined; passwordFile?: string | undefined };
  sources: ReadonlyArray<{ port: { path: string } }>;
  /** The local console (a later config field); checked when present. */
  console?: { port?: { path?: unknown } } | undefined;
}

interface Named { at: PathSegment[]; path: string; what: string }

const CREDENTIALS = [
  ['ca', 'a CA bundle is parsed and its errors reported'],
  ['cert', 'a client certificate is sent to the broker'],
  ['key', 'a client key is used for the broker'],
  ['passwordFile', 'a password is sent to the broker'],
] as const;

/** The path as the kernel would open it, every symlink and ".." resolved. */
export function physicalPath(path: string): string {
  const abs = path.startsWith('/') ? path : `${process.cwd()}/${path}`;
  try { return realpathSync.native(abs); } catch { /* walk up to what exists */ }
  const parts = abs.split('/');
  for (let k = parts.length - 1; k >= 1; k--) {
    let real: string;
    try { real = realpathSync.native(parts.slice(0, k).join('/') || '/'); } catch { continue; }
    // the rest does not exist yet: lexically, the conservative reading
    return posix.normalize(`${real}/${parts.slice(k).join('/')}`);
  }
  return posix.normalize(abs);
}

const statOf = (p: string): Stats | undefined => {
  try { return statSync(p); } catch { return undefined; }
};
const sameFile = (a: Stats, b: Stats): boolean => a.dev === b.dev && a.ino === b.ino;

/** Regular files in the state directory and its operators/ folder: keys, their hard links' targets. */
function protectedFiles(stateReal: string): Array<{ path: string; st: Stats }> {
  const out: Array<{ path: string; st: Stats }> = [];
  for (const dir of [stateReal, `${stateReal}/operators`]) {
    let names: string[];
    try { names = readdirSync(dir); } catch { continue; }
    for (const n of names) {
      const st = statOf(`${dir}/${n}`);
      if (st?.isFile()) out.push({ path: `${dir}/${n}`, st });
    }
  }
  return out;
}

function namedFiles(config: NamedFiles): Named[] {
  const named: Named[] = [];
  for (const [field, why] of CREDENTIALS) {
    const p = config.uplink[field];
    if (p !== undefined) named.push({ at: ['uplink', field], path: p, what: why });
  }
  config.sources.forEach((s, i) => named.push({ at: ['sources', i, 'port', 'path'], path: s.port.path, what: 'what a port delivers is signed and sent' }));
  const consolePath = config.console?.port?.path;
  if (typeof consolePath === 'string') named.push({ at: ['console', 'port', 'path'], path: consolePath, what: 'the console writes to its port' });
  return named;
}

/** Every file the config names that is a secret of the device, as config issues (none: the config may run). */
export function secretPathIssues(config: NamedFiles): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const stateReal = physicalPath(config.stateDir);
  const inside = (real: string): boolean => real === stateReal || real.startsWith(stateReal === '/' ? '/' : `${stateReal}/`);
  const secrets = protectedFiles(stateReal);
  const named = namedFiles(config);
  for (const n of named) {
    const real = physicalPath(n.path);
    const shown = real === n.path ? JSON.stringify(n.path) : `${JSON.stringify(n.path)} (resolves to ${real})`;
    const push = (why: string): void => {
      issues.push({ path: formatPath(n.at), code: IssueCode.SECRET_PATH, message: `${shown} ${why}; ${n.what}, so it may never name a secret of the device` });
    };
    if (inside(real)) { push(`is inside the state directory ${stateReal} (device and operator keys, journal)`); continue; }
    const st = statOf(real);
    const twin = st?.isFile() ? secrets.find((s) => sameFile(s.st, st)) : undefined;
    if (twin) push(`is the same file as ${twin.path} (a hard link)`);
  }
  return issues;
}
