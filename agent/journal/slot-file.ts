// A small state file of two fixed-size slots rewritten in place, turn about,
// so a write torn by a power cut can only spoil the slot being written: the
// reader takes the newest valid slot. The file is created at its full size
// (both slots written), so a rewrite never needs a new block — it works on a
// full disk. Each slot carries its own magic, version and CRC (see the codec).
//
//   file:  slot 0 at byte 0 │ slot 1 at byte slotBytes

import { errorCode } from '../../hal/file.js';
import type { FileHandle, FileSystem } from '../../hal/file.js';

export interface SlotCodec<T> {
  /** What the file is called in messages ("commit file", "chain state file"). */
  what: string;
  slotBytes: number;
  encode(value: T): Uint8Array;
  /** The value of a valid slot, or undefined (torn, corrupt, unknown version). */
  decode(slot: Uint8Array): T | undefined;
  /** true when `a` was written after `b`. */
  newer(a: T, b: T): boolean;
}

export type SlotLoad<T> = { ok: true; value: T } | { ok: false; missing: boolean; reason: string };

export interface SlotFile<T> {
  /** The newest valid slot, or why there is none (missing, unreadable, corrupt). */
  load(): Promise<SlotLoad<T>>;
  /** Writes `value` into the older slot (page cache only); `created` when the file was new (fsync its directory). */
  store(value: T): Promise<{ bytes: number; created: boolean }>;
  /** fsync of the file (no-op before the first store). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export function createSlotFile<T>(path: string, fs: FileSystem, codec: SlotCodec<T>): SlotFile<T> {
  let handle: FileHandle | undefined;
  let nextSlot = 0;

  return {
    async load() {
      let bytes: Uint8Array;
      try {
        const h = await fs.open(path, 'read');
        try { bytes = await h.read(0, 2 * codec.slotBytes); } finally { await h.close(); }
      } catch (err) {
        const code = errorCode(err);
        return code === 'ENOENT'
          ? { ok: false, missing: true, reason: `${codec.what} missing` }
          : { ok: false, missing: false, reason: `${codec.what} unreadable (${code ?? String(err)})` };
      }
      const a = codec.decode(bytes.subarray(0, codec.slotBytes));
      const b = codec.decode(bytes.subarray(codec.slotBytes, 2 * codec.slotBytes));
      if (a === undefined && b === undefined) return { ok: false, missing: false, reason: `${codec.what} corrupt (no valid slot in ${bytes.length} bytes)` };
      // overwrite the slot that does not hold the newest value
      const newestIsA = b === undefined || (a !== undefined && !codec.newer(b, a));
      nextSlot = newestIsA ? 1 : 0;
      return { ok: true, value: newestIsA ? a! : b! };
    },
    async store(value) {
      const slot = codec.encode(value);
      if (!handle) {
        try {
          handle = await fs.open(path, 'readwrite');
        } catch (err) {
          if (errorCode(err) !== 'ENOENT') throw err;
          const h = await fs.open(path, 'create');
          // both slots at once: the file has its final size and never grows again
          const both = new Uint8Array(2 * codec.slotBytes);
          both.set(slot, 0);
          both.set(slot, codec.slotBytes);
          try {
            await h.write(0, both);
          } catch (e) {
            await h.close().catch(() => undefined);
            await fs.unlink(path).catch(() => undefined);
            throw e;
          }
          handle = h;
          nextSlot = 1;
          return { bytes: both.length, created: true };
        }
      }
      await handle.write(nextSlot * codec.slotBytes, slot);
      nextSlot = 1 - nextSlot;
      return { bytes: slot.length, created: false };
    },
    async sync() { if (handle) await handle.sync(); },
    async close() { const h = handle; handle = undefined; if (h) await h.close(); },
  };
}
