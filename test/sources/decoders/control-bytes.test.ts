// Defect 8 (issue 13): control bytes from a serial line never become readings.
// A C0 control byte other than tab (NUL padding, a terminal escape) makes the
// line bad: counted by the source, never a string reading a person is shown.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createDecoder } from '../../../agent/sources/decoders/decoder.js';
import type { DecoderConfig } from '../../../agent/sources/decoders/schema.js';

const decoders: DecoderConfig[] = [
  { type: 'kv' },
  { type: 'csv', columns: ['note', 'temp'] },
  { type: 'regex', pattern: '^note=(?<note>\\S+) temp=(?<temp>\\S+)$' },
  { type: 'json' },
];

const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

test('kv: NUL padding and a terminal escape make the line bad', () => {
  const kv = createDecoder({ type: 'kv' });
  for (const line of ['temp=4\0\0\0hum=5\0', 'note=\x1b[31mRED\x1b[0m temp=8']) {
    const r = kv.decode(line);
    assert.is(r.ok, false, JSON.stringify(line));
    if (!r.ok) assert.match(r.error, /control byte 0x(00|1b)/);
  }
});

test('every text decoder: no reading carries a control byte, whatever the line', () => {
  const lines = [
    'note=\x1b[31mRED temp=8', 'note=ok\0 temp=8', 'ok\x07,8', '\x1b]0;x\x07,8',
    '{"note":"\\u001b[31mRED","temp":8}', '{"note":"a\\u0000b"}', '{"n\\u001bx":1}',
  ];
  for (const config of decoders) {
    const d = createDecoder(config);
    for (const line of lines) {
      const r = d.decode(line);
      if (!r.ok) continue;
      for (const v of r.values) {
        assert.not.match(v.field, CONTROL, `${config.type} field of ${JSON.stringify(line)}`);
        if (v.vs !== undefined) assert.not.match(v.vs, CONTROL, `${config.type} value of ${JSON.stringify(line)}`);
      }
    }
  }
});

test('a tab is not a control byte to refuse', () => {
  assert.equal(createDecoder({ type: 'kv' }).decode('temp=4\thum=5'), { ok: true, values: [{ field: 'temp', v: 4 }, { field: 'hum', v: 5 }] });
  assert.equal(createDecoder({ type: 'json' }).decode('{"note":"a\\tb"}'), { ok: true, values: [{ field: 'note', vs: 'a\tb' }] });
});

test('defect 7, second guard: the regex decoder refuses an overlong line before its pattern runs', () => {
  const d = createDecoder({ type: 'regex', pattern: '^(?<v>a*)$' });
  assert.equal(d.decode('a'.repeat(1024)), { ok: true, values: [{ field: 'v', vs: 'a'.repeat(1024) }] });
  const r = d.decode('a'.repeat(1025));
  assert.is(r.ok, false);
  if (!r.ok) assert.match(r.error, /longer than 1024/);
});

test('defect 7: createDecoder refuses a catastrophic pattern with the words config check uses', () => {
  assert.throws(() => createDecoder({ type: 'regex', pattern: '^(?<v>(a+)+)$' }, 's'),
    (e: Error & { code?: string }) => e.code === 'ERR_CONFIG' && /source s: decoder: pattern: .*nested quantifier/.test(e.message));
});

test.run();
