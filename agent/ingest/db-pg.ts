// The store on a PostgreSQL server through `pg` (a small pool: the ingest
// worker runs one transaction at a time, a second connection serves the rest).

import type { Pool, PoolClient } from 'pg';
import { DbError, loadDriver, redactUrl, type Db, type Sql } from './db.js';

const wrap = (c: Pool | PoolClient): Sql => ({
  async query<R>(text: string, params?: unknown[]): Promise<R[]> {
    const r = await c.query(text, params);
    return r.rows as R[];
  },
});

export async function openPostgres(url: string): Promise<Db> {
  const pg = await loadDriver('PostgreSQL (pg)', async () => (await import('pg')).default);
  const where = redactUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 10_000, application_name: 'tapwire' });
  // an idle connection that breaks (server restart) is replaced on next use
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new DbError('ERR_DB_CONNECT', `cannot connect to ${where}: ${(err as Error).message || String(err)}`);
  }
  const sql = wrap(pool);
  return {
    kind: 'postgres',
    where,
    query: sql.query,
    async exec(text) { await pool.query(text); },
    async transaction(fn) {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const out = await fn(wrap(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        try { await client.query('ROLLBACK'); } catch { broken = true; }
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async close() { await pool.end(); },
  };
}
