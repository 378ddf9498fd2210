// Wraps the serial factory the sources open their ports through: each port is
// handed on as it is (a read-only port stays without `write`), while the bytes
// it receives can be watched (the console's `monitor`) and its last open or
// loss error is kept (the `sources` answer says why a port is down). Watching
// costs one map lookup per chunk; a watcher never sees the port itself.

import type { PortOptions, ReadOnlyPort, SerialFactory, SerialPort } from '../../hal/serial.js';

export type ByteListener = (chunk: Uint8Array) => void;

export interface PortTap {
  /** The factory to give the sources. */
  readonly serial: SerialFactory;
  /** Bytes received on the port opened as `path` from now on; returns the unsubscribe. */
  watch(path: string, listener: ByteListener): () => void;
  /** Why the port opened as `path` is not open (its last open failure or loss), if known. */
  error(path: string): string | undefined;
}

export function createPortTap(inner: SerialFactory): PortTap {
  const watchers = new Map<string, Set<ByteListener>>();
  const errors = new Map<string, string>();

  function observe(port: ReadOnlyPort): { open(): Promise<void> } {
    const path = port.path;
    port.onData((chunk) => {
      const set = watchers.get(path);
      if (!set) return;
      for (const l of set) {
        try { l(chunk); } catch { /* a watcher never disturbs the source */ }
      }
    });
    port.onClose((err) => { if (err) errors.set(path, `port lost: ${err.message}`); });
    return {
      open: () => port.open().then(
        () => { errors.delete(path); },
        (err: unknown) => {
          errors.set(path, err instanceof Error ? err.message : String(err));
          throw err;
        },
      ),
    };
  }

  function readOnly(opts: PortOptions): ReadOnlyPort {
    const port = inner.openReadOnly(opts);
    const { open } = observe(port);
    return {
      path: port.path,
      get isOpen() { return port.isOpen; },
      open,
      close: (handback) => port.close(handback),
      onData: (l) => port.onData(l),
      onClose: (l) => port.onClose(l),
    };
  }

  function readWrite(opts: PortOptions): SerialPort {
    const port = inner.openReadWrite(opts);
    const { open } = observe(port);
    return {
      path: port.path,
      get isOpen() { return port.isOpen; },
      open,
      close: (handback) => port.close(handback),
      onData: (l) => port.onData(l),
      onClose: (l) => port.onClose(l),
      write: (data) => port.write(data),
    };
  }

  return {
    serial: { openReadOnly: readOnly, openReadWrite: readWrite },
    watch(path, listener) {
      let set = watchers.get(path);
      if (!set) { set = new Set(); watchers.set(path, set); }
      set.add(listener);
      return () => {
        const s = watchers.get(path);
        if (!s) return;
        s.delete(listener);
        if (s.size === 0) watchers.delete(path);
      };
    },
    error: (path) => errors.get(path),
  };
}
