// Enrolment: which devices the fleet store accepts batches from, and the
// public key each started with (what `tapwire provision` printed). Idempotent:
// enrolling a device again with the same key changes nothing; with another key
// it is refused (a key change is a signed rollover, never a silent overwrite).
//
//   CSV (one device per line; a header line and # comments are skipped):
//     pump-7,3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29

import { kidOf } from '../encode/signer.js';
import type { Db } from '../ingest/db.js';

export interface Enrolment { dev: string; pubkey: Uint8Array }
export type EnrolResult = { dev: string; status: 'enrolled' | 'unchanged' } | { dev: string; status: 'refused'; reason: string };

const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/; // the config schema's device id
const HEX64 = /^[0-9a-fA-F]{64}$/;

export function checkDeviceId(dev: string): string | undefined {
  return DEVICE_ID.test(dev) ? undefined : `device id ${JSON.stringify(dev)} must be 1-64 of A-Z a-z 0-9 . _ - (starting with a letter or digit)`;
}

/** Parses `id,pubkey` lines; throws naming the line of the first problem. */
export function parseEnrolmentCsv(text: string, where: string): Enrolment[] {
  const out: Enrolment[] = [];
  const lines = text.split(/\r?\n/);
  let first = true;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [dev = '', key = '', ...rest] = line.split(',').map((f) => f.trim());
    const header = first && /^(id|dev|device)$/i.test(dev) && !HEX64.test(key);
    first = false;
    if (header) continue;
    const bad = checkDeviceId(dev) ?? (HEX64.test(key) ? undefined : 'public key must be 64 hex characters') ?? (rest.length > 0 ? 'expected two fields: id,pubkey' : undefined);
    if (bad) throw new Error(`${where}:${i + 1}: ${bad}`);
    out.push({ dev, pubkey: new Uint8Array(Buffer.from(key, 'hex')) });
  }
  if (out.length === 0) throw new Error(`${where}: no devices (expected lines of id,pubkey)`);
  return out;
}

/** Enrols each device in its own small transaction; returns what happened to each. */
export async function enrol(db: Db, list: Enrolment[]): Promise<EnrolResult[]> {
  const results: EnrolResult[] = [];
  for (const { dev, pubkey } of list) {
    results.push(await db.transaction(async (tx): Promise<EnrolResult> => {
      const inserted = await tx.query('INSERT INTO tapwire_devices (dev, pubkey) VALUES ($1, $2) ON CONFLICT (dev) DO NOTHING RETURNING dev', [dev, Buffer.from(pubkey)]);
      if (inserted.length === 0) {
        const [row] = await tx.query<{ pubkey: Uint8Array }>('SELECT pubkey FROM tapwire_devices WHERE dev = $1', [dev]);
        if (row && Buffer.from(row.pubkey).equals(Buffer.from(pubkey))) return { dev, status: 'unchanged' };
        return { dev, status: 'refused', reason: `${dev} is already enrolled with key ${Buffer.from(kidOf(new Uint8Array(row!.pubkey))).toString('hex')} (a device changes keys by a signed rollover)` };
      }
      await tx.query('INSERT INTO tapwire_keys (dev, kid, pubkey) VALUES ($1, $2, $3) ON CONFLICT (dev, kid) DO NOTHING', [dev, Buffer.from(kidOf(pubkey)), Buffer.from(pubkey)]);
      return { dev, status: 'enrolled' };
    }));
  }
  return results;
}
