// The source-type contract (issue 13), over every descriptor in the registry:
// its README sample passes `config check` and its factory; and for generated
// variants of the sample (each field given a wrong type, an out-of-range or
// troublesome value, removed, or joined by an unknown key) whenever `create`
// refuses, `check` refuses too: a config check calls ok never dies at start.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIssues, schemaJson, validateConfig } from '../agent/config/load.js';
import { createCounters } from '../agent/counters.js';
import { silentLogger } from '../agent/log.js';
import { SOURCE_TYPES } from '../agent/sources/registry.js';
import type { SourceDescriptor } from '../agent/sources/descriptor.js';
import { createManualClock } from '../hal/clock.js';
import { createSerialDoubleFactory } from '../hal/serial-double.js';
import { configWith, readmeSample, type Json } from './sources-samples.js';

type Path = (string | number)[];

// Values that break types and ranges, and values the semantic checks judge.
const POOL: unknown[] = [
  null, true, 'x', '', 'x'.repeat(300), -1, 0, 0.5, 1, 2, 3, 4, 15, 16, 247, 248, 65535, 65536, 1e12, {}, [],
  'bool', 'u16', 'f64', 'little', 'even', '\n', 'a b', '[', 'T=(?<t$x>\\d+)', '^(?<v>(a+)+)$', '^(?<v>(a|ab)*)$', '(\\d+)',
  { type: 'regex', pattern: 'T=(?<t$x>\\d+)' }, { type: 'regex', pattern: '^(?<v>(a+)+)$' }, { type: 'regex', pattern: '^(?<t>\\d+)$' },
  { type: 'csv', columns: ['a b'] }, { type: 'csv', columns: ['a', 'a'] }, { type: 'csv', columns: [''] }, { type: 'nmea' },
];

function paths(value: unknown, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...at, i])));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...at, k]));
  return out;
}

function edit(sample: Json, at: Path, change: (parent: Record<string | number, unknown>, key: string | number) => void): Json {
  const copy = structuredClone(sample);
  let parent: Record<string | number, unknown> = copy;
  for (const k of at.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  change(parent, at[at.length - 1]!);
  return copy;
}

/** Every variant: each value replaced by each pool value, removed, duplicated in its list; each object given an unknown key. */
function* variants(sample: Json): Generator<{ what: string; source: Json }> {
  for (const at of paths(sample)) {
    const where = at.join('.');
    if (at.length === 0) continue;
    for (const v of POOL) yield { what: `${where} = ${JSON.stringify(v)}`, source: edit(sample, at, (p, k) => { p[k] = structuredClone(v); }) };
    yield {
      what: `${where} removed`,
      source: edit(sample, at, (p, k) => { if (Array.isArray(p)) p.splice(Number(k), 1); else delete p[k]; }),
    };
    const last = at[at.length - 1];
    if (typeof last === 'number') yield { what: `${where} twice`, source: edit(sample, at, (p, k) => { (p as unknown as unknown[]).push(structuredClone(p[k])); }) };
  }
  for (const at of paths(sample)) {
    let target: unknown = sample;
    for (const k of at) target = (target as Record<string | number, unknown>)[k];
    if (typeof target === 'object' && target !== null && !Array.isArray(target)) {
      yield { what: `${at.join('.') || '(source)'}.bogus added`, source: at.length === 0 ? { ...sample, bogus: 1 } : edit(sample, at, (p, k) => { p[k] = { ...(p[k] as Json), bogus: 1 }; }) };
    }
  }
}

function creates(descriptor: SourceDescriptor, source: Json): true | string {
  const ctx = { serial: createSerialDoubleFactory(), clock: createManualClock(1_800_000_000_000), log: silentLogger, counters: createCounters() };
  try {
    descriptor.create(source as never, ctx);
    return true;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

for (const descriptor of SOURCE_TYPES as readonly SourceDescriptor[]) {
  test(`${descriptor.type}: the README sample passes check and create`, () => {
    const sample = readmeSample(descriptor.type);
    assert.is(sample['type'], descriptor.type);
    const r = validateConfig(configWith(sample));
    assert.ok(r.ok, r.ok ? '' : formatIssues(r.issues));
    assert.is(creates(descriptor, sample), true);
  });

  test(`${descriptor.type}: whenever create refuses a variant of the sample, check refuses it too`, () => {
    let tried = 0;
    let refused = 0;
    for (const { what, source } of variants(readmeSample(descriptor.type))) {
      tried++;
      const created = creates(descriptor, source);
      if (created === true) continue;
      refused++;
      const checked = validateConfig(configWith(source));
      assert.not.ok(checked.ok, `${descriptor.type}: ${what}: check says ok, create refuses: ${created}`);
    }
    assert.ok(tried > 200, `only ${tried} variants`);
    assert.ok(refused > 0, 'no variant was refused by create: the suite proves nothing');
  });
}

test('every source type has a distinct type name and its schema names it', () => {
  const names = SOURCE_TYPES.map((d) => d.type);
  assert.is(new Set(names).size, names.length);
  for (const d of SOURCE_TYPES) assert.is((d.schema.properties.type as { const?: unknown }).const, d.type);
});

test('config schema prints the register rule: type optional, bit 0-15, defaults from the schema', () => {
  const printed = JSON.parse(schemaJson()) as Json;
  const sources = ((printed['properties'] as Json)['sources'] as Json)['items'] as { anyOf: Json[] };
  const rtu = sources.anyOf.find((m) => ((m['properties'] as Json)['type'] as Json)['const'] === 'modbus-rtu') as Json;
  const device = (((rtu['properties'] as Json)['devices'] as Json)['items'] as Json);
  const register = (((device['properties'] as Json)['registers'] as Json)['items'] as Json);
  assert.not.ok((register['required'] as string[]).includes('type'), 'type may be omitted (FC 1/2)');
  const bit = (register['properties'] as Json)['bit'] as Json;
  assert.equal([bit['minimum'], bit['maximum']], [0, 15]);
  assert.match(String(((register['properties'] as Json)['type'] as Json)['description']), /non-zero/);
  assert.is(((rtu['properties'] as Json)['intervalMs'] as Json)['default'], 5000);
});

test.run();
