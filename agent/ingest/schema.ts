// The fleet schema (DESIGN.md "Fleet ingest": the four contract tables, plus
// the key history and parked batches that let every worker verify against one
// key chain). Created on first start under an advisory lock (two workers
// starting at once on a new database); a database made by a newer tapwire is
// refused instead of guessed at.
//
//   tapwire_devices   dev PK, pubkey (enrolled), enrolled_at
//   tapwire_keys      (dev, kid) PK: the enrolled key (valid_from NULL) and every
//                     key it rolled over to: signs seqs [valid_from, valid_until)
//   tapwire_batches   (dev, seq) PK, hash, prev, kind data|gap, kid, clk, counts, gap range,
//                     epoch (v2: the chain epoch of a restarted chain; NULL = the original chain)
//   tapwire_readings  (dev, seq, idx) PK, name, time, value|vs|vb, unit; index (dev, time)
//   tapwire_rejects   received_at, topic, dev, seq, reason, code
//   tapwire_parked    batches signed by a key not (yet) announced, kept until it is
//   tapwire_meta      schema_version

import { DbError, type Db } from './db.js';

/** 2: tapwire_batches.epoch (a version 1 database gets the column on start). */
export const SCHEMA_VERSION = 2;

// any constant: serialises schema creation between processes
const SCHEMA_LOCK = 0x7461_7077; // "tapw"

const DDL = `
CREATE TABLE IF NOT EXISTS tapwire_meta (
  key text PRIMARY KEY,
  value text NOT NULL
);
CREATE TABLE IF NOT EXISTS tapwire_devices (
  dev text PRIMARY KEY,
  pubkey bytea NOT NULL,
  enrolled_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS tapwire_keys (
  dev text NOT NULL REFERENCES tapwire_devices (dev),
  kid bytea NOT NULL,
  pubkey bytea NOT NULL,
  valid_from bigint,
  valid_until bigint,
  announced_by bytea,
  announcement bytea,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dev, kid)
);
CREATE TABLE IF NOT EXISTS tapwire_batches (
  dev text NOT NULL,
  seq bigint NOT NULL,
  hash bytea NOT NULL,
  prev bytea NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  kind text NOT NULL CHECK (kind IN ('data', 'gap')),
  kid bytea NOT NULL,
  clk text NOT NULL,
  readings integer NOT NULL,
  gap_first bigint,
  gap_last bigint,
  gap_reason text,
  worker text,
  epoch bytea,
  PRIMARY KEY (dev, seq)
);
ALTER TABLE tapwire_batches ADD COLUMN IF NOT EXISTS epoch bytea;
CREATE TABLE IF NOT EXISTS tapwire_readings (
  dev text NOT NULL,
  seq bigint NOT NULL,
  idx integer NOT NULL,
  name text NOT NULL,
  time timestamptz NOT NULL,
  value double precision,
  vs text,
  vb boolean,
  unit text,
  PRIMARY KEY (dev, seq, idx)
);
CREATE INDEX IF NOT EXISTS tapwire_readings_dev_time ON tapwire_readings (dev, time);
CREATE TABLE IF NOT EXISTS tapwire_rejects (
  received_at timestamptz NOT NULL DEFAULT now(),
  topic text NOT NULL,
  dev text,
  seq bigint,
  reason text NOT NULL,
  code text NOT NULL,
  worker text
);
CREATE INDEX IF NOT EXISTS tapwire_rejects_dev ON tapwire_rejects (dev, received_at);
CREATE TABLE IF NOT EXISTS tapwire_parked (
  dev text NOT NULL,
  hash bytea NOT NULL,
  kid bytea NOT NULL,
  topic text NOT NULL,
  message bytea NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dev, hash)
);
`;

/** Creates the schema when missing; refuses a database of a newer schema version. */
export async function ensureSchema(db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`);
    for (const stmt of DDL.split(';').map((s) => s.trim()).filter(Boolean)) await tx.query(stmt);
    const rows = await tx.query<{ value: string }>(`SELECT value FROM tapwire_meta WHERE key = 'schema_version'`);
    const found = rows[0] ? Number(rows[0].value) : undefined;
    if (found === undefined) {
      await tx.query(`INSERT INTO tapwire_meta (key, value) VALUES ('schema_version', $1)`, [String(SCHEMA_VERSION)]);
    } else if (!(found <= SCHEMA_VERSION)) {
      throw new DbError('ERR_DB_SCHEMA', `database ${db.where} has tapwire schema version ${rows[0]!.value}; this tapwire knows up to ${SCHEMA_VERSION}: upgrade tapwire`);
    } else if (found < SCHEMA_VERSION) {
      // the DDL above brought it up to date (ADD COLUMN IF NOT EXISTS); an older tapwire now refuses it
      await tx.query(`UPDATE tapwire_meta SET value = $1 WHERE key = 'schema_version'`, [String(SCHEMA_VERSION)]);
    }
  });
}
