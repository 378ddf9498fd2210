// agent/config/preflight: what `run` needs of the system, as `config check`
// and `run` both check it (issue 13 defects 5, 6 and 9), on real files.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssues } from '../../agent/config/load.js';
import { preflight, stateDirProblem, type PreflightConfig } from '../../agent/config/preflight.js';
import { generateKeyPair, writeKeyPair } from '../../agent/encode/keys.js';
import { mountSmallDisk } from '../peers/tmpfs.js';
import { tempDir } from '../helpers.js';

function world() {
  const dir = tempDir('tapwire-preflight-');
  const state = join(dir.path, 'state');
  const config = (over: Partial<PreflightConfig> = {}): PreflightConfig => ({
    stateDir: state, uplink: {}, sources: [{ port: { path: '/dev/ttyUSB0' } }], ...over,
  });
  return { dir, state, config };
}

test('a config whose files are all there passes, and check leaves no state directory behind', () => {
  const w = world();
  try {
    writeFileSync(join(w.dir.path, 'ca.pem'), 'CA');
    writeFileSync(join(w.dir.path, 'pw'), 'pw\n', { mode: 0o600 });
    const c = w.config({ stateDir: join(w.state, 'deep', 'er'), uplink: { ca: join(w.dir.path, 'ca.pem'), passwordFile: join(w.dir.path, 'pw') } });
    assert.equal(preflight(c), []);
    assert.not.ok(existsSync(w.state), 'config check creates nothing that stays');
    assert.equal(preflight(c, { create: true }), []);
    assert.is(statSync(c.stateDir).mode & 0o777, 0o700, 'run creates it 0700');
  } finally { w.dir.remove(); }
});

test('missing ca, cert, key and passwordFile are named by their field', () => {
  const w = world();
  try {
    const nope = (f: string): string => join(w.dir.path, 'missing', f);
    const found = preflight(w.config({ uplink: { ca: nope('ca'), cert: nope('cert'), key: nope('key'), passwordFile: nope('pw') } }));
    assert.equal(found.map((i) => i.path), ['uplink.ca', 'uplink.cert', 'uplink.passwordFile'], formatIssues(found));
    for (const i of found) assert.match(i.message, /cannot read .*: no such file$/);
  } finally { w.dir.remove(); }
});

test('a secret readable by others is refused with the chmod to fix it', () => {
  const w = world();
  try {
    const pw = join(w.dir.path, 'pw');
    writeFileSync(pw, 'pw\n');
    chmodSync(pw, 0o644);
    const found = preflight(w.config({ uplink: { passwordFile: pw } }));
    assert.is(found.length, 1, formatIssues(found));
    assert.is(found[0]!.path, 'uplink.passwordFile');
    assert.ok(found[0]!.message.includes(`chmod 600 ${pw}`), found[0]!.message);
  } finally { w.dir.remove(); }
});

test('a stateDir that is a file is one clear issue (no "ota state.json unreadable")', () => {
  const w = world();
  try {
    writeFileSync(w.state, 'not a dir');
    const found = preflight(w.config());
    assert.is(found.length, 1, formatIssues(found));
    assert.is(found[0]!.path, 'stateDir');
    assert.match(found[0]!.message, /is a file; the state directory must be a directory/);
  } finally { w.dir.remove(); }
});

test('a stateDir that is a dangling symlink says where it points', () => {
  const w = world();
  try {
    symlinkSync(join(w.dir.path, 'gone'), w.state);
    assert.match(stateDirProblem(w.state, { create: true }) ?? '', /is a symlink to .*gone, which does not exist/);
  } finally { w.dir.remove(); }
});

test('a stateDir under /proc fails at once (a recursive mkdir there loops forever)', () => {
  assert.match(stateDirProblem('/proc/tapwire-preflight-test/state', { create: true }) ?? '', /cannot be created \(mkdir \/proc\/tapwire-preflight-test\)/);
});

test('a read-only stateDir is "not writable", for check and run alike', () => {
  const w = world();
  mkdirSync(w.state);
  // root passes mode bits: a read-only mount is what a read-only directory is to root
  const asRoot = process.getuid?.() === 0;
  const mounted = asRoot && spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', w.state]).status === 0;
  if (!mounted) chmodSync(w.state, 0o555);
  try {
    const found = preflight(w.config());
    assert.is(found.length, 1, formatIssues(found));
    assert.is(found[0]!.path, 'stateDir');
    assert.match(found[0]!.message, /is not writable: (read-only file system|permission denied)/);
    assert.match(stateDirProblem(join(w.state, 'sub'), { create: true }) ?? '', /cannot be created \(mkdir .*sub\): (read-only file system|permission denied)/);
  } finally {
    if (mounted) spawnSync('umount', [w.state]);
    chmodSync(w.state, 0o700);
    w.dir.remove();
  }
});

test('a full disk is no reason not to start (the journal drops its oldest): preflight passes', () => {
  const disk = mountSmallDisk(64 * 1024);
  if ('cannot' in disk) throw new Error(disk.cannot);
  try {
    assert.throws(() => writeFileSync(join(disk.path, 'fill'), Buffer.alloc(128 * 1024)), /ENOSPC/);
    assert.equal(preflight({ stateDir: disk.path, uplink: {}, sources: [] }), []);
  } finally { disk.unmount(); }
});

test('a device key readable by others is refused with chmod 600, not "create the device key"', () => {
  const w = world();
  try {
    mkdirSync(w.state);
    const key = join(w.state, 'device.key');
    writeKeyPair(key, join(w.state, 'device.pub'), generateKeyPair());
    assert.equal(preflight(w.config()), []);
    chmodSync(key, 0o644);
    const found = preflight(w.config());
    assert.is(found.length, 1, formatIssues(found));
    assert.ok(found[0]!.message.includes(`chmod 600 ${key}`), found[0]!.message);
    assert.not.match(found[0]!.message, /provision/);
  } finally { w.dir.remove(); }
});

test('one device named by a symlink in one source and by its own path in another is refused', () => {
  const w = world();
  try {
    const link = join(w.dir.path, 'port-link');
    symlinkSync('/dev/null', link);
    const found = preflight(w.config({ sources: [{ port: { path: '/dev/null' } }, { port: { path: link } }] }));
    assert.is(found.length, 1, formatIssues(found));
    assert.is(found[0]!.path, 'sources[1].port.path');
    assert.match(found[0]!.message, /is the device of sources\[0\]\.port\.path "\/dev\/null".*one port, one source/);
    assert.equal(preflight(w.config({ sources: [{ port: { path: '/dev/null' } }, { port: { path: '/dev/zero' } }] })), []);
  } finally { w.dir.remove(); }
});

test.run();
