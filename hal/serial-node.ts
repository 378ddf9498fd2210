// Real serial ports through node-serialport's native binding. The read-only
// variant wraps the port in an object that simply has no `write`.
// bindings-cpp's unixRead retries forever when read() returns 0 (EOF: a USB
// adapter unplugged, a pty whose master went away) — a CPU-burning loop that
// never reports the disconnect (serialport/bindings-cpp#162). Our binding
// wrapper treats a zero-byte read on a tty as the hang-up it is.
// The binding opens the port O_NONBLOCK, so read() and write() never block:
// the wrapper calls them on the event loop (readSync / writeSync answer at once
// with data or EAGAIN) and waits on the binding's poller only for EAGAIN.
// bindings-cpp sends each one through libuv's thread pool instead — a hand-off
// and a wake-up per call, and its first read of every reply is an EAGAIN.

import { readSync, writeSync } from 'node:fs';
import { LinuxBinding } from '@serialport/bindings-cpp';
import type { BindingPortInterface } from '@serialport/bindings-cpp';
import { SerialPortStream } from '@serialport/stream';
import type { PortOptions, ReadOnlyPort, SerialFactory, SerialPort } from './serial.js';

interface PollingPort extends BindingPortInterface {
  fd: number | null;
  poller: { once(event: 'readable' | 'writable', cb: (err?: Error | null) => void): void };
  /** what the binding's drain() waits for before it drains */
  writeOperation: Promise<void> | null;
}

function isPollingPort(p: BindingPortInterface): p is PollingPort {
  return 'fd' in p && 'poller' in p && 'writeOperation' in p;
}

const canceled = (): Error => Object.assign(new Error('Port is not open'), { canceled: true });

const wouldBlock = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR';
};

function ready(port: PollingPort, event: 'readable' | 'writable'): Promise<void> {
  return new Promise<void>((resolve, reject) => port.poller.once(event, (e) => (e ? reject(e) : resolve())));
}

/** read() that resolves with ≥ 1 byte, waits on the poller for EAGAIN, and fails on EOF. */
function hangupAwareRead(port: PollingPort): BindingPortInterface['read'] {
  return async (buffer, offset, length) => {
    for (;;) {
      if (port.fd === null) throw canceled();
      let bytesRead: number;
      try {
        bytesRead = readSync(port.fd, buffer, offset, length, null);
      } catch (err) {
        if (!wouldBlock(err)) throw err;
        await ready(port, 'readable');
        continue;
      }
      if (bytesRead === 0) throw Object.assign(new Error('port hung up (read returned EOF)'), { disconnect: true });
      return { bytesRead, buffer };
    }
  };
}

/** write() of the whole buffer: what the kernel takes now, the rest when the poller says writable. */
function eventLoopWrite(port: PollingPort): BindingPortInterface['write'] {
  const writeAll = async (buffer: Buffer): Promise<void> => {
    for (let offset = 0; offset < buffer.length;) {
      if (port.fd === null) throw canceled();
      try {
        offset += writeSync(port.fd, buffer, offset, buffer.length - offset);
      } catch (err) {
        if (!wouldBlock(err)) {
          const code = (err as NodeJS.ErrnoException).code;
          // as bindings-cpp: a closed fd or a vanished device is a disconnect
          if (code === 'EBADF' || code === 'ENXIO' || code === 'EIO') Object.assign(err as Error, { disconnect: true });
          throw err;
        }
        await ready(port, 'writable');
      }
    }
  };
  return (buffer) => {
    const op = buffer.length === 0 ? Promise.resolve() : writeAll(buffer);
    port.writeOperation = op.then(() => { port.writeOperation = null; }, () => { port.writeOperation = null; });
    return op;
  };
}

// Tapwire runs on Linux (Pi, SBCs); the Linux binding is the only one we ship.
const binding: typeof LinuxBinding = {
  list: () => LinuxBinding.list(),
  async open(options) {
    const port = await LinuxBinding.open(options);
    const p: BindingPortInterface = port; // writeOperation is private in its type
    if (isPollingPort(p)) {
      p.read = hangupAwareRead(p);
      p.write = eventLoopWrite(p);
    }
    return port;
  },
};

function createPort(opts: PortOptions): SerialPort {
  const port = new SerialPortStream({
    binding,
    path: opts.path,
    baudRate: opts.baudRate,
    dataBits: opts.dataBits ?? 8,
    stopBits: opts.stopBits ?? 1,
    parity: opts.parity ?? 'none',
    autoOpen: false,
    // no hupcl toggling games: leave DTR as the OS sets it
  });
  const closeListeners: Array<(err?: Error) => void> = [];
  const dataListeners: Array<(chunk: Buffer) => void> = [];
  // Always flowing: a port nobody listens to yet must still notice a hang-up.
  port.on('data', (chunk: Buffer) => { for (const l of dataListeners) l(chunk); });
  let closing = false;
  port.on('close', (err?: Error & { disconnected?: boolean }) => {
    for (const l of closeListeners) l(closing ? undefined : (err ?? new Error(`${opts.path} closed`)));
  });
  // An 'error' without a listener would throw: route it to close listeners.
  port.on('error', (err: Error) => {
    if (!port.isOpen) return; // open() rejects with it instead
    for (const l of closeListeners) l(err);
  });
  return {
    path: opts.path,
    get isOpen() { return port.isOpen; },
    open: () => new Promise<void>((resolve, reject) => {
      closing = false;
      port.open((err) => {
        if (!err) { resolve(); return; }
        // the binding says "Error: No such file or directory, cannot open <path>"
        const why = err.message.replace(/^Error: /, '');
        reject(new Error(why.includes(opts.path) ? why : `cannot open ${opts.path}: ${why}`));
      });
    }),
    close: () => new Promise<void>((resolve) => {
      if (!port.isOpen) { resolve(); return; }
      closing = true;
      port.close(() => resolve());
    }),
    onData: (listener) => { dataListeners.push(listener); },
    onClose: (listener) => { closeListeners.push(listener); },
    write: (data) => new Promise<void>((resolve, reject) => {
      port.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength), (err) => {
        if (err) { reject(err); return; }
        port.drain((e) => (e ? reject(e) : resolve()));
      });
    }),
  };
}

function readOnly(port: SerialPort): ReadOnlyPort {
  return {
    path: port.path,
    get isOpen() { return port.isOpen; },
    open: () => port.open(),
    close: () => port.close(),
    onData: (l) => port.onData(l),
    onClose: (l) => port.onClose(l),
  };
}

export const nodeSerial: SerialFactory = {
  openReadOnly: (opts) => readOnly(createPort(opts)),
  openReadWrite: (opts) => createPort(opts),
};
