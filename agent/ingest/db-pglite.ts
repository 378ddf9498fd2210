// The embedded store: PGlite (PostgreSQL compiled to WASM) in a directory, so
// `ingest` and `fleet` work with no server. One process at a time (a lock file
// names the holder). Creating a new database runs initdb in WASM: ~5 s and
// ~790 MB RSS once; reopening takes ~1 s.
//
//   <dir>/tapwire.lock   who holds it (db-lock.ts)
//   <dir>/pgdata/        PGlite's PostgreSQL data directory

import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DbError, loadDriver, type Db, type Sql } from './db.js';
import { lockDir } from './db-lock.js';
import type { OpenDbOptions } from './db.js';

interface PgliteQueryable { query<R>(text: string, params?: unknown[]): Promise<{ rows: R[] }> }

const wrap = (q: PgliteQueryable): Sql => ({
  async query<R>(text: string, params?: unknown[]): Promise<R[]> {
    return (await q.query<R>(text, params)).rows;
  },
});

export async function openPglite(dir: string, opts: OpenDbOptions = {}): Promise<Db> {
  const root = resolve(dir);
  const { PGlite } = await loadDriver('PGlite (@electric-sql/pglite)', () => import('@electric-sql/pglite'));
  const dataDir = join(root, 'pgdata');
  const exists = existsSync(join(dataDir, 'PG_VERSION'));
  if (!exists && opts.mustExist) {
    throw new DbError('ERR_DB_TARGET', `no fleet database in ${root} (tapwire fleet enroll or tapwire ingest creates one there)`);
  }
  try {
    mkdirSync(root, { recursive: true });
  } catch (err) {
    throw new DbError('ERR_DB_TARGET', `cannot create the database directory ${root}: ${(err as Error).message}`);
  }
  const lock = lockDir(root, opts.command ?? 'tapwire');
  if (!exists) opts.onCreate?.(`creating the database in ${root}, ~5 s`);
  let db: InstanceType<typeof PGlite>;
  try {
    db = await PGlite.create(dataDir);
  } catch (err) {
    lock.release();
    throw new DbError('ERR_DB_CONNECT', `cannot open the database in ${root}: ${(err as Error).message}`);
  }
  const sql = wrap(db);
  return {
    kind: 'pglite',
    where: root,
    query: sql.query,
    async exec(text) { await db.exec(text); },
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    async close() {
      try { await db.close(); } finally { lock.release(); }
    },
  };
}
