// hal/replace-file.ts: a volatile file replaced whole, with the permission
// bits asked for; a leftover temp file is no obstacle, a failed write leaves none.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createFileSystemDouble } from '../../hal/file-double.js';
import { nodeFileSystem } from '../../hal/file-node.js';
import { replaceFile } from '../../hal/replace-file.js';
import { tempDir } from '../helpers.js';

test('real files: replaced whole with the permission bits asked for (less the umask), over a leftover temp file', async () => {
  const dir = tempDir('tapwire-replace-');
  try {
    const file = join(dir.path, 'status.json');
    writeFileSync(`${file}.tmp`, 'half a file from a crash');
    await replaceFile(nodeFileSystem, file, Buffer.from('{"a":1}\n'), { perm: 0o644 });
    await replaceFile(nodeFileSystem, file, Buffer.from('{"a":2}\n'), { perm: 0o644 });
    assert.is(readFileSync(file, 'utf8'), '{"a":2}\n');
    const umask = process.umask();
    assert.is(statSync(file).mode & 0o777, 0o644 & ~umask, 'readable by others (tapwire status run by an operator)');
    assert.equal(readdirSync(dir.path), ['status.json'], 'no temp file left');
  } finally {
    dir.remove();
  }
});

test('a full disk: the write fails, the old file stays, no temp file is left behind', async () => {
  const fs = createFileSystemDouble();
  await fs.mkdir('/run');
  await replaceFile(fs, '/run/status.json', Buffer.from('old'), { perm: 0o644 });
  fs.failNextWrite('ENOSPC', 2);
  let code: string | undefined;
  try { await replaceFile(fs, '/run/status.json', Buffer.from('new content'), { perm: 0o644 }); } catch (err) { code = (err as { code?: string }).code; }
  assert.is(code, 'ENOSPC');
  assert.is(Buffer.from(fs.readRaw('/run/status.json')).toString(), 'old');
  assert.equal(await fs.readdir('/run'), ['status.json']);
});

test.run();
