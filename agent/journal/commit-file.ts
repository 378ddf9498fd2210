// The persisted committed offset: two fixed slots rewritten in place, turn
// about, so a write torn by a power cut can only spoil the older slot. The
// reader takes the valid slot with the higher seq (the offset never moves back).
//
//   file `commit`: slot 0 at byte 0, slot 1 at byte 20
//
//   0        4        6        8                        16       20
//   +--------+--------+--------+------------------------+--------+
//   | 89 'T' | version| flags  | committed seq          | CRC-32C|
//   | 'W' 'C'| u16 BE | u16 = 0| u64 BE                 | of 4-16|
//   +--------+--------+--------+------------------------+--------+

import { crc32c } from './crc32c.js';
import { errorCode } from '../../hal/file.js';
import type { FileHandle, FileSystem } from '../../hal/file.js';

export const COMMIT_SLOT_BYTES = 20;
const COMMIT_MAGIC = 0x89_54_57_43; // "\x89TWC"
const COMMIT_VERSION = 1;
const TWO_32 = 0x1_0000_0000;

export type CommitLoad = { ok: true; seq: number } | { ok: false; reason: string };

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
  let handle: FileHandle | undefined;
  let nextSlot = 0;

  return {
    async load() {
      let bytes: Uint8Array;
      try {
        const h = await fs.open(path, 'read');
        try { bytes = await h.read(0, 2 * COMMIT_SLOT_BYTES); } finally { await h.close(); }
      } catch (err) {
        const code = errorCode(err);
        return { ok: false, reason: code === 'ENOENT' ? 'commit file missing' : `commit file unreadable (${code ?? String(err)})` };
      }
      const a = decodeSlot(bytes.subarray(0, COMMIT_SLOT_BYTES));
      const b = decodeSlot(bytes.subarray(COMMIT_SLOT_BYTES));
      if (a === undefined && b === undefined) return { ok: false, reason: `commit file corrupt (no valid slot in ${bytes.length} bytes)` };
      // overwrite the slot that does not hold the newest value
      const newestIsA = b === undefined || (a !== undefined && a >= b);
      nextSlot = newestIsA ? 1 : 0;
      return { ok: true, seq: newestIsA ? a! : b! };
    },
    async store(seq) {
      let created = false;
      if (!handle) {
        try { handle = await fs.open(path, 'readwrite'); }
        catch (err) {
          if (errorCode(err) !== 'ENOENT') throw err;
          handle = await fs.open(path, 'create');
          created = true;
          nextSlot = 0;
        }
      }
      const slot = encodeCommitSlot(seq);
      await handle.write(nextSlot * COMMIT_SLOT_BYTES, slot);
      nextSlot = 1 - nextSlot;
      return { bytes: slot.length, created };
    },
    async sync() { if (handle) await handle.sync(); },
    async close() { const h = handle; handle = undefined; if (h) await h.close(); },
  };
}
