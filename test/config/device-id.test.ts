// agent/config/device-id.ts through validateConfig: one fleet config, each
// device its own id; a template that cannot be expanded is a config error that
// says what is missing, never a half-expanded id.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleConfig } from '../../agent/config/example.js';
import { formatIssues, loadConfigFile, validateConfig, type LoadResult } from '../../agent/config/load.js';
import { tempDir } from '../helpers.js';

const MACHINE_ID = '3d1219c7c4c5404aaa1f6d2a48adfda4';

/** A machine as files: what a Pi (devicetree serial), an x86 box or a fresh image would hold. */
function machine(files: Record<string, string>): (path: string) => string {
  return (path) => {
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  };
}

const config = (device: string): Record<string, unknown> =>
  ({ ...exampleConfig('/var/lib/tapwire', 'mqtts://broker.example.net:8883', { weather: '/dev/ttyUSB0' }), device });

function deviceOf(r: LoadResult): string {
  if (!r.ok) assert.unreachable(`expected the config to be accepted:\n${formatIssues(r.issues)}`);
  return r.ok ? r.config.device : '';
}

function issues(r: LoadResult): string {
  if (r.ok) assert.unreachable(`expected the config to be rejected, it was accepted (device ${r.config.device})`);
  return r.ok ? '' : formatIssues(r.issues);
}

test('${machine-id}, ${serial} (devicetree, else /proc/cpuinfo), ${hostname} and ${file:<path>} expand; the client id follows', () => {
  const pi = machine({
    '/etc/machine-id': `${MACHINE_ID}\n`,
    '/sys/firmware/devicetree/base/serial-number': '10000000ABCDEF12\0',
    '/proc/sys/kernel/hostname': 'cabinet-4\n',
    '/boot/firmware/tapwire-device': 'pump-station-7\nsecond line ignored\n',
  });
  const r = validateConfig(config('pump-${machine-id}'), pi);
  assert.is(deviceOf(r), `pump-${MACHINE_ID}`);
  assert.is(r.ok && r.config.uplink.clientId, `tapwire-pump-${MACHINE_ID}`, 'everything derived from the id uses the expanded one');
  assert.is(deviceOf(validateConfig(config('pi-${serial}'), pi)), 'pi-10000000abcdef12');
  assert.is(deviceOf(validateConfig(config('${hostname}.${serial}'), pi)), 'cabinet-4.10000000abcdef12');
  assert.is(deviceOf(validateConfig(config('${file:/boot/firmware/tapwire-device}'), pi)), 'pump-station-7');
  const oldPi = machine({ '/proc/cpuinfo': 'processor\t: 0\nHardware\t: BCM2835\nRevision\t: a02082\nSerial\t\t: 00000000DEADBEEF\nModel\t\t: Raspberry Pi 3\n' });
  assert.is(deviceOf(validateConfig(config('pi-${serial}'), oldPi)), 'pi-00000000deadbeef');
});

test('a literal device id is taken as it is, without reading anything', () => {
  const nothing = (): string => { throw new Error('must not be read'); };
  assert.is(deviceOf(validateConfig(config('pump-station-7'), nothing)), 'pump-station-7');
});

test('what cannot be expanded is one ERR_CONFIG_DEVICE_TEMPLATE issue at "device" that names the file or variable', () => {
  const bare = machine({ '/etc/machine-id': 'uninitialized\n', '/proc/cpuinfo': 'processor\t: 0\nSerial\t\t: 0000000000000000\n' });
  const cases: Array<[string, RegExp]> = [
    ['pump-${machine-id}', /\/etc\/machine-id holds "uninitialized", not a machine id yet/],
    ['pump-${serial}', /no serial number \(\/sys\/firmware\/devicetree\/base\/serial-number: no such file; \/proc\/cpuinfo has no Serial line\)/],
    ['pump-${file:/boot/tapwire-device}', /\/boot\/tapwire-device: no such file/],
    ['pump-${file:relative}', /needs an absolute path/],
    ['pump-${mac}', /unknown variable \$\{mac\} \(known: \$\{machine-id\}, \$\{serial\}, \$\{hostname\}, \$\{file:<path>\}\)/],
    ['pump-${machine-id', /unclosed/],
  ];
  for (const [device, expected] of cases) {
    const r = validateConfig(config(device), bare);
    assert.not.ok(r.ok, device);
    const list = r.ok ? [] : r.issues;
    assert.is(list.length, 1, `${device}: ${formatIssues(list)}`);
    assert.is(list[0]!.path, 'device');
    assert.is(list[0]!.code, 'ERR_CONFIG_DEVICE_TEMPLATE');
    assert.match(list[0]!.message, expected, device);
  }
});

test('an expansion that is not a valid id is refused by the schema, saying which template it came from', () => {
  const odd = machine({ '/proc/sys/kernel/hostname': 'my cabinet\n' });
  const text = issues(validateConfig(config('pump-${hostname}'), odd));
  assert.match(text, /device: expected a name of 1-64 letters.*got string "pump-my cabinet" \(expanded from "pump-\$\{hostname\}"\) \[ERR_CONFIG_PATTERN\]/);
});

test('loadConfigFile expands on this machine: check, provision and run read the same id', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, 'id'), 'unit-42\n');
    const file = join(dir.path, 'config.json');
    writeFileSync(file, JSON.stringify(config(`\${file:${join(dir.path, 'id')}}-\${machine-id}`)));
    const machineId = readFileSync('/etc/machine-id', 'utf8').trim();
    assert.is(deviceOf(loadConfigFile(file)), `unit-42-${machineId}`);
  } finally {
    dir.remove();
  }
});

test.run();
