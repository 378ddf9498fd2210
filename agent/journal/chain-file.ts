// The chain position, kept where damage to a journal segment cannot take it
// away: the last seq journaled (signed), its hash, the chain epoch, and a
// lease — no seq above the lease was ever journaled (so never published). A
// two-slot file (slot-file.ts) beside the device key: rewritten in place with
// every append (page cache), fsynced only when the lease is renewed (once per
// LEASE batches), at start and at a clean stop — a handful of fsyncs a day,
// not one per second.
//
//   file `<stateDir>/chain`: slot 0 at byte 0, slot 1 at byte 88
//
//   0        4        6        8        12                 20                 28
//   +--------+--------+--------+--------+------------------+------------------+
//   | 89 'T' | version| flags  | gen    | seq              | lease            |
//   | 'W' 'S'| u16 BE | u16 BE | u32 BE | u64 BE           | u64 BE           |
//   +--------+--------+--------+--------+------------------+------------------+
//   28                 36                                 52
//   +------------------+----------------------------------+
//   | epoch (8 bytes,  | boot id of the writer (16 bytes, |
//   | zeros: original) | zeros: unknown)                  |
//   +------------------+----------------------------------+
//   52                                                    84       88
//   +-----------------------------------------------------+--------+
//   | hash: SHA-256 of the batch `seq` (32 bytes)          | CRC-32C|
//   +-----------------------------------------------------+ of 4-84|
//   flags bit 0: written by a clean stop (seq is exact, nothing after it).
//   gen: write counter; the valid slot with the higher gen is the newer one.

import type { FileSystem } from '../../hal/file.js';
import { crc32c } from './crc32c.js';
import { createSlotFile, type SlotFile } from './slot-file.js';

export const CHAIN_SLOT_BYTES = 88;
const CHAIN_MAGIC = 0x89_54_57_53; // "\x89TWS"
const CHAIN_VERSION = 1;
const FLAG_CLEAN = 1;
const TWO_32 = 0x1_0000_0000;
export const EPOCH_BYTES = 8;
export const BOOT_ID_BYTES = 16;

export interface ChainRecord {
  /** Last seq journaled (0: none yet). */
  seq: number;
  /** SHA-256 of that batch's bytes (zeros for seq 0 or a new epoch). */
  hash: Uint8Array;
  /** No seq above this was ever journaled. */
  lease: number;
  /** 8 bytes; zeros = the device's original chain. */
  epoch: Uint8Array;
  /** Written by a clean stop: seq is exactly the last durable batch. */
  clean: boolean;
  /** The kernel boot id of the writer (zeros: unknown); the same boot means the page cache survived. */
  bootId: Uint8Array;
  gen: number;
}

function putU64(dv: DataView, at: number, n: number): void {
  dv.setUint32(at, Math.floor(n / TWO_32));
  dv.setUint32(at + 4, n >>> 0);
}

function getU64(dv: DataView, at: number): number {
  return dv.getUint32(at) * TWO_32 + dv.getUint32(at + 4);
}

export function encodeChainSlot(r: ChainRecord): Uint8Array {
  const b = new Uint8Array(CHAIN_SLOT_BYTES);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, CHAIN_MAGIC);
  dv.setUint16(4, CHAIN_VERSION);
  dv.setUint16(6, r.clean ? FLAG_CLEAN : 0);
  dv.setUint32(8, r.gen >>> 0);
  putU64(dv, 12, r.seq);
  putU64(dv, 20, r.lease);
  b.set(r.epoch.subarray(0, EPOCH_BYTES), 28);
  b.set(r.bootId.subarray(0, BOOT_ID_BYTES), 36);
  b.set(r.hash.subarray(0, 32), 52);
  dv.setUint32(84, crc32c(b.subarray(4, 84)));
  return b;
}

export function decodeChainSlot(b: Uint8Array): ChainRecord | undefined {
  if (b.length < CHAIN_SLOT_BYTES) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, CHAIN_SLOT_BYTES);
  if (dv.getUint32(0) !== CHAIN_MAGIC || dv.getUint16(4) !== CHAIN_VERSION) return undefined;
  if (dv.getUint32(84) !== crc32c(b.subarray(4, 84))) return undefined;
  const seq = getU64(dv, 12);
  const lease = getU64(dv, 20);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(lease) || lease < seq) return undefined;
  return {
    seq, lease,
    clean: (dv.getUint16(6) & FLAG_CLEAN) !== 0,
    gen: dv.getUint32(8),
    epoch: b.slice(28, 36),
    bootId: b.slice(36, 52),
    hash: b.slice(52, 84),
  };
}

/** gen wraps after 2^32 writes: compare in serial-number arithmetic (RFC 1982). */
function newerGen(a: number, b: number): boolean {
  return a !== b && ((a - b) >>> 0) < 0x8000_0000;
}

export type ChainFile = SlotFile<ChainRecord>;

export function createChainFile(path: string, fs: FileSystem): ChainFile {
  return createSlotFile<ChainRecord>(path, fs, {
    what: 'chain state file', slotBytes: CHAIN_SLOT_BYTES, encode: encodeChainSlot, decode: decodeChainSlot,
    newer: (a, b) => newerGen(a.gen, b.gen),
  });
}

/** The kernel's boot id as 16 bytes, from its text form (a UUID); zeros when unknown. */
export function parseBootId(text: string | undefined): Uint8Array {
  const hex = (text ?? '').trim().replace(/-/g, '');
  return /^[0-9a-f]{32}$/i.test(hex) ? new Uint8Array(Buffer.from(hex, 'hex')) : new Uint8Array(BOOT_ID_BYTES);
}
