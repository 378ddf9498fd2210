// Bytes as a technician reads them on a serial line: offset, 16 bytes in hex
// (two groups of 8) and the printable ASCII ('.' for everything else — so no
// byte from the field reaches the terminal as a control character).

export const BYTES_PER_LINE = 16;

export function hexdumpLine(offset: number, chunk: Uint8Array): string {
  let hex = '';
  let ascii = '';
  for (let i = 0; i < BYTES_PER_LINE; i++) {
    if (i === 8) hex += ' ';
    const b = chunk[i];
    if (b === undefined) { hex += '   '; continue; }
    hex += `${b.toString(16).padStart(2, '0')} `;
    ascii += b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : '.';
  }
  return `${offset.toString(16).padStart(8, '0')}  ${hex} |${ascii}|`;
}

/** Lines for `data`, whose first byte is at `offset` of the stream. */
export function hexdump(offset: number, data: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < data.length; i += BYTES_PER_LINE) out.push(hexdumpLine(offset + i, data.subarray(i, i + BYTES_PER_LINE)));
  return out;
}
