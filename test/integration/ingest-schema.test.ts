// The fleet schema on the embedded database (PGlite): created on first start,
// a version 1 database brought up to version 2 (tapwire_batches.epoch), a
// database of a newer tapwire refused.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { openDb } from '../../agent/ingest/db.js';
import { ensureSchema, SCHEMA_VERSION } from '../../agent/ingest/schema.js';
import { tempDir } from '../helpers.js';

test('a version 1 database gets tapwire_batches.epoch and version 2; a newer one is refused, naming the fix', async () => {
  const dir = tempDir('tapwire-schema-');
  const db = await openDb(join(dir.path, 'db'));
  try {
    await ensureSchema(db);
    const version = async (): Promise<string> => (await db.query<{ value: string }>(`SELECT value FROM tapwire_meta WHERE key = 'schema_version'`))[0]!.value;
    const hasEpoch = async (): Promise<boolean> => (await db.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'tapwire_batches' AND column_name = 'epoch'`)).length === 1;
    assert.is(await version(), String(SCHEMA_VERSION));
    assert.ok(await hasEpoch());
    // what tapwire 0.1 before epochs made
    await db.query('ALTER TABLE tapwire_batches DROP COLUMN epoch');
    await db.query(`UPDATE tapwire_meta SET value = '1' WHERE key = 'schema_version'`);
    await ensureSchema(db);
    assert.ok(await hasEpoch(), 'the column is added');
    assert.is(await version(), '2');
    await db.query(`UPDATE tapwire_meta SET value = '3' WHERE key = 'schema_version'`);
    try {
      await ensureSchema(db);
      assert.unreachable('a newer schema must be refused');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'ERR_DB_SCHEMA');
      assert.match((err as Error).message, 'upgrade tapwire');
    }
  } finally {
    await db.close();
    dir.remove();
  }
});

test.run();
