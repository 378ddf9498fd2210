// Loads and validates the config. Invariant: a config is accepted only if it
// passes the compiled schema and the cross-field rules; all issues are reported
// at once, nothing is coerced, and defaults are filled into a copy, never the input.

import { readFileSync, statSync } from 'node:fs';
import { Kind, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import {
  ConfigSchema, JournalSchema, UplinkSchema,
  type BatchConfig, type Config, type CsvDecoderConfig, type DecoderConfig, type JournalConfig,
  type LinesSourceConfig, type ModbusDeviceConfig, type ModbusRtuSourceConfig, type ModbusSniffSourceConfig,
  type MasterPortConfig, type PortConfig, type ReconnectConfig, type RegisterConfig, type SniffDeviceConfig, type UplinkConfig,
} from './schema.js';
import { consoleClashes } from './console-port.js';
import { expandDeviceId, type ReadText } from './device-id.js';
import { secretPathIssues } from './secret-paths.js';
import { uplinkRuleIssues } from './uplink-rules.js';
import { collectSchemaIssues, formatPath, isPlainObject, IssueCode, oneLine, show, type ConfigIssue, type PathSegment } from './errors.js';

export type { ConfigIssue } from './errors.js';
export { IssueCode } from './errors.js';
export { schemaJson } from './schema.js';

// ── resolved shapes: the schema types with every defaulted field present ──

type WithDefaults<T, K extends keyof T> = Omit<T, K> & Required<Pick<T, K>>;

export type ResolvedPort = Required<PortConfig>;
export type ResolvedRegister = WithDefaults<RegisterConfig, 'wordOrder' | 'scale' | 'offset'>;
export type ResolvedModbusDevice = WithDefaults<Omit<ModbusDeviceConfig, 'registers'>, 'timeoutMs' | 'retries' | 'backoffMaxMs'> & {
  registers: ResolvedRegister[];
};
export type ResolvedSniffDevice = Omit<SniffDeviceConfig, 'registers'> & { registers: ResolvedRegister[] };
export type ResolvedDecoder = Exclude<DecoderConfig, { type: 'csv' }> | WithDefaults<CsvDecoderConfig, 'delimiter'>;
export type ResolvedLinesSource = WithDefaults<Omit<LinesSourceConfig, 'port' | 'decoder'>, 'delimiter' | 'maxLineBytes'> & {
  port: ResolvedPort;
  decoder: ResolvedDecoder;
};
export type ResolvedModbusRtuSource = WithDefaults<Omit<ModbusRtuSourceConfig, 'port' | 'devices'>, 'intervalMs' | 'maxGap'> & {
  port: Required<MasterPortConfig>;
  devices: ResolvedModbusDevice[];
};
export type ResolvedModbusSniffSource = WithDefaults<Omit<ModbusSniffSourceConfig, 'port' | 'devices'>, 'responseWindowMs'> & {
  port: ResolvedPort;
  devices: ResolvedSniffDevice[];
};
export type ResolvedSource = ResolvedLinesSource | ResolvedModbusRtuSource | ResolvedModbusSniffSource;
/** clientId defaults to "tapwire-<device>". */
export type ResolvedUplink = WithDefaults<Omit<UplinkConfig, 'reconnect'>, 'protocolVersion' | 'clientId' | 'topicPrefix' | 'keepaliveS' | 'inflight'> & {
  reconnect: Required<ReconnectConfig>;
};

export interface ResolvedConfig extends Config {
  clock: NonNullable<Config['clock']>;
  uplink: ResolvedUplink;
  batch: Required<BatchConfig>;
  journal: Required<JournalConfig>;
  sources: ResolvedSource[];
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

/**
 * Copies a schema-valid value, adding each absent property's schema default
 * (objects defaulting to {} get their own defaults in turn). Not
 * Value.Default: its clone drops own "__proto__" keys (a units map may have
 * any name), and copying with Object.fromEntries keeps them.
 */
function withDefaults(schema: TSchema, value: unknown): unknown {
  const kind: unknown = schema[Kind];
  if (kind === 'Union') {
    const member = (schema['anyOf'] as TSchema[]).find((m) => Value.Check(m, value));
    return member ? withDefaults(member, value) : value;
  }
  if (kind === 'Array' && Array.isArray(value)) return value.map((v: unknown) => withDefaults(schema['items'] as TSchema, v));
  if ((kind !== 'Object' && kind !== 'Record') || !isPlainObject(value)) return value;
  const out: Obj = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
  if (kind === 'Object') {
    for (const [key, prop] of Object.entries(schema['properties'] as Record<string, TSchema>)) {
      const present = Object.hasOwn(out, key);
      if (!present && !Object.hasOwn(prop, 'default')) continue;
      out[key] = withDefaults(prop, present ? out[key] : structuredClone(prop['default']));
    }
  }
  return out;
}

// ── cross-field rules (run on whatever parts are well-formed) ─────────────

type Obj = Record<string, unknown>;

const own = (o: Obj | undefined, key: string): unknown => (o && Object.hasOwn(o, key) ? o[key] : undefined);
const obj = (v: unknown): Obj | undefined => (isPlainObject(v) ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const int = (v: unknown): number | undefined => (Number.isInteger(v) ? (v as number) : undefined);

const WORDS: Record<string, number> = { bool: 1, u16: 1, i16: 1, u32: 2, i32: 2, f32: 2, u64: 4, i64: 4, f64: 4 };
const NUMERIC_TYPES = 'u16, i16, u32, i32, f32, u64, i64 or f64';
const FC_NAMES: Record<number, string> = { 1: 'coils', 2: 'discrete inputs', 3: 'holding registers', 4: 'input registers' };

function crossFieldIssues(config: Obj, issues: ConfigIssue[], warnings: ConfigIssue[]): void {
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
    const type = own(source, 'type');
    if (type === 'lines') decoderIssues(obj(own(source, 'decoder')), ['sources', i, 'decoder'], push);
    if (type === 'modbus-rtu' || type === 'modbus-sniff') modbusIssues(source, ['sources', i], push);
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

function decoderIssues(decoder: Obj | undefined, at: PathSegment[], push: Push): void {
  const type = own(decoder, 'type');
  if (type === 'regex') {
    const pattern = str(own(decoder, 'pattern'));
    if (pattern === undefined || pattern === '') return;
    try {
      new RegExp(pattern);
    } catch (err) {
      push([...at, 'pattern'], IssueCode.SEMANTIC, `expected a JavaScript regular expression, got ${show(pattern)}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    // An alternative that matches "" makes exec() return a match whose
    // `groups` exists exactly when the pattern has named groups.
    const groups = new RegExp(`(?:${pattern})|`).exec('')?.groups;
    if (!groups) push([...at, 'pattern'], IssueCode.SEMANTIC, `expected at least one named group like (?<temp>[0-9.]+), got ${show(pattern)}: each named group is a field`);
  }
  if (type === 'csv') {
    const columns = own(decoder, 'columns');
    if (!Array.isArray(columns) || !columns.every((c) => typeof c === 'string')) return;
    if (columns.length > 0 && columns.every((c) => c === '')) {
      push([...at, 'columns'], IssueCode.SEMANTIC, 'expected at least one non-empty column name, got only "" (which skips a column)');
    }
    const seen = new Set<string>();
    columns.forEach((c: string, k) => {
      if (c !== '' && seen.has(c)) push([...at, 'columns', k], IssueCode.DUPLICATE, `duplicate column name ${JSON.stringify(c)}; each column is a separate field`);
      seen.add(c);
    });
  }
}

function modbusIssues(source: Obj | undefined, at: PathSegment[], push: Push): void {
  const names = new Map<string, string>();
  const units = new Map<number, number>();
  list(own(source, 'devices')).forEach((rawDevice, d) => {
    const device = obj(rawDevice);
    const unit = int(own(device, 'unit'));
    if (unit !== undefined) {
      const first = units.get(unit);
      if (first === undefined) units.set(unit, d);
      else push([...at, 'devices', d, 'unit'], IssueCode.DUPLICATE, `unit ${unit} is already listed at ${formatPath([...at, 'devices', first])}; put all its registers there`);
    }
    list(own(device, 'registers')).forEach((rawRegister, r) => {
      const register = obj(rawRegister);
      const here: PathSegment[] = [...at, 'devices', d, 'registers', r];
      const name = str(own(register, 'name'));
      if (name !== undefined) {
        const first = names.get(name);
        if (first === undefined) names.set(name, formatPath([...here, 'name']));
        else push([...here, 'name'], IssueCode.DUPLICATE, `duplicate register name ${JSON.stringify(name)} in this source (also ${first}); reading names must be unique`);
      }
      const fc = own(register, 'fc');
      const type = str(own(register, 'type'));
      const words = type === undefined ? undefined : WORDS[type];
      if (typeof fc === 'number' && FC_NAMES[fc] !== undefined && type !== undefined && words !== undefined) {
        if ((fc === 1 || fc === 2) && type !== 'bool') {
          push([...here, 'type'], IssueCode.SEMANTIC, `expected "bool" for fc ${fc} (${FC_NAMES[fc]} are single bits), got ${JSON.stringify(type)}; numeric types need fc 3 or 4`);
        } else if ((fc === 3 || fc === 4) && type === 'bool') {
          push([...here, 'type'], IssueCode.SEMANTIC, `expected ${NUMERIC_TYPES} for fc ${fc} (${FC_NAMES[fc]}), got "bool"; bool needs fc 1 (coils) or 2 (discrete inputs)`);
        }
      }
      const address = int(own(register, 'address'));
      if (address !== undefined && address >= 0 && address <= 65535 && words !== undefined && address + words - 1 > 65535) {
        push([...here, 'address'], IssueCode.RANGE, `expected at most ${65536 - words} for a ${type} (${words} registers wide, the last address is 65535), got ${address}`);
      }
    });
  });
}

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

function lineColumn(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text.charCodeAt(k) === 10) {
      line++;
      lineStart = k + 1;
    }
  }
  return `${line}:${offset - lineStart + 1}`;
}

function charName(c: string): string {
  return c >= ' ' && c <= '~' ? JSON.stringify(c) : `character U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

interface JsonScan {
  fault?: { offset: number; message: string };
  duplicates: { segments: PathSegment[]; offset: number }[];
}

type Frame = { kind: 'object'; keys: Set<string>; key: string } | { kind: 'array'; index: number };

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * An RFC 8259 syntax scanner (iterative: nesting depth cannot overflow the
 * stack) that finds where JSON.parse would fail and which keys are repeated.
 */
function scanJson(text: string): JsonScan {
  const n = text.length;
  const duplicates: JsonScan['duplicates'] = [];
  const stack: Frame[] = [];
  let i = 0;

  const fault = (message: string, offset = i): JsonScan => ({ fault: { offset, message }, duplicates });
  const skipWs = (): void => {
    for (let c = text.charCodeAt(i); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = text.charCodeAt(++i));
  };
  const found = (): string => {
    if (i >= n) return 'the end of the text';
    const c = text.charAt(i);
    if (c === "'") return `${charName(c)} (JSON strings and keys need double quotes)`;
    if (c === '/' || c === '#') return `${charName(c)} (JSON has no comments)`;
    return charName(c);
  };
  /** Scans a string starting at text[i] === '"'; returns an error message or undefined. */
  const scanString = (): string | undefined => {
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c === 0x5c) {
        const e = text.charAt(i + 1);
        if (e !== '' && '"\\/bfnrt'.includes(e)) i += 2;
        else if (e === 'u' && /^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else return e === '' ? 'unterminated string' : `invalid escape in a string: "\\" followed by ${charName(e)}`;
        continue;
      }
      if (c < 0x20) return c === 0x0a ? 'line break inside a string (close the quote, or write \\n)' : 'control character inside a string (escape it)';
      i++;
    }
    return 'unterminated string (missing closing ")';
  };
  const scanKey = (frame: Frame & { kind: 'object' }): JsonScan | undefined => {
    skipWs();
    if (text.charAt(i) !== '"') {
      return fault(text.charAt(i) === '}' ? 'expected a key, found "}" (JSON allows no trailing comma)' : `expected a key in double quotes, found ${found()}`);
    }
    const start = i;
    const err = scanString();
    if (err) return fault(err);
    const key = JSON.parse(text.slice(start, i)) as string;
    if (frame.keys.has(key)) {
      const segments = stack.slice(0, -1).map((f) => (f.kind === 'object' ? f.key : f.index));
      duplicates.push({ segments: [...segments, key], offset: start });
    }
    frame.keys.add(key);
    frame.key = key;
    skipWs();
    if (text.charAt(i) !== ':') return fault(`expected ":" after the key ${JSON.stringify(key)}, found ${found()}`);
    i++;
    return undefined;
  };

  let expectValue = true;
  for (;;) {
    skipWs();
    if (expectValue) {
      if (i >= n) return fault(text.trim() === '' ? 'the text is empty; expected a JSON object' : 'unexpected end of the text; expected a value');
      const c = text.charAt(i);
      if (c === '{') {
        i++;
        skipWs();
        if (text.charAt(i) === '}') {
          i++;
          expectValue = false;
          continue;
        }
        const frame: Frame = { kind: 'object', keys: new Set(), key: '' };
        stack.push(frame);
        const bad = scanKey(frame);
        if (bad) return bad;
      } else if (c === '[') {
        i++;
        skipWs();
        if (text.charAt(i) === ']') {
          i++;
          expectValue = false;
          continue;
        }
        stack.push({ kind: 'array', index: 0 });
      } else if (c === '"') {
        const start = i;
        const err = scanString();
        if (err) return fault(err, err.startsWith('unterminated') ? start : i);
        expectValue = false;
      } else if (c === '-' || (c >= '0' && c <= '9')) {
        NUMBER.lastIndex = i;
        const m = NUMBER.exec(text);
        if (!m) return fault(`invalid number, found ${found()}`);
        i += m[0].length;
        expectValue = false;
      } else if (text.startsWith('true', i) || text.startsWith('null', i)) {
        i += 4;
        expectValue = false;
      } else if (text.startsWith('false', i)) {
        i += 5;
        expectValue = false;
      } else if (c === ']' || c === '}') {
        return fault(`expected a value, found ${found()} (JSON allows no trailing comma)`);
      } else {
        return fault(`expected a value, found ${found()}`);
      }
    } else {
      const top = stack[stack.length - 1];
      if (!top) return i < n ? fault(`unexpected ${found()} after the end of the JSON value`) : { duplicates };
      const close = top.kind === 'object' ? '}' : ']';
      if (i >= n) return fault(`unexpected end of the text; expected "," or "${close}"`);
      const c = text.charAt(i);
      if (c === ',') {
        i++;
        if (top.kind === 'object') {
          const bad = scanKey(top);
          if (bad) return bad;
        } else {
          top.index++;
        }
        expectValue = true;
      } else if (c === close) {
        i++;
        stack.pop();
      } else {
        return fault(`expected "," or "${close}", found ${found()}`);
      }
    }
  }
}
