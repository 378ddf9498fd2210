// The console-port rule: `console` in the schema, never the device of a
// source (symlinks resolved), and not settable over the air.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleConfig } from '../../agent/config/example.js';
import { consoleClashes, otaConsoleProblem, portIdentity } from '../../agent/config/console-port.js';
import { validateConfig, type ConfigIssue, type ResolvedConfig } from '../../agent/config/load.js';
import { tempDir } from '../helpers.js';

type Json = Record<string, any>; // fixtures are mutated freely
const base = (): Json => exampleConfig('/var/lib/tapwire', 'mqtts://broker.example.net:8883', { weather: '/dev/ttyUSB0' }) as Json;

function issues(c: unknown): ConfigIssue[] {
  const r = validateConfig(c);
  return r.ok ? [] : r.issues;
}

test('console.port {path, baudRate} is accepted and resolved with the port defaults; absent means no console', () => {
  const c = base();
  c.console = { port: { path: '/dev/ttyS0', baudRate: 115200 } };
  const r = validateConfig(c);
  assert.ok(r.ok, JSON.stringify(r));
  if (!r.ok) return;
  assert.equal(r.config.console, { port: { path: '/dev/ttyS0', baudRate: 115200, dataBits: 8, stopBits: 1, parity: 'none' } });
  const none = validateConfig(base());
  assert.ok(none.ok && none.config.console === undefined);
});

test('a malformed console is refused with its path: unknown keys, no baud rate, a bare string', () => {
  const c = base();
  c.console = { port: { path: '/dev/ttyS0' }, shell: true };
  const paths = issues(c).map((i) => i.path);
  assert.ok(paths.includes('console.shell'), JSON.stringify(paths));
  assert.ok(paths.includes('console.port.baudRate'), JSON.stringify(paths));
  const s = base();
  s.console = '/dev/ttyS0';
  assert.ok(issues(s).some((i) => i.path === 'console'));
});

test('the console on the port of a source is refused at console.port.path, naming the source', () => {
  const c = base();
  c.console = { port: { path: '/dev/ttyUSB0', baudRate: 115200 } };
  const found = issues(c);
  assert.is(found.length, 1, JSON.stringify(found));
  assert.is(found[0]!.path, 'console.port.path');
  assert.is(found[0]!.code, 'ERR_CONFIG_DUPLICATE');
  assert.match(found[0]!.message, 'is the port of sources[0]');
});

test('the same device behind a symlink is the same port (as /dev/serial/by-id links are)', () => {
  const dir = tempDir('tapwire-console-port-');
  try {
    const dev = join(dir.path, 'ttyUSB7');
    const link = join(dir.path, 'usb-FTDI_FT232R-if00-port0');
    writeFileSync(dev, '');
    symlinkSync(dev, link);
    const c = base();
    c.sources[0].port.path = link;
    c.console = { port: { path: dev, baudRate: 115200 } };
    const found = issues(c);
    assert.is(found.length, 1);
    assert.match(found[0]!.message, `are both ${dev}`);
    c.console.port.path = join(dir.path, 'ttyUSB8');
    assert.equal(issues(c), [], 'another device is fine');
    assert.is(portIdentity(link), dev);
    assert.is(portIdentity('/dev/does-not-exist/x'), '/dev/does-not-exist/x', 'a missing device is compared by its path');
  } finally {
    dir.remove();
  }
});

test('clashes: every source on the console device, none without a console', () => {
  assert.equal(consoleClashes(undefined, ['/dev/a']), []);
  assert.equal(consoleClashes('/dev/a', ['/dev/b', '/dev/a', undefined, '/dev/./a']).map((c) => c.source), [1, 3]);
});

test('over the air: the console cannot be set or moved, and no source may read the local console', () => {
  const local = { port: { path: '/dev/ttyS0', baudRate: 115200 } };
  const ota = (over: Json = {}): Pick<ResolvedConfig, 'console' | 'sources'> => {
    const r = validateConfig({ ...base(), ...over });
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    return r.config;
  };
  assert.is(otaConsoleProblem(ota(), local), undefined, 'no console in the update: the local one stays');
  assert.is(otaConsoleProblem(ota({ console: local }), local), undefined, 'the same console as the local file');
  assert.match(otaConsoleProblem(ota({ console: { port: { path: '/dev/ttyS1', baudRate: 115200 } } }), local) ?? '', '"console" cannot be set or changed over the air');
  assert.match(otaConsoleProblem(ota({ console: { port: { path: '/dev/ttyS0', baudRate: 9600 } } }), local) ?? '', 'cannot be set or changed');
  assert.match(otaConsoleProblem(ota({ console: local }), undefined) ?? '', 'which has none');
  const onConsole = ota();
  onConsole.sources[0]!.port.path = '/dev/ttyS0';
  assert.match(otaConsoleProblem(onConsole, local) ?? '', 'is the port of sources[0]');
});

test.run();
