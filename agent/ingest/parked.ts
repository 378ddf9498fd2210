// Batches parked for a key the device had not announced when they arrived:
// stored once the announcement is recorded (by any worker), rejected when it
// never comes. Every worker sweeps now and then; rows are taken under the
// devices' locks, so two sweeps never store one batch twice.

import { reject, type Reject } from './check.js';
import type { Sql } from './db.js';
import { unparkKey } from './rollover.js';
import { insertRejects, type Outcome } from './store.js';

/** One sweep, inside transaction `tx`: what became of the parked batches it touched. */
export async function sweepParked(tx: Sql, parkTimeoutS: number, worker: string): Promise<Outcome[]> {
  const any = await tx.query('SELECT 1 FROM tapwire_parked LIMIT 1');
  if (any.length === 0) return [];
  const expired = await tx.query<{ dev: string; kid: Uint8Array; topic: string }>(
    'DELETE FROM tapwire_parked WHERE received_at < now() - make_interval(secs => $1) RETURNING dev, kid, topic', [parkTimeoutS]);
  const out: Reject[] = expired.map((p) => reject(p.topic, p.dev, null, 'unknown-key',
    `signed by key ${Buffer.from(p.kid).toString('hex')}, which the device never announced (waited ${parkTimeoutS} s)`));
  await insertRejects(tx, out, worker);
  const known = await tx.query<{ dev: string; kid: Uint8Array }>(
    'SELECT DISTINCT p.dev, p.kid FROM tapwire_parked p JOIN tapwire_keys k ON k.dev = p.dev AND k.kid = p.kid LIMIT 20');
  const stored: Outcome[] = [...out];
  for (const k of known) stored.push(...await unparkKey(tx, k.dev, new Uint8Array(k.kid), worker));
  return stored;
}
