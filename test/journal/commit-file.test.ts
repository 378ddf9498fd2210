import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { COMMIT_SLOT_BYTES, createCommitFile, encodeCommitSlot } from '../../agent/journal/commit-file.js';
import { createFileSystemDouble } from '../../hal/file-double.js';
import { nodeFileSystem } from '../../hal/file-node.js';
import { tempDir } from '../helpers.js';
import { prng } from './fixtures.js';

async function doubleDir() {
  const fs = createFileSystemDouble();
  await fs.mkdir('/s');
  return { fs, path: '/s/commit' };
}

test('a missing commit file loads as missing', async () => {
  const { fs, path } = await doubleDir();
  assert.equal(await createCommitFile(path, fs).load(), { ok: false, reason: 'commit file missing', missing: true });
});

test('stores alternate between the two slots and the newest value loads (real fs)', async () => {
  const t = tempDir();
  try {
    const path = `${t.path}/commit`;
    const c = createCommitFile(path, nodeFileSystem);
    // created at its full size (both slots): a rewrite never needs space, even on a full disk
    assert.equal(await c.store(5), { bytes: 2 * COMMIT_SLOT_BYTES, created: true });
    assert.is((await nodeFileSystem.stat(path)).size, 2 * COMMIT_SLOT_BYTES);
    await c.sync();
    assert.equal(await createCommitFile(path, nodeFileSystem).load(), { ok: true, seq: 5 });
    assert.equal(await c.store(9), { bytes: COMMIT_SLOT_BYTES, created: false });
    assert.equal(await c.store(12), { bytes: COMMIT_SLOT_BYTES, created: false });
    await c.sync();
    await c.close();
    assert.is((await nodeFileSystem.stat(path)).size, 2 * COMMIT_SLOT_BYTES, 'rewritten in place: never grows');
    const again = createCommitFile(path, nodeFileSystem);
    assert.equal(await again.load(), { ok: true, seq: 12 });
    // after a load, the next store goes to the slot holding the older value
    await again.store(13);
    await again.close();
    assert.equal(await createCommitFile(path, nodeFileSystem).load(), { ok: true, seq: 13 });
  } finally { t.remove(); }
});

test('a torn rewrite spoils only the slot being written: the previous value loads', async () => {
  let tornToOlder = 0;
  for (let seed = 1; seed <= 30; seed++) {
    const { fs, path } = await doubleDir();
    const c = createCommitFile(path, fs);
    await c.store(100); await c.sync();
    await c.store(200); await c.sync();
    await fs.syncDir('/s');
    await c.store(300); // not fsynced: the power cut may tear it
    fs.crash({ torn: true, random: prng(seed) });
    const r = await createCommitFile(path, fs).load();
    assert.ok(r.ok, `seed ${seed}: a valid slot survives`);
    assert.ok(r.ok && (r.seq === 200 || r.seq === 300), `seed ${seed}: got ${JSON.stringify(r)}`);
    if (r.ok && r.seq === 200) tornToOlder++;
  }
  assert.ok(tornToOlder > 0, 'some crashes lost the unsynced rewrite');
});

test('both slots corrupt loads as corrupt, with the reason', async () => {
  const { fs, path } = await doubleDir();
  fs.writeRaw(path, new Uint8Array(2 * COMMIT_SLOT_BYTES).fill(0x41));
  const r = await createCommitFile(path, fs).load();
  assert.ok(!r.ok && /corrupt/.test(r.reason), JSON.stringify(r));
});

test('one corrupt slot is ignored in favour of the valid one', async () => {
  const { fs, path } = await doubleDir();
  const bad = encodeCommitSlot(999);
  bad[10]! ^= 0xff;
  fs.writeRaw(path, Uint8Array.from(Buffer.concat([bad, encodeCommitSlot(41)])));
  assert.equal(await createCommitFile(path, fs).load(), { ok: true, seq: 41 });
});

test('an unreadable commit file loads as unreadable with the error code', async () => {
  const { fs, path } = await doubleDir();
  fs.writeRaw(path, encodeCommitSlot(3));
  fs.failReads(path, 'EIO');
  const r = await createCommitFile(path, fs).load();
  assert.ok(!r.ok && /unreadable \(EIO\)/.test(r.reason), JSON.stringify(r));
});

test.run();
