// Test double for hal/serial: an in-memory port with fault hooks, state per
// instance (like serialport's binding-mock). `emitData` plays the field side;
// `written` records every byte the agent sent.

import type { PortOptions, ReadOnlyPort, SerialFactory, SerialPort } from './serial.js';

export interface PortDouble extends SerialPort {
  /** Bytes arriving from the field. */
  emitData(data: Uint8Array | string): void;
  /** Simulate an unplug: the port closes with an error. */
  unplug(): void;
  /** Everything the agent wrote, in order. */
  readonly written: Uint8Array[];
  /** Called after each write, to answer like a device would. */
  onWrite?: (data: Uint8Array) => void;
  /** Make the next open() fail with this message. */
  failOpen?: string;
}

export function createPortDouble(opts: Pick<PortOptions, 'path'>): PortDouble {
  let open = false;
  const data: Array<(c: Buffer) => void> = [];
  const closes: Array<(e?: Error) => void> = [];
  const double: PortDouble = {
    path: opts.path,
    written: [],
    get isOpen() { return open; },
    async open() {
      if (double.failOpen) { const m = double.failOpen; double.failOpen = undefined; throw new Error(`cannot open ${opts.path}: ${m}`); }
      open = true;
    },
    async close() { if (!open) return; open = false; for (const l of closes) l(); },
    onData(l) { data.push(l); },
    onClose(l) { closes.push(l); },
    async write(bytes) {
      if (!open) throw new Error(`${opts.path} is not open`);
      const copy = Uint8Array.from(bytes);
      double.written.push(copy);
      double.onWrite?.(copy);
    },
    emitData(chunk) {
      if (!open) return;
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : Buffer.from(chunk);
      for (const l of data) l(buf);
    },
    unplug() {
      if (!open) return;
      open = false;
      for (const l of closes) l(new Error(`${opts.path} unplugged`));
    },
  };
  return double;
}

/** A factory handing out doubles by path; `ports` lets the test reach them. */
export function createSerialDoubleFactory(): SerialFactory & { ports: Map<string, PortDouble> } {
  const ports = new Map<string, PortDouble>();
  const get = (o: PortOptions): PortDouble => {
    let p = ports.get(o.path);
    if (!p) { p = createPortDouble(o); ports.set(o.path, p); }
    return p;
  };
  return {
    ports,
    openReadOnly(o): ReadOnlyPort {
      const p = get(o);
      return { path: p.path, get isOpen() { return p.isOpen; }, open: () => p.open(), close: () => p.close(), onData: (l) => p.onData(l), onClose: (l) => p.onClose(l) };
    },
    openReadWrite: (o) => get(o),
  };
}
