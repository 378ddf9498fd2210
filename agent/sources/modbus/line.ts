// The master's side of an RTU line: one request at a time, and what comes back
// is matched by time alone, because an RTU response names no address:
//   - an answer counts only if it starts within timeoutMs of the end of its
//     own request (the write has drained); junk before it is skipped
//     (resynchronise on the first CRC-valid frame of the expected shape);
//   - it must then be followed by t3.5 of silence: anything more in the same
//     burst makes the whole exchange garbage, except exact copies of the
//     answer (a unit that answers twice), which are counted and dropped;
//   - bytes that arrive outside any request's window are discarded, and the
//     next request waits until the line has been silent for t3.5;
//   - with local echo ("echo": true, RS-485 adapters that hear themselves) the
//     copy of our request is checked and skipped before the answer window.
// Every discarded burst is reported to `onDiscard`, none is ever delivered.

import type { Clock, Timer } from '../../../hal/clock.js';
import type { SerialPort } from '../../../hal/serial.js';
import { findAnswer, type Expectation, type FrameTiming } from './frame.js';
import { responseDataBytes } from './pdu.js';

export type Exchange =
  /** `junk`: bytes skipped before the answer; `copies`: exact repeats of it right after (dropped). */
  | { kind: 'ok'; data: Uint8Array; junk: number; copies: number }
  | { kind: 'exception'; code: number; junk: number; copies: number }
  | { kind: 'timeout' }
  | { kind: 'crc-error' }
  | { kind: 'garbage'; reason: string }
  | { kind: 'write-failed'; error: string }
  | { kind: 'stopped' };

export interface RtuLine {
  /** Wire to the port's data listener. */
  onData(chunk: Buffer): void;
  /** Sends `frame` and waits for its answer, its garbage or its timeout; resolves once the line is quiet again (t3.5). */
  exchange(port: SerialPort, frame: Uint8Array, expect: Expectation, timeoutMs: number): Promise<Exchange>;
  /**
   * Waits until `notBefore` (monotonic) and then until the line has been silent
   * for t3.5, discarding what arrives (bounded by `maxMs`: a line that never
   * goes quiet still gets polled). Resolves early on stop().
   */
  quiet(notBefore: number, maxMs: number): Promise<void>;
  /** Ends any wait now (exchange resolves 'stopped'). */
  stop(): void;
  /** Allows waits again after stop() (a restarted source). */
  resume(): void;
}

export interface LineDeps {
  clock: Clock;
  timing: FrameTiming;
  echo: boolean;
  /** A burst of `bytes` that began at `startedAt` (monotonic) was dropped. */
  onDiscard(bytes: number, startedAt: number): void;
}

/** A driver that never drains (a wedged USB adapter) must not wedge the loop. */
const WRITE_STALL_MS = 1000;
/** How early a Node timer may fire (its clock counts whole milliseconds). */
const TIMER_SLACK_MS = 1;
/** Bytes kept while looking for an answer: an ADU is at most 256. */
const MAX_BUFFER = 1024;

interface Listener { feed(chunk: Buffer, at: number): void; settle(x: Exchange): void }

export function createRtuLine(deps: LineDeps): RtuLine {
  const { clock, timing } = deps;
  let listener: Listener | undefined;
  let lastRxAt = -Infinity;
  let stopped = false;
  let wake: (() => void) | undefined;
  /** The burst being discarded, reported once the line is silent again. */
  let discarding: { bytes: number; startedAt: number; timer?: Timer } | undefined;
  // Node's timers run on a whole-millisecond clock and fire up to 1 ms early
  // (a 2.005 ms timer measured 1.62 ms): a wait for silence is one millisecond
  // longer, so the line really was silent for t3.5 when it ends (and quiet()
  // does not wake a fraction of a millisecond short, only to wait again).
  const silenceMs = timing.t35Ms + TIMER_SLACK_MS;

  const endBurst = (): void => {
    if (!discarding) return;
    discarding.timer?.cancel();
    deps.onDiscard(discarding.bytes, discarding.startedAt);
    discarding = undefined;
  };

  const discard = (bytes: number): void => {
    discarding ??= { bytes: 0, startedAt: clock.monotonic() };
    discarding.bytes += bytes;
    discarding.timer?.cancel();
    discarding.timer = clock.setTimeout(endBurst, silenceMs);
  };

  const sleep = (ms: number): Promise<void> => new Promise((resolve) => {
    const t = clock.setTimeout(() => { wake = undefined; resolve(); }, Math.max(0, ms));
    wake = () => { t.cancel(); wake = undefined; resolve(); };
  });

  return {
    onData(chunk) {
      const at = clock.monotonic();
      lastRxAt = at;
      if (listener) listener.feed(chunk, at);
      else discard(chunk.length);
    },

    async quiet(notBefore, maxMs) {
      const until = clock.monotonic() + maxMs;
      try {
        for (;;) {
          const now = clock.monotonic();
          const wait = Math.max(notBefore - now, lastRxAt + timing.t35Ms - now);
          if (wait <= 0 || now >= until || stopped) return;
          // silence gets the timer's slack (see silenceMs); a fixed time needs none: the loop looks again
          await sleep(Math.min(Math.max(notBefore - now, lastRxAt + silenceMs - now), until - now));
        }
      } finally {
        endBurst();
      }
    },

    exchange(port, frame, expect, timeoutMs) {
      endBurst();
      if (stopped) return Promise.resolve({ kind: 'stopped' });
      return new Promise<Exchange>((resolve) => {
        const answerBytes = 5 + responseDataBytes(expect.fc, expect.quantity);
        let buf = Buffer.alloc(0);
        let echoLeft = deps.echo ? Buffer.from(frame) : Buffer.alloc(0);
        let sentAt: number | undefined;
        let firstAt: number | undefined;
        let found: (Exchange & { kind: 'ok' | 'exception' }) | undefined;
        /** Where the found answer's bytes are in `buf`. */
        let frameAt = 0;
        let frameLength = 0;
        let verdict: Exchange | undefined;
        let deadline: Timer | undefined;
        let silence: Timer | undefined;
        let done = false;

        const settle = (x: Exchange): void => {
          if (done) return;
          done = true;
          deadline?.cancel();
          silence?.cancel();
          if (listener === me) listener = undefined;
          wake = undefined;
          resolve(x);
        };
        const startedAt = clock.monotonic();
        /** Resolve with `x` once the line has been silent for t3.5 (a line that never goes quiet: after a bound). */
        const afterSilence = (x: Exchange): void => {
          silence?.cancel();
          if (clock.monotonic() - startedAt > WRITE_STALL_MS + 2 * timeoutMs) { settle(x); return; }
          silence = clock.setTimeout(() => settle(x), silenceMs);
        };
        const look = (): void => {
          if (verdict) { afterSilence(verdict); return; }
          if (!found) {
            const r = findAnswer(buf, expect);
            if (r.kind !== 'found') {
              if (buf.length > MAX_BUFFER) { verdict = { kind: 'garbage', reason: `${buf.length} bytes and no answer` }; afterSilence(verdict); }
              return;
            }
            found = { ...r.answer, junk: r.at, copies: 0 };
            frameAt = r.at;
            frameLength = r.length;
          }
          // after the answer: nothing, or (a few) exact copies of it
          if (buf.length - frameAt > 4 * frameLength) { verdict = { kind: 'garbage', reason: 'the answer repeated over and over' }; afterSilence(verdict); return; }
          const frameBytes = buf.subarray(frameAt, frameAt + frameLength);
          const tail = buf.subarray(frameAt + frameLength);
          for (let k = 0; k < tail.length; k += frameLength) {
            const part = tail.subarray(k, k + frameLength);
            if (!part.equals(frameBytes.subarray(0, part.length))) {
              verdict = { kind: 'garbage', reason: 'more bytes after the answer that are not a copy of it' };
              afterSilence(verdict);
              return;
            }
          }
          found.copies = Math.floor(tail.length / frameLength);
          // a copy cut short is no copy: garbage once the line is quiet
          afterSilence(tail.length % frameLength === 0 ? found : { kind: 'garbage', reason: 'a partial copy of the answer after it' });
        };
        // The answer window closes timeoutMs after the request: nothing started -> timeout. An answer
        // that started may finish (twice its transmission time, plus a USB adapter's latency).
        const armDeadline = (): void => {
          deadline?.cancel();
          const giveUp = (): void => {
            if (found || verdict) return;
            const r = findAnswer(buf, expect);
            verdict = r.kind === 'none' && r.crc ? { kind: 'crc-error' } : { kind: 'garbage', reason: `no answer frame in ${buf.length} bytes` };
            afterSilence(verdict);
          };
          deadline = clock.setTimeout(() => {
            if (firstAt === undefined) { settle({ kind: 'timeout' }); return; }
            if (found || verdict) return;
            // still arriving, or the answer's head is here: let it finish
            const arriving = clock.monotonic() - lastRxAt < timing.t35Ms || findAnswer(buf, expect).kind === 'incomplete';
            if (arriving) deadline = clock.setTimeout(giveUp, 2 * answerBytes * timing.charMs + 20);
            else giveUp();
          }, timeoutMs);
        };

        const me: Listener = {
          feed(chunk, at) {
            let bytes = chunk;
            if (echoLeft.length > 0 && !verdict) {
              const n = Math.min(echoLeft.length, bytes.length);
              if (!bytes.subarray(0, n).equals(echoLeft.subarray(0, n))) {
                verdict = { kind: 'garbage', reason: 'the echo of the request does not match what was sent' };
              } else {
                echoLeft = echoLeft.subarray(n);
                bytes = bytes.subarray(n);
              }
            }
            if (bytes.length === 0 && !verdict) return;
            // the window closed before this byte (its timer had not run yet): not our answer
            if (firstAt === undefined && sentAt !== undefined && at - sentAt > timeoutMs) {
              settle({ kind: 'timeout' });
              discard(bytes.length);
              return;
            }
            firstAt ??= at;
            if (!verdict) buf = buf.length === 0 ? Buffer.from(bytes) : Buffer.concat([buf, bytes]);
            look();
          },
          settle,
        };
        listener = me;
        wake = () => settle({ kind: 'stopped' });
        deadline = clock.setTimeout(() => settle({ kind: 'write-failed', error: 'write did not complete' }), WRITE_STALL_MS + timeoutMs);
        // The answer may arrive before write() resolves (a fast device, the test double).
        port.write(frame).then(() => {
          if (done) return;
          sentAt = clock.monotonic();
          if (!found && !verdict) armDeadline();
          else deadline?.cancel();
        }, (err: Error) => settle({ kind: 'write-failed', error: err.message }));
      });
    },

    stop() {
      stopped = true;
      wake?.();
      listener?.settle({ kind: 'stopped' });
    },
    resume() { stopped = false; },
  };
}
