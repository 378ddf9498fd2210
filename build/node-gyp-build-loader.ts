// What `node-gyp-build` becomes inside the bundle: loads a native addon from
// `prebuilds/<platform>-<arch>/` next to the bundle file, or, inside a Node
// SEA, from the SEA asset `native/<name>.node` copied once into an executable
// cache dir (never /tmp: it is often noexec), keyed by its SHA-256.
//
//   dist/tapwire.js                                    (bundle; run as `node dist/tapwire.js`)
//   dist/prebuilds/linux-x64/<name>.glibc.node
//   dist/prebuilds/linux-arm64/<name>.armv8.glibc.node
//   dist/prebuilds/linux-arm/<name>.armv{6,7}.glibc.node
//   <cache>/native/<sha256[0..16]>/<name>.node         (SEA: written atomically, re-hashed on each start)

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir as osHomedir } from 'node:os';
import { join } from 'node:path';

/** The parts of `node:sea` the loader uses. */
export interface SeaAssets {
  isSea(): boolean;
  getRawAsset(key: string): ArrayBuffer | string;
}

export interface LoaderDeps {
  platform: string;
  arch: string;
  /** "6" / "7" on 32-bit ARM (process.config.variables.arm_version), else undefined. */
  armVersion: string | undefined;
  /** Where a SEA may write its addon, best first (see cacheDirCandidates). */
  cacheDirs: string[];
  /** undefined when not running inside a SEA (or on a Node without node:sea). */
  sea: SeaAssets | undefined;
  dlopen(path: string): unknown;
}

/** The key an addon is stored under in a SEA (see build/sea.mjs). */
export const seaAssetKey = (name: string): string => `native/${name}.node`;

/** File names node-gyp-build's prebuildify would produce for this machine, best first. */
export function prebuildNames(name: string, arch: string, armVersion: string | undefined): string[] {
  if (arch === 'arm64') return [`${name}.armv8.glibc.node`];
  if (arch === 'arm') {
    // an armv6 build runs on armv7 too, never the other way round
    return armVersion === '6' ? [`${name}.armv6.glibc.node`] : [`${name}.armv7.glibc.node`, `${name}.armv6.glibc.node`];
  }
  return [`${name}.glibc.node`];
}

/** Where a SEA may put its addon, in order of preference (no tmpdir, on purpose). */
export function cacheDirCandidates(env: Record<string, string | undefined>, homedir: string | undefined): string[] {
  const dirs: string[] = [];
  if (env.TAPWIRE_CACHE_DIR) dirs.push(env.TAPWIRE_CACHE_DIR);
  // systemd CacheDirectory= (tapwire.service sets it; the variable may list several, colon-separated)
  if (env.CACHE_DIRECTORY) dirs.push(env.CACHE_DIRECTORY.split(':')[0]!);
  if (env.XDG_CACHE_HOME) dirs.push(join(env.XDG_CACHE_HOME, 'tapwire'));
  if (homedir) dirs.push(join(homedir, '.cache', 'tapwire'));
  dirs.push('/var/lib/tapwire/.cache');
  return dirs;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Puts `bytes` at `<dir>/native/<hash>/<name>.node` unless an intact copy is already there. */
function materialize(dir: string, name: string, bytes: Uint8Array, hash: string): string {
  const folder = join(dir, 'native', hash.slice(0, 16));
  const file = join(folder, `${name}.node`);
  if (existsSync(file) && sha256(readFileSync(file)) === hash) return file;
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, bytes, { mode: 0o500 });
    renameSync(tmp, file); // atomic: a concurrent start sees the old file or the whole new one
  } finally {
    rmSync(tmp, { force: true });
  }
  return file;
}

function loadFromSea(name: string, sea: SeaAssets, deps: LoaderDeps): unknown {
  const raw = sea.getRawAsset(seaAssetKey(name));
  const bytes = typeof raw === 'string' ? Buffer.from(raw) : new Uint8Array(raw);
  const hash = sha256(bytes);
  const failures: string[] = [];
  for (const dir of deps.cacheDirs) {
    try {
      // dlopen inside the loop: a dir on a noexec mount is writable but fails here
      return deps.dlopen(materialize(dir, name, bytes, hash));
    } catch (err) {
      failures.push(`${dir}: ${(err as Error).message}`);
    }
  }
  throw new Error(`cannot load native addon ${name}: no usable cache dir (set TAPWIRE_CACHE_DIR to a writable, executable dir)\n  ${failures.join('\n  ')}`);
}

function loadFromDisk(name: string, bundleDir: string, deps: LoaderDeps): unknown {
  const folder = join(bundleDir, 'prebuilds', `${deps.platform}-${deps.arch}`);
  const names = prebuildNames(name, deps.arch, deps.armVersion);
  const file = names.map((n) => join(folder, n)).find((f) => existsSync(f));
  if (!file) {
    throw new Error(`cannot load native addon ${name}: none of ${names.join(', ')} in ${folder} ` +
      '(copy the prebuilds/ folder from the build next to the bundle; glibc >= 2.28 Linux only)');
  }
  return deps.dlopen(file);
}

/** The addon's exports, as `require('node-gyp-build')(dir)` would return them. */
export function loadAddon(name: string, where: { bundleDir: string }, deps: LoaderDeps = nodeDeps()): unknown {
  if (deps.sea?.isSea()) return loadFromSea(name, deps.sea, deps);
  return loadFromDisk(name, where.bundleDir, deps);
}

function seaModule(): SeaAssets | undefined {
  try {
    // getBuiltinModule: Node >= 20.16; older Nodes cannot be a SEA we built anyway (Node 24)
    return process.getBuiltinModule?.('node:sea') as SeaAssets | undefined;
  } catch {
    return undefined;
  }
}

function homeOrUndefined(): string | undefined {
  try { return osHomedir(); } catch { return undefined; } // a uid with no passwd entry and no $HOME
}

export function nodeDeps(): LoaderDeps {
  const vars = process.config.variables as { arm_version?: string | number };
  return {
    platform: process.platform,
    arch: process.arch,
    armVersion: process.env.ARM_VERSION ?? (vars.arm_version === undefined ? undefined : String(vars.arm_version)),
    cacheDirs: cacheDirCandidates(process.env, homeOrUndefined()),
    sea: seaModule(),
    dlopen(path) {
      const mod = { exports: {} as unknown };
      process.dlopen(mod, path);
      return mod.exports;
    },
  };
}
