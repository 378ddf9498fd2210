// Shared fixtures for the journal tests: a seeded PRNG, deterministic payloads,
// and the two file systems every journal test runs against (double, real).

import { createCounters } from '../../agent/counters.js';
import type { Counters } from '../../agent/counters.js';
import { silentLogger } from '../../agent/log.js';
import type { Logger } from '../../agent/log.js';
import { createJournal } from '../../agent/journal/journal.js';
import type { DropNotice, Journal, JournalOptions, RecoveryReport } from '../../agent/journal/journal.js';
import { createManualClock } from '../../hal/clock.js';
import type { Clock } from '../../hal/clock.js';
import { createFileSystemDouble } from '../../hal/file-double.js';
import type { FileSystemDouble } from '../../hal/file-double.js';
import { nodeFileSystem } from '../../hal/file-node.js';
import type { FileSystem } from '../../hal/file.js';
import { tempDir } from '../helpers.js';
import { prng } from '../../agent/prng.js';
import { test } from 'uvu';
export { prng };


/** The bytes of record `seq`: derived from seq alone, so any reader can check them. */
export function payloadFor(seq: number, length = 100 + (seq * 37) % 400): Uint8Array {
  const r = prng(seq * 2654435761);
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = Math.floor(r() * 256);
  return b;
}

export function recordFor(seq: number, length?: number): { seq: number; readings: number; bytes: Uint8Array } {
  return { seq, readings: 1 + (seq % 7), bytes: payloadFor(seq, length) };
}

export interface Env {
  name: string;
  fs: FileSystem;
  /** Present for the in-memory double only. */
  double?: FileSystemDouble;
  dir: string;
  teardown(): void;
}

export function doubleEnv(): Env {
  const double = createFileSystemDouble();
  return { name: 'double', fs: double, double, dir: '/var/lib/tapwire/journal', teardown() {} };
}

export function nodeEnv(): Env {
  const t = tempDir('tapwire-journal-');
  return { name: 'node fs', fs: nodeFileSystem, dir: `${t.path}/journal`, teardown: t.remove };
}

export const ENVS: Array<() => Env> = [doubleEnv, nodeEnv];

export const SMALL: Omit<JournalOptions, 'dir'> = { maxBytes: 64 * 1024, segmentBytes: 4096, fsyncIntervalMs: 1000, fsyncEveryRecords: 1000 };

export interface Opened {
  j: Journal;
  report: RecoveryReport;
  drops: DropNotice[];
  durable: number[];
  counters: Counters;
  clock: Clock & { advance(ms: number): Promise<void> };
}

export async function openJournal(
  env: Env, opts: Partial<JournalOptions> = {}, clock = createManualClock(),
  deps: { fs?: FileSystem; log?: Logger; randomBytes?: (n: number) => Uint8Array } = {},
): Promise<Opened> {
  const counters = createCounters();
  const j = createJournal({ dir: env.dir, ...SMALL, ...opts }, {
    fs: deps.fs ?? env.fs, clock, log: deps.log ?? silentLogger, counters, ...(deps.randomBytes ? { randomBytes: deps.randomBytes } : {}),
  });
  const drops: DropNotice[] = [];
  const durable: number[] = [];
  j.onDrop((n) => drops.push(n));
  j.onDurable((s) => durable.push(s));
  const report = await j.open();
  return { j, report, drops, durable, counters, clock };
}

/** Appends records first..last (inclusive) with deterministic payloads. */
export async function appendRange(j: Journal, first: number, last: number, length?: number): Promise<void> {
  for (let s = first; s <= last; s++) await j.append(recordFor(s, length));
}

/** Every durable record, oldest first. */
export async function readAll(j: Journal): Promise<Array<{ seq: number; readings: number; bytes: Uint8Array }>> {
  return j.readFrom(0, 1_000_000);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

/** A test registrar for one environment: `[double] name`, with the env torn down afterwards. */
export function envTest(makeEnv: () => Env): (name: string, fn: (env: Env) => Promise<void>) => void {
  const envName = makeEnv().name;
  return (name, fn) => {
    test(`[${envName}] ${name}`, async () => {
      const env = makeEnv();
      try { await fn(env); } finally { env.teardown(); }
    });
  };
}
