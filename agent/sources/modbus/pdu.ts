// Modbus PDUs the agent can build: read requests for FC 1-4 and nothing else.
// There is deliberately no encoder for any other function code; the one
// encoder below refuses anything but 1-4 by type and again at run time.
//
//   read request PDU (5 bytes, big-endian fields)
//   +----+---------+---------+---------+---------+
//   | fc | addr hi | addr lo | qty hi  | qty lo  |
//   +----+---------+---------+---------+---------+
//   fc 1 coils, 2 discrete inputs: qty in bits, 1..2000
//   fc 3 holding, 4 input registers: qty in 16-bit registers, 1..125

/** The only function codes Tapwire ever puts on a wire. */
export type ReadFunctionCode = 1 | 2 | 3 | 4;

/** Protocol limits per request (Modbus application protocol V1.1b3, 6.1-6.4). */
export const MAX_READ_BITS = 2000;
export const MAX_READ_REGISTERS = 125;

export function isReadFunctionCode(fc: unknown): fc is ReadFunctionCode {
  return fc === 1 || fc === 2 || fc === 3 || fc === 4;
}

/** Quantity limit for one request of this function code (bits or registers). */
export function maxQuantity(fc: ReadFunctionCode): number {
  return fc === 1 || fc === 2 ? MAX_READ_BITS : MAX_READ_REGISTERS;
}

/** Data bytes in a normal response to a read of `quantity` items. */
export function responseDataBytes(fc: ReadFunctionCode, quantity: number): number {
  return fc === 1 || fc === 2 ? Math.ceil(quantity / 8) : quantity * 2;
}

function refuse(message: string): never {
  throw Object.assign(new Error(message), { code: 'ERR_MODBUS_READ_ONLY' });
}

/** The read request PDU. Throws (code ERR_MODBUS_READ_ONLY) for anything that is not a well-formed FC 1-4 read. */
export function encodeReadRequest(fc: ReadFunctionCode, address: number, quantity: number): Uint8Array {
  // The type already says 1|2|3|4; this guards callers that cast or come from JSON.
  if (!isReadFunctionCode(fc)) refuse(`refusing to encode function code ${String(fc)}: only read function codes 1-4 exist`);
  if (!Number.isInteger(address) || address < 0 || address > 0xffff) refuse(`read address ${address} is outside 0-65535`);
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > maxQuantity(fc)) refuse(`read quantity ${quantity} is outside 1-${maxQuantity(fc)} for fc ${fc}`);
  if (address + quantity > 0x10000) refuse(`read of ${quantity} from ${address} runs past address 65535`);
  return Uint8Array.of(fc, address >>> 8, address & 0xff, quantity >>> 8, quantity & 0xff);
}
