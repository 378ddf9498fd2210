import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createJsonDecoder } from '../../../agent/sources/decoders/json.js';

const json = createJsonDecoder({ type: 'json', units: { temp: 'Cel', 'env.p': 'Pa' } });

test('numbers, booleans and strings decode; nested objects flatten with "."', () => {
  assert.equal(json.decode('{"temp":21.5,"ok":true,"mode":"auto","env":{"p":101325,"deep":{"x":-1}}}\r'), {
    ok: true,
    values: [
      { field: 'temp', v: 21.5, unit: 'Cel' },
      { field: 'ok', vb: true },
      { field: 'mode', vs: 'auto' },
      { field: 'env.p', v: 101325, unit: 'Pa' },
      { field: 'env.deep.x', v: -1 },
    ],
  });
});

test('arrays and nulls are skipped', () => {
  assert.equal(json.decode('{"a":[1,2],"b":null,"c":{"d":[]},"e":0}'), { ok: true, values: [{ field: 'e', v: 0 }] });
});

test('invalid JSON is malformed', () => {
  assert.equal(json.decode('{"temp":21.5'), { ok: false, error: 'invalid JSON' });
  assert.equal(json.decode('{temp:1}'), { ok: false, error: 'invalid JSON' });
});

test('a JSON value that is not an object is malformed', () => {
  for (const line of ['[1,2]', '42', '"x"', 'null', 'true']) {
    assert.equal(json.decode(line), { ok: false, error: 'not a JSON object' }, line);
  }
});

test('a key SenML cannot carry, or an empty key, makes the line malformed', () => {
  const r = json.decode('{"air temp":1}');
  assert.is(r.ok, false);
  if (!r.ok) assert.match(r.error, /invalid key "air temp"/);
  assert.equal(json.decode('{"a":{"":1}}'), { ok: false, error: 'empty key' });
});

test('__proto__ keys are plain fields and units never come from Object.prototype', () => {
  assert.equal(json.decode('{"__proto__":{"x":1},"constructor":2}'), {
    ok: true,
    values: [{ field: '__proto__.x', v: 1 }, { field: 'constructor', v: 2 }],
  });
});

test('nesting beyond the bound is malformed, not a stack overflow', () => {
  const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
  assert.equal(json.decode(deep), { ok: false, error: 'nested deeper than 32' });
});

test('blank lines are ok with no values', () => {
  assert.equal(json.decode('   '), { ok: true, values: [] });
});

test.run();
