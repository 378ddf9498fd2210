// The last log lines in memory, for the console's `log [n]`: bounded in lines
// and in characters per line, so a flood of long lines cannot grow memory.

import { shorten } from '../escape.js';

export interface LogRing {
  push(line: string): void;
  /** The last `n` lines (fewer if fewer were logged), oldest first. */
  last(n: number): string[];
  readonly capacity: number;
}

export const LOG_RING_LINES = 200;
const MAX_LINE_CHARS = 400;

export function createLogRing(capacity = LOG_RING_LINES): LogRing {
  const lines: string[] = new Array<string>(capacity);
  let next = 0;
  let count = 0;
  return {
    capacity,
    push(line) {
      lines[next] = shorten(line, MAX_LINE_CHARS);
      next = (next + 1) % capacity;
      count = Math.min(capacity, count + 1);
    },
    last(n) {
      const k = Math.max(0, Math.min(count, Math.floor(n)));
      const out: string[] = [];
      for (let i = k; i > 0; i--) out.push(lines[(next - i + capacity) % capacity]!);
      return out;
    },
  };
}

/** A logger `write` that prints like the default (stderr) and keeps the line in `ring`. */
export function writeAndKeep(ring: LogRing, write: (line: string) => void = (l) => process.stderr.write(l + '\n')): (line: string) => void {
  return (line) => {
    write(line);
    ring.push(line);
  };
}
