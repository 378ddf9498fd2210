// build/install.sh into a throw-away root (--root, as onto a mounted SD card): the
// files and modes an operator gets, idempotence, offline enable for images, no
// device key in an image, and that the system is never touched in that mode
// (systemctl, useradd & co. on PATH are tripwires).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { LAUNCHER_NODE_FLAGS } from '../../build/sea.mjs';
import { tempDir } from '../helpers.js';

const repo = resolve(import.meta.dirname, '..', '..');
const script = join(repo, 'build', 'install.sh');
const work = tempDir('tapwire-install-');
const bundleDir = join(work.path, 'bundle');
const fakeSea = join(work.path, 'tapwire-linux-x64');
const tripwireLog = join(work.path, 'tripwire.log');
const tripwireBin = join(work.path, 'tripwire-bin');

interface Result { code: number; stdout: string; stderr: string }

function exec(file: string, args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((done) => {
    execFile(file, args, { cwd: repo, env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** install.sh with every system-changing command replaced by one that logs its call. */
const install = (args: string[]): Promise<Result> =>
  exec('sh', [script, ...args], { PATH: `${tripwireBin}:${process.env.PATH ?? ''}` });

function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      out.push(`${relative(root, p)} ${st.isSymbolicLink() ? `-> ${readlinkSync(p)}` : st.isDirectory() ? `dir ${mode}` : `file ${mode}`}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

const mode = (p: string): number => statSync(p).mode & 0o7777;

test.before(async () => {
  mkdirSync(tripwireBin);
  for (const cmd of ['systemctl', 'systemd-sysusers', 'systemd-tmpfiles', 'useradd', 'usermod', 'groupadd', 'chown']) {
    writeFileSync(join(tripwireBin, cmd), `#!/bin/sh\necho "${cmd} $*" >> "${tripwireLog}"\n`);
    chmodSync(join(tripwireBin, cmd), 0o755);
  }
  writeFileSync(fakeSea, '#!/bin/sh\necho sea "$@"\n');
  chmodSync(fakeSea, 0o755);
  const r = await exec(process.execPath, ['esbuild.config.mjs', '--entry', 'test/peers/bundle-probe.ts', '--outdir', bundleDir]);
  assert.is(r.code, 0, r.stderr);
});
test.after(() => work.remove());

test('a SEA install lays out the binary, a PATH entry, the unit, the user declaration, /etc/tapwire 0750 with the sample config, and no key', async () => {
  const root = tempDir();
  try {
    const r = await install(['--root', root.path, '--from', fakeSea]);
    assert.is(r.code, 0, r.stderr);
    const bin = join(root.path, 'usr/local/lib/tapwire/tapwire');
    assert.is(mode(bin), 0o755);
    assert.ok(readFileSync(bin).equals(readFileSync(fakeSea)));
    assert.is(readlinkSync(join(root.path, 'usr/local/bin/tapwire')), '/usr/local/lib/tapwire/tapwire');
    const unit = join(root.path, 'etc/systemd/system/tapwire.service');
    assert.is(mode(unit), 0o644);
    assert.is(readFileSync(unit, 'utf8'), readFileSync(join(repo, 'build/tapwire.service'), 'utf8'));
    assert.is(mode(join(root.path, 'etc/tapwire')), 0o750);
    assert.match(readFileSync(join(root.path, 'usr/lib/sysusers.d/tapwire.conf'), 'utf8'), /^u tapwire .*\nm tapwire dialout$/m);
    const tmpfiles = readFileSync(join(root.path, 'usr/lib/tmpfiles.d/tapwire.conf'), 'utf8');
    assert.match(tmpfiles, /^d \/etc\/tapwire 0750 root tapwire -$/m);
    assert.match(tmpfiles, /^z \/etc\/tapwire\/config\.json 0640 root tapwire -$/m, 'a config put into an image becomes readable by the agent at boot');
    assert.is(mode(join(root.path, 'etc/tapwire/config.example.json')), 0o644);
    assert.is(readFileSync(join(root.path, 'etc/tapwire/config.example.json'), 'utf8'), readFileSync(join(repo, 'build/config.example.json'), 'utf8'));
    assert.not.ok(existsSync(join(root.path, 'etc/tapwire/config.json')), 'no config is invented');
    assert.not.ok(existsSync(join(root.path, 'var/lib/tapwire')), 'no state, no key in the image: each device makes its own at first boot');
    assert.match(r.stdout, /first start the device makes its key and logs the fingerprint/);
    assert.not.ok(existsSync(join(root.path, 'etc/systemd/system/multi-user.target.wants')), 'not enabled without --enable');
    assert.not.ok(existsSync(tripwireLog), `no system command ran: ${existsSync(tripwireLog) ? readFileSync(tripwireLog, 'utf8') : ''}`);
  } finally {
    root.remove();
  }
});

test('a bundle install ships tapwire.js with its prebuilds and the launcher, and the installed copy starts (addon found)', async () => {
  const root = tempDir();
  try {
    const r = await install(['--root', root.path, '--from', bundleDir]);
    assert.is(r.code, 0, r.stderr);
    const lib = join(root.path, 'usr/local/lib/tapwire');
    assert.is(mode(join(lib, 'tapwire.js')), 0o644);
    assert.equal(JSON.parse(readFileSync(join(lib, 'package.json'), 'utf8')), { type: 'commonjs' });
    assert.is(mode(join(lib, 'prebuilds/linux-arm/@serialport+bindings-cpp.armv7.glibc.node')), 0o644);
    const started = await exec(process.execPath, [join(lib, 'tapwire.js'), '--version']);
    assert.is(started.code, 0, started.stderr);
    assert.is(started.stderr, '');
    // PATH entry -> launcher -> the system node with the device's node flags and tapwire.js beside the launcher, arguments passed through
    assert.is(readlinkSync(join(root.path, 'usr/local/bin/tapwire')), '/usr/local/lib/tapwire/tapwire');
    const launcher = join(lib, 'tapwire');
    assert.is(mode(launcher), 0o755);
    const link = join(root.path, 'tapwire-link');
    symlinkSync(launcher, link); // as /usr/local/bin/tapwire is on the device
    const w = await exec(link, ['run', '--config', '/etc/tapwire/config.json'], { TAPWIRE_NODE: 'echo' });
    assert.is(mode(join(lib, 'compile-cache.cjs')), 0o644);
    assert.is(w.stdout, `${LAUNCHER_NODE_FLAGS.join(' ')} --require ${join(lib, 'compile-cache.cjs')} ${join(lib, 'tapwire.js')} run --config /etc/tapwire/config.json\n`);
    const real = await exec(link, ['--version'], { TAPWIRE_NODE: process.execPath });
    assert.is(real.code, 0, real.stderr);
    const none = await exec(link, ['--version'], { TAPWIRE_NODE: 'no-such-node' });
    assert.is(none.code, 1);
    assert.match(none.stderr, /needs Node\.js >= 20 on this device/);
    assert.not.ok(existsSync(tripwireLog));
  } finally {
    root.remove();
  }
});

test('re-running is idempotent, switching bundle to SEA leaves no stale files, and an existing config is kept', async () => {
  const root = tempDir();
  try {
    mkdirSync(join(root.path, 'etc/tapwire'), { recursive: true, mode: 0o755 });
    writeFileSync(join(root.path, 'etc/tapwire/config.json'), '{"device":"pump-7"}', { mode: 0o600 });
    assert.is((await install(['--root', root.path, '--from', bundleDir])).code, 0);
    const r = await install(['--root', root.path, '--from', fakeSea]);
    assert.is(r.code, 0, r.stderr);
    const first = tree(root.path);
    assert.is((await install(['--root', root.path, '--from', fakeSea])).code, 0);
    assert.equal(tree(root.path), first);
    assert.equal(readdirSync(join(root.path, 'usr/local/lib/tapwire')), ['tapwire']);
    assert.equal(readdirSync(join(root.path, 'usr/local/lib')), ['tapwire'], 'no .new/.old staging dirs left');
    assert.is(readFileSync(join(root.path, 'etc/tapwire/config.json'), 'utf8'), '{"device":"pump-7"}');
    assert.is(mode(join(root.path, 'etc/tapwire/config.json')), 0o600);
    assert.is(mode(join(root.path, 'etc/tapwire')), 0o750, 'a too-open config dir is tightened');
  } finally {
    root.remove();
  }
});

test('--enable into a dest root enables offline (the WantedBy symlink) and runs no systemctl', async () => {
  const root = tempDir();
  try {
    const r = await install(['--dest-root', root.path, '--from', fakeSea, '--enable']); // the old name of --root
    assert.is(r.code, 0, r.stderr);
    assert.is(readlinkSync(join(root.path, 'etc/systemd/system/multi-user.target.wants/tapwire.service')), '/etc/systemd/system/tapwire.service');
    assert.match(readFileSync(join(repo, 'build/tapwire.service'), 'utf8'), /^WantedBy=multi-user\.target$/m);
    assert.not.ok(existsSync(tripwireLog));
  } finally {
    root.remove();
  }
});

test('--prefix moves the program and the unit ExecStart follows', async () => {
  const root = tempDir();
  try {
    const r = await install(['--root', root.path, '--from', fakeSea, '--prefix', '/opt/tapwire']);
    assert.is(r.code, 0, r.stderr);
    assert.is(mode(join(root.path, 'opt/tapwire/lib/tapwire/tapwire')), 0o755);
    assert.is(readlinkSync(join(root.path, 'opt/tapwire/bin/tapwire')), '/opt/tapwire/lib/tapwire/tapwire');
    const unit = readFileSync(join(root.path, 'etc/systemd/system/tapwire.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/opt\/tapwire\/bin\/tapwire run --config \/etc\/tapwire\/config\.json$/m);
    assert.match(unit, /^ExecStartPre=-\/opt\/tapwire\/bin\/tapwire provision --if-missing --config \/etc\/tapwire\/config\.json$/m);
    assert.not.match(unit, /\/usr\/local\//);
  } finally {
    root.remove();
  }
});

test('the installed unit passes systemd-analyze verify with no complaint', async () => {
  const root = tempDir();
  try {
    assert.is((await install(['--root', root.path, '--from', fakeSea])).code, 0);
    // verify resolves ExecStart on this host: point it at the installed copy
    const unit = readFileSync(join(root.path, 'etc/systemd/system/tapwire.service'), 'utf8')
      .replaceAll('=/usr/local/bin/tapwire', `=${join(root.path, 'usr/local/lib/tapwire/tapwire')}`)
      .replaceAll('=-/usr/local/bin/tapwire', `=-${join(root.path, 'usr/local/lib/tapwire/tapwire')}`);
    const check = join(root.path, 'tapwire.service');
    writeFileSync(check, unit);
    const r = await exec('systemd-analyze', ['verify', check]);
    assert.is(r.code, 0, r.stderr);
    assert.is(`${r.stdout}${r.stderr}`, '', 'no unknown key, no bad value');
  } finally {
    root.remove();
  }
});

test('bad usage exits 2; a missing artifact exits 1 and says what to build', async () => {
  const root = tempDir();
  try {
    assert.is((await install(['--root', root.path, '--bogus'])).code, 2);
    assert.is((await install(['--root', root.path, '--prefix', 'relative'])).code, 2);
    const r = await install(['--root', root.path, '--from', join(root.path, 'nothing')]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /npm run build/);
    assert.equal(readdirSync(root.path), [], 'nothing written');
  } finally {
    root.remove();
  }
});

test('--config puts the fleet config in place (0640) once, never over an existing one; the run from a release folder needs no --from', async () => {
  const rel = tempDir('tapwire-release-layout-');
  const root = tempDir();
  try {
    // an unpacked release tarball: the program and the install files side by side
    for (const f of ['install.sh', 'tapwire.service', 'config.example.json']) copyFileSync(join(repo, 'build', f), join(rel.path, f));
    copyFileSync(fakeSea, join(rel.path, 'tapwire'));
    chmodSync(join(rel.path, 'tapwire'), 0o755);
    const fleet = join(work.path, 'fleet.json');
    writeFileSync(fleet, '{"device":"pump-${serial}"}\n');
    const r = await exec('sh', [join(rel.path, 'install.sh'), '--root', root.path, '--config', fleet], { PATH: `${tripwireBin}:${process.env.PATH ?? ''}` });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /installed tapwire \(sea\)/);
    assert.ok(readFileSync(join(root.path, 'usr/local/lib/tapwire/tapwire')).equals(readFileSync(fakeSea)), 'the tarball\'s own program');
    const config = join(root.path, 'etc/tapwire/config.json');
    assert.is(readFileSync(config, 'utf8'), '{"device":"pump-${serial}"}\n');
    assert.is(mode(config), 0o640);
    writeFileSync(fleet, '{"device":"other"}\n');
    const again = await install(['--root', root.path, '--from', fakeSea, '--config', fleet]);
    assert.is(again.code, 0, again.stderr);
    assert.match(again.stderr, /exists, kept as it is/);
    assert.is(readFileSync(config, 'utf8'), '{"device":"pump-${serial}"}\n', 'never replaced');
    assert.not.ok(existsSync(tripwireLog));
  } finally {
    rel.remove();
    root.remove();
  }
});

test('the bundle layout of a release folder (tapwire.js, prebuilds/, launcher) installs with no --from', async () => {
  const rel = tempDir('tapwire-release-layout-');
  const root = tempDir();
  try {
    for (const f of ['install.sh', 'tapwire.service', 'config.example.json']) copyFileSync(join(repo, 'build', f), join(rel.path, f));
    copyFileSync(join(repo, 'build', 'tapwire-launcher.sh'), join(rel.path, 'tapwire'));
    copyFileSync(join(bundleDir, 'tapwire.js'), join(rel.path, 'tapwire.js'));
    cpSync(join(bundleDir, 'prebuilds', 'linux-arm'), join(rel.path, 'prebuilds', 'linux-arm'), { recursive: true });
    const r = await exec('sh', [join(rel.path, 'install.sh'), '--root', root.path], { PATH: `${tripwireBin}:${process.env.PATH ?? ''}` });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /installed tapwire \(bundle\)/);
    assert.equal(readdirSync(join(root.path, 'usr/local/lib/tapwire')).sort(), ['package.json', 'prebuilds', 'tapwire', 'tapwire.js']);
    assert.is(readFileSync(join(root.path, 'usr/local/lib/tapwire/tapwire'), 'utf8'), readFileSync(join(repo, 'build/tapwire-launcher.sh'), 'utf8'));
  } finally {
    rel.remove();
    root.remove();
  }
});

test('an image that already holds a device key is refused (cards would share it), unless --keep-device-key', async () => {
  const root = tempDir();
  try {
    mkdirSync(join(root.path, 'var/lib/tapwire'), { recursive: true });
    writeFileSync(join(root.path, 'var/lib/tapwire/device.key'), 'not really a key', { mode: 0o600 });
    const r = await install(['--root', root.path, '--from', fakeSea]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /every card flashed from this image would share one device key/);
    assert.equal(readdirSync(root.path), ['var'], 'nothing installed');
    const kept = await install(['--root', root.path, '--from', fakeSea, '--keep-device-key']);
    assert.is(kept.code, 0, kept.stderr);
    assert.is(readFileSync(join(root.path, 'var/lib/tapwire/device.key'), 'utf8'), 'not really a key');
  } finally {
    root.remove();
  }
});

test('a ${machine-id} config in an image that has a machine id is warned about (cloned cards would share the id); an empty one is fine', async () => {
  const root = tempDir();
  try {
    mkdirSync(join(root.path, 'etc'), { recursive: true });
    const fleet = join(work.path, 'fleet-mid.json');
    writeFileSync(fleet, '{"device":"pump-${machine-id}"}\n');
    writeFileSync(join(root.path, 'etc/machine-id'), '');
    const fine = await install(['--root', root.path, '--from', fakeSea, '--config', fleet]);
    assert.is(fine.code, 0, fine.stderr);
    assert.not.match(fine.stderr, /machine id/);
    writeFileSync(join(root.path, 'etc/machine-id'), '3d1219c7c4c5404aaa1f6d2a48adfda4\n');
    const warned = await install(['--root', root.path, '--from', fakeSea]);
    assert.is(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /every card would get the same device id/);
  } finally {
    root.remove();
  }
});

test.run();
