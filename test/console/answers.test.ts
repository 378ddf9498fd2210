// Command formatting: every answer key of DESIGN.md "Console", escaping of
// what came from outside, and the status-file answers `tapwire status` shares.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { answerLine, type Answer } from '../../agent/console/commands.js';
import { configEntries, redactUrl } from '../../agent/console/config-view.js';
import { escapeText } from '../../agent/escape.js';
import { bytes, duration } from '../../agent/console/format.js';
import { hexdump } from '../../agent/console/hexdump.js';
import { bufferAnswer, statusAnswer, uplinkAnswer } from '../../agent/console/status-answers.js';
import { fakeViews, NOW, statusFixture } from './fixtures.js';

function linesOf(a: Answer | undefined): string[] {
  if (a?.kind !== 'lines') assert.unreachable(`expected lines, got ${JSON.stringify(a)}`);
  return a?.kind === 'lines' ? a.lines : [];
}
const ask = (line: string, views = fakeViews()): string[] => linesOf(answerLine(line, views, NOW));
const keysOf = (lines: string[]): string[] => lines.map((l) => l.slice(0, l.indexOf(':')));

test('status: device, version, uptime, config version, clock, and one line per area', () => {
  const a = ask('status');
  assert.equal(keysOf(a), ['device', 'version', 'uptime', 'config version', 'clock', 'state', 'sources', 'buffer', 'uplink']);
  assert.ok(a.includes('device: pump-7'));
  assert.ok(a.includes('version: 0.1.0'));
  assert.ok(a.includes('uptime: 3 d 1 h'), a.join('\n'));
  assert.ok(a.includes('config version: 0 (local file)'));
  assert.ok(a.includes('clock: sync'));
  assert.ok(a.includes('sources: 1 of 2 ok (meter: cannot open /dev/ttyAMA0: No such file or directory)'), a.join('\n'));
  assert.ok(a.includes('buffer: 4 pending batches (1.3 KiB), 0 dropped'), a.join('\n'));
  assert.ok(a.some((l) => /^uplink: connected since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(1 min 5 s ago\)$/.test(l)), a.join('\n'));
});

test('status and sources: a source whose port is open but a unit is silent is not ok, and says why', () => {
  const views = fakeViews();
  views.statusValue = statusFixture();
  views.statusValue.sources = { ...views.statusValue.sources, wx: { open: true, problem: 'units 2, 3 not answering' } };
  const status = ask('status', views);
  assert.ok(status.includes('sources: 0 of 2 ok (wx: units 2, 3 not answering; meter: cannot open /dev/ttyAMA0: No such file or directory)'), status.join('\n'));
  const wx = ask('sources', views).find((l) => l.startsWith('wx '))!.split(/\s{2,}/);
  assert.is(wx[3], 'error: units 2, 3 not answering', 'DESIGN: state is ok | error: why');
});

test('buffer: pending batches and bytes, oldest pending, journal and max bytes, dropped batches', () => {
  const a = ask('buffer');
  assert.equal(keysOf(a).slice(0, 6), ['pending batches', 'pending bytes', 'oldest pending', 'journal bytes', 'max bytes', 'dropped batches']);
  assert.ok(a.includes('pending batches: 4'));
  assert.ok(a.includes('pending bytes: 1300 (1.3 KiB)'));
  assert.ok(a.some((l) => /^oldest pending: seq 117, .* \(4\.0 s ago\)$/.test(l)), a.join('\n'));
  assert.ok(a.includes('journal bytes: 40960 (40.0 KiB)'));
  assert.ok(a.includes('max bytes: 67108864 (64.0 MiB)'));
  assert.ok(a.includes('dropped batches: 0'));
});

test('buffer: batches found on disk at start have no known age; a folded ledger says its bytes are a lower bound', () => {
  const s = statusFixture({ pending: { batches: 2, bytes: 10, exact: false, oldestSeq: 5 } });
  const a = bufferAnswer(s, NOW);
  assert.ok(a.includes('oldest pending: seq 5, journaled before the agent last started'), a.join('\n'));
  assert.ok(a.some((l) => l.startsWith('pending bytes: 10 at least')), a.join('\n'));
  assert.ok(bufferAnswer(statusFixture({ pending: { batches: 0, bytes: 0, exact: true } }), NOW).includes('oldest pending: none'));
});

test('uplink: state, broker, since, last error, published, acknowledged; a scheduled retry says when', () => {
  const a = ask('uplink');
  assert.equal(keysOf(a).slice(0, 6), ['state', 'broker', 'since', 'last error', 'published', 'acknowledged']);
  assert.ok(a.includes('state: connected'));
  assert.ok(a.includes('broker: mqtts://broker.example.net:8883'));
  assert.ok(a.includes('last error: none'));
  assert.ok(a.includes('published: seq 118'));
  assert.ok(a.includes('acknowledged: seq 116'));
  assert.not.ok(a.some((l) => l.startsWith('next attempt in')), 'no retry while connected');
  const down = statusFixture();
  down.uplink = { ...down.uplink, connected: false, lastError: 'connect ECONNREFUSED 127.0.0.1:1883', nextRetryAt: NOW + 2500, since: NOW - 30_000 };
  const b = uplinkAnswer(down, NOW);
  assert.ok(b.includes('state: disconnected'));
  assert.ok(b.includes('last error: connect ECONNREFUSED 127.0.0.1:1883'));
  assert.ok(b.includes('next attempt in: 2.5 s'), b.join('\n'));
  assert.ok(b.some((l) => /^since: .* \(30 s ago\)$/.test(l)));
});

test('sources: one row per source with type, port, state (ok | error: why), readings, errors, last reading age', () => {
  const views = fakeViews();
  views.values.record({ name: 'wx:temp', time: NOW / 1000, v: 1 });
  views.values.record({ name: 'wx:temp', time: NOW / 1000, v: 2 });
  const a = ask('sources', views);
  assert.equal(a[0]!.split(/\s{2,}/), ['name', 'type', 'port', 'state', 'readings', 'errors', 'last reading']);
  const wx = a.find((l) => l.startsWith('wx '))!.split(/\s{2,}/);
  assert.equal(wx, ['wx', 'lines', '/dev/ttyUSB0', 'ok', '2', '2', '1.5 s ago']);
  const meter = a.find((l) => l.startsWith('meter '))!.split(/\s{2,}/);
  assert.equal(meter, ['meter', 'modbus-rtu', '/dev/ttyAMA0', 'error: cannot open /dev/ttyAMA0: No such file or directory', '0', '3', 'never']);
});

test('last: value, unit, age and a sparkline per field; one source; an unknown source is named', () => {
  const views = fakeViews();
  for (const [i, v] of [20, 21, 22, 23].entries()) views.values.record({ name: 'wx:temp', time: NOW / 1000 - 4 + i, v, unit: 'Cel' });
  views.values.record({ name: 'wx:note', time: NOW / 1000 - 1, vs: 'ok' });
  views.values.record({ name: 'meter:run', time: NOW / 1000 - 2, vb: true });
  const all = ask('last', views);
  assert.equal(all[0]!.split(/\s{2,}/), ['field', 'value', 'unit', 'age', 'recent']);
  assert.equal(all.find((l) => l.startsWith('wx:temp'))!.split(/\s{2,}/), ['wx:temp', '23', 'Cel', '1.0 s', '▁▃▆█']);
  assert.ok(all.some((l) => /^wx:note\s+"ok"\s+1\.0 s$/.test(l)), all.join('\n'));
  assert.ok(all.some((l) => /^meter:run\s+true\s+2\.0 s$/.test(l)), all.join('\n'));
  const wx = ask('last wx', views);
  assert.is(wx.length, 3, 'header + the two wx fields');
  assert.not.ok(wx.some((l) => l.startsWith('meter:')));
  assert.equal(ask('last pump', views), ['unknown source: pump (sources: wx, meter)']);
  assert.equal(ask('last meter', fakeViews()), ['no readings yet from meter']);
});

test('key: fingerprint and public key in hex', () => {
  assert.equal(ask('key'), ['fingerprint: 0011223344556677', `public key: ${'07'.repeat(32)}`]);
});

test('config: the version, then one line per setting; secret files by path', () => {
  const a = ask('config');
  assert.equal(a, ['config version: 0 (local file)', 'device: pump-7', 'uplink.passwordFile: /etc/tapwire/pw (secret file: contents never shown)']);
});

test('config entries: nested paths, secret files marked, credentials in a URL never shown', () => {
  const e = new Map(configEntries({
    device: 'd', uplink: { url: 'mqtts://ann:hunter2@broker:8883', key: '/etc/k.pem', passwordFile: '/etc/pw', reconnect: {} },
    sources: [{ id: 's', port: { path: '/dev/x', baudRate: 9600 } }],
  }));
  assert.is(e.get('uplink.url'), 'mqtts://broker:8883 (credentials in the URL not shown)');
  assert.not.ok([...e.values()].some((v) => v.includes('hunter2') || v.includes('ann')));
  assert.is(e.get('uplink.key'), '/etc/k.pem (secret file: contents never shown)');
  assert.is(e.get('uplink.passwordFile'), '/etc/pw (secret file: contents never shown)');
  assert.is(e.get('uplink.reconnect'), '{}');
  assert.is(e.get('sources[0].port.baudRate'), '9600');
  assert.is(redactUrl('mqtt://u:p@@bad url'), 'mqtt://<hidden>@bad url');
});

test('log [n]: the last n lines, default 20; n is checked', () => {
  const views = fakeViews();
  for (let i = 1; i <= 30; i++) views.ring.push(`info agent line ${i}`);
  assert.equal(ask('log 3', views), ['info agent line 28', 'info agent line 29', 'info agent line 30']);
  assert.is(ask('log', views).length, 20);
  assert.equal(ask('log 0', views), ['usage: log [n]  (n from 1 to 50, default 20)']);
  assert.equal(ask('log x', views), ask('log 0', views));
  assert.equal(ask('log 51', views), ask('log 0', views));
  assert.equal(ask('log', fakeViews()), ['no log lines yet']);
});

test('help lists every command, one line each', () => {
  const a = ask('help');
  for (const c of ['help', 'status', 'sources', 'last [source]', 'buffer', 'uplink', 'key', 'config', 'log [n]', 'monitor <source> [seconds]']) {
    assert.ok(a.some((l) => l.startsWith(`${c} `)), `help names ${c}`);
  }
});

test('monitor: a known source and 1..3600 seconds (default 10), or the usage', () => {
  assert.equal(answerLine('monitor wx', fakeViews(), NOW), { kind: 'monitor', source: 'wx', seconds: 10 });
  assert.equal(answerLine('monitor wx 2.5', fakeViews(), NOW), { kind: 'monitor', source: 'wx', seconds: 2.5 });
  assert.equal(ask('monitor nope 3'), ['unknown source: nope (sources: wx, meter)']);
  for (const bad of ['monitor', 'monitor wx 0', 'monitor wx 3601', 'monitor wx soon', 'monitor wx 2 3']) {
    assert.ok(ask(bad)[0]!.startsWith('usage: monitor <source> [seconds]'), bad);
  }
});

test('unknown input: one line naming the word, escaped; an empty line has no answer; case does not matter', () => {
  assert.equal(ask('sh'), ['unknown command: sh (try help)']);
  assert.equal(ask('$(id)'), ['unknown command: $(id) (try help)']);
  assert.equal(ask('; cat /etc/passwd'), ['unknown command: ; (try help)']);
  assert.equal(ask('\x1b[31mred'), ['unknown command: \\x1b[31mred (try help)']);
  assert.equal(ask('x'.repeat(100))[0], `unknown command: ${'x'.repeat(39)}… (try help)`);
  assert.is(answerLine('   ', fakeViews(), NOW), undefined);
  assert.equal(ask('STATUS'), ask('status'));
  assert.equal(ask('status now'), ['usage: status']);
});

test('a line over 256 characters is refused whole, never run', () => {
  assert.equal(ask(`status ${'x'.repeat(300)}`), ['line too long (more than 256 characters): ignored']);
  assert.equal(ask('status'.padEnd(256, ' ')).length, 9, '256 characters are still a line');
});

test('between two agents (a config being applied) the answers say so instead of failing', () => {
  const views = fakeViews();
  views.statusValue = undefined;
  for (const c of ['status', 'buffer', 'uplink', 'sources', 'key']) assert.match(ask(c, views)[0]!, /^no agent running right now/, c);
});

test('text from the field and the network is escaped: no control character reaches the terminal', () => {
  const views = fakeViews();
  views.values.record({ name: 'wx:note', time: NOW / 1000, vs: '\x1b]0;pwned\x07\x1b[2J\u202eevil\x00' });
  const s = statusFixture();
  s.uplink = { ...s.uplink, connected: false, lastError: 'bad\r\nforged: line\x1b[1A' };
  s.sources = { wx: { open: false, error: 'gone\x1b[0m' } };
  views.statusValue = s;
  const out = [...ask('last', views), ...ask('uplink', views), ...ask('sources', views), ...ask('status', views)].join('\n');
  // eslint-disable-next-line no-control-regex
  assert.not.match(out, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/);
  assert.ok(out.includes('\\x1b]0;pwned\\x07'), out);
  assert.ok(out.includes('bad\\x0d\\x0aforged: line'), out);
  assert.is(escapeText('a\u2028b\ufeff'), 'a\\u2028b\\ufeff');
});

test('the answers tapwire status prints come from the same code as the console', () => {
  const s = statusFixture();
  const views = fakeViews();
  assert.equal(statusAnswer(s, NOW), ask('status', views));
  assert.equal(bufferAnswer(s, NOW), ask('buffer', views));
  assert.equal(uplinkAnswer(s, NOW), ask('uplink', views));
});

test('durations, byte counts and the hex dump read as a technician expects', () => {
  assert.is(duration(870), '0.9 s');
  assert.is(duration(75_000), '1 min 15 s');
  assert.is(duration(26 * 3600_000), '1 d 2 h');
  assert.is(duration(-5), '0.0 s');
  assert.is(bytes(512), '512');
  assert.is(bytes(3 * 1024 * 1024), '3145728 (3.0 MiB)');
  assert.equal(hexdump(16, Uint8Array.from([0x24, 0x47, 0x50, 0x00, 0x1b, 0x0d, 0x0a, 0x7f, 0xff, 0x41])), [
    '00000010  24 47 50 00 1b 0d 0a 7f  ff 41                    |$GP......A|',
  ]);
});

test.run();
