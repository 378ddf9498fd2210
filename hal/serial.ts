// The serial-port boundary. Passive sources get a ReadOnlyPort — a type with
// no `write` at all — so "never write a byte to the field" is a compile-time
// fact, not a convention. Only the Modbus master receives a SerialPort.

export type Parity = 'none' | 'even' | 'odd';

export interface PortOptions {
  path: string;
  baudRate: number;
  dataBits?: 5 | 6 | 7 | 8;
  stopBits?: 1 | 1.5 | 2;
  parity?: Parity;
}

/**
 * What a reader gives back when it closes a port that may be handed to the next
 * reader (a config swap, agent/sources/port-handover.ts): bytes it received but
 * did not use (half a line), or "drop everything through this delimiter" (it
 * stopped inside a line it was discarding). A plain port ignores it.
 */
export type Handback = { unconsumed: Uint8Array } | { dropThrough: Uint8Array };

export interface ReadOnlyPort {
  readonly path: string;
  readonly isOpen: boolean;
  open(): Promise<void>;
  close(handback?: Handback): Promise<void>;
  /** Chunks as the OS delivers them (no framing). */
  onData(listener: (chunk: Buffer) => void): void;
  /** The port went away (unplugged, pty closed) or failed; `err` when not a clean close. */
  onClose(listener: (err?: Error) => void): void;
}

export interface SerialPort extends ReadOnlyPort {
  /** Writes and waits until the OS has taken the bytes (drain). */
  write(data: Uint8Array): Promise<void>;
}

/** How the agent gets ports; the real one is hal/serial-node.ts. */
export interface SerialFactory {
  /** A port for a passive source: the returned object has no write method. */
  openReadOnly(opts: PortOptions): ReadOnlyPort;
  /** A port for the Modbus master (the only component that ever writes, and only read requests). */
  openReadWrite(opts: PortOptions): SerialPort;
}
