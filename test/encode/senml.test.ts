// agent/encode/senml: integer labels, bn/bt in the first record, t relative
// and omitted when 0, exact resolution back to names and times.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Reading } from '../../agent/reading.js';
import { decodeCbor, encodeCbor } from '../../agent/encode/cbor.js';
import { resolveSenml, senmlRecords, SENML } from '../../agent/encode/senml.js';

const T0 = 1_700_000_000.123;

function weather(n: number): Reading[] {
  const fields: Array<[string, number, string]> = [
    ['weather:temp', 21.5, 'Cel'], ['weather:pressure', 1013.25, 'hPa'], ['weather:hum', 40, '%RH'], ['weather:wind', 3.7, 'm/s'],
  ];
  return Array.from({ length: n }, (_, i) => {
    const [name, v, unit] = fields[i % fields.length]!;
    return { name, v: v + i / 100, unit, time: Math.round((T0 + i / n) * 1000) / 1000 };
  });
}

function roundTrip(device: string, readings: Reading[], withDevice = true): ReturnType<typeof resolveSenml> {
  return resolveSenml(decodeCbor(encodeCbor(senmlRecords(device, readings))), withDevice ? device : undefined);
}

test('the first record carries bn and bt, with SenML CBOR integer labels', () => {
  const recs = senmlRecords('pump-7', [
    { name: 'weather:temp', time: T0, v: 21.5, unit: 'Cel' },
    { name: 'door:open', time: T0 + 0.5, vb: true },
    { name: 'gps:fix', time: T0, vs: 'none' },
  ]) as Array<Map<number, unknown>>;
  assert.equal([...recs[0]!.entries()], [[-2, 'urn:dev:tapwire:pump-7:'], [-3, T0], [0, 'weather:temp'], [1, 'Cel'], [2, 21.5]]);
  assert.equal([...recs[1]!.entries()], [[0, 'door:open'], [4, true], [6, 0.5]]);
  assert.equal([...recs[2]!.entries()], [[0, 'gps:fix'], [3, 'none']], 't is omitted when 0, u when there is no unit');
  assert.equal(SENML, { bn: -2, bt: -3, bu: -4, n: 0, u: 1, v: 2, vs: 3, vb: 4, t: 6 });
});

test('the encoded first record has the exact label bytes (bn -2 = 0x21, bt -3 = 0x22)', () => {
  const bytes = encodeCbor(senmlRecords('d', [{ name: 's:x', time: 1_700_000_000, v: 1 }]));
  // 81 array(1)  a4 map(4)  21 64 "urn:dev:tapwire:d:"... -> check the head bytes and labels
  const h = Buffer.from(bytes).toString('hex');
  assert.ok(h.startsWith('81a4' + '21' + '72' + Buffer.from('urn:dev:tapwire:d:').toString('hex') + '22' + '1a6553f100'), h);
  assert.ok(h.endsWith('00' + '63733a78' + '0201'), h);
});

test('names, times and values resolve back exactly (ms-resolution times over one second)', () => {
  const readings = weather(100);
  const back = roundTrip('pump-7', readings);
  assert.is(back.length, 100);
  for (let i = 0; i < 100; i++) {
    const r = readings[i]!, b = back[i]!;
    assert.is(b.name, r.name);
    assert.is(b.fullName, `urn:dev:tapwire:pump-7:${r.name}`);
    assert.ok(Object.is(b.time, r.time), `time ${b.time} != ${r.time}`);
    assert.ok(Object.is(b.v, r.v), `value ${b.v} != ${r.v}`);
    assert.is(b.unit, r.unit);
  }
});

test('string and boolean values and missing units resolve back', () => {
  const back = roundTrip('d1', [
    { name: 'a:s', time: 10, vs: 'héllo' },
    { name: 'a:b', time: 11, vb: false },
    { name: 'a:nan', time: 12, v: NaN },
  ]);
  assert.equal(back.map((r) => [r.name, r.time, r.vs, r.vb, r.unit]), [
    ['a:s', 10, 'héllo', undefined, undefined],
    ['a:b', 11, undefined, false, undefined],
    ['a:nan', 12, undefined, undefined, undefined],
  ]);
  assert.ok(Number.isNaN(back[2]!.v), 'a NaN reading stays NaN');
});

test('a clock step of decades inside one batch restarts bt and still resolves exactly', () => {
  const readings: Reading[] = [
    { name: 's:x', time: 1_700_000_000.123, v: 1 },
    { name: 's:x', time: 100.123, v: 2 }, // clock stepped back to near the epoch
    { name: 's:x', time: 100.5, v: 3 },
  ];
  // 100.123 - 1700000000.123 is not exact in float64: bt + t would miss
  assert.not.ok(1_700_000_000.123 + (100.123 - 1_700_000_000.123) === 100.123);
  const recs = senmlRecords('d', readings) as Array<Map<number, unknown>>;
  assert.is(recs[1]!.get(SENML.bt), 100.123, 'second record re-bases');
  assert.is(recs[1]!.has(SENML.t), false);
  assert.is(recs[2]!.has(SENML.bt), false, 'third record is relative to the new base');
  const back = roundTrip('d', readings);
  assert.equal(back.map((r) => r.time), readings.map((r) => r.time));
});

test('without a device, name is taken relative to any urn:dev:tapwire:<dev>: base name', () => {
  const back = roundTrip('other-dev', [{ name: 'meter:voltage', time: 5, v: 230 }], false);
  assert.is(back[0]!.name, 'meter:voltage');
  assert.is(back[0]!.fullName, 'urn:dev:tapwire:other-dev:meter:voltage');
});

test('with a device, a name outside its base name is refused', () => {
  const recs = decodeCbor(encodeCbor(senmlRecords('dev-a', [{ name: 's:x', time: 5, v: 1 }])));
  assert.throws(() => resolveSenml(recs, 'dev-b'), /not under urn:dev:tapwire:dev-b:/);
});

test('foreign SenML with bu and later bn/bt resolves per RFC 8428', () => {
  const recs = [
    new Map<number, unknown>([[SENML.bn, 'urn:dev:tapwire:x:'], [SENML.bt, 1000], [SENML.bu, 'V'], [SENML.n, 'a'], [SENML.v, 1]]),
    new Map<number, unknown>([[SENML.n, 'b'], [SENML.u, 'A'], [SENML.v, 2], [SENML.t, -1.5]]),
    new Map<number, unknown>([[SENML.bt, 2000], [SENML.n, 'c'], [SENML.v, 3]]),
  ];
  const back = resolveSenml(recs, 'x');
  assert.equal(back.map((r) => [r.name, r.time, r.unit]), [['a', 1000, 'V'], ['b', 998.5, 'A'], ['c', 2000, 'V']]);
});

test('malformed records are refused with a message naming the record and field', () => {
  const base = (extra: Array<[number | string, unknown]>): unknown[] => [new Map<unknown, unknown>([[SENML.bn, 'urn:dev:tapwire:x:'], [SENML.n, 'a'], ...extra])];
  const cases: Array<[unknown, RegExp]> = [
    [new Map(), /expected an array/],
    [[{ 0: 'a', 2: 1 }], /senml\[0\]: expected a map/],
    [base([[SENML.v, 1], ['n', 'b']]), /senml\[0\]: label "n" is not an integer label/],
    [base([[SENML.v, 1], [5, 10]]), /senml\[0\]: unknown label 5/],
    [base([]), /exactly one of v, vs, vb \(got 0\)/],
    [base([[SENML.v, 1], [SENML.vb, true]]), /exactly one of v, vs, vb \(got 2\)/],
    [base([[SENML.v, '1']]), /v must be a number/],
    [base([[SENML.vs, 1]]), /vs must be a string/],
    [base([[SENML.vb, 1]]), /vb must be a boolean/],
    [base([[SENML.v, 1], [SENML.t, 'now']]), /t must be a finite number/],
    [base([[SENML.v, 1], [SENML.bt, NaN]]), /bt must be a finite number/],
    [base([[SENML.v, 1], [SENML.u, 7]]), /u must be a string/],
    [[new Map<number, unknown>([[SENML.v, 1]])], /no name/],
  ];
  for (const [recs, re] of cases) {
    try {
      resolveSenml(recs, 'x');
      assert.unreachable(`should refuse ${re}`);
    } catch (err) {
      assert.match((err as Error).message, re);
      assert.is((err as { code?: string }).code, 'ERR_SENML_INVALID');
    }
  }
});

test('a reading without a value or with a wrongly typed value is refused at encoding', () => {
  assert.throws(() => senmlRecords('d', [{ name: 's:x', time: 1 }]), /has no value/);
  assert.throws(() => senmlRecords('d', [{ name: 's:x', time: 1, v: '3' as unknown as number }]), /v must be a number/);
});

test.run();
