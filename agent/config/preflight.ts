// Preflight: what `run` will need from the file system, checked before it
// starts. `config check` and `run` both call preflight() (one code path, the
// way `nginx -t` checks what nginx will open), so a config that check calls ok
// does not die at start:
//   - the uplink's files (ca, cert, key, passwordFile) exist, are readable, and
//     the secrets are 0600: read by the uplink's own reader (agent/uplink/tls-files.ts)
//   - the state directory is a directory (not a file, not a dangling symlink),
//     can be created and is writable (a probe file, so a read-only mount or a
//     root-owned folder is found, not guessed from mode bits); so are its
//     journal/, ota/ and operators/ folders where they exist
//   - an existing device key is a key the agent may use (0600)
//   - no device is the port of two sources under two names (a symlink and the
//     /dev/pts/N it points to): compared as the console-port rule compares
// `run` lets it create the state directory (create: true); `config check`
// creates nothing that stays (what it made for the probe, it removes).
// The config content rules (schema, uplink URL, inline secrets) are
// validateConfig's (agent/config/load.ts); this is the file system's word.

import { closeSync, lstatSync, mkdirSync, openSync, readlinkSync, rmdirSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readPrivateKey } from '../encode/keys.js';
import { readUplinkFiles, UplinkFileError, type UplinkFilePaths } from '../uplink/tls-files.js';
import { portIdentity, sameDevice } from './console-port.js';
import { formatPath, IssueCode, type ConfigIssue } from './errors.js';

/** What preflight needs of a config (a resolved config has it all). */
export interface PreflightConfig {
  stateDir: string;
  uplink: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined; passwordFile?: string | undefined };
  sources: ReadonlyArray<{ port: { path: string } }>;
}

export interface PreflightOptions {
  /** Create a missing state directory and keep it (`run`); otherwise only prove it could be made. */
  create?: boolean;
}

/** Every problem `run` would meet in the file system, as config issues naming the field (none: it may start). */
export function preflight(config: PreflightConfig, opts: PreflightOptions = {}): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  issues.push(...uplinkFileIssues(config.uplink));
  const state = stateDirProblem(config.stateDir, opts);
  if (state) issues.push({ path: 'stateDir', code: IssueCode.FILE, message: state });
  else issues.push(...stateContentIssues(config.stateDir));
  issues.push(...portIssues(config.sources));
  return issues;
}

// ── uplink files ───────────────────────────────────────────────────────────

/** Each file group read as the uplink reads it at every connect. */
function uplinkFileIssues(uplink: PreflightConfig['uplink']): ConfigIssue[] {
  const groups: UplinkFilePaths[] = [
    { ...(uplink.ca !== undefined ? { ca: uplink.ca } : {}) },
    { ...(uplink.cert !== undefined ? { cert: uplink.cert } : {}), ...(uplink.key !== undefined ? { key: uplink.key } : {}) },
    { ...(uplink.passwordFile !== undefined ? { passwordFile: uplink.passwordFile } : {}) },
  ];
  const issues: ConfigIssue[] = [];
  for (const g of groups) {
    try {
      readUplinkFiles(g);
    } catch (err) {
      if (!(err instanceof UplinkFileError)) throw err;
      const message = plainErrno(err.message.startsWith(`${err.place}: `) ? err.message.slice(err.place.length + 2) : err.message);
      issues.push({ path: err.place, code: IssueCode.FILE, message });
    }
  }
  return issues;
}

const ERRNO_WORDS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied (the agent user must be able to read it)',
  EPERM: 'permission denied (the agent user must be able to read it)',
  ENOTDIR: 'a parent of the path is not a directory',
  EISDIR: 'a directory, not a file',
  ELOOP: 'too many symlinks',
};

/** "cannot read /x: ENOENT: no such file or directory, stat '/x'" → "cannot read /x: no such file". */
function plainErrno(message: string): string {
  return message.replace(/\b(E[A-Z]+): [^,]*, [a-z]+ '[^']*'$/, (whole, code: string) => ERRNO_WORDS[code] ?? whole);
}

// ── state directory ────────────────────────────────────────────────────────

const lstatOf = (p: string): Stats | NodeJS.ErrnoException => {
  try { return lstatSync(p); } catch (err) { return err as NodeJS.ErrnoException; }
};

function errnoWords(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  switch (code) {
    case 'EROFS': return 'read-only file system';
    case 'EACCES': case 'EPERM': return `permission denied for this user (uid ${process.getuid?.() ?? '?'})`;
    case 'ENOSPC': return 'no space left on the device';
    case 'EDQUOT': return 'disk quota exceeded';
    case 'ENOTDIR': return 'a parent of the path is not a directory';
    case 'ENOENT': return 'the file system refuses new directories there';
    default: return (err as Error).message;
  }
}

/**
 * Creates and removes an empty file in `dir`: the only sure test that the agent
 * may write there (a read-only mount, a root-owned folder). A full disk is no
 * reason not to start: the journal drops its oldest and says so.
 */
function writeProbe(dir: string): string | undefined {
  const probe = join(dir, `.tapwire-preflight-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx', 0o600));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOSPC' || code === 'EDQUOT' ? undefined : `${dir} is not writable: ${errnoWords(err)}`;
  }
  try { unlinkSync(probe); } catch { /* gone already */ }
  return undefined;
}

/**
 * Why the state directory cannot be used, or undefined. A missing one is created
 * one level at a time (never a recursive mkdir: on /proc it loops forever); with
 * create false what was made is removed again.
 */
export function stateDirProblem(stateDir: string, opts: PreflightOptions = {}): string | undefined {
  const dir = resolve(stateDir);
  const st = lstatOf(dir);
  if (!(st instanceof Error)) {
    if (st.isSymbolicLink()) {
      let target: Stats;
      try { target = statSync(dir); } catch (err) {
        const to = readlinkSafe(dir);
        return (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? `${dir} is a symlink to ${to}, which does not exist (create it, or name another stateDir)`
          : `${dir} (a symlink to ${to}) cannot be used: ${errnoWords(err)}`;
      }
      if (!target.isDirectory()) return `${dir} is a symlink to ${readlinkSafe(dir)}, which is not a directory`;
    } else if (!st.isDirectory()) {
      return `${dir} is ${st.isFile() ? 'a file' : 'not a directory'}; the state directory must be a directory`;
    }
    return writeProbe(dir);
  }
  if (st.code !== 'ENOENT') return `${dir} cannot be used: ${errnoWords(st)}`;
  // missing: find what exists above it, then make the rest one level at a time
  const missing: string[] = [];
  let at = dir;
  for (;;) {
    missing.unshift(at);
    const parent = dirname(at);
    if (parent === at) break;
    const p = lstatOf(parent);
    if (!(p instanceof Error)) {
      let real: Stats;
      try { real = statSync(parent); } catch (err) {
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'which does not exist' : errnoWords(err);
        return `${dir} cannot be created: ${parent} is a symlink to ${readlinkSafe(parent)}, ${why}`;
      }
      if (!real.isDirectory()) return `${dir} cannot be created: ${parent} is a file, not a directory`;
      break;
    }
    if (p.code !== 'ENOENT') return `${dir} cannot be created: ${parent}: ${errnoWords(p)}`;
    at = parent;
  }
  const made: string[] = [];
  let problem: string | undefined;
  for (const d of missing) {
    try {
      mkdirSync(d, { mode: 0o700 });
      made.push(d);
    } catch (err) {
      // another process made it meanwhile (services starting at once on a fresh card): fine if it is a directory
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && isDirectory(d)) continue;
      problem = `${dir} cannot be created (mkdir ${d}): ${errnoWords(err)}`;
      break;
    }
  }
  problem ??= writeProbe(dir);
  if (!opts.create || problem) {
    for (const d of made.reverse()) {
      try { rmdirSync(d); } catch { /* leave what cannot be removed */ }
    }
  }
  return problem;
}

function isDirectory(p: string): boolean {
  try { return lstatSync(p).isDirectory(); } catch { return false; }
}

function readlinkSafe(p: string): string {
  try { return readlinkSync(p); } catch { return '?'; }
}

/** What the agent keeps in the state directory: its folders writable, an existing device key usable. */
function stateContentIssues(stateDir: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const name of ['journal', 'ota', 'operators']) {
    const sub = join(stateDir, name);
    const st = lstatOf(sub);
    if (st instanceof Error) continue; // made when needed
    const problem = st.isDirectory() ? writeProbe(sub) : `${sub} is not a directory (the agent keeps its ${name} there)`;
    if (problem) issues.push({ path: 'stateDir', code: IssueCode.FILE, message: problem });
  }
  const key = join(stateDir, 'device.key');
  if (!(lstatOf(key) instanceof Error)) {
    // a missing key is provision's job (tapwire.service runs it before the agent)
    try { readPrivateKey(key); } catch (err) {
      issues.push({ path: 'stateDir', code: IssueCode.FILE, message: `device key: ${(err as Error).message}` });
    }
  }
  return issues;
}

// ── ports ──────────────────────────────────────────────────────────────────

/** Two sources naming one device under two names (symlink, /dev/pts/N): the second one is refused. */
function portIssues(sources: ReadonlyArray<{ port: { path: string } }>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen: Array<{ index: number; path: string; device: string }> = [];
  sources.forEach((s, i) => {
    const device = portIdentity(s.port.path);
    const twin = seen.find((o) => sameDevice(o.device, device));
    if (twin) {
      issues.push({
        path: formatPath(['sources', i, 'port', 'path']),
        code: IssueCode.DUPLICATE,
        message: `${JSON.stringify(s.port.path)} is the device of sources[${twin.index}].port.path ${JSON.stringify(twin.path)} (${twin.device === device ? `both are ${device}` : `${twin.device} and ${device} are one device`}); one port, one source`,
      });
    } else seen.push({ index: i, path: s.port.path, device });
  });
  return issues;
}
