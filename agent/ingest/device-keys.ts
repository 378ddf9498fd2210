// Reading the key history of devices from the store, and locking their rows.
// The device row lock is what makes the chain check safe across workers: two
// batches of one device on two workers are checked and stored one after the
// other (rows are locked in device order, so two workers never deadlock).

import type { Sql } from './db.js';
import { kidOf } from '../encode/signer.js';
import { hexOf, type DeviceKeys } from './check.js';

interface KeyRow {
  dev: string;
  enrolled: Uint8Array;
  kid: Uint8Array | null;
  pubkey: Uint8Array | null;
  valid_from: string | number | null;
  valid_until: string | number | null;
}

const num = (x: string | number | null): number | undefined => (x === null ? undefined : Number(x));

/** Locks the rows of the enrolled devices among `devs`; returns those enrolled. */
export async function lockDevices(tx: Sql, devs: string[]): Promise<Set<string>> {
  if (devs.length === 0) return new Set();
  const sorted = [...new Set(devs)].sort();
  const rows = await tx.query<{ dev: string }>('SELECT dev FROM tapwire_devices WHERE dev = ANY($1::text[]) ORDER BY dev FOR UPDATE', [sorted]);
  return new Set(rows.map((r) => r.dev));
}

/**
 * Keys of `devs` (only enrolled devices appear in the map): tapwire_keys, and
 * the enrolled key of tapwire_devices when tapwire_keys has no row for it (a
 * device inserted by hand into the contract table).
 */
export async function loadKeys(sql: Sql, devs: string[]): Promise<Map<string, DeviceKeys>> {
  const out = new Map<string, DeviceKeys>();
  if (devs.length === 0) return out;
  const rows = await sql.query<KeyRow>(
    `SELECT d.dev, d.pubkey AS enrolled, k.kid, k.pubkey, k.valid_from, k.valid_until
       FROM tapwire_devices d LEFT JOIN tapwire_keys k ON k.dev = d.dev
      WHERE d.dev = ANY($1::text[])`, [[...new Set(devs)]]);
  for (const r of rows) {
    let keys = out.get(r.dev);
    if (!keys) {
      keys = new Map();
      out.set(r.dev, keys);
      const enrolled = new Uint8Array(r.enrolled);
      keys.set(hexOf(kidOf(enrolled)), { pub: enrolled });
    }
    if (r.kid === null || r.pubkey === null) continue;
    const from = num(r.valid_from);
    const until = num(r.valid_until);
    keys.set(hexOf(r.kid), { pub: new Uint8Array(r.pubkey), ...(from !== undefined ? { from } : {}), ...(until !== undefined ? { until } : {}) });
  }
  return out;
}
