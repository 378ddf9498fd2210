import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createKvDecoder } from '../../../agent/sources/decoders/kv.js';

const kv = createKvDecoder({ type: 'kv', units: { temp: 'Cel', hum: '%RH' } });

test('pairs split by spaces, commas and semicolons decode to typed values with configured units', () => {
  assert.equal(kv.decode('temp=21.5 hum=40,door=true;state=open  fan=false'), {
    ok: true,
    values: [
      { field: 'temp', v: 21.5, unit: 'Cel' },
      { field: 'hum', v: 40, unit: '%RH' },
      { field: 'door', vb: true },
      { field: 'state', vs: 'open' },
      { field: 'fan', vb: false },
    ],
  });
});

test('numbers parse strictly: signs and exponents are numbers, trailing junk makes a string', () => {
  const r = kv.decode('a=-3 b=1e3 c=+.5 d=21.5abc e=0x10 f=Infinity g=NaN h=1e999');
  assert.equal(r, {
    ok: true,
    values: [
      { field: 'a', v: -3 }, { field: 'b', v: 1000 }, { field: 'c', v: 0.5 },
      { field: 'd', vs: '21.5abc' }, { field: 'e', vs: '0x10' }, { field: 'f', vs: 'Infinity' },
      { field: 'g', vs: 'NaN' }, { field: 'h', vs: '1e999' },
    ],
  });
});

test('a trailing CR is stripped, an empty value is skipped, a value may contain "="', () => {
  assert.equal(kv.decode('temp=20 note= eq=a=b\r'), {
    ok: true,
    values: [{ field: 'temp', v: 20, unit: 'Cel' }, { field: 'eq', vs: 'a=b' }],
  });
});

test('blank and whitespace-only lines are ok with no values', () => {
  assert.equal(kv.decode(''), { ok: true, values: [] });
  assert.equal(kv.decode('  \t \r'), { ok: true, values: [] });
});

test('a token without "=" makes the line malformed', () => {
  const r = kv.decode('temp=21 garbage hum=3');
  assert.is(r.ok, false);
  if (!r.ok) assert.match(r.error, /without '='.*garbage/);
});

test('an empty key makes the line malformed', () => {
  assert.equal(kv.decode('temp=21 =5'), { ok: false, error: 'empty key' });
});

test('a key SenML cannot carry makes the line malformed', () => {
  const r = kv.decode('temp=21 t\u00e9mp=5');
  assert.is(r.ok, false);
  if (!r.ok) assert.match(r.error, /invalid key/);
});

test('units apply only to numbers and never come from Object.prototype', () => {
  const d = createKvDecoder({ type: 'kv', units: { temp: 'Cel' } });
  assert.equal(d.decode('temp=ERR constructor=1 toString=2'), {
    ok: true,
    values: [{ field: 'temp', vs: 'ERR' }, { field: 'constructor', v: 1 }, { field: 'toString', v: 2 }],
  });
});

test.run();
