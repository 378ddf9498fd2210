// One contract suite for hal/file, run against the in-memory double and the
// real node:fs implementation on a temp dir.

import * as assert from 'uvu/assert';
import { errorCode } from '../../hal/file.js';
import type { FileSystem } from '../../hal/file.js';

export interface FileContractSetup {
  fs: FileSystem;
  /** An existing, empty directory. */
  dir: string;
  teardown(): Promise<void>;
}

type Test = (name: string, fn: () => Promise<void>) => void;

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(() => 'resolved', (e: unknown) => errorCode(e) ?? `no code: ${String(e)}`);
}

const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

export function fileContract(test: Test, setup: () => Promise<FileContractSetup>): void {
  test('a created file reads back what was appended and written in place', async () => {
    const s = await setup();
    try {
      const h = await s.fs.open(`${s.dir}/a`, 'create');
      await h.append(bytes('hello '));
      await h.append(bytes('world'));
      await h.write(0, bytes('J'));
      assert.is(await h.size(), 11);
      assert.is(text(await h.read(0, 11)), 'Jello world');
      assert.is(text(await h.read(6, 3)), 'wor');
      await h.close();
      const r = await s.fs.open(`${s.dir}/a`, 'read');
      assert.is(text(await r.read(0, 100)), 'Jello world', 'data is visible to a new handle');
      await r.close();
    } finally { await s.teardown(); }
  });

  test('read past the end returns only the bytes that exist', async () => {
    const s = await setup();
    try {
      const h = await s.fs.open(`${s.dir}/a`, 'create');
      await h.append(bytes('abc'));
      assert.is(text(await h.read(1, 10)), 'bc');
      assert.is((await h.read(3, 10)).length, 0);
      assert.is((await h.read(50, 10)).length, 0);
      await h.close();
    } finally { await s.teardown(); }
  });

  test('write beyond the end fills the gap with zeros', async () => {
    const s = await setup();
    try {
      const h = await s.fs.open(`${s.dir}/a`, 'create');
      await h.append(bytes('ab'));
      await h.write(5, bytes('z'));
      assert.equal([...await h.read(0, 10)], [0x61, 0x62, 0, 0, 0, 0x7a]);
      await h.close();
    } finally { await s.teardown(); }
  });

  test('truncate shrinks the file, size follows, and append continues at the new end', async () => {
    const s = await setup();
    try {
      const h = await s.fs.open(`${s.dir}/a`, 'create');
      await h.append(bytes('0123456789'));
      await h.truncate(4);
      assert.is(await h.size(), 4);
      await h.append(bytes('xy'));
      assert.is(text(await h.read(0, 100)), '0123xy');
      assert.is((await s.fs.stat(`${s.dir}/a`)).size, 6);
      await h.close();
    } finally { await s.teardown(); }
  });

  test('create refuses an existing file (EEXIST); read and readwrite refuse a missing one (ENOENT)', async () => {
    const s = await setup();
    try {
      await (await s.fs.open(`${s.dir}/a`, 'create')).close();
      assert.is(await codeOf(s.fs.open(`${s.dir}/a`, 'create')), 'EEXIST');
      assert.is(await codeOf(s.fs.open(`${s.dir}/missing`, 'read')), 'ENOENT');
      assert.is(await codeOf(s.fs.open(`${s.dir}/missing`, 'readwrite')), 'ENOENT');
      assert.is(await codeOf(s.fs.open(`${s.dir}/no-such-dir/a`, 'create')), 'ENOENT');
    } finally { await s.teardown(); }
  });

  test('a read-only handle refuses writes and a closed handle refuses everything', async () => {
    const s = await setup();
    try {
      await (await s.fs.open(`${s.dir}/a`, 'create')).close();
      const r = await s.fs.open(`${s.dir}/a`, 'read');
      assert.is(await codeOf(r.append(bytes('x'))), 'EBADF');
      await r.close();
      const w = await s.fs.open(`${s.dir}/a`, 'readwrite');
      await w.close();
      assert.is(await codeOf(w.read(0, 1)), 'EBADF');
      assert.is(await codeOf(w.append(bytes('x'))), 'EBADF');
      assert.is((await s.fs.stat(`${s.dir}/a`)).size, 0);
    } finally { await s.teardown(); }
  });

  test('rename moves a file, unlink removes it, readdir lists entry names', async () => {
    const s = await setup();
    try {
      const h = await s.fs.open(`${s.dir}/a`, 'create');
      await h.append(bytes('data'));
      await h.close();
      await (await s.fs.open(`${s.dir}/b`, 'create')).close();
      assert.equal((await s.fs.readdir(s.dir)).sort(), ['a', 'b']);
      await s.fs.rename(`${s.dir}/a`, `${s.dir}/a.quarantine`);
      assert.equal((await s.fs.readdir(s.dir)).sort(), ['a.quarantine', 'b']);
      const r = await s.fs.open(`${s.dir}/a.quarantine`, 'read');
      assert.is(text(await r.read(0, 10)), 'data');
      await r.close();
      await s.fs.unlink(`${s.dir}/b`);
      assert.equal(await s.fs.readdir(s.dir), ['a.quarantine']);
      assert.is(await codeOf(s.fs.unlink(`${s.dir}/b`)), 'ENOENT');
      assert.is(await codeOf(s.fs.rename(`${s.dir}/b`, `${s.dir}/c`)), 'ENOENT');
    } finally { await s.teardown(); }
  });

  test('stat reports size and kind, and rejects a missing path with ENOENT', async () => {
    const s = await setup();
    try {
      const h = await s.fs.open(`${s.dir}/a`, 'create');
      await h.append(bytes('12345'));
      await h.close();
      assert.equal(await s.fs.stat(`${s.dir}/a`), { size: 5, isFile: true });
      assert.is((await s.fs.stat(s.dir)).isFile, false);
      assert.is(await codeOf(s.fs.stat(`${s.dir}/nope`)), 'ENOENT');
      assert.is(await codeOf(s.fs.readdir(`${s.dir}/nope`)), 'ENOENT');
    } finally { await s.teardown(); }
  });

  test('mkdir creates parents and is idempotent', async () => {
    const s = await setup();
    try {
      await s.fs.mkdir(`${s.dir}/x/y/z`);
      await s.fs.mkdir(`${s.dir}/x/y/z`);
      assert.equal(await s.fs.readdir(`${s.dir}/x`), ['y']);
      await (await s.fs.open(`${s.dir}/x/y/z/f`, 'create')).close();
      assert.equal(await s.fs.readdir(`${s.dir}/x/y/z`), ['f']);
    } finally { await s.teardown(); }
  });

  test('sync of a written file and syncDir of its directory succeed', async () => {
    const s = await setup();
    try {
      const h = await s.fs.open(`${s.dir}/a`, 'create');
      await h.append(bytes('durable'));
      await h.sync();
      await s.fs.syncDir(s.dir);
      await h.close();
      assert.is((await s.fs.stat(`${s.dir}/a`)).size, 7);
      assert.is(await codeOf(s.fs.syncDir(`${s.dir}/nope`)), 'ENOENT');
    } finally { await s.teardown(); }
  });

  test('space() tells the total and free bytes, and free shrinks as a file grows', async () => {
    const s = await setup();
    try {
      assert.ok(s.fs.space, 'both implementations can tell');
      const before = await s.fs.space!(s.dir);
      assert.ok(before.total > 0 && before.free >= 0 && before.free <= before.total, JSON.stringify(before));
      const h = await s.fs.open(`${s.dir}/big`, 'create');
      await h.append(new Uint8Array(1024 * 1024));
      await h.sync();
      const after = await s.fs.space!(s.dir);
      // other writers share a real disk: allow slack, but a MiB written must show
      assert.ok(after.free <= before.free - 512 * 1024, `free ${before.free} -> ${after.free}`);
      await h.close();
    } finally { await s.teardown(); }
  });
}
