// agent/encode/senml: integer labels, bn set again where the source changes
// and bt where the time changes (RFC 8428 §4.1), exact resolution back to
// names and times.

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

test('bn is set where the source changes, bt where the time changes, with SenML CBOR integer labels', () => {
  const recs = senmlRecords('pump-7', [
    { name: 'weather:temp', time: T0, v: 21.5, unit: 'Cel' },
    { name: 'weather:hum', time: T0, v: 40, unit: '%RH' },
    { name: 'door:open', time: T0 + 0.5, vb: true },
    { name: 'gps:fix', time: T0 + 0.5, vs: 'none' },
    { name: 'gps:sats', time: T0, v: 7 },
  ]) as Array<Map<number, unknown>>;
  assert.equal([...recs[0]!.entries()], [[-2, 'urn:dev:tapwire:pump-7:weather:'], [-3, T0], [0, 'temp'], [1, 'Cel'], [2, 21.5]]);
  assert.equal([...recs[1]!.entries()], [[0, 'hum'], [1, '%RH'], [2, 40]], 'same source, same time: neither is repeated');
  assert.equal([...recs[2]!.entries()], [[-2, 'urn:dev:tapwire:pump-7:door:'], [-3, T0 + 0.5], [0, 'open'], [4, true]]);
  assert.equal([...recs[3]!.entries()], [[-2, 'urn:dev:tapwire:pump-7:gps:'], [0, 'fix'], [3, 'none']], 'u is omitted when there is no unit');
  assert.equal([...recs[4]!.entries()], [[-3, T0], [0, 'sats'], [2, 7]], 'an earlier time again is a new bt, absolute');
  assert.ok(recs.every((r) => !r.has(SENML.t)), 'no record carries t');
  assert.equal(SENML, { bn: -2, bt: -3, bu: -4, n: 0, u: 1, v: 2, vs: 3, vb: 4, t: 6 });
});

test('the encoded first record has the exact label bytes (bn -2 = 0x21, bt -3 = 0x22)', () => {
  const bytes = encodeCbor(senmlRecords('d', [{ name: 's:x', time: 1_700_000_000, v: 1 }]));
  const h = Buffer.from(bytes).toString('hex');
  // 81 array(1)  a4 map(4)  21 "urn:dev:tapwire:d:s:"  22 1a6553f100  00 "x"  02 01
  assert.is(h, '81a4' + '21' + '74' + Buffer.from('urn:dev:tapwire:d:s:').toString('hex') + '22' + '1a6553f100' + '00' + '6178' + '0201');
});

test('a scan of one source at one time costs its bn and bt once: each further reading is n, u and v only', () => {
  const scan: Reading[] = Array.from({ length: 13 }, (_, i) => ({ name: `plc:m1_r${i}`, time: T0, v: i * 100, unit: 'V' }));
  const one = encodeCbor(senmlRecords('pump-7', scan.slice(0, 1))).length;
  const all = encodeCbor(senmlRecords('pump-7', scan)).length;
  const bare = scan.slice(1).reduce((n, r) => n + encodeCbor(new Map<number, unknown>([[SENML.n, r.name.slice(4)], [SENML.u, r.unit], [SENML.v, r.v]])).length, 0);
  assert.is(all - one, bare, 'each further reading is exactly {n, u, v}');
  assert.equal(roundTrip('pump-7', scan).map((r) => [r.name, r.time, r.v]), scan.map((r) => [r.name, r.time, r.v]));
});

test('names without a source part, and sources that share a prefix, resolve exactly', () => {
  const readings: Reading[] = [
    { name: 'bare', time: 1, v: 1 },
    { name: 'ab:x', time: 1, v: 2 },
    { name: 'a:x', time: 1, v: 3 },
    { name: 'ab:y', time: 1, v: 4 },
    { name: 'ab:c:d', time: 1, v: 5 },
    { name: 'ab:', time: 1, v: 6 },
  ];
  const recs = senmlRecords('d', readings) as Array<Map<number, unknown>>;
  assert.equal(recs.map((r) => r.get(SENML.bn)), ['urn:dev:tapwire:d:', 'urn:dev:tapwire:d:ab:', 'urn:dev:tapwire:d:a:', 'urn:dev:tapwire:d:ab:', undefined, undefined]);
  assert.equal(recs.map((r) => r.get(SENML.n)), ['bare', 'x', 'x', 'y', 'c:d', '']);
  assert.equal(roundTrip('d', readings).map((r) => r.name), readings.map((r) => r.name));
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

test('times far apart (a clock step of decades) each get their own bt and resolve exactly', () => {
  const readings: Reading[] = [
    { name: 's:x', time: 1_700_000_000.123, v: 1 },
    { name: 's:x', time: 100.123, v: 2 }, // clock stepped back to near the epoch
    { name: 's:x', time: 100.123, v: 3 },
    { name: 's:x', time: -0, v: 4 },
    { name: 's:x', time: 0, v: 5 },
  ];
  const recs = senmlRecords('d', readings) as Array<Map<number, unknown>>;
  assert.equal(recs.map((r) => r.get(SENML.bt)), [1_700_000_000.123, 100.123, undefined, -0, 0]);
  const back = roundTrip('d', readings);
  back.forEach((b, i) => assert.ok(Object.is(b.time, readings[i]!.time), `time of #${i}: ${b.time}`));
});

test('packs that change bn and bt mid-pack (and use t) resolve per RFC 8428 §4.1', () => {
  const recs = [
    new Map<number, unknown>([[SENML.bn, 'urn:dev:tapwire:x:a:'], [SENML.bt, 1000], [SENML.n, 'p'], [SENML.v, 1]]),
    new Map<number, unknown>([[SENML.n, 'q'], [SENML.v, 2], [SENML.t, 0.5]]),
    new Map<number, unknown>([[SENML.bn, 'urn:dev:tapwire:x:b:'], [SENML.n, 'p'], [SENML.v, 3]]),
    new Map<number, unknown>([[SENML.bt, 2000], [SENML.n, 'q'], [SENML.v, 4], [SENML.t, -1]]),
    new Map<number, unknown>([[SENML.bn, 'urn:dev:tapwire:x:'], [SENML.bt, 3000], [SENML.n, 'c:r'], [SENML.v, 5]]),
  ];
  assert.equal(resolveSenml(recs, 'x').map((r) => [r.name, r.time, r.v]), [
    ['a:p', 1000, 1], ['a:q', 1000.5, 2], ['b:p', 1000, 3], ['b:q', 1999, 4], ['c:r', 3000, 5],
  ]);
  // a bn set mid-pack is held to the device's base name like the first one
  const foreign = [...recs, new Map<number, unknown>([[SENML.bn, 'urn:dev:tapwire:y:'], [SENML.n, 'z'], [SENML.v, 6]])];
  assert.throws(() => resolveSenml(foreign, 'x'), /senml\[5\]: name "urn:dev:tapwire:y:z" is not under urn:dev:tapwire:x:/);
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
