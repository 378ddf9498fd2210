// Rewrites indefinite-length byte and text strings (RFC 8949 §3.2.3) as
// definite-length ones, leaving every other byte as it was. cbor-x refuses
// indefinite-length strings ("not supported"), yet they are valid CBOR that a
// streaming encoder may well write; the one decoder of Tapwire reads them
// through this pass. Invariant: the output decodes to the same data model
// value, and malformed input (a chunk of another type, a missing break, a
// truncated item) is an error, never silently mended.
//
//   5f 42 01 02 41 03 ff        bytes (_ h'0102', h'03')  ->  43 01 02 03
//   7f 62 61 62 61 63 ff        text (_ "ab", "c")        ->  63 61 62 63

const BREAK = 0xff;
/** Deeper than any message Tapwire reads; bounds the recursion. */
const MAX_DEPTH = 256;

interface Head { major: number; info: number; arg: number; next: number }

function head(b: Uint8Array, at: number): Head {
  if (at >= b.length) throw new Error('truncated item');
  const major = b[at]! >> 5;
  const info = b[at]! & 0x1f;
  if (info < 24) return { major, info, arg: info, next: at + 1 };
  if (info === 31) return { major, info, arg: -1, next: at + 1 };
  if (info > 27) throw new Error(`reserved additional information ${info}`);
  const n = 1 << (info - 24);
  if (at + 1 + n > b.length) throw new Error('truncated head');
  let arg = 0;
  for (let k = 0; k < n; k++) arg = arg * 256 + b[at + 1 + k]!;
  return { major, info, arg, next: at + 1 + n };
}

function definiteHead(major: number, n: number): number[] {
  const m = major << 5;
  if (n < 24) return [m | n];
  if (n < 0x100) return [m | 24, n];
  if (n < 0x10000) return [m | 25, n >> 8, n & 0xff];
  return [m | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** Walks one item at `at`, appending its (rewritten) bytes to `out`; returns the offset after it. */
function item(b: Uint8Array, at: number, out: number[][], depth: number): number {
  if (depth > MAX_DEPTH) throw new Error(`nested deeper than ${MAX_DEPTH} levels`);
  const h = head(b, at);
  const copy = (end: number): number => {
    if (end > b.length) throw new Error('truncated item');
    out.push(Array.from(b.subarray(at, end)));
    return end;
  };
  switch (h.major) {
    case 0: case 1: return copy(h.next);
    case 7:
      if (h.info === 31) throw new Error('break outside an indefinite-length item');
      return copy(h.next);
    case 2: case 3: {
      if (h.info !== 31) return copy(h.next + h.arg);
      const chunks: number[] = [];
      let p = h.next;
      for (;;) {
        if (p >= b.length) throw new Error('indefinite-length string without a break');
        if (b[p] === BREAK) { p++; break; }
        const c = head(b, p);
        if (c.major !== h.major || c.info === 31) throw new Error('a chunk of an indefinite-length string must be a definite string of the same type');
        if (c.next + c.arg > b.length) throw new Error('truncated chunk');
        for (let k = c.next; k < c.next + c.arg; k++) chunks.push(b[k]!);
        p = c.next + c.arg;
      }
      out.push(definiteHead(h.major, chunks.length), chunks);
      return p;
    }
    case 4: case 5: {
      copy(h.next);
      let p = h.next;
      if (h.info === 31) {
        for (;;) {
          if (p >= b.length) throw new Error('indefinite-length container without a break');
          if (b[p] === BREAK) { out.push([BREAK]); return p + 1; }
          p = item(b, p, out, depth + 1);
        }
      }
      const items = h.major === 4 ? h.arg : 2 * h.arg;
      // each item is at least one byte: a count beyond the input is malformed
      if (items > b.length - p) throw new Error('truncated container');
      for (let k = 0; k < items; k++) p = item(b, p, out, depth + 1);
      return p;
    }
    case 6:
      copy(h.next);
      return item(b, h.next, out, depth + 1);
    default:
      throw new Error(`major type ${h.major}`);
  }
}

/** The same CBOR item with indefinite-length strings made definite; throws on malformed input. */
export function definiteStrings(bytes: Uint8Array): Uint8Array {
  const out: number[][] = [];
  const end = item(bytes, 0, out, 0);
  if (end !== bytes.length) throw new Error(`${bytes.length - end} bytes after the item`);
  return Uint8Array.from(out.flat());
}
