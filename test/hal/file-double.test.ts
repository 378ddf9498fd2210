// hal/file-double: the shared contract, then its power-cut and fault hooks.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createFileSystemDouble } from '../../hal/file-double.js';
import { errorCode } from '../../hal/file.js';
import { prng } from '../journal/fixtures.js';
import { fileContract } from './file-contract.js';

fileContract(test, async () => {
  const fs = createFileSystemDouble();
  await fs.mkdir('/data');
  return { fs, dir: '/data', async teardown() {} };
});

const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const codeOf = (p: Promise<unknown>): Promise<string | undefined> => p.then(() => 'resolved', (e: unknown) => errorCode(e));

async function durableFile(name: string, content: string) {
  const fs = createFileSystemDouble();
  await fs.mkdir('/d');
  const h = await fs.open(`/d/${name}`, 'create');
  await h.append(bytes(content));
  await h.sync();
  await fs.syncDir('/d');
  return { fs, h };
}

test('crash keeps fsynced data and loses what was written after the last fsync', async () => {
  const { fs, h } = await durableFile('f', 'synced|');
  await h.append(bytes('lost'));
  await h.write(0, bytes('S'));
  assert.is(text(fs.readRaw('/d/f')), 'Synced|lost');
  fs.crash();
  assert.is(text(fs.readRaw('/d/f')), 'synced|');
});

test('truncate after the last fsync is undone by a crash', async () => {
  const { fs, h } = await durableFile('f', '0123456789');
  await h.truncate(3);
  await h.append(bytes('abc'));
  fs.crash();
  assert.is(text(fs.readRaw('/d/f')), '0123456789');
});

test('a new file whose directory was not fsynced vanishes at a crash, even if the file was fsynced', async () => {
  const fs = createFileSystemDouble();
  await fs.mkdir('/d');
  const a = await fs.open('/d/a', 'create');
  await a.append(bytes('x'));
  await a.sync();
  fs.crash();
  assert.equal(await fs.readdir('/d'), []);
  const b = await fs.open('/d/b', 'create');
  await b.append(bytes('y'));
  await b.sync();
  await fs.syncDir('/d');
  fs.crash();
  assert.equal(await fs.readdir('/d'), ['b']);
  assert.is(text(fs.readRaw('/d/b')), 'y');
});

test('rename and unlink without a directory fsync are undone by a crash', async () => {
  const { fs } = await durableFile('f', 'content');
  await fs.rename('/d/f', '/d/g');
  fs.crash();
  assert.equal(await fs.readdir('/d'), ['f']);
  await fs.unlink('/d/f');
  fs.crash();
  assert.equal(await fs.readdir('/d'), ['f']);
  await fs.unlink('/d/f');
  await fs.syncDir('/d');
  fs.crash();
  assert.equal(await fs.readdir('/d'), []);
});

test('a torn crash keeps an in-order prefix of the unsynced appends, cut at a random byte', async () => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 40; seed++) {
    const { fs, h } = await durableFile('f', 'base:');
    const full = 'base:' + 'aaaa|bbbbbbbb|cccccccccccc|';
    await h.append(bytes('aaaa|'));
    await h.append(bytes('bbbbbbbb|'));
    await h.append(bytes('cccccccccccc|'));
    fs.crash({ torn: true, random: prng(seed) });
    const after = text(fs.readRaw('/d/f'));
    assert.ok(full.startsWith(after), `seed ${seed}: "${after}" is a prefix of the written data`);
    assert.ok(after.length >= 5, `seed ${seed}: keeps the synced part (${after.length})`);
    seen.add(after.length);
  }
  assert.ok(seen.size > 5, `tears land at different bytes (${[...seen].join(',')})`);
  assert.ok([...seen].some((n) => n < 32), 'some crashes lose unsynced data');
});

test('a torn in-place overwrite leaves new bytes in front and old bytes behind', async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const { fs, h } = await durableFile('f', 'oooooooooo');
    await h.write(2, bytes('NNNNNN'));
    fs.crash({ torn: true, random: prng(seed) });
    const after = text(fs.readRaw('/d/f'));
    assert.match(after, /^ooN*o+$/, `seed ${seed}: ${after}`);
    assert.is(after.length, 10);
  }
});

test('handles opened before a crash are dead afterwards', async () => {
  const { fs, h } = await durableFile('f', 'x');
  fs.crash();
  assert.is(await codeOf(h.append(bytes('y'))), 'EBADF');
  assert.is(await codeOf(h.sync()), 'EBADF');
  const again = await fs.open('/d/f', 'readwrite');
  await again.append(bytes('y'));
  assert.is(text(fs.readRaw('/d/f')), 'xy');
});

test('failNextWrite fails one write with ENOSPC after a short write, then writes work again', async () => {
  const { fs, h } = await durableFile('f', '');
  fs.failNextWrite('ENOSPC', 3);
  assert.is(await codeOf(h.append(bytes('abcdef'))), 'ENOSPC');
  assert.is(text(fs.readRaw('/d/f')), 'abc', 'the short write left its first bytes');
  await h.append(bytes('!'));
  assert.is(text(fs.readRaw('/d/f')), 'abc!');
  fs.failNextWrite('EIO');
  assert.is(await codeOf(h.write(0, bytes('z'))), 'EIO');
  assert.is(text(fs.readRaw('/d/f')), 'abc!');
});

test('failNextSync fails one fsync and leaves the data unsynced', async () => {
  const { fs, h } = await durableFile('f', 'a');
  await h.append(bytes('b'));
  fs.failNextSync('EIO');
  assert.is(await codeOf(h.sync()), 'EIO');
  fs.crash();
  assert.is(text(fs.readRaw('/d/f')), 'a');
});

test('failReads makes every read of one path fail until cleared', async () => {
  const { fs, h } = await durableFile('f', 'abc');
  fs.failReads('/d/f', 'EIO');
  assert.is(await codeOf(h.read(0, 3)), 'EIO');
  assert.is(await codeOf(h.read(0, 3)), 'EIO');
  fs.failReads('/d/f', undefined);
  assert.is(text(await h.read(0, 3)), 'abc');
});

test('counts fsyncs, directory fsyncs, bytes written and 4 KiB pages flushed', async () => {
  const fs = createFileSystemDouble();
  await fs.mkdir('/d');
  const h = await fs.open('/d/f', 'create');
  await h.append(new Uint8Array(5000));
  await h.append(new Uint8Array(100));
  await h.sync();
  await h.write(0, new Uint8Array(10));
  await h.sync();
  await h.sync();
  await fs.syncDir('/d');
  assert.equal({ ...fs.stats }, { fsyncs: 4, dirSyncs: 1, writes: 3, bytesWritten: 5110, pagesFlushed: 3 });
});

test('writeRaw plants durable content for a test', async () => {
  const fs = createFileSystemDouble();
  await fs.mkdir('/d');
  fs.writeRaw('/d/planted', bytes('garbage'));
  fs.crash();
  assert.is(text(fs.readRaw('/d/planted')), 'garbage');
});

test('a capacity makes it a small disk: whole pages count, a write beyond writes what fits and fails ENOSPC, deleting frees', async () => {
  const fs = createFileSystemDouble();
  await fs.mkdir('/d');
  fs.setCapacity(3 * 4096);
  const a = await fs.open('/d/a', 'create');
  await a.append(new Uint8Array(5000)); // two pages
  assert.equal(await fs.space('/d'), { total: 3 * 4096, free: 4096 });
  assert.is(await codeOf(a.append(new Uint8Array(8000))), 'ENOSPC');
  assert.is(await a.size(), 3 * 4096, 'the part that fitted was written, as a short write does');
  await a.truncate(100);
  assert.is((await fs.space('/d')).free, 2 * 4096, 'truncation frees pages');
  await a.write(0, new Uint8Array(100).fill(1)); // in place: no new page needed
  await fs.unlink('/d/a');
  assert.is((await fs.space('/d')).free, 3 * 4096);
});

test.run();
