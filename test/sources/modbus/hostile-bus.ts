// A generated capture of a Modbus RTU bus that tries every way to make a
// sniffer pair an answer with the wrong request: lost, late and duplicated
// answers, a bad-CRC frame between a request and an answer, long silences,
// two masters interleaved, noise. Every register holds a value that names it
// (unit * 1000 + address), so a wrong pairing shows as a wrong value.
// Shared by the unit test (serial double) and the integration test (pty).

import type { SniffDeviceConfig } from '../../../agent/sources/modbus-sniff/schema.js';
import { prng } from '../../../agent/prng.js';
import { withCrc } from './fake-slave.js';

export interface Step { bytes: Buffer; gapMs: number; note: string; /** a well-formed response from a slave */ answer: boolean }

export const ADDRESSES = [0, 10, 20, 30, 40, 50];
export const UNITS = [1, 2];
export const truth = (unit: number, address: number): number => unit * 1000 + address;
export const registerName = (unit: number, address: number): string => `u${unit}_a${address}`;

/** Every register of the capture, each read alone (so all reads of a unit look alike on the wire). */
export const HOSTILE_DEVICES: SniffDeviceConfig[] = UNITS.map((unit) => ({
  unit,
  registers: ADDRESSES.map((address) => ({ name: registerName(unit, address), fc: 3 as const, address, type: 'u16' as const })),
}));

const req = (unit: number, address: number): Buffer => withCrc([unit, 3, address >> 8, address & 0xff, 0, 1]);
const resp = (unit: number, address: number): Buffer => { const v = truth(unit, address); return withCrc([unit, 3, 2, v >> 8, v & 0xff]); };
const flipped = (b: Buffer): Buffer => { const c = Buffer.from(b); c[c.length - 1]! ^= 0x5a; return c; };

export type Episode = 'normal' | 'lost' | 'late' | 'twice' | 'bad-crc-between' | 'stale' | 'interleaved' | 'noise';
export const EPISODES: Episode[] = ['normal', 'lost', 'late', 'twice', 'bad-crc-between', 'stale', 'interleaved', 'noise'];

/**
 * `episodes` random episodes (seeded), each separated by a quiet spell longer
 * than `windowMs` half of the time, so that plenty of clean exchanges remain.
 * Gaps are bus timing: turnaround 3-4 ms, master pause 8 ms, master timeout 40 ms.
 */
export function hostileCapture(seed: number, episodes: number, windowMs: number): { steps: Step[]; counts: Record<Episode, number> } {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const steps: Step[] = [];
  const counts = Object.fromEntries(EPISODES.map((e) => [e, 0])) as Record<Episode, number>;
  const tx = (bytes: Buffer, gapMs: number, note: string): void => { steps.push({ bytes, gapMs, note, answer: /'s (late )?answer|^resp$|again$/.test(note) }); };
  for (let e = 0; e < episodes; e++) {
    const unit = pick(UNITS);
    const a = pick(ADDRESSES);
    const b = pick(ADDRESSES.filter((x) => x !== a));
    const ep = e < EPISODES.length ? EPISODES[e]! : pick(EPISODES);
    counts[ep]++;
    switch (ep) {
      case 'normal': tx(req(unit, a), 4, 'req'); tx(resp(unit, a), 8, 'resp'); break;
      case 'lost': tx(req(unit, a), 40, 'req, never answered'); break;
      case 'late':
        tx(req(unit, a), 40, 'req A (master times out)');
        tx(req(unit, b), 3, 'req B');
        tx(resp(unit, a), 5, "A's late answer");
        tx(resp(unit, b), 8, "B's answer");
        break;
      case 'twice': tx(req(unit, a), 4, 'req'); tx(resp(unit, a), 3, 'resp'); tx(resp(unit, a), 8, 'the same resp again'); break;
      case 'bad-crc-between':
        tx(req(unit, a), 40, 'req A, unanswered');
        tx(flipped(req(unit, b)), 4, 'req B with a bad CRC');
        tx(resp(unit, b), 8, "B's answer");
        break;
      // well beyond the window: a loaded machine may squeeze a replayed silence, never the rule
      case 'stale': tx(req(unit, a), 3 * windowMs + 50, 'req A, then silence'); tx(resp(unit, b), 8, "B's answer (B never seen)"); break;
      case 'interleaved':
        tx(req(unit, a), 2, 'master 1: req A');
        tx(req(unit, b), 3, 'master 2: req B');
        tx(resp(unit, a), 3, "A's answer");
        tx(resp(unit, b), 8, "B's answer");
        break;
      case 'noise': tx(Buffer.from(Array.from({ length: 3 + Math.floor(rnd() * 6) }, () => Math.floor(rnd() * 256))), 30, 'noise'); break;
    }
    if (rnd() < 0.5) steps[steps.length - 1]!.gapMs += windowMs + 20;
  }
  return { steps, counts };
}
