// A bad config never bricks the device: the local config file that last
// started the agent is kept in the state dir, and when the file is later
// found invalid (a typo during an edit) or cannot run here (its preflight
// fails: a certificate path that does not exist), the agent runs the last
// good one and says so loudly instead of staying down.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../../hal/atomic-file.js';
import { loadConfigFile, type ConfigIssue, type LoadResult, type ResolvedConfig } from './load.js';

const FILE = 'local-config.last-good.json';
/** Where state lives when the broken file does not even say (the packaged default). */
const DEFAULT_STATE_DIR = '/var/lib/tapwire';

function lastGoodPath(stateDir: string): string {
  return join(stateDir, FILE);
}

/** Keeps a copy of the config file that just started the agent (only when it changed). */
export function saveLastGood(configPath: string, stateDir: string): void {
  const text = readFileSync(configPath);
  const target = lastGoodPath(stateDir);
  if (existsSync(target) && readFileSync(target).equals(text)) return;
  writeFileAtomic(target, text, 0o600);
  fsyncDir(stateDir);
}

export type LocalConfig =
  | { ok: true; config: ResolvedConfig; warnings: ConfigIssue[]; fallback?: { path: string; issues: ConfigIssue[] } }
  /** `invalid`: the file's content; `cannot-run`: its preflight (what it needs of this system). */
  | { ok: false; issues: ConfigIssue[]; failed: 'invalid' | 'cannot-run' };

/** What a config needs of the system to run (preflight); none: it may start. */
export type RunCheck = (config: ResolvedConfig) => ConfigIssue[];

/**
 * The config file, or — when it is invalid or fails `canRun` — the last good
 * copy from its state dir, if that one is valid and passes `canRun`.
 */
export function loadLocalConfig(configPath: string, canRun: RunCheck = () => []): LocalConfig {
  const result = checked(loadConfigFile(configPath), canRun);
  if (result.ok) return result;
  const path = lastGoodPath(stateDirOf(configPath) ?? DEFAULT_STATE_DIR);
  if (!existsSync(path)) return result;
  const saved = checked(loadConfigFile(path), canRun);
  if (!saved.ok) return result;
  return { ...saved, fallback: { path, issues: result.issues } };
}

/** A loaded config that must also pass `canRun`. */
function checked(result: LoadResult, canRun: RunCheck): LocalConfig {
  if (!result.ok) return { ok: false, issues: result.issues, failed: 'invalid' };
  const issues = canRun(result.config);
  return issues.length > 0 ? { ok: false, issues, failed: 'cannot-run' } : result;
}

/** The stateDir a (possibly invalid) config file names, if it parses that far. */
function stateDirOf(configPath: string): string | undefined {
  try {
    const raw = JSON.parse(readFileSync(configPath, 'utf8')) as unknown;
    if (typeof raw === 'object' && raw !== null && 'stateDir' in raw && typeof raw.stateDir === 'string' && raw.stateDir) return raw.stateDir;
  } catch { /* unreadable or not JSON */ }
  return undefined;
}
