import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCsvDecoder } from '../../../agent/sources/decoders/csv.js';

const csv = createCsvDecoder({ type: 'csv', columns: ['id', '', 'temp', 'status'], units: { temp: 'Cel' } });

test('named columns decode, "" columns are skipped, cells are trimmed', () => {
  assert.equal(csv.decode('7, ignored , -4.25 ,OK\r'), {
    ok: true,
    values: [{ field: 'id', v: 7 }, { field: 'temp', v: -4.25, unit: 'Cel' }, { field: 'status', vs: 'OK' }],
  });
});

test('empty cells are skipped', () => {
  assert.equal(csv.decode('7,,,'), { ok: true, values: [{ field: 'id', v: 7 }] });
});

test('a wrong column count makes the line malformed', () => {
  assert.equal(csv.decode('7,x,21'), { ok: false, error: 'expected 4 columns, got 3' });
  assert.equal(csv.decode('7,x,21,OK,extra'), { ok: false, error: 'expected 4 columns, got 5' });
});

test('a custom delimiter splits on it and only on it', () => {
  const d = createCsvDecoder({ type: 'csv', columns: ['a', 'b'], delimiter: ';' });
  assert.equal(d.decode('1,5;2'), { ok: true, values: [{ field: 'a', vs: '1,5' }, { field: 'b', v: 2 }] });
  assert.equal(d.decode('1,5,2'), { ok: false, error: 'expected 2 columns, got 1' });
});

test('numbers parse strictly; anything else is a string', () => {
  const d = createCsvDecoder({ type: 'csv', columns: ['a', 'b', 'c'] });
  assert.equal(d.decode('1e3,21.5abc,true'), {
    ok: true,
    values: [{ field: 'a', v: 1000 }, { field: 'b', vs: '21.5abc' }, { field: 'c', vs: 'true' }],
  });
});

test('blank lines are ok with no values', () => {
  assert.equal(csv.decode(' \r'), { ok: true, values: [] });
});

test('a column name SenML cannot carry is a config error', () => {
  assert.throws(() => createCsvDecoder({ type: 'csv', columns: ['ok', 'air temp'] }, 'source w: decoder'),
    (e: Error & { code?: string }) => e.code === 'ERR_CONFIG' && /source w: decoder: columns\[1\]: column name "air temp"/.test(e.message));
});

test.run();
