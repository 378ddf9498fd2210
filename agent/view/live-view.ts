// The live view on a terminal (`tapwire verify` and `tapwire demo` when stdout
// is a TTY): one row per field updated in place, the chain panel below, then
// the last things that happened. Drawn with node:readline's cursor functions
// at absolute rows from the top of the screen, each line cut to the width and
// the frame one row shorter than the screen (frame.ts), so a resize or a small
// terminal never scrolls or garbles it. The data is never changed: values are
// rounded only on screen.

import { clearLine, clearScreenDown, cursorTo } from 'node:readline';
import type { WriteStream } from 'node:tty';
import type { Clock, Timer } from '../../hal/clock.js';
import { createLastValues } from '../console/last-values.js';
import type { ChainSummary, VerifyEvent } from '../verify/chain.js';
import type { StatusEvent } from '../verify/subscribe.js';
import { chainLines, type Fact } from './chain-lines.js';
import { fieldRows } from './field-rows.js';
import { fitFrame } from './frame.js';

export interface LiveViewOptions {
  out: WriteStream;
  title(): string;
  /** The keys a person can press, shown under the title. */
  keys?: string;
  device: string;
  /** What the verifier has proved so far. */
  summary(): ChainSummary;
  /** More chain-panel lines the caller knows (broker state, pending batches). */
  facts?(): Fact[];
  clock: Clock;
}

export interface LiveView {
  /** Verified readings go into the field rows; other events are the caller's to note. */
  event(e: VerifyEvent | StatusEvent): void;
  /** One line under "what happened", with the time. */
  note(text: string): void;
  start(): void;
  /** Draws the last frame and leaves the cursor under it. */
  stop(): void;
}

/** Redraw this soon after a change, and at least this often (the ages tick). */
const CHANGE_MS = 200;
const TICK_MS = 1000;
const NOTES_KEPT = 50;

const hhmmss = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

export function createLiveView(o: LiveViewOptions): LiveView {
  const values = createLastValues();
  const notes: string[] = [];
  let clk: 'sync' | 'free' | undefined;
  let dirty = true;
  let lastDraw = -Infinity;
  let timer: Timer | undefined;
  let running = false;

  function draw(): void {
    const now = o.clock.now();
    const fields = values.fields();
    const lines = fitFrame({
      title: o.title(),
      ...(o.keys ? { keys: o.keys } : {}),
      fields: fields.length ? fieldRows(fields, now) : ['no readings verified yet'],
      chain: chainLines(o.summary(), { device: o.device, ...(clk ? { clk } : {}), facts: o.facts?.() ?? [] }),
      notes,
    }, { rows: o.out.rows || 24, cols: o.out.columns || 80 });
    // overwrite in place, then clear the rest of each line: no blank flash between frames
    lines.forEach((line, i) => {
      cursorTo(o.out, 0, i);
      o.out.write(line);
      clearLine(o.out, 1);
    });
    cursorTo(o.out, 0, lines.length);
    clearScreenDown(o.out);
    dirty = false;
    lastDraw = o.clock.monotonic();
  }

  function loop(): void {
    if (!running) return;
    if (dirty || o.clock.monotonic() - lastDraw >= TICK_MS) draw();
    timer = o.clock.setTimeout(loop, CHANGE_MS);
  }

  // a terminal that went away (closed window: EIO) is no error of the view; the signal that follows stops the program
  const onGone = (): void => { running = false; timer?.cancel(); };

  /** A resize can leave pieces of the old frame anywhere: clear all, draw again. */
  const onResize = (): void => {
    cursorTo(o.out, 0, 0);
    clearScreenDown(o.out);
    draw();
  };

  return {
    event(e) {
      if (e.kind !== 'batch') return;
      for (const r of e.readings) values.record(r);
      clk = e.clk;
      dirty = true;
    },
    note(text) {
      notes.push(`${hhmmss(o.clock.now())} ${text}`);
      if (notes.length > NOTES_KEPT) notes.shift();
      dirty = true;
    },
    start() {
      if (running) return;
      running = true;
      o.out.on('resize', onResize);
      o.out.on('error', onGone);
      onResize();
      timer = o.clock.setTimeout(loop, CHANGE_MS);
    },
    stop() {
      if (!running) return;
      running = false;
      timer?.cancel();
      o.out.off('resize', onResize);
      draw();
      o.out.off('error', onGone);
    },
  };
}
