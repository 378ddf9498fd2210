// Real serial ports through node-serialport's native binding (bindings-cpp),
// driven directly: no stream layer between the port and the one reader.
// - The binding opens the port O_NONBLOCK, so read() and write() never block:
//   we wait on the binding's poller until the port is readable (writable, for
//   a full output buffer) and then call them on the event loop. (bindings-cpp's
//   own read/write send every call through libuv's thread pool, and the first
//   read of every reply comes back EAGAIN, which costs an exception.)
// - A zero-byte read on a tty is a hang-up (a USB adapter unplugged, a pty whose
//   master went away): reported as a close with an error. bindings-cpp's unixRead
//   retries forever on it instead (serialport/bindings-cpp#162).
// - Open and close, the termios set-up, the input flush on open and tcdrain are
//   the binding's.
// The read-only variant wraps the port in an object that simply has no `write`.

import { readSync, writeSync } from 'node:fs';
import { LinuxBinding } from '@serialport/bindings-cpp';
import type { BindingPortInterface } from '@serialport/bindings-cpp';
import type { PortOptions, ReadOnlyPort, SerialFactory, SerialPort } from './serial.js';

/** What the binding's Linux port has beyond its interface: its fd and its poller. */
interface PollingPort extends BindingPortInterface {
  fd: number | null;
  poller: { once(event: 'readable' | 'writable', cb: (err?: Error | null) => void): void };
}

function isPollingPort(p: BindingPortInterface): p is PollingPort {
  return 'fd' in p && 'poller' in p;
}

/** Bytes taken per read: a chunk, not a frame; the readers buffer what they need. */
const READ_BYTES = 4096;

const wouldBlock = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR';
};

/** Resolves when the poller reports `event`; rejects with its error (or its cancel, on close). */
function ready(port: PollingPort, event: 'readable' | 'writable'): Promise<void> {
  return new Promise<void>((resolve, reject) => port.poller.once(event, (e) => (e ? reject(e) : resolve())));
}

/** write() of the whole buffer: what the kernel takes now, the rest when the poller says writable. */
async function writeAll(port: PollingPort, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length;) {
    if (port.fd === null) throw new Error('Port is not open');
    try {
      offset += writeSync(port.fd, data, offset, data.length - offset);
    } catch (err) {
      if (!wouldBlock(err)) throw err;
      await ready(port, 'writable');
    }
  }
}

/**
 * Closes the binding's port once the current callback has returned: data is delivered from
 * inside the poller's native callback (a promise it resolves runs before that returns), and a
 * reader that closes the port right there would destroy the poller under its own callback
 * (a segfault, seen with a one-line reader).
 */
async function closeBinding(p: PollingPort): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (p.fd !== null) await p.close();
}

function createPort(opts: PortOptions): SerialPort {
  const closeListeners: Array<(err?: Error) => void> = [];
  const dataListeners: Array<(chunk: Buffer) => void> = [];
  let port: PollingPort | undefined;
  let closing = false;

  const notifyClose = (err?: Error): void => { for (const l of closeListeners) l(err); };

  /** Reads until the port closes or fails; always running, so a port nobody listens to still notices a hang-up. */
  async function readLoop(p: PollingPort): Promise<void> {
    const scratch = Buffer.allocUnsafe(READ_BYTES);
    for (;;) {
      await ready(p, 'readable');
      if (p.fd === null) return;
      let n: number;
      try {
        n = readSync(p.fd, scratch, 0, READ_BYTES, null);
      } catch (err) {
        if (wouldBlock(err)) continue;
        throw err;
      }
      if (n === 0) throw new Error('port hung up (read returned EOF)');
      // each chunk is the listeners' own: the scratch buffer is read into again
      const chunk = Buffer.allocUnsafe(n);
      scratch.copy(chunk, 0, 0, n);
      for (const l of dataListeners) l(chunk);
    }
  }

  const failed = (p: PollingPort, err: Error): void => {
    if (closing || port !== p) return; // our own close cancels the poller: not a failure
    port = undefined;
    void closeBinding(p).catch(() => undefined).then(() => notifyClose(err));
  };

  return {
    path: opts.path,
    get isOpen() { return port !== undefined && port.fd !== null && !closing; },
    async open() {
      if (port) throw new Error(`${opts.path} is already open`);
      let opened: BindingPortInterface;
      try {
        opened = await LinuxBinding.open({
          path: opts.path,
          baudRate: opts.baudRate,
          dataBits: opts.dataBits ?? 8,
          stopBits: opts.stopBits ?? 1,
          parity: opts.parity ?? 'none',
          // no hupcl toggling games: leave DTR as the OS sets it (the binding's default)
        });
      } catch (err) {
        // the binding says "Error: No such file or directory, cannot open <path>"
        const why = (err as Error).message.replace(/^Error: /, '');
        throw new Error(why.includes(opts.path) ? why : `cannot open ${opts.path}: ${why}`);
      }
      if (!isPollingPort(opened)) {
        await opened.close().catch(() => undefined);
        throw new Error(`${opts.path}: the serial binding has no poller (this agent runs on Linux only)`);
      }
      const p = opened;
      port = p;
      closing = false;
      readLoop(p).catch((err: Error) => failed(p, err));
    },
    async close() {
      const p = port;
      if (!p) return;
      closing = true;
      try {
        await closeBinding(p);
      } finally {
        port = undefined;
        closing = false;
        notifyClose(undefined);
      }
    },
    onData: (listener) => { dataListeners.push(listener); },
    onClose: (listener) => { closeListeners.push(listener); },
    async write(data) {
      const p = port;
      if (!p || closing) throw new Error('Port is not open');
      await writeAll(p, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      await p.drain(); // tcdrain: the bytes have left the UART
    },
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
