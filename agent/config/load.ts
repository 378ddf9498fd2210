// Loads and validates the config. Invariant: a config is accepted only if it
// passes the compiled schema and the cross-field rules; all issues are reported
// at once, nothing is coerced, and defaults are filled into a copy, never the input.
// A source is judged by its type's own check (agent/sources/<type>/, the same
// code its factory refuses with), run on its well-formed part (prune.ts).

import { readFileSync, statSync } from 'node:fs';
import type { Static, TObject } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { sourceType, type SourceConfig } from '../sources/registry.js';
import { problemMessage, type ProblemKind } from '../sources/problem.js';
import {
  ConfigSchema, JournalSchema, UplinkSchema,
  type BatchConfig, type Config, type JournalConfig, type ReconnectConfig, type UplinkConfig,
} from './schema.js';
import { consoleClashes } from './console-port.js';
import { withDefaults } from './defaults.js';
import { expandDeviceId, type ReadText } from './device-id.js';
import { lineColumn, scanJson } from './json-scan.js';
import { prune } from './prune.js';
import { secretPathIssues } from './secret-paths.js';
import { uplinkRuleIssues } from './uplink-rules.js';
import { collectSchemaIssues, formatPath, isPlainObject, IssueCode, oneLine, type ConfigIssue, type PathSegment } from './errors.js';

export type { ConfigIssue } from './errors.js';
export { IssueCode } from './errors.js';
export { schemaJson } from './schema.js';

// ── resolved shapes: the schema types with every defaulted field present ──

type WithDefaults<T, K extends keyof T> = Omit<T, K> & Required<Pick<T, K>>;

/** clientId defaults to "tapwire-<device>". */
export type ResolvedUplink = WithDefaults<Omit<UplinkConfig, 'reconnect'>, 'protocolVersion' | 'clientId' | 'topicPrefix' | 'keepaliveS' | 'inflight'> & {
  reconnect: Required<ReconnectConfig>;
};

export interface ResolvedConfig extends Config {
  clock: NonNullable<Config['clock']>;
  uplink: ResolvedUplink;
  batch: Required<BatchConfig>;
  journal: Required<JournalConfig>;
  /** Defaults filled in; the source types' factories read them from the schema too. */
  sources: SourceConfig[];
}

export type LoadResult = { ok: true; config: ResolvedConfig; warnings: ConfigIssue[] } | { ok: false; issues: ConfigIssue[] };

// ── validation ─────────────────────────────────────────────────────────────

let compiled: TypeCheck<typeof ConfigSchema> | undefined;
const checker = (): TypeCheck<typeof ConfigSchema> => (compiled ??= TypeCompiler.Compile(ConfigSchema));

/**
 * Validates a parsed config: the device id template expanded (agent/config/device-id.ts),
 * then schema, then cross-field rules (all issues at once), then the secret-path
 * rule (agent/config/secret-paths.ts). `read` is for tests.
 */
export function validateConfig(input: unknown, read?: ReadText): LoadResult {
  try {
    let issues: ConfigIssue[] = [];
    const warnings: ConfigIssue[] = [];
    const expansion = isPlainObject(input) ? expandDeviceId(input['device'], read) : undefined;
    const value = expansion?.kind === 'expanded' ? { ...(input as Obj), device: expansion.device } : input;
    const schemaOk = checker().Check(value);
    if (!schemaOk) {
      collectSchemaIssues(ConfigSchema, value, [], issues);
      if (issues.length === 0) issues.push(internal('the schema check failed but no issue was found'));
    }
    if (isPlainObject(value)) crossFieldIssues(value, issues, warnings);
    if (expansion?.kind === 'failed') issues = [expansion.issue, ...issues.filter((i) => i.path !== 'device')];
    if (expansion?.kind === 'expanded') {
      issues = issues.map((i) => (i.path === 'device' ? { ...i, message: `${i.message} (expanded from ${JSON.stringify(expansion.template)})` } : i));
    }
    if (issues.length > 0) return { ok: false, issues: issues.map(oneLine) };
    const config = resolve(value as Config);
    // the file system's word on the paths it names: no secret of the device may be one
    const secrets = secretPathIssues(config);
    if (secrets.length > 0) return { ok: false, issues: secrets.map(oneLine) };
    return { ok: true, config, warnings: warnings.map(oneLine) };
  } catch (err) {
    // Never throw at the edge: a validator bug still becomes a readable issue.
    return { ok: false, issues: [internal(err instanceof Error ? err.message : String(err))] };
  }
}

function internal(what: string): ConfigIssue {
  return { path: '', code: IssueCode.INTERNAL, message: `internal error while validating (please report): ${what}` };
}

/** A deep copy with every schema default filled; the caller's object is never touched. */
function resolve(value: Config): ResolvedConfig {
  const filled = withDefaults(ConfigSchema, value) as ResolvedConfig;
  filled.uplink.clientId ??= `tapwire-${filled.device}`;
  // A small journal gets small segments, so dropping the oldest one when it
  // is full does not throw away most of it (see segmentBytes' description).
  if (value.journal?.segmentBytes === undefined) {
    filled.journal.segmentBytes = Math.min(filled.journal.segmentBytes, Math.max(4096, Math.floor(filled.journal.maxBytes / 4)));
  }
  return filled;
}

// ── cross-field rules (run on whatever parts are well-formed) ─────────────

type Obj = Record<string, unknown>;

const own = (o: Obj | undefined, key: string): unknown => (o && Object.hasOwn(o, key) ? o[key] : undefined);
const obj = (v: unknown): Obj | undefined => (isPlainObject(v) ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const int = (v: unknown): number | undefined => (Number.isInteger(v) ? (v as number) : undefined);

function crossFieldIssues(config: Obj, issues: ConfigIssue[], warnings: ConfigIssue[]): void {
  const shapeIssues = [...issues];
  const push = (segments: PathSegment[], code: string, message: string): void => {
    issues.push({ path: formatPath(segments), code, message });
  };

  const ids = new Map<string, number>();
  const ports = new Map<string, number>();
  list(own(config, 'sources')).forEach((raw, i) => {
    const source = obj(raw);
    const id = str(own(source, 'id'));
    if (id !== undefined) {
      const first = ids.get(id);
      if (first === undefined) ids.set(id, i);
      else push(['sources', i, 'id'], IssueCode.DUPLICATE, `duplicate source id ${JSON.stringify(id)} (also sources[${first}].id); ids name readings and must be unique`);
    }
    const portPath = str(own(obj(own(source, 'port')), 'path'));
    if (portPath !== undefined) {
      const first = ports.get(portPath);
      if (first === undefined) ports.set(portPath, i);
      else push(['sources', i, 'port', 'path'], IssueCode.DUPLICATE, `port ${JSON.stringify(portPath)} is already used by sources[${first}]; one port, one source`);
    }
    // the type's own checks, the same its factory refuses with (agent/sources/descriptor.ts),
    // on the well-formed part of the source: every problem at once
    const type = sourceType(own(source, 'type'));
    const part = type ? prune(type.schema, source) : undefined;
    if (!type || !part) return;
    const full = (path: PathSegment[]): PathSegment[] => ['sources', i, ...part.remap(path)];
    for (const p of type.check(part.value as Static<TObject>)) {
      const path = formatPath(full(p.path));
      // a schema issue at this place says it already
      if (shapeIssues.some((issue) => issue.path === path || issue.path.startsWith(`${path}.`) || issue.path.startsWith(`${path}[`))) continue;
      issues.push({ path, code: PROBLEM_CODES[p.kind], message: problemMessage(p, (also) => formatPath(full(also))) });
    }
  });

  uplinkIssues(obj(own(config, 'uplink')), push, warnings);

  // the console is never the device of a source, symlinks resolved (one rule: config/console-port.ts)
  const consolePath = str(own(obj(own(obj(own(config, 'console')), 'port')), 'path'));
  const sourcePorts = list(own(config, 'sources')).map((s) => str(own(obj(own(obj(s), 'port')), 'path')));
  for (const clash of consoleClashes(consolePath, sourcePorts)) push(['console', 'port', 'path'], IssueCode.DUPLICATE, clash.message);

  const journal = obj(own(config, 'journal'));
  const maxBytes = int(own(journal, 'maxBytes')) ?? (JournalSchema.properties.maxBytes.default as number);
  const segmentBytes = int(own(journal, 'segmentBytes'));
  if (segmentBytes !== undefined && segmentBytes > maxBytes) {
    push(['journal', 'segmentBytes'], IssueCode.RANGE, `expected at most journal.maxBytes (${maxBytes}), got ${segmentBytes}`);
  }
}

type Push = (segments: PathSegment[], code: string, message: string) => void;

const PROBLEM_CODES: Record<ProblemKind, string> = {
  semantic: IssueCode.SEMANTIC, duplicate: IssueCode.DUPLICATE, range: IssueCode.RANGE, required: IssueCode.REQUIRED,
};

function uplinkIssues(uplink: Obj | undefined, push: Push, warnings: ConfigIssue[]): void {
  if (!uplink) return;
  const has = (k: string): boolean => own(uplink, k) !== undefined;
  if (has('key') && !has('cert')) push(['uplink', 'cert'], IssueCode.SEMANTIC, 'missing: uplink.key is set, and a client certificate needs both cert and key');
  if (has('cert') && !has('key')) push(['uplink', 'key'], IssueCode.SEMANTIC, 'missing: uplink.cert is set, and a client certificate needs both cert and key');
  if (has('passwordFile') && !has('username')) push(['uplink', 'username'], IssueCode.SEMANTIC, 'missing: uplink.passwordFile is set, and a password needs a username');
  for (const i of uplinkRuleIssues(uplink)) push(i.at, i.code, i.message);

  const reconnect = obj(own(uplink, 'reconnect'));
  const defaults = UplinkSchema.properties.reconnect.properties;
  const explicitInitial = int(own(reconnect, 'initialMs'));
  const initialMs = explicitInitial ?? (defaults.initialMs.default as number);
  const maxMs = int(own(reconnect, 'maxMs')) ?? (defaults.maxMs.default as number);
  if (initialMs > maxMs && explicitInitial !== undefined) {
    push(['uplink', 'reconnect', 'initialMs'], IssueCode.RANGE, `expected at most uplink.reconnect.maxMs (${maxMs}), got ${initialMs}`);
  } else if (initialMs > maxMs) {
    push(['uplink', 'reconnect', 'maxMs'], IssueCode.RANGE, `expected at least uplink.reconnect.initialMs (${initialMs}, the default), got ${maxMs}`);
  }

  const url = str(own(uplink, 'url'));
  if (url?.startsWith('mqtt://')) {
    const credentials = has('passwordFile') ? '; the password is sent in clear text' : '';
    warnings.push({
      path: 'uplink.url',
      code: IssueCode.UNENCRYPTED,
      message: `mqtt:// is unencrypted: readings travel in clear text and the broker is not authenticated${credentials}; use mqtts:// outside tests and demos`,
    });
  }
}

// ── JSON text ──────────────────────────────────────────────────────────────

/** Parses JSON config text; syntax errors name line:column, duplicate keys are errors. */
export function parseConfigText(text: string, source?: string): LoadResult {
  // Editors on some systems write a byte order mark; it is not part of the JSON.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const scan = scanJson(body);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    // JSON.parse is the judge; the scanner only says where (Node 20's
    // messages carry no position).
    const message = scan.fault
      ? `invalid JSON at ${source ? `${source}:` : ''}${lineColumn(body, scan.fault.offset)}: ${scan.fault.message}`
      : `invalid JSON: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, issues: [oneLine({ path: '', code: IssueCode.JSON, message })] };
  }
  const duplicates: ConfigIssue[] = scan.duplicates.map((d) => ({
    path: formatPath(d.segments),
    code: IssueCode.DUPLICATE,
    message: `key written twice (again at ${lineColumn(body, d.offset)}); JSON keeps only the last, so remove one`,
  }));
  const result = validateConfig(value);
  if (duplicates.length === 0) return result;
  return { ok: false, issues: [...duplicates, ...(result.ok ? [] : result.issues)] };
}

const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Reads, parses and validates a config file. */
export function loadConfigFile(path: string): LoadResult {
  const fail = (why: string): LoadResult => ({ ok: false, issues: [oneLine({ path: '', code: IssueCode.FILE, message: `cannot read config file ${path}: ${why}` })] });
  let bytes: Buffer;
  try {
    const st = statSync(path);
    if (!st.isFile()) return fail('not a regular file');
    if (st.size > MAX_CONFIG_BYTES) return fail(`${st.size} bytes is more than a config can be (${MAX_CONFIG_BYTES})`);
    bytes = readFileSync(path);
  } catch (err) {
    return fail(fileError(err));
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail('not UTF-8 text');
  }
  return parseConfigText(text, path);
}

function fileError(err: unknown): string {
  const code = isPlainObject(err) || err instanceof Error ? (err as { code?: unknown }).code : undefined;
  switch (code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES': case 'EPERM': return 'permission denied (the agent user must be able to read it)';
    case 'ENOTDIR': return 'a parent of the path is not a directory';
    case 'EISDIR': return 'not a regular file';
    default: return err instanceof Error ? err.message : String(err);
  }
}

/** One line per issue: "<file>: <path>: <message> [<code>]" (empty parts left out). */
export function formatIssues(issues: ConfigIssue[], file?: string): string {
  return issues.map((i) => [file, i.path, `${i.message} [${i.code}]`].filter((p) => p !== undefined && p !== '').join(': ')).join('\n');
}
