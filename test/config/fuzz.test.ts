// Seeded fuzzing of the config validator: mutated configs and mangled JSON
// text never make it throw, and nothing that breaks the schema is accepted.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Kind, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { exampleConfig } from '../../agent/config/example.js';
import { ConfigSchema } from '../../agent/config/schema.js';
import { formatIssues, parseConfigText, validateConfig, type LoadResult } from '../../agent/config/load.js';
import { prng } from '../../agent/prng.js';

const schemaCheck = TypeCompiler.Compile(ConfigSchema);


/** Every source type, decoder and register feature, so mutations reach all of them. */
function fullConfig(): Record<string, unknown> {
  return {
    $schema: 'https://tapwire.dev/schema/config-v1.json',
    device: 'pump-station-7',
    stateDir: '/var/lib/tapwire',
    clock: 'auto',
    uplink: {
      url: 'mqtts://broker.example.net:8883', ca: '/etc/tapwire/ca.pem', cert: '/etc/tapwire/client.pem',
      key: '/etc/tapwire/client.key', topicPrefix: 'tapwire', keepaliveS: 60, inflight: 16,
      reconnect: { initialMs: 500, maxMs: 30_000 },
    },
    batch: { maxRecords: 100, maxAgeMs: 1000 },
    journal: { maxBytes: 67_108_864, segmentBytes: 4_194_304, fsyncIntervalMs: 1000, fsyncEveryRecords: 1000 },
    sources: [
      { id: 'weather', type: 'lines', port: { path: '/dev/ttyUSB0', baudRate: 4800 }, decoder: { type: 'nmea' } },
      { id: 'kv', type: 'lines', port: { path: '/dev/ttyUSB2', baudRate: 9600, dataBits: 7, stopBits: 2, parity: 'odd' },
        decoder: { type: 'kv', units: { temp: 'Cel' } }, delimiter: '\r\n', maxLineBytes: 256 },
      { id: 'csv', type: 'lines', port: { path: '/dev/ttyUSB3', baudRate: 9600 }, decoder: { type: 'csv', columns: ['t', '', 'h'], delimiter: ';' } },
      { id: 'rx', type: 'lines', port: { path: '/dev/ttyUSB4', baudRate: 9600 }, decoder: { type: 'regex', pattern: 'T=(?<temp>[0-9.]+)' } },
      { id: 'js', type: 'lines', port: { path: '/dev/ttyUSB5', baudRate: 115200 }, decoder: { type: 'json', units: { 'a.b': 'V' } } },
      { id: 'meter', type: 'modbus-rtu', port: { path: '/dev/ttyAMA0', baudRate: 9600, parity: 'even' }, intervalMs: 5000, maxGap: 4,
        devices: [{ unit: 1, timeoutMs: 200, retries: 1, backoffMaxMs: 60_000, registers: [
          { name: 'voltage', fc: 4, address: 0, type: 'f32', unit: 'V' },
          { name: 'alarm', fc: 1, address: 3, type: 'bool' },
          { name: 'energy', fc: 3, address: 100, type: 'u64', wordOrder: 'little', scale: 0.1, offset: -5 },
        ] }] },
      { id: 'bus-tap', type: 'modbus-sniff', port: { path: '/dev/ttyUSB1', baudRate: 19200 },
        devices: [{ unit: 2, registers: [{ name: 'flow', fc: 3, address: 10, type: 'i16' }] }] },
    ],
  };
}

/** Every property name in the schema: inserted keys are often known ones, in the wrong place. */
function schemaKeys(schema: TSchema, out = new Set<string>()): Set<string> {
  const props = schema['properties'] as Record<string, TSchema> | undefined;
  for (const [k, v] of Object.entries(props ?? {})) {
    out.add(k);
    schemaKeys(v, out);
  }
  for (const m of (schema['anyOf'] as TSchema[] | undefined) ?? []) schemaKeys(m, out);
  if (schema[Kind] === 'Array') schemaKeys(schema['items'] as TSchema, out);
  return out;
}

const KEYS = [...schemaKeys(ConfigSchema), 'password', 'baud', '__proto__', 'constructor', '', 'a/b', 'x'];
const STRINGS = ['', 'a/b', 'mqtt://h:1883', 'mqtts://h', 'http://x', 'mark', 'even', 'bool', 'f32', 'u64', 'lines', 'modbus-rtu',
  'modbus-sniff', 'csv', 'regex', '(?<x>a)', '(', 'nmea', 'big', 'little', ' ', '9600', '/dev/ttyUSB0', 'weather', 'meter', 'sync', '(?<a>\n', 'a\u2028b\rc'];
const NUMBERS = [0, -1, 1, 2, 3, 4, 5, 6, 16, 1.5, -0, 247, 248, 255, 65535, 65536, 4_000_001, 2 ** 31, 2 ** 53, 1e300, NaN, Infinity, -Infinity];

type Node = Record<string, unknown> | unknown[];

function randomValue(rand: () => number, depth = 0): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  switch (Math.floor(rand() * 9)) {
    case 0: return pick(NUMBERS);
    case 1: return pick(STRINGS);
    case 2: return rand() < 0.5;
    case 3: return null;
    case 4: return undefined;
    case 5: return depth > 2 ? [] : Array.from({ length: Math.floor(rand() * 3) }, () => randomValue(rand, depth + 1));
    case 6: return depth > 2 ? {} : Object.fromEntries(Array.from({ length: Math.floor(rand() * 3) }, () => [pick(KEYS), randomValue(rand, depth + 1)]));
    case 7: return Math.floor(rand() * 70_000) - 10;
    default: return BigInt(Math.floor(rand() * 10));
  }
}

/** All containers in a tree, with the slots in them. */
function slots(root: unknown): { node: Node; key: string | number }[] {
  const out: { node: Node; key: string | number }[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach((x, i) => { out.push({ node: v, key: i }); walk(x); });
    else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) { out.push({ node: v as Node, key: k }); walk(x); }
  };
  walk(root);
  return out;
}

function mutate(root: Record<string, unknown>, rand: () => number): void {
  const all = slots(root);
  if (all.length === 0) return;
  const { node, key } = all[Math.floor(rand() * all.length)]!;
  const at = node as Record<string | number, unknown>;
  const current = at[key];
  switch (Math.floor(rand() * 7)) {
    case 0: // delete
      if (Array.isArray(node)) node.splice(key as number, 1);
      else delete at[key];
      break;
    case 1: // swap for a random value (often another type)
      at[key] = randomValue(rand);
      break;
    case 2: { // insert a key next to this one (or into this object)
      const target = typeof current === 'object' && current !== null && !Array.isArray(current) && rand() < 0.5 ? current as Record<string, unknown> : node;
      if (!Array.isArray(target)) Object.defineProperty(target, KEYS[Math.floor(rand() * KEYS.length)]!, { value: randomValue(rand), enumerable: true, writable: true, configurable: true });
      else target.push(randomValue(rand));
      break;
    }
    case 3: // nudge numbers, rewrite strings
      if (typeof current === 'number') at[key] = rand() < 0.5 ? current + (rand() < 0.5 ? 1 : -1) : NUMBERS[Math.floor(rand() * NUMBERS.length)];
      else if (typeof current === 'string') at[key] = STRINGS[Math.floor(rand() * STRINGS.length)];
      else at[key] = randomValue(rand);
      break;
    case 4: // duplicate an array element (duplicate ids, names, ports)
      if (Array.isArray(node)) node.push(structuredClone(node[key as number]));
      break;
    case 5: // type confusion: number <-> string
      if (typeof current === 'number') at[key] = String(current);
      else if (typeof current === 'string' && current.trim() !== '' && Number.isFinite(Number(current))) at[key] = Number(current);
      else at[key] = [current];
      break;
    default: // swap with a value from elsewhere in the tree
      at[key] = structuredClone(all[Math.floor(rand() * all.length)]!.node);
  }
}

/**
 * Structural equality of own keys; unlike uvu's equal() it does not compare
 * `.constructor`, which a fuzzed object may own as a plain key.
 */
function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Parses "sources[1].port.path" / 'units["a b"]' back into segments. */
function parsePath(path: string): (string | number)[] | undefined {
  const re = /^([A-Za-z_$][\w$]*)|\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  const out: (string | number)[] = [];
  while (re.lastIndex < path.length) {
    const at = re.lastIndex;
    const m = re.exec(path);
    if (!m || (m[1] !== undefined && at !== 0)) return undefined;
    out.push(m[1] ?? m[2] ?? (m[3] !== undefined ? Number(m[3]) : (JSON.parse(m[4]!) as string)));
  }
  return out;
}

/** Every container on the way to the issue's path exists in the input (the last key may be the missing one). */
function pathLeadsIntoInput(path: string, root: unknown): boolean {
  const segments = parsePath(path);
  if (!segments) return false;
  let cur: unknown = root;
  for (const s of segments.slice(0, -1)) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, s)) return false;
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return segments.length === 0 || (typeof cur === 'object' && cur !== null);
}

function assertWellFormed(r: LoadResult, what: string): void {
  const issues = r.ok ? r.warnings : r.issues;
  for (const i of issues) {
    assert.type(i.path, 'string', what);
    assert.match(i.code, /^(ERR|WARN)_CONFIG_[A-Z_]+$/, what);
    assert.is.not(i.code, 'ERR_CONFIG_INTERNAL', `${what}: ${i.message}`);
    assert.ok(i.message.length > 0 && !/[\n\r\u2028\u2029]/.test(i.message + i.path), `${what}: one-line issue: ${JSON.stringify(i)}`);
  }
  if (!r.ok) assert.ok(r.issues.length > 0, `${what}: a rejection names at least one issue`);
}

test('3000 mutated configs: never a throw, never a schema violation accepted, never the input mutated', () => {
  const rand = prng(0x7a9e11);
  let accepted = 0;
  let rejected = 0;
  for (let n = 0; n < 3000; n++) {
    const base = n % 4 === 0 ? exampleConfig('/s', 'mqtt://h:1883', { weather: '/dev/pts/1' }) as Record<string, unknown> : fullConfig();
    const rounds = 1 + Math.floor(rand() * 3);
    for (let k = 0; k < rounds; k++) mutate(base, rand);
    const before = structuredClone(base);
    const what = `case ${n}`;
    const r = validateConfig(base);
    assert.ok(same(base, before), `${what}: input untouched`);
    assertWellFormed(r, what);
    for (const i of r.ok ? r.warnings : r.issues) assert.ok(pathLeadsIntoInput(i.path, base), `${what}: path ${i.path} leads into the input`);
    if (r.ok) {
      accepted++;
      assert.ok(schemaCheck.Check(base), `${what}: accepted input passes the compiled schema`);
      assert.ok(schemaCheck.Check(r.config), `${what}: resolved config passes the compiled schema`);
      const again = validateConfig(r.config);
      assert.ok(again.ok, `${what}: the resolved config re-validates\n${again.ok ? '' : formatIssues(again.issues)}`);
      assert.equal(again.ok && again.config, r.config, `${what}: resolving is idempotent`);
    } else {
      rejected++;
      // Anything the compiled schema refuses must be refused.
    }
    if (!schemaCheck.Check(base)) assert.not.ok(r.ok, `${what}: schema violation rejected`);
  }
  // The fuzzer explores both sides of the line, or it proves nothing.
  assert.ok(accepted > 100 && rejected > 1000, `accepted ${accepted}, rejected ${rejected}`);
});

test('random roots are rejected with an issue, not an exception', () => {
  const rand = prng(42);
  for (let n = 0; n < 300; n++) {
    const v = randomValue(rand);
    const r = validateConfig(v);
    assertWellFormed(r, `root ${String(v)}`);
    assert.not.ok(r.ok);
  }
});

const TOKENS = ['{', '}', '[', ']', ',', ':', '"device"', '"sources"', '"a"', '1', '-', '0.5', 'e5', 'true', 'fals', 'null', ' ', '\n', '\t',
  '"', '\\', "'", '//', '/*', '01', '"\\u12"', '"\\x"', '\u0001', '\uFEFF'];

function mangle(text: string, rand: () => number): string {
  let t = text;
  const edits = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < edits; k++) {
    const at = Math.floor(rand() * (t.length + 1));
    const op = Math.floor(rand() * 3);
    const token = TOKENS[Math.floor(rand() * TOKENS.length)]!;
    if (op === 0) t = t.slice(0, at) + t.slice(at + 1 + Math.floor(rand() * 3));
    else if (op === 1) t = t.slice(0, at) + token + t.slice(at);
    else t = t.slice(0, at) + token + t.slice(at + 1);
  }
  return t;
}

test('3000 mangled and random JSON texts: never a throw, every syntax error located at line:column', () => {
  const rand = prng(0xbadc0de);
  let syntaxErrors = 0;
  for (let n = 0; n < 3000; n++) {
    const base = fullConfig();
    if (rand() < 0.3) mutate(base, rand);
    const text = n % 5 === 4
      ? Array.from({ length: Math.floor(rand() * 12) }, () => TOKENS[Math.floor(rand() * TOKENS.length)]).join('')
      : mangle(JSON.stringify(base, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), rand() < 0.5 ? 2 : 0), rand);
    const what = `text ${n}: ${JSON.stringify(text.slice(0, 200))}`;
    let parses = true;
    try {
      JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text);
    } catch {
      parses = false;
    }
    const r = parseConfigText(text, 'f.json');
    assertWellFormed(r, what);
    const jsonIssues = r.ok ? [] : r.issues.filter((i) => i.code === 'ERR_CONFIG_JSON');
    if (parses) {
      assert.is(jsonIssues.length, 0, `${what}: valid JSON is not a syntax error`);
    } else {
      syntaxErrors++;
      assert.is(jsonIssues.length, 1, what);
      const m = /^invalid JSON at f\.json:(\d+):(\d+): /.exec(jsonIssues[0]!.message);
      assert.ok(m, `${what}: located: ${jsonIssues[0]!.message}`);
      const lines = text.split('\n');
      const line = Number(m![1]);
      assert.ok(line >= 1 && line <= lines.length, `${what}: line in range`);
      assert.ok(Number(m![2]) >= 1 && Number(m![2]) <= lines[line - 1]!.length + 1, `${what}: column in range`);
    }
    if (r.ok) assert.ok(schemaCheck.Check(JSON.parse(text.replace(/^\uFEFF/, ''))), `${what}: accepted text passes the compiled schema`);
  }
  assert.ok(syntaxErrors > 1000, `only ${syntaxErrors} syntax errors: the mangler is too gentle`);
});

test('deeply nested JSON is rejected without overflowing the stack', () => {
  const deep = '['.repeat(200_000) + ']'.repeat(200_000);
  const r = parseConfigText(deep);
  assert.not.ok(r.ok);
  const broken = parseConfigText('{"a":' + '['.repeat(200_000));
  assert.ok(!broken.ok && /^invalid JSON at 1:\d+: /.test(broken.issues[0]!.message));
});

test.run();
