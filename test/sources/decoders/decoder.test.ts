import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DecoderConfig } from '../../../agent/sources/decoders/schema.js';
import { createDecoder, toReadings, type DecodeResult, type LineDecoder } from '../../../agent/sources/decoders/decoder.js';
import { prng } from '../../../agent/prng.js';

test('createDecoder picks the decoder by config type', () => {
  const cases: Array<[DecoderConfig, string, DecodeResult]> = [
    [{ type: 'kv', units: { t: 'Cel' } }, 't=1', { ok: true, values: [{ field: 't', v: 1, unit: 'Cel' }] }],
    [{ type: 'csv', columns: ['a', 'b'] }, '1,x', { ok: true, values: [{ field: 'a', v: 1 }, { field: 'b', vs: 'x' }] }],
    [{ type: 'regex', pattern: '^(?<n>\\d+)$' }, '7', { ok: true, values: [{ field: 'n', v: 7 }] }],
    [{ type: 'json' }, '{"a":true}', { ok: true, values: [{ field: 'a', vb: true }] }],
    [{ type: 'nmea' }, '$INMTW,17.9,C*1B', { ok: true, values: [{ field: 'water_temp', v: 17.9, unit: 'Cel' }] }],
  ];
  for (const [config, line, expected] of cases) assert.equal(createDecoder(config).decode(line), expected, config.type);
});

test('createDecoder throws a config error naming the source for an unusable pattern', () => {
  assert.throws(() => createDecoder({ type: 'regex', pattern: '[' }, 'boiler'),
    (e: Error & { code?: string }) => e.code === 'ERR_CONFIG' && e.message.startsWith('source boiler: decoder: pattern: expected a JavaScript regular expression'));
});

test('toReadings names each reading <source id>:<field> at the given time, with exactly the value and unit set', () => {
  const readings = toReadings('weather', 1700000000.25, [
    { field: 'lat', v: -45.5, unit: 'lat' },
    { field: 'mode', vs: 'auto' },
    { field: 'door', vb: false },
    { field: 'n', v: 0 },
  ]);
  assert.equal(readings, [
    { name: 'weather:lat', time: 1700000000.25, v: -45.5, unit: 'lat' },
    { name: 'weather:mode', time: 1700000000.25, vs: 'auto' },
    { name: 'weather:door', time: 1700000000.25, vb: false },
    { name: 'weather:n', time: 1700000000.25, v: 0 },
  ]);
  // no keys holding undefined (an encoder would otherwise emit them)
  assert.equal(readings.map((r) => Object.keys(r)), [['name', 'time', 'v', 'unit'], ['name', 'time', 'vs'], ['name', 'time', 'vb'], ['name', 'time', 'v']]);
  assert.equal(toReadings('x', 1, []), []);
});

// ── fuzz: no decoder throws, and every result keeps the DecodeResult invariants ──


const ALPHABET = '$!*,;=.:{}[]"\\-+eE0123456789ABCDEFGKMNPRSTVWX _\t\r\u0000\u00e9\u{1F600}';

function checksummed(body: string): string {
  let x = 0;
  for (let i = 0; i < body.length; i++) x ^= body.charCodeAt(i) & 0xff;
  return `$${body}*${x.toString(16).toUpperCase().padStart(2, '0')}`;
}

function mutate(rand: () => number, s: string): string {
  const pick = (chars: string) => chars[Math.floor(rand() * chars.length)] ?? '';
  const ops = 1 + Math.floor(rand() * 4);
  for (let k = 0; k < ops; k++) {
    const i = Math.floor(rand() * (s.length + 1));
    switch (Math.floor(rand() * 6)) {
      case 0: s = s.slice(0, i) + pick(ALPHABET) + s.slice(i + 1); break;
      case 1: s = s.slice(0, i) + pick(ALPHABET) + s.slice(i); break;
      case 2: s = s.slice(0, i) + s.slice(i + 1); break;
      case 3: s = s.slice(0, i); break;
      case 4: s = s + s.slice(i); break;
      default: s = s.slice(0, i) + String.fromCharCode(Math.floor(rand() * 0x800)) + s.slice(i); break;
    }
  }
  return s;
}

const FIELD = /^[A-Za-z0-9_.\-:/]+$/;

function checkResult(r: DecodeResult, line: string): 'ok' | 'values' | 'error' {
  if (!r.ok) {
    assert.type(r.error, 'string', line);
    assert.ok(r.error.length > 0, line);
    return 'error';
  }
  for (const d of r.values) {
    assert.ok(FIELD.test(d.field), `field ${JSON.stringify(d.field)} from ${JSON.stringify(line)}`);
    const set = [d.v, d.vs, d.vb].filter((x) => x !== undefined).length;
    assert.is(set, 1, line);
    if (d.v !== undefined) assert.ok(Number.isFinite(d.v), `${d.v} from ${JSON.stringify(line)}`);
  }
  return r.values.length > 0 ? 'values' : 'ok';
}

// real sentences of the decoded types, so mutations hit the field parsers
const nmeaSeeds = ['bundg_zeus_9.log', 'ublox-zed-f9p-nmea.log', 'tnt-revolution.log', 'humminbird-M37.log']
  .flatMap((f) => readFileSync(`/work/shared/data/nmea/${f}`, 'utf8').split('\n'))
  .filter((l) => /^\$..(GGA|RMC|MWV|MTW|XDR),/.test(l));

const FUZZ: Array<{ name: string; decoder: LineDecoder; seeds: string[] }> = [
  { name: 'kv', decoder: createDecoder({ type: 'kv', units: { temp: 'Cel' } }), seeds: ['temp=21.5 hum=40', 'a=1;b=true,c=x', 'k=-1e3'] },
  { name: 'csv', decoder: createDecoder({ type: 'csv', columns: ['a', '', 'b'], units: { a: 'V' } }), seeds: ['1,2,3', ' 4.5 ,x, y ', ',,'] },
  { name: 'regex', decoder: createDecoder({ type: 'regex', pattern: '^(?<a>[^,]*),(?<b>\\d+(?:\\.\\d+)?)?(?:,(?<c>.*))?$' }), seeds: ['x,1.5,z', 'a,,', ',7'] },
  { name: 'json', decoder: createDecoder({ type: 'json', units: { 'a.b': 'm' } }), seeds: ['{"a":{"b":1,"c":[1,{"d":2}]},"e":"x","f":false,"g":null}', '{"n":-1.5e-3}', '[]'] },
  { name: 'nmea', decoder: createDecoder({ type: 'nmea' }), seeds: nmeaSeeds },
];

for (const { name, decoder, seeds } of FUZZ) {
  test(`${name}: thousands of random and mutated lines never throw and keep the result invariants`, () => {
    const rand = prng(0x7a9 + name.length);
    const seen = { ok: 0, values: 0, error: 0 };
    for (let n = 0; n < 4000; n++) {
      let line: string;
      const kind = n % 4;
      if (kind === 0) {
        const len = Math.floor(rand() * 100);
        line = '';
        for (let i = 0; i < len; i++) line += ALPHABET[Math.floor(rand() * ALPHABET.length)]!;
      } else {
        line = mutate(rand, seeds[Math.floor(rand() * seeds.length)]!.replace(/\r$/, ''));
        // re-checksum half the mutated NMEA lines so the field parsers see damage too
        if (name === 'nmea' && kind === 2 && line.startsWith('$')) line = checksummed(line.slice(1).replace(/\*[^*]*$/, ''));
      }
      let r: DecodeResult;
      try {
        r = decoder.decode(line);
      } catch (err) {
        throw new Error(`${name} threw on ${JSON.stringify(line)}: ${String(err)}`);
      }
      seen[checkResult(r, line)]++;
    }
    // the fuzz reached both sides: lines that decode to values and lines that are rejected
    assert.ok(seen.values > 50, `values ${seen.values}`);
    assert.ok(seen.error > 50, `errors ${seen.error}`);
  });
}

test('json: deeply nested arrays and objects at the line-length cap neither throw nor overflow', () => {
  const json = createDecoder({ type: 'json' });
  for (const line of ['['.repeat(65536), '[' .repeat(30000) + ']'.repeat(30000), '{"a":'.repeat(13000) + '1' + '}'.repeat(13000)]) {
    const r = json.decode(line);
    assert.is(r.ok, false);
  }
});

test.run();
