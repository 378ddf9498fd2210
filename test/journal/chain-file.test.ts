import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CHAIN_SLOT_BYTES, createChainFile, decodeChainSlot, encodeChainSlot, parseBootId, type ChainRecord } from '../../agent/journal/chain-file.js';
import { createFileSystemDouble } from '../../hal/file-double.js';
import { prng } from './fixtures.js';

const rec = (seq: number, gen: number, extra: Partial<ChainRecord> = {}): ChainRecord => ({
  seq, gen, lease: seq + 1024, hash: new Uint8Array(32).fill(seq & 0xff), epoch: new Uint8Array(8), clean: false,
  bootId: new Uint8Array(16).fill(7), ...extra,
});

test('a chain slot round-trips every field; a flipped byte or an unknown version is no slot', () => {
  const r = rec(2 ** 40 + 5, 0xffff_fffe, { clean: true, epoch: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) });
  const b = encodeChainSlot(r);
  assert.is(b.length, CHAIN_SLOT_BYTES);
  assert.equal(decodeChainSlot(b), r);
  for (const at of [0, 5, 10, 15, 30, 40, 60, 86]) {
    const bad = b.slice();
    bad[at]! ^= 0x10;
    assert.is(decodeChainSlot(bad), undefined, `byte ${at} flipped`);
  }
});

test('the newer slot wins by its write counter, across the counter wrapping; a torn rewrite leaves the older one', async () => {
  const fs = createFileSystemDouble();
  await fs.mkdir('/s');
  const f = createChainFile('/s/chain', fs);
  await f.store(rec(10, 0xffff_ffff));
  await f.store(rec(11, 0)); // wrapped: still newer
  await fs.syncDir('/s');
  await f.sync();
  const loaded = await createChainFile('/s/chain', fs).load();
  assert.ok(loaded.ok && loaded.value.seq === 11, JSON.stringify(loaded));
  let older = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const fs2 = createFileSystemDouble();
    await fs2.mkdir('/s');
    const g = createChainFile('/s/chain', fs2);
    await g.store(rec(5, 1)); await g.sync(); await fs2.syncDir('/s');
    await g.store(rec(6, 2)); await g.sync();
    await g.store(rec(7, 3)); // not fsynced: a power cut may tear it
    fs2.crash({ torn: true, random: prng(seed) });
    const r = await createChainFile('/s/chain', fs2).load();
    assert.ok(r.ok && (r.value.seq === 6 || r.value.seq === 7), `seed ${seed}: ${JSON.stringify(r)}`);
    if (r.ok && r.value.seq === 6) older++;
  }
  assert.ok(older > 0, 'some power cuts lost the unsynced rewrite');
});

test('a boot id parses from its UUID text; anything else is unknown (zeros)', () => {
  assert.equal(parseBootId('0f4b7f4e-5c53-4d6a-9f0e-1d2c3b4a5968\n'), Uint8Array.from(Buffer.from('0f4b7f4e5c534d6a9f0e1d2c3b4a5968', 'hex')));
  assert.equal(parseBootId(undefined), new Uint8Array(16));
  assert.equal(parseBootId('not a uuid'), new Uint8Array(16));
});

test.run();
