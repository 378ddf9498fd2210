// Hands read-only ports over from one Agent to the next across an in-process
// config swap, without losing a byte: while a swap is held, a source that
// closes its port leaves it open here, and everything that arrives (plus what
// the source had received but not used, e.g. half a line) waits for the next
// source that opens the same device with the same settings. Opening a port
// again would lose it: the serialport binding flushes the input on open.
// A port nobody takes is closed when the swap is released; the bytes it held
// are counted (serial.handover_lost_bytes) and logged, never silently dropped.
// Read-write ports (the Modbus master, which asks again) pass straight through.

import type { Counters } from '../counters.js';
import type { Logger } from '../log.js';
import type { Handback, PortOptions, ReadOnlyPort, SerialFactory } from '../../hal/serial.js';

export interface PortHandover {
  /** The factory to give the Agents. */
  readonly serial: SerialFactory;
  /** A swap begins: from now on a closed read-only port stays open, buffering, for the next reader. */
  hold(): void;
  /** The swap is over: ports no source took are closed and what they held is counted as lost. */
  release(): Promise<void>;
}

/** Bytes kept per port while nobody reads it: ~30 s of 9600 baud, a health check's worth. */
const MAX_HELD_BYTES = 64 * 1024;

interface Held {
  opts: PortOptions;
  port: ReadOnlyPort;
  /** The lease reading it now, if any. */
  reader?: Lease;
  buffered: Buffer[];
  bytes: number;
  /** Drop buffered bytes through the first occurrence of this (a reader stopped inside an overlong line). */
  dropThrough?: Uint8Array;
}

interface Lease extends ReadOnlyPort {
  deliver(chunk: Buffer): void;
  closed(err?: Error): void;
}

const sameSettings = (a: PortOptions, b: PortOptions): boolean =>
  a.baudRate === b.baudRate && (a.dataBits ?? 8) === (b.dataBits ?? 8) && (a.stopBits ?? 1) === (b.stopBits ?? 1) && (a.parity ?? 'none') === (b.parity ?? 'none');

export function createPortHandover(inner: SerialFactory, deps: { counters: Counters; log: Logger }): PortHandover {
  const pool = new Map<string, Held>();
  let holding = false;

  const lose = (h: Held, why: string): void => {
    if (h.bytes > 0) {
      deps.counters.inc('serial.handover_lost_bytes', h.bytes);
      deps.log.warn('bytes received during a config swap were lost', { path: h.opts.path, bytes: h.bytes, why });
    }
    h.buffered = [];
    h.bytes = 0;
  };

  const take = (h: Held): Buffer => {
    let all = Buffer.concat(h.buffered);
    h.buffered = [];
    h.bytes = 0;
    if (h.dropThrough) {
      const at = all.indexOf(h.dropThrough);
      if (at < 0) { deps.counters.inc('serial.handover_dropped_bytes', all.length); all = Buffer.alloc(0); return all; }
      deps.counters.inc('serial.handover_dropped_bytes', at + h.dropThrough.length);
      all = all.subarray(at + h.dropThrough.length);
      h.dropThrough = undefined;
    }
    return all;
  };

  const hold = (h: Held, chunk: Buffer): void => {
    h.buffered.push(Buffer.from(chunk));
    h.bytes += chunk.length;
    while (h.bytes > MAX_HELD_BYTES && h.buffered.length > 1) {
      const old = h.buffered.shift()!;
      h.bytes -= old.length;
      deps.counters.inc('serial.handover_lost_bytes', old.length);
    }
  };

  const closeHeld = async (h: Held, why: string): Promise<void> => {
    lose(h, why);
    await h.port.close().catch(() => undefined);
  };

  /** The port underneath the leases of one path: created once per path and settings, reopened as needed. */
  const underlying = (opts: PortOptions): Held => {
    const port = inner.openReadOnly(opts);
    const h: Held = { opts, port, buffered: [], bytes: 0 };
    const current = (): boolean => pool.get(opts.path) === h;
    port.onData((chunk) => {
      if (!current()) return;
      if (h.reader) h.reader.deliver(chunk); else hold(h, chunk);
    });
    port.onClose((err) => {
      if (!current()) return;
      if (h.reader) h.reader.closed(err);
      else lose(h, err ? `port lost: ${err.message}` : 'port closed');
    });
    return h;
  };

  const lease = (opts: PortOptions): Lease => {
    const data: Array<(c: Buffer) => void> = [];
    const closes: Array<(e?: Error) => void> = [];
    let h: Held | undefined;
    /** Handed-over bytes are delivered before live ones: live data waits here meanwhile. */
    let pending: Buffer[] | undefined;

    const adopt = (held: Held): void => {
      h = held;
      held.reader = l;
      const handed = take(held);
      deps.counters.inc('serial.handover_bytes', handed.length);
      deps.log.info('port handed over across a config swap', { path: opts.path, bytes: handed.length });
      // after open() resolves and the source has reset its parser (its onOpen), in arrival order
      pending = [handed];
      setImmediate(() => {
        const queued = pending ?? [];
        pending = undefined;
        for (const c of queued) if (c.length > 0 && held.reader === l) for (const f of data) f(c);
      });
    };

    const l: Lease = {
      path: opts.path,
      get isOpen() { return h !== undefined && h.reader === l && h.port.isOpen; },
      async open() {
        let held = pool.get(opts.path);
        // the config allows one source per port; a second reader would split its bytes
        if (held?.reader && held.reader !== l) throw new Error(`${opts.path} is already open for another source`);
        if (held && !sameSettings(held.opts, opts)) {
          if (held.port.isOpen) await closeHeld(held, 'the new config opens the port with other settings');
          held = undefined;
        }
        if (held && held.port.isOpen) { adopt(held); return; }
        if (!held) { held = underlying(opts); pool.set(opts.path, held); }
        h = held;
        held.reader = l;
        try { await held.port.open(); } catch (err) { held.reader = undefined; throw err; }
      },
      async close(handback?: Handback) {
        const held = h;
        if (!held || held.reader !== l) return;
        held.reader = undefined;
        if (!holding || !held.port.isOpen) { await held.port.close(); return; }
        // kept open for the next reader: unused bytes first, then whatever arrives from now on
        const early = pending ?? [];
        pending = undefined;
        if (handback && 'unconsumed' in handback && handback.unconsumed.length > 0) hold(held, Buffer.from(handback.unconsumed));
        for (const c of early) hold(held, c);
        if (handback && 'dropThrough' in handback) held.dropThrough = handback.dropThrough;
        for (const c of closes) c();
      },
      onData(f) { data.push(f); },
      onClose(f) { closes.push(f); },
      deliver(chunk) {
        if (pending) { pending.push(Buffer.from(chunk)); return; }
        for (const f of data) f(chunk);
      },
      closed(err) {
        if (h) h.reader = undefined;
        for (const c of closes) c(err);
      },
    };
    return l;
  };

  return {
    serial: {
      openReadOnly: (opts) => lease(opts),
      openReadWrite: (opts) => inner.openReadWrite(opts),
    },
    hold() { holding = true; },
    async release() {
      holding = false;
      for (const h of [...pool.values()]) if (!h.reader && h.port.isOpen) await closeHeld(h, 'no source of the running config reads this port');
    },
  };
}
