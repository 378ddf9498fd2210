// Turns TypeBox validation errors into ConfigIssues a person can act on: a JS
// path (`sources[1].port.path`), a stable code, "expected X, got Y". Unions are
// dispatched on their `type` instead of dumping every member's mismatch.

import { Kind, type TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { IDENTIFIER_PATTERN, TOPIC_PREFIX_PATTERN, URL_PATTERN } from '../schema-parts.js';
import { escapeText } from '../escape.js';

export interface ConfigIssue {
  /** JS-style path to the offending value, e.g. "sources[1].port.path"; "" for the root. */
  path: string;
  /** Stable code, see IssueCode. */
  code: string;
  /** Says what was expected and what was found; one line. */
  message: string;
}

export const IssueCode = {
  REQUIRED: 'ERR_CONFIG_REQUIRED',
  TYPE: 'ERR_CONFIG_TYPE',
  UNKNOWN_KEY: 'ERR_CONFIG_UNKNOWN_KEY',
  ENUM: 'ERR_CONFIG_ENUM',
  RANGE: 'ERR_CONFIG_RANGE',
  PATTERN: 'ERR_CONFIG_PATTERN',
  DUPLICATE: 'ERR_CONFIG_DUPLICATE',
  JSON: 'ERR_CONFIG_JSON',
  FILE: 'ERR_CONFIG_FILE',
  SEMANTIC: 'ERR_CONFIG_SEMANTIC',
  /** A ${...} in "device" that cannot be expanded on this machine (agent/config/device-id.ts). */
  DEVICE_TEMPLATE: 'ERR_CONFIG_DEVICE_TEMPLATE',
  /** A file the config names is a secret of the device (see secret-paths.ts). */
  SECRET_PATH: 'ERR_CONFIG_SECRET_PATH',
  /** A bug in the validator itself, never the user's fault; reported instead of thrown. */
  INTERNAL: 'ERR_CONFIG_INTERNAL',
  /** Warnings: the config runs, but an operator should know. */
  UNENCRYPTED: 'WARN_CONFIG_UNENCRYPTED',
} as const;

export type PathSegment = string | number;

/** Escapes line breaks and other control characters (a regex error may quote a pattern with a newline): one issue, one line. */
export function oneLine(issue: ConfigIssue): ConfigIssue {
  return { path: escapeText(issue.path), code: issue.code, message: escapeText(issue.message) };
}

export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Validates `value` against `schema` and appends one issue per distinct mistake. */
export function collectSchemaIssues(schema: TSchema, value: unknown, base: readonly PathSegment[], out: ConfigIssue[]): void {
  // A missing required key also yields a type error for `undefined` at the
  // same path: the "missing" issue says it all.
  const missing = new Set<string>();
  for (const e of Value.Errors(schema, value)) {
    const segments = [...base, ...pointerToSegments(e.path, value)];
    const path = formatPath(segments);
    if (missing.has(path)) continue;
    if (e.type === ValueErrorType.ObjectRequiredProperty) {
      missing.add(path);
      out.push({ path, code: IssueCode.REQUIRED, message: `missing required key; expected ${expectedWithDescription(e.schema)}` });
    } else if (e.type === ValueErrorType.ObjectAdditionalProperties) {
      const key = segments[segments.length - 1];
      out.push({ path, code: IssueCode.UNKNOWN_KEY, message: unknownKeyMessage(String(key), e.schema) });
    } else if (e.type === ValueErrorType.Union) {
      unionIssues(e.schema, e.value, segments, out);
    } else {
      out.push(leafIssue(e, path));
    }
  }
}

function unionIssues(schema: TSchema, value: unknown, segments: PathSegment[], out: ConfigIssue[]): void {
  const path = formatPath(segments);
  const members = unionMembers(schema);
  const literals = literalValues(members);
  if (literals) {
    out.push(literalIssue(schema, literals, value, path));
    return;
  }
  const tags = discriminators(members);
  if (!tags) {
    out.push({ path, code: IssueCode.TYPE, message: `expected ${expected(schema)}, got ${show(value)}` });
    return;
  }
  const allowed = orList(tags.map((t) => JSON.stringify(t.tag)));
  if (!isPlainObject(value)) {
    out.push({ path, code: IssueCode.TYPE, message: `expected an object with "type" ${allowed}, got ${show(value)}` });
    return;
  }
  const typePath = formatPath([...segments, 'type']);
  if (!Object.hasOwn(value, 'type') || value['type'] === undefined) {
    out.push({ path: typePath, code: IssueCode.REQUIRED, message: `missing required key; expected ${allowed}` });
    return;
  }
  const member = tags.find((t) => t.tag === value['type']);
  if (!member) {
    const found = value['type'];
    const hint = typeof found === 'string' ? didYouMean(found, tags.map((t) => String(t.tag))) : undefined;
    out.push({
      path: typePath,
      code: typeof found === 'string' ? IssueCode.ENUM : IssueCode.TYPE,
      message: `expected ${allowed}, got ${showTyped(found)}${hint ? ` (did you mean "${hint}"?)` : ''}`,
    });
    return;
  }
  collectSchemaIssues(member.schema, value, segments, out);
}

function literalIssue(schema: TSchema, literals: Literal[], value: unknown, path: string): ConfigIssue {
  const sameType = literals.some((l) => typeof l === typeof value);
  const code = sameType ? IssueCode.ENUM : IssueCode.TYPE;
  const found = sameType ? show(value) : showTyped(value);
  // a schema fragment may say in words what it expects, and why a wrong number is wrong
  const [words, why]: unknown[] = [schema['x-expected'], schema['x-why-number']];
  if (typeof words === 'string') {
    return { path, code, message: `expected ${words}, got ${found}${typeof value === 'number' && typeof why === 'string' ? ` (${why})` : ''}` };
  }
  const hint = typeof value === 'string' ? didYouMean(value, literals.filter((l): l is string => typeof l === 'string')) : undefined;
  return {
    path,
    code,
    message: `expected ${orList(literals.map((l) => JSON.stringify(l)))}, got ${found}${hint ? ` (did you mean "${hint}"?)` : ''}`,
  };
}

function leafIssue(e: ValueError, path: string): ConfigIssue {
  const message = `expected ${expected(e.schema)}, got ${show(e.value)}`;
  switch (e.type) {
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.IntegerExclusiveMinimum:
    case ValueErrorType.IntegerExclusiveMaximum:
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.NumberExclusiveMinimum:
    case ValueErrorType.NumberExclusiveMaximum:
    case ValueErrorType.StringMinLength:
    case ValueErrorType.StringMaxLength:
    case ValueErrorType.ArrayMinItems:
    case ValueErrorType.ArrayMaxItems:
      return { path, code: IssueCode.RANGE, message };
    case ValueErrorType.StringPattern:
      return { path, code: IssueCode.PATTERN, message };
    case ValueErrorType.Literal:
      return { path, code: typeof e.value === typeof e.schema['const'] ? IssueCode.ENUM : IssueCode.TYPE, message };
    default: {
      const typed = `expected ${expected(e.schema)}, got ${showTyped(e.value)}`;
      // A number written as a string is the classic mistake; say so.
      const quoted = typeof e.value === 'string' && isNumberish(e.schema) && e.value.trim() !== '' && Number.isFinite(Number(e.value));
      return { path, code: IssueCode.TYPE, message: quoted ? `${typed} (write numbers without quotes)` : typed };
    }
  }
}

// ── what was expected ──────────────────────────────────────────────────────

type Literal = string | number | boolean;

const PATTERN_WORDS: Record<string, string> = {
  [IDENTIFIER_PATTERN]: 'a name of 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit (it goes into MQTT topics)',
  [URL_PATTERN]: 'a broker URL like "mqtts://host:8883" (or "mqtt://" for tests)',
  [TOPIC_PREFIX_PATTERN]: 'a topic prefix without "+", "#" or spaces',
};

function kind(schema: TSchema): string {
  const k: unknown = schema[Kind];
  return typeof k === 'string' ? k : '';
}

function range(schema: TSchema): string {
  const min = schema['minimum'];
  const max = schema['maximum'];
  if (typeof min === 'number' && typeof max === 'number') return ` from ${min} to ${max}`;
  if (typeof min === 'number') return ` >= ${min}`;
  if (typeof max === 'number') return ` <= ${max}`;
  return '';
}

function isNumberish(schema: TSchema): boolean {
  const k = kind(schema);
  if (k === 'Integer' || k === 'Number') return true;
  const members = unionMembers(schema);
  return members.length > 0 && members.every((m) => typeof m['const'] === 'number');
}

/** A noun phrase: "an integer from 1 to 247", "one of \"big\" or \"little\"". */
export function expected(schema: TSchema): string {
  switch (kind(schema)) {
    case 'Integer':
      return `an integer${range(schema)}`;
    case 'Number':
      return `a number${range(schema)}`;
    case 'Boolean':
      return 'true or false';
    case 'String': {
      const pattern = schema['pattern'];
      if (typeof pattern === 'string') return PATTERN_WORDS[pattern] ?? `a string matching /${pattern}/`;
      const min = schema['minLength'];
      const max = schema['maxLength'];
      if (min === 1 && max === 1) return 'a single character';
      if (typeof max === 'number') return `a string of at most ${max} characters`;
      return typeof min === 'number' && min > 0 ? 'a non-empty string' : 'a string';
    }
    case 'Literal':
      return JSON.stringify(schema['const']);
    case 'Record':
      return 'an object of names to strings';
    case 'Array': {
      const min = schema['minItems'];
      const items = schema['items'] as TSchema | undefined;
      const what = items && kind(items) === 'Object' ? ' of objects' : '';
      return typeof min === 'number' && min > 0 ? `a list${what} with at least ${min} item${min === 1 ? '' : 's'}` : `a list${what}`;
    }
    case 'Object': {
      const required = schema['required'];
      return Array.isArray(required) && required.length > 0 ? `an object with ${required.join(', ')}` : 'an object';
    }
    case 'Union': {
      const members = unionMembers(schema);
      const literals = literalValues(members);
      if (literals) return orList(literals.map((l) => JSON.stringify(l)));
      const tags = discriminators(members);
      if (tags) return `an object with "type" ${orList(tags.map((t) => JSON.stringify(t.tag)))}`;
      return members.map(expected).join(' or ');
    }
    default:
      return 'a valid value';
  }
}

function expectedWithDescription(schema: TSchema): string {
  const description = schema['description'];
  return typeof description === 'string' ? `${expected(schema)} (${description})` : expected(schema);
}

function orList(items: string[]): string {
  if (items.length <= 1) return items.join('');
  if (items.length === 2) return `${items[0]} or ${items[1]}`;
  return `one of ${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function unionMembers(schema: TSchema): TSchema[] {
  const anyOf: unknown = schema['anyOf'];
  return Array.isArray(anyOf) ? (anyOf as TSchema[]) : [];
}

function literalValues(members: TSchema[]): Literal[] | undefined {
  if (members.length === 0) return undefined;
  const out: Literal[] = [];
  for (const m of members) {
    const c: unknown = m['const'];
    if (kind(m) !== 'Literal' || !(typeof c === 'string' || typeof c === 'number' || typeof c === 'boolean')) return undefined;
    out.push(c);
  }
  return out;
}

interface Tagged {
  tag: Literal;
  schema: TSchema;
}

/** Members of a union of objects told apart by a literal `type`, or undefined. */
function discriminators(members: TSchema[]): Tagged[] | undefined {
  if (members.length === 0) return undefined;
  const out: Tagged[] = [];
  for (const m of members) {
    const props = objectProperties(m);
    const t = props?.['type'];
    const tag: unknown = t?.['const'];
    if (!t || kind(t) !== 'Literal' || !(typeof tag === 'string' || typeof tag === 'number' || typeof tag === 'boolean')) return undefined;
    out.push({ tag, schema: m });
  }
  return out;
}

function objectProperties(schema: TSchema): Record<string, TSchema> | undefined {
  if (kind(schema) !== 'Object') return undefined;
  const props: unknown = schema['properties'];
  return isPlainObject(props) ? (props as Record<string, TSchema>) : undefined;
}

// ── what was found ─────────────────────────────────────────────────────────

export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  switch (typeof value) {
    case 'string': {
      const s = value.length > 40 ? `${value.slice(0, 40)}...` : value;
      return `string ${JSON.stringify(s)}`;
    }
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'object':
      return 'an object';
    default:
      return `a ${typeof value}`;
  }
}

/** Like show(), naming the JS type of numbers and booleans too: for type mismatches. */
function showTyped(value: unknown): string {
  return typeof value === 'number' || typeof value === 'boolean' ? `${typeof value} ${String(value)}` : show(value);
}

// ── unknown keys ───────────────────────────────────────────────────────────

const SECRET_KEYS = new Set(['password', 'pass', 'passwd', 'pwd', 'secret', 'token']);

function unknownKeyMessage(key: string, parent: TSchema): string {
  if (SECRET_KEYS.has(key.toLowerCase())) return 'unknown key (secrets are never inline: use passwordFile (mode 0600))';
  const own = Object.keys(objectProperties(parent) ?? {});
  const nested: string[] = [];
  for (const k of own) {
    const child = objectProperties(parent)?.[k];
    if (!child) continue;
    const members = kind(child) === 'Union' ? unionMembers(child) : [child];
    for (const m of members) for (const n of Object.keys(objectProperties(m) ?? {})) if (n !== 'type') nested.push(`${k}.${n}`);
  }
  const hint = didYouMean(key, [...own, ...new Set(nested)]);
  if (hint) return `unknown key (did you mean ${hint}?)`;
  return `unknown key; allowed here: ${own.join(', ')}`;
}

/**
 * The closest candidate to `word`, comparing against the last segment of
 * dotted candidates: same word in another place, a prefix ("baud" for
 * "baudRate"), or a small edit distance. Own keys win ties over nested ones.
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: { candidate: string; score: number } | undefined;
  for (const candidate of candidates) {
    const leaf = (candidate.split('.').pop() ?? candidate).toLowerCase();
    let score: number;
    if (leaf === w) score = 0;
    else if (w.length >= 3 && (leaf.startsWith(w) || w.startsWith(leaf))) score = 1;
    else {
      if (Math.min(w.length, leaf.length) < 3) continue;
      const d = editDistance(w, leaf);
      if (d > Math.floor(Math.max(w.length, leaf.length) / 3)) continue;
      score = 1 + d;
    }
    score += candidate.includes('.') ? 0.5 : 0;
    if (!best || score < best.score) best = { candidate, score };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8) return Infinity;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? Infinity;
}

// ── helpers ────────────────────────────────────────────────────────────────

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** "/sources/1/port" -> ["sources", 1, "port"], deciding indices by walking `root`. */
function pointerToSegments(pointer: string, root: unknown): PathSegment[] {
  if (pointer === '') return [];
  const out: PathSegment[] = [];
  let cur: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur) && /^\d+$/.test(key)) {
      out.push(Number(key));
      cur = cur[Number(key)];
    } else {
      out.push(key);
      cur = isPlainObject(cur) && Object.hasOwn(cur, key) ? cur[key] : undefined;
    }
  }
  return out;
}
