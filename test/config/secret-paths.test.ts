// agent/config/secret-paths: no file a config names may be a secret of the
// device, however it is spelled (direct, symlink, "..", a hard link, a file
// that does not exist yet), and validateConfig (config check, run, OTA) says so.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IssueCode, validateConfig } from '../../agent/config/load.js';
import { physicalPath, secretPathIssues, type NamedFiles } from '../../agent/config/secret-paths.js';
import { consoleClashes } from '../../agent/config/console-port.js';
import { tempDir } from '../helpers.js';

function world() {
  const dir = tempDir('tapwire-secret-');
  const state = join(dir.path, 'state');
  const etc = join(dir.path, 'etc');
  mkdirSync(join(state, 'operators'), { recursive: true });
  mkdirSync(etc);
  for (const f of ['device.key', 'device.key.next', 'device.pub']) writeFileSync(join(state, f), 'SECRET\n', { mode: 0o600 });
  writeFileSync(join(state, 'operators', '0011223344556677.pub'), 'aa\n');
  writeFileSync(join(etc, 'password'), 'hunter2\n', { mode: 0o600 });
  const config = (uplink: NamedFiles['uplink'] = {}, ports: string[] = ['/dev/ttyUSB0'], extra: Partial<NamedFiles> = {}): NamedFiles => ({
    stateDir: state, uplink, sources: ports.map((path) => ({ port: { path } })), ...extra,
  });
  return { dir, state, etc, config };
}

test('credential files outside the state directory are fine', () => {
  const w = world();
  try {
    assert.equal(secretPathIssues(w.config({ passwordFile: join(w.etc, 'password'), ca: join(w.etc, 'ca.pem') })), []);
  } finally { w.dir.remove(); }
});

test('the device key, its next key, an operator key and any file in the state directory are refused for passwordFile, cert, key and ca', () => {
  const w = world();
  try {
    const targets = [join(w.state, 'device.key'), join(w.state, 'device.key.next'), join(w.state, 'operators', '0011223344556677.pub'), join(w.state, 'journal', 'seg-1')];
    for (const field of ['passwordFile', 'cert', 'key', 'ca'] as const) {
      for (const target of targets) {
        const issues = secretPathIssues(w.config({ [field]: target }));
        assert.is(issues.length, 1, `${field} = ${target}`);
        assert.is(issues[0]!.path, `uplink.${field}`);
        assert.is(issues[0]!.code, IssueCode.SECRET_PATH);
        assert.match(issues[0]!.message, 'inside the state directory');
      }
    }
  } finally { w.dir.remove(); }
});

test('a symlink, "..", a symlink followed by "..", a hard link and a file that does not exist yet are all seen through', () => {
  const w = world();
  try {
    symlinkSync(join(w.state, 'device.key'), join(w.etc, 'pw-link'));
    symlinkSync(w.state, join(w.etc, 'state-link'));
    // the kernel resolves ".." after a symlink from its target: etc/ops/.. is state/, not etc/
    symlinkSync(join(w.state, 'operators'), join(w.etc, 'ops'));
    linkSync(join(w.state, 'device.key'), join(w.etc, 'hard-key'));
    const spellings: Array<[string, RegExp]> = [
      [join(w.etc, 'pw-link'), /resolves to .*state\/device\.key/],
      [`${w.etc}/../state/device.key`, /inside the state directory/],
      [join(w.etc, 'state-link', 'device.key'), /inside the state directory/],
      [`${w.etc}/ops/../device.key`, /resolves to .*state\/device\.key/],
      [join(w.etc, 'hard-key'), /same file as .*state\/device\.key \(a hard link\)/],
      [join(w.state, 'device.key.old'), /inside the state directory/],
      [`${w.state}/not-yet/../device.key`, /inside the state directory/],
    ];
    for (const [path, why] of spellings) {
      const issues = secretPathIssues(w.config({ username: 'u', passwordFile: path } as NamedFiles['uplink']));
      assert.is(issues.length, 1, path);
      assert.match(issues[0]!.message, why, path);
    }
    // the lexical reading of etc/ops/.. would have been etc/device.key: make sure that is not what we check
    assert.is(physicalPath(`${w.etc}/ops/../device.key`), join(w.state, 'device.key'));
  } finally { w.dir.remove(); }
});

test('a source port or the console port inside the state directory is refused; a console on the same device as a source is the console-port rule\'s', () => {
  const w = world();
  try {
    const inState = secretPathIssues(w.config({}, [join(w.state, 'device.key')]));
    assert.equal(inState.map((i) => i.path), ['sources[0].port.path']);
    symlinkSync('/dev/null', join(w.etc, 'tty-alias'));
    // the console on a source's device is the console-port rule's (one home), reached from the same validateConfig
    assert.equal(secretPathIssues(w.config({}, ['/dev/ttyUSB0', '/dev/null'], { console: { port: { path: join(w.etc, 'tty-alias') } } })), []);
    const clashes = consoleClashes(join(w.etc, 'tty-alias'), ['/dev/ttyUSB0', '/dev/null']);
    assert.equal(clashes.map((c) => c.source), [1]);
    const consoleInState = secretPathIssues(w.config({}, ['/dev/ttyUSB0'], { console: { port: { path: `${w.state}/x/../device.key` } } }));
    assert.equal(consoleInState.map((i) => i.path), ['console.port.path']);
    assert.equal(secretPathIssues(w.config({}, ['/dev/ttyUSB0'], { console: { port: { path: '/dev/ttyS0' } } })), []);
  } finally { w.dir.remove(); }
});

test('validateConfig (config check, run, OTA) refuses such a config with the field and ERR_CONFIG_SECRET_PATH; the secret is never quoted', () => {
  const w = world();
  try {
    const r = validateConfig({
      device: 'd1', stateDir: w.state,
      uplink: { url: 'mqtts://broker.example:8883', username: 'u', passwordFile: join(w.state, 'device.key') },
      sources: [{ id: 's', type: 'lines', port: { path: '/dev/ttyUSB0', baudRate: 9600 }, decoder: { type: 'kv' } }],
    });
    assert.not.ok(r.ok);
    if (r.ok) return;
    assert.equal(r.issues.map((i) => [i.path, i.code]), [['uplink.passwordFile', 'ERR_CONFIG_SECRET_PATH']]);
    assert.not.match(r.issues[0]!.message, 'SECRET');
  } finally { w.dir.remove(); }
});

test.run();
