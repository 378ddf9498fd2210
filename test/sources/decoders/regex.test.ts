import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRegexDecoder } from '../../../agent/sources/decoders/regex.js';

const re = createRegexDecoder({
  type: 'regex',
  pattern: '^T:(?<temp>-?[\\d.]+)C H:(?<hum>\\d+)%(?: S:(?<state>\\w+))?(?: N:(?<note>\\w*))?$',
  units: { temp: 'Cel', hum: '%RH' },
});

test('named groups become fields with configured units', () => {
  assert.equal(re.decode('T:-3.5C H:41% S:ok\r'), {
    ok: true,
    values: [{ field: 'temp', v: -3.5, unit: 'Cel' }, { field: 'hum', v: 41, unit: '%RH' }, { field: 'state', vs: 'ok' }],
  });
});

test('groups that did not participate or matched nothing are skipped', () => {
  assert.equal(re.decode('T:20C H:50% N:'), {
    ok: true,
    values: [{ field: 'temp', v: 20, unit: 'Cel' }, { field: 'hum', v: 50, unit: '%RH' }],
  });
});

test('a captured non-number is a string even if it starts like one', () => {
  assert.equal(re.decode('T:1.2.3C H:5%'), {
    ok: true,
    values: [{ field: 'temp', vs: '1.2.3' }, { field: 'hum', v: 5, unit: '%RH' }],
  });
});

test('a line that does not match is malformed', () => {
  assert.equal(re.decode('T:20C'), { ok: false, error: 'no match' });
});

test('the decoder keeps no state between lines (same line twice, same result)', () => {
  const d = createRegexDecoder({ type: 'regex', pattern: '(?<n>\\d+)' });
  assert.equal(d.decode('a 12'), d.decode('a 12'));
  assert.equal(d.decode('a 12'), { ok: true, values: [{ field: 'n', v: 12 }] });
});

test('blank lines are ok with no values', () => {
  assert.equal(re.decode(''), { ok: true, values: [] });
});

test('an invalid pattern is a config error naming the source', () => {
  assert.throws(() => createRegexDecoder({ type: 'regex', pattern: '(?<a>\\d+' }, 'source s1: decoder'),
    (e: Error & { code?: string }) => e.code === 'ERR_CONFIG' && /^source s1: decoder: pattern: expected a JavaScript regular expression/.test(e.message));
});

test('a pattern without named groups is a config error', () => {
  assert.throws(() => createRegexDecoder({ type: 'regex', pattern: '(\\d+) (\\d+)' }),
    (e: Error & { code?: string }) => e.code === 'ERR_CONFIG' && /expected at least one named group/.test(e.message));
});

test('a group name SenML cannot carry is a config error', () => {
  assert.throws(() => createRegexDecoder({ type: 'regex', pattern: '(?<$x>\\d+)' }),
    (e: Error & { code?: string }) => e.code === 'ERR_CONFIG' && /group name "\$x"/.test(e.message));
});

test.run();
