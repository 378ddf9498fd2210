import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readUplinkFiles, UplinkFileError } from '../../agent/uplink/tls-files.js';
import { tempDir } from '../helpers.js';

function file(dir: string, name: string, content: string, mode: number): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  chmodSync(p, mode);
  return p;
}

function thrown(fn: () => unknown): UplinkFileError {
  try { fn(); } catch (err) {
    assert.instance(err, UplinkFileError);
    return err as UplinkFileError;
  }
  throw new Error('expected an UplinkFileError');
}

test('reads ca, cert, key and the password (one trailing newline stripped)', () => {
  const d = tempDir();
  try {
    const files = readUplinkFiles({
      ca: file(d.path, 'ca.pem', 'CA', 0o644),
      cert: file(d.path, 'client.pem', 'CERT', 0o644),
      key: file(d.path, 'client.key', 'KEY', 0o600),
      passwordFile: file(d.path, 'pw', 'p@ss word\r\n', 0o400),
    });
    assert.equal(files.ca, Buffer.from('CA'));
    assert.equal(files.cert, Buffer.from('CERT'));
    assert.equal(files.key, Buffer.from('KEY'));
    assert.equal(files.password, Buffer.from('p@ss word'));
    assert.equal(readUplinkFiles({}), {});
  } finally { d.remove(); }
});

test('a client key readable by group or other is refused with ERR_SECRET_FILE_MODE naming the field and the fix', () => {
  const d = tempDir();
  try {
    const cert = file(d.path, 'client.pem', 'CERT', 0o644);
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      const key = file(d.path, `k${mode.toString(8)}`, 'KEY', mode);
      const err = thrown(() => readUplinkFiles({ cert, key }));
      assert.is(err.code, 'ERR_SECRET_FILE_MODE');
      assert.is(err.place, 'uplink.key');
      assert.match(err.message, new RegExp(`mode 0${mode.toString(8)}`));
      assert.match(err.message, /chmod 600/);
      assert.not.match(err.message, /KEY/, 'the secret itself is never in the message');
    }
  } finally { d.remove(); }
});

test('a password file with mode 0644 is refused; 0600 is accepted', () => {
  const d = tempDir();
  try {
    const pw = file(d.path, 'pw', 'secret', 0o644);
    const err = thrown(() => readUplinkFiles({ passwordFile: pw }));
    assert.is(err.code, 'ERR_SECRET_FILE_MODE');
    assert.is(err.place, 'uplink.passwordFile');
    assert.not.match(err.message, /secret$/);
    chmodSync(pw, 0o600);
    assert.equal(readUplinkFiles({ passwordFile: pw }).password, Buffer.from('secret'));
  } finally { d.remove(); }
});

test('a certificate without its key (or the reverse) is a config error', () => {
  const d = tempDir();
  try {
    const cert = file(d.path, 'client.pem', 'CERT', 0o644);
    const key = file(d.path, 'client.key', 'KEY', 0o600);
    const a = thrown(() => readUplinkFiles({ cert }));
    assert.is(a.code, 'ERR_UPLINK_CERT_PAIR');
    assert.is(a.place, 'uplink.key');
    const b = thrown(() => readUplinkFiles({ key }));
    assert.is(b.place, 'uplink.cert');
  } finally { d.remove(); }
});

test('a missing file names the field and the path', () => {
  const err = thrown(() => readUplinkFiles({ ca: '/nonexistent/tapwire/ca.pem' }));
  assert.is(err.code, 'ERR_UPLINK_FILE_READ');
  assert.is(err.place, 'uplink.ca');
  assert.match(err.message, /\/nonexistent\/tapwire\/ca\.pem/);
});

test.run();
