// The persisted committed offset (what the broker acknowledged): a two-slot
// file (slot-file.ts), rewritten in place next to each data fsync and fsynced
// only at close or with the chain state's lease (an older offset only means a
// resend). The reader takes the valid slot with the higher seq (the offset
// never moves back).
//
//   file `commit`: slot 0 at byte 0, slot 1 at byte 20
//
//   0        4        6        8                        16       20
//   +--------+--------+--------+------------------------+--------+
//   | 89 'T' | version| flags  | committed seq          | CRC-32C|
//   | 'W' 'C'| u16 BE | u16 = 0| u64 BE                 | of 4-16|
//   +--------+--------+--------+------------------------+--------+

import { crc32c } from './crc32c.js';
import type { FileSystem } from '../../hal/file.js';
import { createSlotFile } from './slot-file.js';

export const COMMIT_SLOT_BYTES = 20;
const COMMIT_MAGIC = 0x89_54_57_43; // "\x89TWC"
const COMMIT_VERSION = 1;
const TWO_32 = 0x1_0000_0000;

export type CommitLoad = { ok: true; seq: number } | { ok: false; reason: string; missing?: boolean };

export interface CommitFile {
  /** The newest valid slot, or why there is none (missing, unreadable, corrupt). */
  load(): Promise<CommitLoad>;
  /** Writes `seq` into the older slot (page cache only); `created` when the file was new. */
  store(seq: number): Promise<{ bytes: number; created: boolean }>;
  /** fsync of the commit file. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export function encodeCommitSlot(seq: number): Uint8Array {
  const b = new Uint8Array(COMMIT_SLOT_BYTES);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, COMMIT_MAGIC);
  dv.setUint16(4, COMMIT_VERSION);
  dv.setUint16(6, 0);
  dv.setUint32(8, Math.floor(seq / TWO_32));
  dv.setUint32(12, seq >>> 0);
  dv.setUint32(16, crc32c(b.subarray(4, 16)));
  return b;
}

function decodeSlot(b: Uint8Array): number | undefined {
  if (b.length < COMMIT_SLOT_BYTES) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, COMMIT_SLOT_BYTES);
  if (dv.getUint32(0) !== COMMIT_MAGIC || dv.getUint16(4) !== COMMIT_VERSION) return undefined;
  if (dv.getUint32(16) !== crc32c(b.subarray(4, 16))) return undefined;
  const seq = dv.getUint32(8) * TWO_32 + dv.getUint32(12);
  return Number.isSafeInteger(seq) ? seq : undefined;
}

export function createCommitFile(path: string, fs: FileSystem): CommitFile {
  const file = createSlotFile<number>(path, fs, {
    what: 'commit file', slotBytes: COMMIT_SLOT_BYTES, encode: encodeCommitSlot, decode: decodeSlot, newer: (a, b) => a > b,
  });
  return {
    async load() {
      const r = await file.load();
      if (r.ok) return { ok: true, seq: r.value };
      return r.missing ? { ok: false, reason: r.reason, missing: true } : { ok: false, reason: r.reason };
    },
    store: (seq) => file.store(seq),
    sync: () => file.sync(),
    close: () => file.close(),
  };
}
