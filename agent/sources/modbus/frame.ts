// Modbus RTU framing: inter-frame timing, the read request ADU, the answer
// search for the master and a CRC-driven frame splitter for the sniffer.
// A frame is accepted only with a valid CRC-16/MODBUS; everything else is
// reported as crc-error or garbage, never thrown.
//
//   RTU ADU (Modbus over serial line V1.02, 2.5.1)          silence >= t3.5
//   +------+----+---------------------------+--------+--------+
//   | unit | fc | data (0..252 bytes)       | CRC lo | CRC hi |
//   +------+----+---------------------------+--------+--------+
//   read request  fc 1-4 : unit fc addrHi addrLo qtyHi qtyLo crc crc  (8 bytes)
//   read response fc 1-4 : unit fc byteCount data[byteCount] crc crc   (5 + n)
//   exception            : unit fc|0x80 code crc crc                  (5 bytes)
//   write fc 5/6 (request and echo response)                          (8 bytes)
//   write fc 15/16 request: unit fc addr qty byteCount data crc crc    (9 + n)
//   write fc 15/16 response: unit fc addr qty crc crc                 (8 bytes)

import type { PortOptions } from '../../../hal/serial.js';
import { crc16, crcOk } from './crc16.js';
import { encodeReadRequest, isReadFunctionCode, maxQuantity, responseDataBytes, type ReadFunctionCode } from './pdu.js';
import { defaultOf, PortSchema } from '../../schema-parts.js';

export interface FrameTiming {
  /** Bits per character on the line: 1 start + data + parity + stop. */
  charBits: number;
  /** Time to send one character, ms. */
  charMs: number;
  /** Longest silence allowed inside a frame, ms. */
  t15Ms: number;
  /** Shortest silence between frames, ms. */
  t35Ms: number;
}

/**
 * Character time and the t1.5 / t3.5 silences for a port. Above 19200 baud
 * the spec fixes t1.5 = 750 µs and t3.5 = 1.75 ms (serial line V1.02, 2.5.1.1),
 * because a UART driver could not keep up with the pure character-time values.
 */
export function frameTiming(port: Pick<PortOptions, 'baudRate' | 'dataBits' | 'parity' | 'stopBits'>): FrameTiming {
  const parityBits = (port.parity ?? defaultOf(PortSchema, 'parity')) === 'none' ? 0 : 1;
  const charBits = 1 + (port.dataBits ?? defaultOf(PortSchema, 'dataBits')) + parityBits + (port.stopBits ?? defaultOf(PortSchema, 'stopBits'));
  const charMs = (charBits * 1000) / port.baudRate;
  if (port.baudRate > 19200) return { charBits, charMs, t15Ms: 0.75, t35Ms: 1.75 };
  return { charBits, charMs, t15Ms: 1.5 * charMs, t35Ms: 3.5 * charMs };
}

function withCrc(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 2);
  out.set(body);
  const crc = crc16(body);
  out[body.length] = crc & 0xff;
  out[body.length + 1] = crc >>> 8;
  return out;
}

/** The complete 8-byte RTU read request. Only FC 1-4 can be encoded (see pdu.ts). */
export function encodeReadFrame(unit: number, fc: ReadFunctionCode, address: number, quantity: number): Uint8Array {
  // Unit 0 is broadcast: slaves never answer it, and a read has no meaning there.
  if (!Number.isInteger(unit) || unit < 1 || unit > 247) {
    throw Object.assign(new Error(`unit ${unit} is outside 1-247`), { code: 'ERR_MODBUS_UNIT' });
  }
  const pdu = encodeReadRequest(fc, address, quantity);
  const body = new Uint8Array(1 + pdu.length);
  body[0] = unit;
  body.set(pdu, 1);
  return withCrc(body);
}

// ── master side: is this the answer to the request we sent? ───────────────

export interface Expectation {
  unit: number;
  fc: ReadFunctionCode;
  quantity: number;
}

export type AnswerSearch =
  | { kind: 'found'; at: number; length: number; answer: { kind: 'ok'; data: Uint8Array } | { kind: 'exception'; code: number } }
  /** A frame of the expected shape may still be completing (more bytes needed). */
  | { kind: 'incomplete' }
  /** No answer frame in these bytes; `crc` if one had the right shape but a bad CRC. */
  | { kind: 'none'; crc: boolean };

/**
 * Finds the first CRC-valid answer to `expect` in `buf` (its unit and fc, or
 * the exception for them; the byte count it must have): junk before it, such
 * as a transceiver's turn-on glitch, is skipped. Bytes after it are the
 * caller's concern.
 */
export function findAnswer(buf: Uint8Array, expect: Expectation): AnswerSearch {
  const want = responseDataBytes(expect.fc, expect.quantity);
  let incomplete = false;
  let crc = false;
  for (let i = 0; i + 1 < buf.length; i++) {
    if (buf[i] !== expect.unit) continue;
    const fc = buf[i + 1]!;
    let length: number;
    if (fc === (expect.fc | 0x80)) length = 5;
    else if (fc === expect.fc) {
      if (i + 2 >= buf.length) { incomplete = true; continue; }
      if (buf[i + 2] !== want) continue;
      length = 5 + want;
    } else continue;
    if (i + length > buf.length) { incomplete = true; continue; }
    if (!crcOk(buf, i, i + length)) { crc = true; continue; }
    const answer = length === 5 && fc !== expect.fc
      ? { kind: 'exception' as const, code: buf[i + 2]! }
      : { kind: 'ok' as const, data: Uint8Array.from(buf.subarray(i + 3, i + 3 + want)) };
    return { kind: 'found', at: i, length, answer };
  }
  // a lone unit byte at the very end may start the answer
  if (buf.length > 0 && buf[buf.length - 1] === expect.unit) incomplete = true;
  return incomplete ? { kind: 'incomplete' } : { kind: 'none', crc };
}

// ── sniffer side: cut a byte stream into frames ───────────────────────────

export type RtuFrame =
  | { kind: 'read-request'; unit: number; fc: ReadFunctionCode; address: number; quantity: number }
  | { kind: 'read-response'; unit: number; fc: ReadFunctionCode; data: Uint8Array }
  | { kind: 'exception'; unit: number; fc: number; code: number }
  /** fc 5, 6, 15 or 16 seen on the bus (request or response): counted, never acted on. */
  | { kind: 'write'; unit: number; fc: number }
  /** A run of bytes that began like a complete frame but failed its CRC; `head` is its first two bytes. */
  | { kind: 'crc-error'; bytes: number; head?: [number, number] }
  /** A run of bytes that is no frame: noise, truncated frames, unknown function codes. */
  | { kind: 'garbage'; bytes: number; head?: [number, number] };

export interface RtuSplitter {
  /** Feed a chunk that arrived at `atMs` (monotonic); returns the frames completed by it. */
  push(chunk: Uint8Array, atMs: number): RtuFrame[];
  /** The line has been silent for `gapMs`: resolve whatever is buffered. */
  idle(): RtuFrame[];
}

export interface SplitterOptions {
  /**
   * Silence (ms) after which buffered bytes are a closed segment. Chunk arrival
   * times are only a hint (USB adapters batch bytes, FTDI's latency timer is
   * 16 ms by default), so frames are found by CRC; this gap only decides when
   * an unfinished tail is given up as garbage.
   */
  gapMs: number;
}

type Attempt = { frame: RtuFrame; length: number } | 'wait' | 'skip-crc' | 'skip';

const MAX_ADU = 256;

/**
 * Splits a byte stream into RTU frames by CRC. At each position it tries the
 * frames that could start there (read request, read response, exception,
 * writes) and takes the first whose CRC holds; bytes that cannot start any
 * frame are skipped and reported as one garbage or crc-error run.
 * After a read request, a response of the same unit and fc with the expected
 * byte count is preferred: "u 01 03 x x x crc" is both a coil response and a
 * request, and only the conversation tells which.
 */
export function createRtuSplitter(opts: SplitterOptions): RtuSplitter {
  let buf = Buffer.alloc(0);
  let lastAt = -Infinity;
  let lastRequest: { unit: number; fc: ReadFunctionCode; quantity: number } | undefined;

  const readRequestAt = (i: number): RtuFrame | undefined => {
    const fc = buf[i + 1] as ReadFunctionCode;
    const address = buf.readUInt16BE(i + 2);
    const quantity = buf.readUInt16BE(i + 4);
    if (quantity < 1 || quantity > maxQuantity(fc) || address + quantity > 0x10000) return undefined;
    return { kind: 'read-request', unit: buf[i]!, fc, address, quantity };
  };

  const attempt = (i: number, final: boolean): Attempt => {
    const avail = buf.length - i;
    if (avail < 2) return final ? 'skip' : 'wait';
    const unit = buf[i]!;
    const fc = buf[i + 1]!;
    // candidate frames starting here: [length or undefined if not yet known, build]
    const candidates: Array<[number | undefined, () => RtuFrame | undefined]> = [];
    if (isReadFunctionCode(fc) && unit >= 1 && unit <= 247) {
      const bc = avail >= 3 ? buf[i + 2]! : undefined;
      const plausibleResponse = bc === undefined || (bc >= 1 && bc <= 250 && (fc <= 2 || bc % 2 === 0));
      const request: [number, () => RtuFrame | undefined] = [8, () => readRequestAt(i)];
      const response: [number | undefined, () => RtuFrame] = [
        bc === undefined ? undefined : 5 + bc,
        () => ({ kind: 'read-response', unit, fc, data: Uint8Array.from(buf.subarray(i + 3, i + 3 + bc!)) }),
      ];
      const expected = lastRequest && lastRequest.unit === unit && lastRequest.fc === fc
        && bc === responseDataBytes(fc, lastRequest.quantity);
      if (expected) candidates.push(response, request);
      else if (plausibleResponse) candidates.push(request, response);
      else candidates.push(request);
    } else if (fc & 0x80 && (fc & 0x7f) !== 0 && unit >= 1 && unit <= 247) {
      candidates.push([5, () => ({ kind: 'exception', unit, fc: fc & 0x7f, code: buf[i + 2]! })]);
    } else if ((fc === 5 || fc === 6) && unit <= 247) {
      candidates.push([8, () => ({ kind: 'write', unit, fc })]);
    } else if ((fc === 15 || fc === 16) && unit <= 247) {
      candidates.push([8, () => ({ kind: 'write', unit, fc })]);
      candidates.push([avail >= 7 ? 9 + buf[i + 6]! : undefined, () => ({ kind: 'write', unit, fc })]);
    } else {
      return 'skip';
    }
    let incomplete = false;
    let crcFailed = false;
    for (const [length, build] of candidates) {
      if (length === undefined || length > avail) { incomplete = true; continue; }
      if (!crcOk(buf, i, i + length)) { crcFailed = true; continue; }
      const frame = build();
      if (frame) return { frame, length };
    }
    if (incomplete && !final) return 'wait';
    return crcFailed ? 'skip-crc' : 'skip';
  };

  // A skipped run that reached the end of the buffer stays open across pushes,
  // so one corrupted frame is reported once, however its bytes arrive.
  let run: { bytes: number; crc: boolean; head?: [number, number] } | undefined;

  const scan = (final: boolean): RtuFrame[] => {
    const out: RtuFrame[] = [];
    const endRun = (): void => {
      if (!run) return;
      out.push({ kind: run.crc ? 'crc-error' : 'garbage', bytes: run.bytes, ...(run.head ? { head: run.head } : {}) });
      run = undefined;
    };
    let i = 0;
    while (i < buf.length) {
      // Nothing longer than an ADU can still be completing: skip rather than wait.
      const a = attempt(i, final || buf.length - i > MAX_ADU);
      if (a === 'wait') break;
      if (a === 'skip' || a === 'skip-crc') {
        run ??= { bytes: 0, crc: a === 'skip-crc', ...(i + 1 < buf.length ? { head: [buf[i]!, buf[i + 1]!] as [number, number] } : {}) };
        run.bytes++;
        i++;
        continue;
      }
      endRun();
      const f = a.frame;
      if (f.kind === 'read-request') lastRequest = { unit: f.unit, fc: f.fc, quantity: f.quantity };
      else if ((f.kind === 'read-response' || f.kind === 'exception') && lastRequest?.unit === f.unit) lastRequest = undefined;
      out.push(f);
      i += a.length;
    }
    if (final) endRun();
    buf = i >= buf.length ? Buffer.alloc(0) : buf.subarray(i);
    return out;
  };

  return {
    push(chunk, atMs) {
      let out: RtuFrame[] = [];
      if ((buf.length > 0 || run) && atMs - lastAt >= opts.gapMs) out = scan(true);
      lastAt = atMs;
      buf = buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([buf, chunk]);
      const more = scan(false);
      return out.length === 0 ? more : out.concat(more);
    },
    idle() {
      return buf.length > 0 || run ? scan(true) : [];
    },
  };
}
