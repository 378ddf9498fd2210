// Persisted OTA state and the accepted configs, under <stateDir>/ota/.
// Invariant: every file is replaced atomically (write tmp, fsync, rename, fsync
// dir), and state.json is written only after the config file it names is
// durable; so after a crash at any point state.json names a complete config
// (or version 0, the local file), never a half-written one.
//
//   <stateDir>/ota/state.json        {"v":1,"highest":N,"current":N,"good":G,"trial":bool,
//                                     "message":"<sha256 hex>","rolledBack":N?}
//     highest  anti-rollback floor: highest version ever accepted for apply
//     current  the version to run (0 = the local config file)
//     good     the last version that passed its health check (0 = local file)
//     trial    current has not passed its health check yet (a crash now = roll back)
//     message  SHA-256 of the config message that set `highest` (its redelivery is silent)
//     pendingAck  {"version","result","code"?,"reason"?}: the outcome for `message`, kept until
//              the broker PUBACKs its ack (a crash before that re-sends it at the next start)
//   <stateDir>/ota/config-<N>.json   {"v":1,"version":N,"dev":"*"|id,"signedBy":"<kid hex>",
//                                     "message":"<sha256 hex>","config":{...as signed...}}
//
// Apply order (runtime.ts): config-N.json durable -> state {current:N, trial:true}
// (the commit point) -> health check -> state {good:N, trial:false} or back to good.

import { join } from 'node:path';
import { errorCode, type FileSystem } from '../../hal/file.js';
import { replaceFile } from '../../hal/replace-file.js';

export interface PendingAck {
  version: number;
  result: 'accepted' | 'rolled-back';
  code?: string;
  reason?: string;
}

export interface OtaState {
  highest: number;
  current: number;
  good: number;
  trial: boolean;
  message?: string;
  rolledBack?: number;
  pendingAck?: PendingAck;
}

export interface StoredConfig {
  version: number;
  dev: string;
  signedBy: string;
  message: string;
  raw: Record<string, unknown>;
}

export interface OtaStore {
  readonly dir: string;
  /** The persisted state; a missing file is the initial state (local file, version 0). Never throws for bad content. */
  load(): Promise<{ state: OtaState; problems: string[] }>;
  saveState(state: OtaState): Promise<void>;
  writeConfig(c: StoredConfig): Promise<void>;
  /** Throws if missing or malformed. */
  readConfig(version: number): Promise<StoredConfig>;
  /** Removes config files whose version is not in `keep`, and leftover tmp files. */
  prune(keep: number[]): Promise<void>;
}

export const INITIAL_STATE: OtaState = { highest: 0, current: 0, good: 0, trial: false };

const STATE = 'state.json';
const CONFIG = /^config-(\d+)\.json$/;
const configName = (version: number): string => `config-${version}.json`;

const isVersion = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

function parseState(text: string): OtaState {
  const o: unknown = JSON.parse(text);
  if (typeof o !== 'object' || o === null) throw new Error('not an object');
  const s = o as Record<string, unknown>;
  if (s.v !== 1) throw new Error(`unknown state format ${String(s.v)}`);
  const { highest, current, good, trial, message, rolledBack, pendingAck } = s;
  if (!isVersion(highest) || !isVersion(current) || !isVersion(good) || typeof trial !== 'boolean') throw new Error('bad fields');
  if (current > highest || good > highest) throw new Error('current/good above highest');
  return {
    highest, current, good, trial,
    ...(typeof message === 'string' ? { message } : {}),
    ...(isVersion(rolledBack) ? { rolledBack } : {}),
    ...(parsePendingAck(pendingAck) ?? {}),
  };
}

function parsePendingAck(v: unknown): { pendingAck: PendingAck } | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const a = v as Record<string, unknown>;
  if (!isVersion(a.version) || (a.result !== 'accepted' && a.result !== 'rolled-back')) return undefined;
  return {
    pendingAck: {
      version: a.version, result: a.result,
      ...(typeof a.code === 'string' ? { code: a.code } : {}),
      ...(typeof a.reason === 'string' ? { reason: a.reason } : {}),
    },
  };
}

function parseStored(text: string, version: number): StoredConfig {
  const o: unknown = JSON.parse(text);
  if (typeof o !== 'object' || o === null) throw new Error('not an object');
  const s = o as Record<string, unknown>;
  if (s.v !== 1 || s.version !== version) throw new Error(`not config version ${version}`);
  const { dev, signedBy, message, config } = s;
  if (typeof dev !== 'string' || typeof signedBy !== 'string' || typeof message !== 'string') throw new Error('bad fields');
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new Error('"config" is not an object');
  return { version, dev, signedBy, message, raw: config as Record<string, unknown> };
}

export function createOtaStore(stateDir: string, deps: { fs: FileSystem }): OtaStore {
  const { fs } = deps;
  const dir = join(stateDir, 'ota');
  const enc = new TextEncoder();
  const dec = new TextDecoder('utf-8', { fatal: true });

  async function readText(path: string): Promise<string> {
    const h = await fs.open(path, 'read');
    try {
      return dec.decode(await h.read(0, await h.size()));
    } finally {
      await h.close();
    }
  }

  async function writeAtomic(name: string, text: string): Promise<void> {
    await fs.mkdir(dir);
    await replaceFile(fs, join(dir, name), enc.encode(text), { durable: true });
  }

  async function configVersionsOnDisk(): Promise<number[]> {
    let names: string[];
    try { names = await fs.readdir(dir); } catch { return []; }
    return names.map((n) => CONFIG.exec(n)).filter((m): m is RegExpExecArray => !!m).map((m) => Number(m[1]));
  }

  return {
    dir,
    async load() {
      let text: string;
      try {
        text = await readText(join(dir, STATE));
      } catch (err) {
        if (errorCode(err) === 'ENOENT') return { state: { ...INITIAL_STATE }, problems: [] };
        text = '';
      }
      try {
        return { state: parseState(text), problems: [] };
      } catch (err) {
        // Cannot happen with atomic writes short of disk damage. Run the local
        // file, but keep anti-rollback: no version already on disk is accepted again.
        const floor = Math.max(0, ...(await configVersionsOnDisk()));
        return {
          state: { ...INITIAL_STATE, highest: floor },
          problems: [`${join(dir, STATE)} is unreadable (${(err as Error).message}); running the local config, anti-rollback floor ${floor}`],
        };
      }
    },
    async saveState(state) {
      const body = {
        v: 1, highest: state.highest, current: state.current, good: state.good, trial: state.trial,
        ...(state.message !== undefined ? { message: state.message } : {}),
        ...(state.rolledBack !== undefined ? { rolledBack: state.rolledBack } : {}),
        ...(state.pendingAck !== undefined ? { pendingAck: state.pendingAck } : {}),
      };
      await writeAtomic(STATE, JSON.stringify(body) + '\n');
    },
    async writeConfig(c) {
      const body = { v: 1, version: c.version, dev: c.dev, signedBy: c.signedBy, message: c.message, config: c.raw };
      await writeAtomic(configName(c.version), JSON.stringify(body, null, 2) + '\n');
    },
    async readConfig(version) {
      return parseStored(await readText(join(dir, configName(version))), version);
    },
    async prune(keep) {
      let names: string[];
      try { names = await fs.readdir(dir); } catch { return; }
      let removed = false;
      for (const name of names) {
        const m = CONFIG.exec(name);
        const stale = name.endsWith('.tmp') || (m !== null && !keep.includes(Number(m[1])));
        if (!stale) continue;
        try { await fs.unlink(join(dir, name)); removed = true; } catch { /* gone already */ }
      }
      if (removed) await fs.syncDir(dir);
    },
  };
}
