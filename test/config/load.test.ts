import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { exampleConfig } from '../../agent/config/example.js';
import { ConfigSchema, jsonSchema } from '../../agent/config/schema.js';
import {
  formatIssues, loadConfigFile, parseConfigText, schemaJson, validateConfig,
  type ConfigIssue, type LoadResult, type ResolvedConfig,
} from '../../agent/config/load.js';
import { tempDir } from '../helpers.js';

type Json = Record<string, any>; // test fixtures are mutated freely

const example = (): Json => exampleConfig('/var/lib/tapwire', 'mqtts://broker.example.net:8883', { weather: '/dev/ttyUSB0' }) as Json;

/** The example plus a Modbus master on its own port, for register mistakes. */
function withMeter(): Json {
  const c = example();
  c.sources.push({
    id: 'meter', type: 'modbus-rtu',
    port: { path: '/dev/ttyAMA0', baudRate: 9600, parity: 'even' },
    devices: [{ unit: 1, registers: [
      { name: 'voltage', fc: 4, address: 0, type: 'f32', unit: 'V' },
      { name: 'current', fc: 4, address: 2, type: 'f32', unit: 'A' },
      { name: 'running', fc: 1, address: 0, type: 'bool' },
    ] }],
  });
  return c;
}

function issuesOf(r: LoadResult): ConfigIssue[] {
  if (r.ok) assert.unreachable(`expected the config to be rejected, it was accepted`);
  return r.ok ? [] : r.issues;
}

function configOf(r: LoadResult): ResolvedConfig {
  if (!r.ok) assert.unreachable(`expected the config to be accepted:\n${formatIssues(r.issues)}`);
  if (!r.ok) throw new Error('unreachable');
  return r.config;
}

/** Exactly one issue, at `path` with `code`; returns it. */
function only(r: LoadResult, path: string, code: string): ConfigIssue {
  const issues = issuesOf(r);
  assert.is(issues.length, 1, `expected exactly one issue, got:\n${formatIssues(issues)}`);
  const issue = issues[0]!;
  assert.is(issue.path, path);
  assert.is(issue.code, code);
  return issue;
}

test('the example config validates', () => {
  const r = validateConfig(example());
  const config = configOf(r);
  assert.is(config.sources[0]!.id, 'weather');
  assert.equal(r.ok && r.warnings, [], 'mqtts:// gives no warning');
});

test('mqtt:// is accepted with a warning that nothing is encrypted', () => {
  const c = exampleConfig('/tmp/s', 'mqtt://127.0.0.1:1883', { weather: '/dev/pts/9' });
  const r = validateConfig(c);
  configOf(r);
  const warnings = r.ok ? r.warnings : [];
  assert.is(warnings.length, 1);
  assert.is(warnings[0]!.path, 'uplink.url');
  assert.match(warnings[0]!.message, /^mqtt:\/\/ is unencrypted/);
});

test('a missing device is reported as required, with what is expected', () => {
  const c = example();
  delete c.device;
  const issue = only(validateConfig(c), 'device', 'ERR_CONFIG_REQUIRED');
  assert.match(issue.message, /missing required key; expected a name of 1-64 letters/);
});

test('a number written as a string is a type error, never coerced', () => {
  const c = example();
  c.sources[0].port.baudRate = '9600';
  const issue = only(validateConfig(c), 'sources[0].port.baudRate', 'ERR_CONFIG_TYPE');
  assert.is(issue.message, 'expected an integer from 50 to 4000000, got string "9600" (write numbers without quotes)');
});

test('null for an optional field is a type error, not "absent"', () => {
  const c = example();
  c.batch = null;
  const issue = only(validateConfig(c), 'batch', 'ERR_CONFIG_TYPE');
  assert.match(issue.message, /got null$/);
});

test('an unknown key at the root is rejected with a did-you-mean', () => {
  const c = example();
  c.souces = [];
  const issue = only(validateConfig(c), 'souces', 'ERR_CONFIG_UNKNOWN_KEY');
  assert.is(issue.message, 'unknown key (did you mean sources?)');
});

test('an unknown nested key is rejected and points to where it belongs', () => {
  const c = example();
  c.sources[0].baud = 4800;
  const issue = only(validateConfig(c), 'sources[0].baud', 'ERR_CONFIG_UNKNOWN_KEY');
  assert.is(issue.message, 'unknown key (did you mean port.baudRate?)');
});

test('an unknown key with no close match lists the allowed keys', () => {
  const c = example();
  c.batch.zzz = 1;
  const issue = only(validateConfig(c), 'batch.zzz', 'ERR_CONFIG_UNKNOWN_KEY');
  assert.is(issue.message, 'unknown key; allowed here: maxRecords, maxAgeMs');
});

test('a bad enum value lists the allowed values', () => {
  const c = example();
  c.sources[0].port.parity = 'mark';
  const issue = only(validateConfig(c), 'sources[0].port.parity', 'ERR_CONFIG_ENUM');
  assert.is(issue.message, 'expected one of "none", "even" or "odd", got string "mark"');
});

test('fc 6 is rejected: tapwire never writes to field devices', () => {
  const c = withMeter();
  c.sources[1].devices[0].registers[1].fc = 6;
  const issue = only(validateConfig(c), 'sources[1].devices[0].registers[1].fc', 'ERR_CONFIG_ENUM');
  assert.is(issue.message, 'expected a read function code 1, 2, 3 or 4, got 6 (tapwire never writes to field devices)');
});

test('fc as a string is a type error', () => {
  const c = withMeter();
  c.sources[1].devices[0].registers[0].fc = '4';
  const issue = only(validateConfig(c), 'sources[1].devices[0].registers[0].fc', 'ERR_CONFIG_TYPE');
  assert.is(issue.message, 'expected a read function code 1, 2, 3 or 4, got string "4"');
});

test('an out-of-range unit id is a range error naming the bounds', () => {
  const c = withMeter();
  c.sources[1].devices[0].unit = 300;
  const issue = only(validateConfig(c), 'sources[1].devices[0].unit', 'ERR_CONFIG_RANGE');
  assert.is(issue.message, 'expected an integer from 1 to 247, got 300');
});

test('a device id with "/" breaks the pattern and the message says why', () => {
  const c = example();
  c.device = 'a/b';
  const issue = only(validateConfig(c), 'device', 'ERR_CONFIG_PATTERN');
  assert.match(issue.message, /it goes into MQTT topics\), got string "a\/b"$/);
});

test('an empty sources list is a range error', () => {
  const c = example();
  c.sources = [];
  const issue = only(validateConfig(c), 'sources', 'ERR_CONFIG_RANGE');
  assert.is(issue.message, 'expected a list with at least 1 item, got an empty list');
});

test('a non-object root is a type error at the root', () => {
  const issue = only(validateConfig([1, 2]), '', 'ERR_CONFIG_TYPE');
  assert.match(issue.message, /^expected an object with device, stateDir, uplink, sources, got a list of 2 items$/);
});

test('an unknown source type gives one issue listing the allowed types, not union noise', () => {
  const c = example();
  c.sources[0].type = 'modbus';
  c.sources[0].whatever = 1;
  const issue = only(validateConfig(c), 'sources[0].type', 'ERR_CONFIG_ENUM');
  assert.is(issue.message, 'expected one of "lines", "modbus-rtu" or "modbus-sniff", got string "modbus" (did you mean "modbus-rtu"?)');
});

test('a source without type gives one required issue listing the allowed types', () => {
  const c = example();
  delete c.sources[0].type;
  const issue = only(validateConfig(c), 'sources[0].type', 'ERR_CONFIG_REQUIRED');
  assert.match(issue.message, /"lines", "modbus-rtu" or "modbus-sniff"/);
});

test('a source that is not an object is a type error at the source', () => {
  const c = example();
  c.sources.push('meter');
  only(validateConfig(c), 'sources[1]', 'ERR_CONFIG_TYPE');
});

test('a known source type is checked against its own schema only', () => {
  const c = withMeter();
  c.sources[1].intervalMs = 5;
  c.sources[1].devices[0].registers[2].wordOrder = 'middle';
  const issues = issuesOf(validateConfig(c));
  assert.equal(issues.map((i) => [i.path, i.code]), [
    ['sources[1].intervalMs', 'ERR_CONFIG_RANGE'],
    ['sources[1].devices[0].registers[2].wordOrder', 'ERR_CONFIG_ENUM'],
  ]);
});

test('the decoder is dispatched on its type as well', () => {
  const c = example();
  c.sources[0].decoder = { type: 'csv', columns: 'a,b' };
  only(validateConfig(c), 'sources[0].decoder.columns', 'ERR_CONFIG_TYPE');
  c.sources[0].decoder = { type: 'regx', pattern: '(?<t>.*)' };
  const issue = only(validateConfig(c), 'sources[0].decoder.type', 'ERR_CONFIG_ENUM');
  assert.match(issue.message, /did you mean "regex"\?/);
});

test('three mistakes give three issues, all at once', () => {
  const c = withMeter();
  c.sources[0].port.baudRate = '4800';
  c.sources[1].devices[0].registers[0].fc = 16;
  c.extra = true;
  const issues = issuesOf(validateConfig(c));
  assert.equal(issues.map((i) => i.path).sort(), ['extra', 'sources[0].port.baudRate', 'sources[1].devices[0].registers[0].fc']);
});

test('schema and cross-field mistakes are reported together', () => {
  const c = withMeter();
  c.sources[0].port.parity = 'mark';
  c.sources[1].id = 'weather';
  const issues = issuesOf(validateConfig(c));
  assert.equal(issues.map((i) => i.code).sort(), ['ERR_CONFIG_DUPLICATE', 'ERR_CONFIG_ENUM']);
});

test('duplicate source ids are rejected at the second one', () => {
  const c = withMeter();
  c.sources[1].id = 'weather';
  const issue = only(validateConfig(c), 'sources[1].id', 'ERR_CONFIG_DUPLICATE');
  assert.match(issue.message, /also sources\[0\]\.id/);
});

test('two sources on the same port are rejected', () => {
  const c = withMeter();
  c.sources[1].port.path = '/dev/ttyUSB0';
  const issue = only(validateConfig(c), 'sources[1].port.path', 'ERR_CONFIG_DUPLICATE');
  assert.match(issue.message, /already used by sources\[0\]/);
});

test('a number type with fc 1 is rejected; bool on fc 3 is a status word (bit optional)', () => {
  const c = withMeter();
  c.sources[1].devices[0].registers[0].type = 'bool';
  c.sources[1].devices[0].registers[0].fc = 3;
  c.sources[1].devices[0].registers[2].type = 'u16';
  const issue = only(validateConfig(c), 'sources[1].devices[0].registers[2].type', 'ERR_CONFIG_SEMANTIC');
  assert.match(issue.message, /expected "bool" \(or no type\) for fc 1/);
  c.sources[1].devices[0].registers[2].type = 'bool';
  c.sources[1].devices[0].registers[0].bit = 7;
  configOf(validateConfig(c));
  c.sources[1].devices[0].registers[0].bit = 16;
  only(validateConfig(c), 'sources[1].devices[0].registers[0].bit', 'ERR_CONFIG_RANGE');
});

test('shape and register rules of one source are reported at once, at the places as written', () => {
  const c = withMeter();
  c.sources[1].devices[0].registers = [
    { name: 'x', fc: 6, address: 0, type: 'u16' },
    { name: 'a', fc: 4, address: 0, type: 'f32' },
    { name: 'a', fc: 4, address: 10, type: 'u16' },
    { name: 'w', fc: 4, address: 12 },
    { name: 'f', fc: 4, address: 14, type: 'float' },
  ];
  const issues = issuesOf(validateConfig(c));
  assert.equal(issues.map((i) => [i.path, i.code]), [
    ['sources[1].devices[0].registers[0].fc', 'ERR_CONFIG_ENUM'],
    ['sources[1].devices[0].registers[4].type', 'ERR_CONFIG_ENUM'],
    ['sources[1].devices[0].registers[2].name', 'ERR_CONFIG_DUPLICATE'],
    ['sources[1].devices[0].registers[3].type', 'ERR_CONFIG_REQUIRED'],
  ]);
  assert.match(issues[2]!.message, /\(also sources\[1\]\.devices\[0\]\.registers\[1\]\.name\)$/);
});

test('defect 2: a coil or discrete input may omit its type (a bit is a bool)', () => {
  const c = withMeter();
  delete c.sources[1].devices[0].registers[2].type;
  c.sources[1].devices[0].registers.push({ name: 'door', fc: 2, address: 4 });
  configOf(validateConfig(c));
  delete c.sources[1].devices[0].registers[0].type;
  const issue = only(validateConfig(c), 'sources[1].devices[0].registers[0].type', 'ERR_CONFIG_REQUIRED');
  assert.match(issue.message, /fc 4 \(input registers\)/);
});

test('defect 3: bool on fc 3/4 with an optional bit 0-15; bit only there', () => {
  const c = withMeter();
  c.sources[1].devices[0].registers.push({ name: 'alarm', fc: 3, address: 20, type: 'bool' }, { name: 'trip', fc: 4, address: 21, type: 'bool', bit: 15 });
  configOf(validateConfig(c));
  c.sources[1].devices[0].registers[2].bit = 0;
  only(validateConfig(c), 'sources[1].devices[0].registers[2].bit', 'ERR_CONFIG_SEMANTIC');
  delete c.sources[1].devices[0].registers[2].bit;
  c.sources[1].devices[0].registers[0].bit = 1;
  only(validateConfig(c), 'sources[1].devices[0].registers[0].bit', 'ERR_CONFIG_SEMANTIC');
});

test('a register must fit below address 65536', () => {
  const c = withMeter();
  c.sources[1].devices[0].registers[0].address = 65535;
  const issue = only(validateConfig(c), 'sources[1].devices[0].registers[0].address', 'ERR_CONFIG_RANGE');
  assert.is(issue.message, 'expected at most 65534 for a f32 (2 registers wide, the last address is 65535), got 65535');
  c.sources[1].devices[0].registers[0].address = 65534;
  configOf(validateConfig(c));
});

test('duplicate register names within a source are rejected, across sources they are fine', () => {
  const c = withMeter();
  c.sources[1].devices.push({ unit: 2, registers: [{ name: 'voltage', fc: 3, address: 0, type: 'u16' }] });
  only(validateConfig(c), 'sources[1].devices[1].registers[0].name', 'ERR_CONFIG_DUPLICATE');
  c.sources[1].devices[1].registers[0].name = 'voltage2';
  c.sources.push({ id: 'tap', type: 'modbus-sniff', port: { path: '/dev/ttyUSB1', baudRate: 19200 },
    devices: [{ unit: 1, registers: [{ name: 'voltage', fc: 4, address: 0, type: 'f32' }] }] });
  configOf(validateConfig(c));
});

test('the same unit listed twice in one source is rejected', () => {
  const c = withMeter();
  c.sources[1].devices.push({ unit: 1, registers: [{ name: 'freq', fc: 4, address: 10, type: 'u16' }] });
  only(validateConfig(c), 'sources[1].devices[1].unit', 'ERR_CONFIG_DUPLICATE');
});

test('a regex decoder needs a valid pattern with a named group', () => {
  const c = example();
  c.sources[0].decoder = { type: 'regex', pattern: '(?<t>[0-9' };
  only(validateConfig(c), 'sources[0].decoder.pattern', 'ERR_CONFIG_SEMANTIC');
  c.sources[0].decoder.pattern = 'T=([0-9.]+)';
  const issue = only(validateConfig(c), 'sources[0].decoder.pattern', 'ERR_CONFIG_SEMANTIC');
  assert.match(issue.message, /expected at least one named group/);
  c.sources[0].decoder.pattern = 'T=(?<temp>[0-9.]+)|H=(?<hum>\\d+)';
  configOf(validateConfig(c));
});

test('defect 1: a group name the decoder refuses is refused by check, in the same words', () => {
  const c = example();
  c.sources[0].decoder = { type: 'regex', pattern: 'T=(?<t$x>\\d+)' };
  const issue = only(validateConfig(c), 'sources[0].decoder.pattern', 'ERR_CONFIG_SEMANTIC');
  assert.match(issue.message, /group name "t\$x" may only use/);
});

test('defect 7: a pattern that can backtrack catastrophically is refused, naming the rule', () => {
  const c = example();
  for (const [pattern, rule] of [['^(?<v>(a+)+)$', /nested quantifier/], ['^(?<v>(?:a|ab)*)$', /overlapping alternation/], ['(?<v>(\\w|\\d)+)!', /overlapping alternation/]] as const) {
    c.sources[0].decoder = { type: 'regex', pattern };
    const issue = only(validateConfig(c), 'sources[0].decoder.pattern', 'ERR_CONFIG_SEMANTIC');
    assert.match(issue.message, rule, pattern);
  }
  c.sources[0].decoder = { type: 'regex', pattern: '^T=(?<t>-?\\d+(?:\\.\\d+)?) H=(?<h>[0-9.]+)$' };
  configOf(validateConfig(c));
});

test('a csv decoder needs at least one non-empty column and no repeats', () => {
  const c = example();
  c.sources[0].decoder = { type: 'csv', columns: ['', ''] };
  only(validateConfig(c), 'sources[0].decoder.columns', 'ERR_CONFIG_SEMANTIC');
  c.sources[0].decoder.columns = ['t', '', 't'];
  only(validateConfig(c), 'sources[0].decoder.columns[2]', 'ERR_CONFIG_DUPLICATE');
  c.sources[0].decoder.columns = ['t', '', 'h'];
  configOf(validateConfig(c));
});

test('a client key needs a certificate and the other way round', () => {
  const c = example();
  c.uplink.key = '/etc/tapwire/client.key';
  only(validateConfig(c), 'uplink.cert', 'ERR_CONFIG_SEMANTIC');
  delete c.uplink.key;
  c.uplink.cert = '/etc/tapwire/client.pem';
  only(validateConfig(c), 'uplink.key', 'ERR_CONFIG_SEMANTIC');
  c.uplink.key = '/etc/tapwire/client.key';
  configOf(validateConfig(c));
});

test('a passwordFile needs a username', () => {
  const c = example();
  c.uplink.passwordFile = '/etc/tapwire/mqtt.pass';
  only(validateConfig(c), 'uplink.username', 'ERR_CONFIG_SEMANTIC');
  c.uplink.username = 'station7';
  configOf(validateConfig(c));
});

test('an inline password is an unknown key with the passwordFile hint', () => {
  const c = example();
  c.uplink.username = 'station7';
  c.uplink.password = 'hunter2';
  const issue = only(validateConfig(c), 'uplink.password', 'ERR_CONFIG_UNKNOWN_KEY');
  assert.is(issue.message, 'unknown key (secrets are never inline: use passwordFile (mode 0600))');
  assert.not.match(formatIssues([issue]), /hunter2/);
});

test('reconnect.initialMs may not exceed maxMs, defaults included', () => {
  const c = example();
  c.uplink.reconnect = { initialMs: 40_000 };
  const issue = only(validateConfig(c), 'uplink.reconnect.initialMs', 'ERR_CONFIG_RANGE');
  assert.is(issue.message, 'expected at most uplink.reconnect.maxMs (30000), got 40000');
  c.uplink.reconnect.maxMs = 40_000;
  configOf(validateConfig(c));
});

test('a maxMs below the default initialMs is reported at maxMs', () => {
  const c = example();
  c.uplink.reconnect = { maxMs: 200 };
  const issue = only(validateConfig(c), 'uplink.reconnect.maxMs', 'ERR_CONFIG_RANGE');
  assert.is(issue.message, 'expected at least uplink.reconnect.initialMs (500, the default), got 200');
});

test('a journal segment may not exceed the journal; a small journal gets small segments', () => {
  const c = example();
  c.journal = { maxBytes: 1_000_000, segmentBytes: 2_000_000 };
  only(validateConfig(c), 'journal.segmentBytes', 'ERR_CONFIG_RANGE');
  c.journal = { maxBytes: 1_000_000 };
  assert.is(configOf(validateConfig(c)).journal.segmentBytes, 250_000);
  c.journal = { maxBytes: 1_000_000_000 };
  assert.is(configOf(validateConfig(c)).journal.segmentBytes, 4_194_304);
});

test('every schema default is filled in, per source, device and register too', () => {
  const c = withMeter();
  c.sources.push({ id: 'tap', type: 'modbus-sniff', port: { path: '/dev/ttyUSB1', baudRate: 19200 },
    devices: [{ unit: 3, registers: [{ name: 'flow', fc: 3, address: 7, type: 'i16' }] }] });
  c.sources.push({ id: 'csv', type: 'lines', port: { path: '/dev/ttyUSB2', baudRate: 9600 }, decoder: { type: 'csv', columns: ['a'] } });
  delete c.batch;
  delete c.journal;
  const config = configOf(validateConfig(c));
  assert.is(missingDefaults(ConfigSchema, config, ''), '', 'every property with a schema default is present');

  assert.equal(config.batch, { maxRecords: 100, maxAgeMs: 1000 });
  assert.equal(config.journal, { maxBytes: 67_108_864, segmentBytes: 4_194_304, fsyncIntervalMs: 1000, fsyncEveryRecords: 1000 });
  assert.equal(config.uplink.reconnect, { initialMs: 500, maxMs: 30_000 });
  assert.is(config.uplink.protocolVersion, 4, 'an explicit value is kept');
  assert.is(config.uplink.clientId, 'tapwire-demo-station');
  assert.is(config.clock, 'auto');
  const [weather, meter, tap, csv] = config.sources;
  assert.equal(weather?.port, { path: '/dev/ttyUSB0', baudRate: 4800, dataBits: 8, stopBits: 1, parity: 'none' });
  assert.ok(weather?.type === 'lines' && weather.delimiter === '\n' && weather.maxLineBytes === 1024);
  assert.ok(meter?.type === 'modbus-rtu');
  if (meter?.type !== 'modbus-rtu') return;
  assert.is(meter.intervalMs, 5000);
  assert.is(meter.maxGap, 4);
  assert.is(meter.port.parity, 'even');
  const dev = meter.devices[0]!;
  assert.equal([dev.timeoutMs, dev.retries, dev.backoffMaxMs], [200, 1, 60_000]);
  assert.equal(dev.registers[0], { name: 'voltage', fc: 4, address: 0, type: 'f32', unit: 'V', wordOrder: 'big', scale: 1, offset: 0 });
  assert.ok(tap?.type === 'modbus-sniff' && tap.devices[0]!.registers[0]!.wordOrder === 'big');
  assert.ok(csv?.type === 'lines' && csv.decoder.type === 'csv' && csv.decoder.delimiter === ',');
});

/** Paths of properties that have a schema default but are absent in `value`. */
function missingDefaults(schema: TSchema, value: unknown, path: string): string {
  const kind = schema[Kind];
  if (kind === 'Union') {
    const member = (schema.anyOf as TSchema[]).find((m) => Value.Check(m, value));
    return member ? missingDefaults(member, value, path) : `${path}(no member matches)`;
  }
  if (kind === 'Array' && Array.isArray(value)) return value.map((v, i) => missingDefaults(schema.items as TSchema, v, `${path}[${i}]`)).join('');
  if (kind !== 'Object' || typeof value !== 'object' || value === null) return '';
  const obj = value as Record<string, unknown>;
  let out = '';
  for (const [key, prop] of Object.entries(schema.properties as Record<string, TSchema>)) {
    if (obj[key] === undefined) out += 'default' in prop ? ` ${path}.${key}` : '';
    else out += missingDefaults(prop, obj[key], `${path}.${key}`);
  }
  return out;
}

test('validation never mutates its input, and the result shares nothing with it', () => {
  const c = withMeter();
  delete c.batch;
  const before = structuredClone(c);
  const config = configOf(validateConfig(c));
  assert.equal(c, before);
  config.sources[0]!.port.path = '/dev/changed';
  (config.sources[1] as { devices: { registers: { scale: number }[] }[] }).devices[0]!.registers[0]!.scale = 99;
  assert.equal(c, before);
});

test('a units map keeps every name, even "__proto__"', () => {
  const c = parseConfigText(JSON.stringify(example()).replace('{"type":"nmea"}', '{"type":"kv","units":{"__proto__":"Cel","t":"K"}}'));
  const config = configOf(c);
  const source = config.sources[0];
  const decoder = source?.type === 'lines' ? source.decoder : undefined;
  assert.ok(decoder?.type === 'kv');
  assert.equal(decoder?.type === 'kv' ? Object.entries(decoder.units ?? {}) : [], [['__proto__', 'Cel'], ['t', 'K']]);
});

test('invalid JSON names line and column', () => {
  const text = '{\n  "device": "d",\n  "stateDir": "/x"\n  "uplink": {}\n}';
  const issue = only(parseConfigText(text, 'tapwire.json'), '', 'ERR_CONFIG_JSON');
  assert.is(issue.message, 'invalid JSON at tapwire.json:4:3: expected "," or "}", found "\\""');
  const trailing = only(parseConfigText('{"a": [1, 2,]}'), '', 'ERR_CONFIG_JSON');
  assert.is(trailing.message, 'invalid JSON at 1:13: expected a value, found "]" (JSON allows no trailing comma)');
  const empty = only(parseConfigText(''), '', 'ERR_CONFIG_JSON');
  assert.match(empty.message, /at 1:1: the text is empty/);
});

test('a key written twice in the JSON text is an error, not silently the last', () => {
  const c = example();
  const text = JSON.stringify(c, null, 2).replace('"device": "demo-station",', '"device": "demo-station",\n  "device": "other",');
  const issue = only(parseConfigText(text), 'device', 'ERR_CONFIG_DUPLICATE');
  assert.match(issue.message, /again at 3:3/);
});

test('a byte order mark before the JSON is accepted', () => {
  configOf(parseConfigText('\uFEFF' + JSON.stringify(example())));
});

test('loadConfigFile reads, validates and resolves a file', () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'tapwire.json');
    writeFileSync(file, JSON.stringify(example(), null, 2));
    const config = configOf(loadConfigFile(file));
    assert.is(config.sources[0]!.port.baudRate, 4800);
  } finally {
    dir.remove();
  }
});

test('a missing, unreadable or non-file config is ERR_CONFIG_FILE naming the path', () => {
  const dir = tempDir();
  try {
    const missing = join(dir.path, 'nope.json');
    const issue = only(loadConfigFile(missing), '', 'ERR_CONFIG_FILE');
    assert.is(issue.message, `cannot read config file ${missing}: no such file`);
    const sub = join(dir.path, 'sub');
    mkdirSync(sub);
    assert.match(only(loadConfigFile(sub), '', 'ERR_CONFIG_FILE').message, /not a regular file$/);
    const binary = join(dir.path, 'binary.json');
    writeFileSync(binary, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    assert.match(only(loadConfigFile(binary), '', 'ERR_CONFIG_FILE').message, /not UTF-8 text$/);
    if (process.getuid?.() !== 0) {
      const locked = join(dir.path, 'locked.json');
      writeFileSync(locked, '{}');
      chmodSync(locked, 0o000);
      assert.match(only(loadConfigFile(locked), '', 'ERR_CONFIG_FILE').message, /permission denied/);
    }
  } finally {
    dir.remove();
  }
});

test('a file with bad JSON names the file, line and column', () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'bad.json');
    writeFileSync(file, '{\n  "device": \'x\'\n}');
    const issue = only(loadConfigFile(file), '', 'ERR_CONFIG_JSON');
    assert.is(issue.message, `invalid JSON at ${file}:2:13: expected a value, found "'" (JSON strings and keys need double quotes)`);
  } finally {
    dir.remove();
  }
});

test('formatIssues prints one line per issue: file: path: message [code]', () => {
  const issues: ConfigIssue[] = [
    { path: 'sources[1].port.path', code: 'ERR_CONFIG_REQUIRED', message: 'missing required key; expected a non-empty string' },
    { path: '', code: 'ERR_CONFIG_JSON', message: 'invalid JSON at 1:1: the text is empty' },
  ];
  assert.is(formatIssues(issues, 'tapwire.json'),
    'tapwire.json: sources[1].port.path: missing required key; expected a non-empty string [ERR_CONFIG_REQUIRED]\n' +
    'tapwire.json: invalid JSON at 1:1: the text is empty [ERR_CONFIG_JSON]');
  assert.is(formatIssues(issues.slice(0, 1)), 'sources[1].port.path: missing required key; expected a non-empty string [ERR_CONFIG_REQUIRED]');
  assert.is(formatIssues([]), '');
});

test('odd keys are quoted in paths', () => {
  const c = example();
  c.uplink['my key'] = 1;
  only(validateConfig(c), 'uplink["my key"]', 'ERR_CONFIG_UNKNOWN_KEY');
});

test('schemaJson prints the JSON Schema that the validator uses', () => {
  const text = schemaJson();
  assert.ok(text.endsWith('}\n'));
  const schema = JSON.parse(text) as Json;
  assert.equal(schema, jsonSchema());
  assert.is(schema.$id, 'https://tapwire.dev/schema/config-v1.json');
  assert.is(schema.additionalProperties, false);
  assert.equal(schema.required, ['device', 'stateDir', 'uplink', 'sources']);
  assert.equal(schema.properties.sources.items.anyOf.map((s: Json) => s.properties.type.const), ['lines', 'modbus-rtu', 'modbus-sniff']);
});

test.run();
