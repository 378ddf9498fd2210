// The bundle's native-addon loader: which prebuild it picks, where a SEA may put
// its addon, and that the SEA path really dlopens the serialport addon from a
// content-addressed cache copy (real bytes, real dlopen; the SEA is faked).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDirCandidates, loadAddon, nodeDeps, prebuildNames, seaAssetKey, type LoaderDeps } from '../../build/node-gyp-build-loader.js';
import { tempDir } from '../helpers.js';

const NAME = '@serialport+bindings-cpp';
const PREBUILDS = join('node_modules', '@serialport', 'bindings-cpp', 'prebuilds');
const hostPrebuild = join(PREBUILDS, `linux-${process.arch}`, prebuildNames(NAME, process.arch, undefined)[0]!);
const addonBytes = readFileSync(hostPrebuild);
const addonHash = createHash('sha256').update(addonBytes).digest('hex');

function fakeSea(assets: Record<string, Uint8Array>): LoaderDeps['sea'] {
  return {
    isSea: () => true,
    getRawAsset(key) {
      const b = assets[key];
      if (!b) throw new Error(`no asset ${key}`);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
  };
}

function seaDeps(cacheDirs: string[], dlopen: LoaderDeps['dlopen'] = nodeDeps().dlopen): LoaderDeps {
  return { ...nodeDeps(), cacheDirs, sea: fakeSea({ [seaAssetKey(NAME)]: addonBytes }), dlopen };
}

function isSerialBinding(x: unknown): boolean {
  return typeof x === 'object' && x !== null && typeof (x as { open?: unknown }).open === 'function';
}

test('prebuild names follow prebuildify: glibc only, armv7 falls back to armv6, never the reverse', () => {
  assert.equal(prebuildNames(NAME, 'x64', undefined), [`${NAME}.glibc.node`]);
  assert.equal(prebuildNames(NAME, 'arm64', undefined), [`${NAME}.armv8.glibc.node`]);
  assert.equal(prebuildNames(NAME, 'arm', '7'), [`${NAME}.armv7.glibc.node`, `${NAME}.armv6.glibc.node`]);
  assert.equal(prebuildNames(NAME, 'arm', '6'), [`${NAME}.armv6.glibc.node`]);
  for (const [arch, v] of [['x64', undefined], ['arm64', undefined], ['arm', '7'], ['arm', '6']] as const) {
    for (const n of prebuildNames(NAME, arch, v)) {
      const folder = arch === 'x64' ? 'linux-x64' : arch === 'arm64' ? 'linux-arm64' : 'linux-arm';
      statSync(join(PREBUILDS, folder, n)); // the npm package really ships each name we ask for
    }
  }
});

test('cache dir candidates: explicit, systemd CacheDirectory, XDG, home, state dir — never the tmp dir', () => {
  const dirs = cacheDirCandidates({
    TAPWIRE_CACHE_DIR: '/srv/tw', CACHE_DIRECTORY: '/var/cache/tapwire:/var/cache/other', XDG_CACHE_HOME: '/home/op/.xdg', TMPDIR: '/tmp',
  }, '/home/op');
  assert.equal(dirs, ['/srv/tw', '/var/cache/tapwire', '/home/op/.xdg/tapwire', '/home/op/.cache/tapwire', '/var/lib/tapwire/.cache']);
  assert.equal(cacheDirCandidates({}, undefined), ['/var/lib/tapwire/.cache']);
  for (const d of dirs) assert.not.ok(d.startsWith(tmpdir()) || d.startsWith('/tmp'), d);
});

test('in a SEA the addon asset is written once to <cache>/native/<sha256>/ and dlopened from there', () => {
  const cache = tempDir();
  try {
    const exported = loadAddon(NAME, { bundleDir: '/nonexistent' }, seaDeps([cache.path]));
    assert.ok(isSerialBinding(exported), 'the real serialport binding was loaded');
    const file = join(cache.path, 'native', addonHash.slice(0, 16), `${NAME}.node`);
    assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), addonHash);
    assert.is(statSync(file).mode & 0o777, 0o500);
    assert.is(statSync(join(cache.path, 'native', addonHash.slice(0, 16))).mode & 0o777, 0o700);
    const before = statSync(file);
    loadAddon(NAME, { bundleDir: '/nonexistent' }, seaDeps([cache.path]));
    const after = statSync(file);
    assert.is(after.ino, before.ino, 'an intact cached copy is reused, not rewritten');
  } finally {
    cache.remove();
  }
});

test('a tampered cached addon is replaced before it is loaded', () => {
  const cache = tempDir();
  try {
    const folder = join(cache.path, 'native', addonHash.slice(0, 16));
    mkdirSync(folder, { recursive: true });
    const file = join(folder, `${NAME}.node`);
    writeFileSync(file, 'not an elf');
    chmodSync(file, 0o500);
    const exported = loadAddon(NAME, { bundleDir: '/nonexistent' }, seaDeps([cache.path]));
    assert.ok(isSerialBinding(exported));
    assert.ok(readFileSync(file).equals(addonBytes));
  } finally {
    cache.remove();
  }
});

test('an unusable cache dir (not a dir, or dlopen refused as on noexec) falls through to the next one', () => {
  const cache = tempDir();
  try {
    const notADir = join(cache.path, 'file');
    writeFileSync(notADir, '');
    const noexec = join(cache.path, 'noexec');
    const good = join(cache.path, 'good');
    const real = nodeDeps().dlopen;
    const dlopen = (p: string): unknown => {
      if (p.startsWith(noexec)) throw new Error(`${p}: failed to map segment from shared object`);
      return real(p);
    };
    assert.ok(isSerialBinding(loadAddon(NAME, { bundleDir: '/nonexistent' }, seaDeps([notADir, noexec, good], dlopen))));
    statSync(join(good, 'native', addonHash.slice(0, 16), `${NAME}.node`));
  } finally {
    cache.remove();
  }
});

test('no usable cache dir: the error lists every dir tried and names TAPWIRE_CACHE_DIR', () => {
  const cache = tempDir();
  try {
    const a = join(cache.path, 'a');
    const b = join(cache.path, 'b');
    writeFileSync(a, '');
    const deps = seaDeps([a, b], () => { throw new Error('failed to map segment from shared object'); });
    assert.throws(() => loadAddon(NAME, { bundleDir: '/nonexistent' }, deps), (err: Error) =>
      err.message.includes('TAPWIRE_CACHE_DIR') && err.message.includes(`${a}:`) && err.message.includes(`${b}: failed to map segment`));
  } finally {
    cache.remove();
  }
});

test('outside a SEA the prebuild next to the bundle is loaded; on armv7 an armv6-only folder still works', () => {
  const dir = tempDir();
  try {
    mkdirSync(join(dir.path, 'prebuilds', `linux-${process.arch}`), { recursive: true });
    copyFileSync(hostPrebuild, join(dir.path, 'prebuilds', `linux-${process.arch}`, prebuildNames(NAME, process.arch, undefined)[0]!));
    const deps: LoaderDeps = { ...nodeDeps(), sea: undefined, cacheDirs: [] };
    assert.ok(isSerialBinding(loadAddon(NAME, { bundleDir: dir.path }, deps)));

    mkdirSync(join(dir.path, 'prebuilds', 'linux-arm'), { recursive: true });
    writeFileSync(join(dir.path, 'prebuilds', 'linux-arm', `${NAME}.armv6.glibc.node`), '');
    const opened: string[] = [];
    const arm: LoaderDeps = { ...deps, arch: 'arm', armVersion: '7', dlopen: (p) => { opened.push(p); return {}; } };
    loadAddon(NAME, { bundleDir: dir.path }, arm);
    assert.equal(opened, [join(dir.path, 'prebuilds', 'linux-arm', `${NAME}.armv6.glibc.node`)]);
  } finally {
    dir.remove();
  }
});

test('outside a SEA with no prebuild next to the bundle, the error names the folder and the file it wanted', () => {
  const dir = tempDir();
  try {
    const deps: LoaderDeps = { ...nodeDeps(), sea: undefined, cacheDirs: [] };
    assert.throws(() => loadAddon(NAME, { bundleDir: dir.path }, deps), (err: Error) =>
      err.message.includes(join(dir.path, 'prebuilds', `linux-${process.arch}`)) && err.message.includes(prebuildNames(NAME, process.arch, undefined)[0]!));
  } finally {
    dir.remove();
  }
});

test.run();
