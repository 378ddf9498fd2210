// `monitor <source> [seconds]`: live hex + ASCII of what a source's port
// receives. Bytes are collected as they come and shown every tick, at most
// what the console's baud rate can carry (a 115200 bd field line dumped in
// hex is ~5x the bytes): the rest is counted and said, never queued.

import type { Clock, Timer } from '../../hal/clock.js';
import { BYTES_PER_LINE, hexdump } from './hexdump.js';

export interface MonitorOptions {
  source: string;
  seconds: number;
  /** The console port's speed: bounds how much is shown. */
  consoleBaud: number;
  /** Subscribes to the source port's bytes; returns the unsubscribe. */
  watch(listener: (chunk: Uint8Array) => void): () => void;
  print(lines: string[]): void;
  /** Called once when the monitor has ended and printed its summary. */
  onEnd(): void;
  clock: Clock;
}

export interface Monitor {
  start(): void;
  /** Ends it now (a key was pressed, Ctrl-C, the console closed). */
  stop(why: string): void;
  readonly running: boolean;
}

const TICK_MS = 250;
/** Bytes held between ticks at most; more are counted as not shown. */
const HOLD_BYTES = 4096;
/** Characters one dumped line takes on the wire (with CRLF). */
const LINE_CHARS = 80;

export function createMonitor(opts: MonitorOptions): Monitor {
  // about half the console's capacity (10 bits per character), in whole lines per tick
  const linesPerTick = Math.max(1, Math.floor((opts.consoleBaud / 10 / 2 / LINE_CHARS) * (TICK_MS / 1000)));
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let offset = 0; // stream position of the first held byte
  let received = 0;
  let notShown = 0;
  let unwatch: (() => void) | undefined;
  let tick: Timer | undefined;
  let end: Timer | undefined;
  let running = false;
  let startedAt = 0;

  const onBytes = (chunk: Uint8Array): void => {
    received += chunk.length;
    const room = HOLD_BYTES - heldBytes;
    if (room <= 0) { notShown += chunk.length; return; }
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    held.push(Uint8Array.from(part));
    heldBytes += part.length;
    notShown += chunk.length - part.length;
  };

  function flush(final: boolean): void {
    if (heldBytes === 0) return;
    const data = Buffer.concat(held);
    const shown = Math.min(data.length, linesPerTick * BYTES_PER_LINE);
    opts.print(hexdump(offset, data.subarray(0, shown)));
    const skipped = data.length - shown;
    const dropped = received - offset - shown; // cut here, or not held at all (the hold was full)
    held = [];
    heldBytes = 0;
    offset = received; // held bytes are contiguous from offset; the next one arrives at `received`
    if (skipped > 0) notShown += skipped;
    if (dropped > 0 && !final) opts.print([`… ${dropped} bytes not shown (the console is slower than the port)`]);
  }

  function schedule(): void {
    tick = opts.clock.setTimeout(() => {
      flush(false);
      if (running) schedule();
    }, TICK_MS);
  }

  function finish(why: string): void {
    if (!running) return;
    running = false;
    unwatch?.();
    unwatch = undefined;
    tick?.cancel();
    end?.cancel();
    flush(true);
    const secs = ((opts.clock.monotonic() - startedAt) / 1000).toFixed(1);
    opts.print([`monitor ${why}: ${secs} s, ${received} bytes received${notShown > 0 ? `, ${notShown} not shown` : ''}`]);
    opts.onEnd();
  }

  return {
    get running() { return running; },
    start() {
      running = true;
      startedAt = opts.clock.monotonic();
      opts.print([`monitor ${opts.source} for ${opts.seconds} s: offset, hex, ASCII — any key stops`]);
      unwatch = opts.watch(onBytes);
      schedule();
      end = opts.clock.setTimeout(() => finish('ended'), opts.seconds * 1000);
    },
    stop: (why) => finish(why),
  };
}
