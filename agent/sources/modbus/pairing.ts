// Pairs the responses a sniffer hears with the requests they answer. An RTU
// response names no address, so a guess could sign a wrong value; a response
// pairs only when nothing else could have asked for it:
//   - the frame right before it on the wire is the request (any other frame
//     between them, a bad-CRC one or noise too, breaks the pair);
//   - same unit and function code, a byte count that fits the quantity;
//   - it came within the response window after the request;
//   - no earlier request of the same unit and function code was still
//     waiting for its answer (within the window) when that request came: a
//     late answer to the earlier one would look exactly like this one.
// Everything else is unpaired: counted by the caller, never published.

import { responseDataBytes, type ReadFunctionCode } from './pdu.js';

export interface SeenRequest { unit: number; fc: ReadFunctionCode; address: number; quantity: number }

export type PairVerdict =
  | { paired: SeenRequest }
  | { unpaired: 'no request before it' | 'another frame between' | 'outside the response window' | 'an earlier request may be answered late' | 'unit, fc or byte count does not fit' };

export interface Pairing {
  /** A valid read request ended at `at` (monotonic ms). */
  request(r: SeenRequest, at: number): void;
  /** A response (data bytes) or exception (`bytes` undefined) from `unit` for `fc` arrived at `at`. */
  response(unit: number, fc: number, bytes: number | undefined, at: number): PairVerdict;
  /**
   * Any other frame (bad CRC, noise, a write): breaks the pair across it. A
   * broken frame that starts like an answer to an open request (its unit and
   * function code, or the exception code) is taken as that answer, garbled:
   * nothing more is expected for that request.
   */
  other(at: number, head?: [number, number]): void;
  /** Forget everything (the port was reopened). */
  reset(): void;
  /** Requests that got no answer within the window since the last call. */
  takeUnanswered(): number;
}

interface Open extends SeenRequest { at: number; clean: boolean }

export function createPairing(windowMs: number): Pairing {
  let open: Open[] = [];
  /** The open request that is the last frame seen, if the last frame is one. */
  let last: Open | undefined;
  let unanswered = 0;

  const prune = (now: number): void => {
    const keep = open.filter((o) => now - o.at <= windowMs);
    unanswered += open.length - keep.length;
    open = keep;
  };
  const close = (o: Open | undefined): void => {
    if (o) open = open.filter((x) => x !== o);
  };
  /** The most recent open request an answer from `unit` for `fc` could belong to. */
  const latest = (unit: number, fc: number): Open | undefined => {
    for (let i = open.length - 1; i >= 0; i--) if (open[i]!.unit === unit && open[i]!.fc === fc) return open[i];
    return undefined;
  };

  return {
    request(r, at) {
      prune(at);
      const clean = !open.some((o) => o.unit === r.unit && o.fc === r.fc);
      last = { ...r, at, clean };
      open.push(last);
    },
    response(unit, fc, bytes, at) {
      const q = last;
      last = undefined;
      const anyOpen = open.length > 0;
      prune(at);
      // bookkeeping only: this answer is gone, whatever it belonged to
      close(latest(unit, fc));
      if (!q) return { unpaired: anyOpen ? 'another frame between' : 'no request before it' };
      if (at - q.at > windowMs) return { unpaired: 'outside the response window' };
      if (q.unit !== unit || q.fc !== fc || (bytes !== undefined && bytes !== responseDataBytes(q.fc, q.quantity))) {
        return { unpaired: 'unit, fc or byte count does not fit' };
      }
      if (!q.clean) return { unpaired: 'an earlier request may be answered late' };
      return { paired: { unit: q.unit, fc: q.fc, address: q.address, quantity: q.quantity } };
    },
    other(at, head) {
      prune(at);
      last = undefined;
      if (head) close(latest(head[0], head[1] & 0x7f));
    },
    reset() {
      open = [];
      last = undefined;
    },
    takeUnanswered() {
      const n = unanswered;
      unanswered = 0;
      return n;
    },
  };
}
