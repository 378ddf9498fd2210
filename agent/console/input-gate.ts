// The bytes from the console port that may reach the line editor: printable
// ASCII and the few control keys a technician edits a line with, within a
// byte budget and a line length (line ends always pass: a line is always
// finished, and the console rate-limits lines). Everything else — NULs, binary noise,
// Ctrl-D and Ctrl-Z (which readline would turn into closing the console and
// stopping the agent's process), bytes >= 0x80 — is dropped and counted.

import type { TokenBucket } from './rate-limit.js';

export interface GateStats { passed: number; control: number; overBudget: number; overLength: number }

export interface InputGate {
  /** The bytes of `chunk` that may reach the line editor. */
  filter(chunk: Uint8Array): Buffer;
  readonly stats: GateStats;
}

const CR = 0x0d;
const LF = 0x0a;
const CTRL_C = 0x03;
// ^A ^B ^C ^E ^F BS ^K ^U ^W ESC DEL, and CR LF: line editing, history (ESC [ A), cancel
const EDIT_KEYS = new Set([0x01, 0x02, CTRL_C, 0x05, 0x06, 0x08, 0x0b, 0x15, 0x17, 0x1b, 0x7f, CR, LF]);

export function createInputGate(opts: { budget: TokenBucket; maxLineBytes: number }): InputGate {
  const stats: GateStats = { passed: 0, control: 0, overBudget: 0, overLength: 0 };
  let lineBytes = 0;
  return {
    stats,
    filter(chunk) {
      const out = Buffer.allocUnsafe(chunk.length);
      let n = 0;
      for (const b of chunk) {
        if (!(b >= 0x20 && b < 0x7f) && !EDIT_KEYS.has(b)) { stats.control++; continue; }
        if (b === CR || b === LF || b === CTRL_C) {
          // a line always ends (lines themselves are rate-limited by the console)
          lineBytes = 0;
        } else if (lineBytes >= opts.maxLineBytes) {
          // the rest of an overlong line: the editor holds at most maxLineBytes of it
          stats.overLength++;
          continue;
        } else if (!opts.budget.take()) {
          stats.overBudget++;
          continue;
        } else {
          lineBytes++;
        }
        out[n++] = b;
      }
      stats.passed += n;
      return out.subarray(0, n);
    },
  };
}
