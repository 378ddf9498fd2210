// The demo's field side: a weather station on two serial lines — NMEA on one,
// key=value on the other — written into real kernel ptys (socat) or, without
// socat, into in-process simulated ports. With socat a third pty is the
// console's (the technician's end is its peerPath). `burst()` makes the kv
// sensor talk as fast as the line takes it: real readings, just many.

import { closeSync, constants, openSync, write } from 'node:fs';
import { createSerialDoubleFactory } from '../../hal/serial-double.js';
import { nodeSerial } from '../../hal/serial-node.js';
import type { SerialFactory } from '../../hal/serial.js';
import { createPtyPair, socatAvailable, type PtyPair } from './pty.js';
import { createWeatherSim } from './weather-sim.js';

interface FieldLine { agentPath: string; write(text: string): void; writeAsync(text: string): Promise<void>; close(): Promise<void> }

export interface Sensors {
  /** true: real ptys (the agent can run as its own process); false: in-process simulated ports. */
  readonly real: boolean;
  /** What the agent opens its ports with. */
  readonly serial: SerialFactory;
  readonly ports: { nmea: string; kv: string; console?: string };
  /** The technician's end of the console pty (real ptys only). */
  readonly consolePeer?: string;
  /** Starts talking: one NMEA burst and one kv line every intervalMs. */
  talk(intervalMs: number): void;
  /** Stops talking (the lines stay open). */
  quiet(): void;
  /** `lines` kv lines as fast as the line takes them; the regular kv line waits meanwhile. */
  burst(lines: number): Promise<void>;
  close(): Promise<void>;
}

/** Writes all of `buf` to a blocking fd on the thread pool (a pty takes ~4 KiB at a time). */
function writeAll(fd: number, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number): void => {
      if (off >= buf.length) return resolve();
      write(fd, buf, off, buf.length - off, null, (err, n) => (err ? reject(err) : step(off + n)));
    };
    step(0);
  });
}

async function realLine(): Promise<FieldLine & { pty: PtyPair }> {
  const pty = await createPtyPair();
  const fd = openSync(pty.peerPath, constants.O_RDWR | constants.O_NOCTTY);
  // A line nobody reads (the agent killed and not back yet) fills and blocks:
  // never block the demo on it — like an instrument, talk on and lose what
  // does not fit while the last write is still waiting.
  let pending: Promise<void> | undefined;
  const send = (text: string): Promise<void> => {
    const p = (pending ?? Promise.resolve()).then(() => writeAll(fd, Buffer.from(text)));
    const settled = p.catch(() => undefined).finally(() => { if (pending === settled) pending = undefined; });
    pending = settled;
    return p;
  };
  return {
    pty,
    agentPath: pty.agentPath,
    write: (text) => { if (!pending) void send(text).catch(() => undefined); },
    writeAsync: send,
    async close() { closeSync(fd); await pty.close(); },
  };
}

export async function openSensors(o: { simulated?: boolean; warn(msg: string): void }): Promise<Sensors> {
  let serial: SerialFactory = nodeSerial;
  let wx: FieldLine;
  let env: FieldLine;
  let consolePty: PtyPair | undefined;
  const real = !o.simulated && socatAvailable();
  if (real) {
    wx = await realLine();
    env = await realLine();
    consolePty = await createPtyPair();
  } else {
    if (!o.simulated) o.warn('socat not found: using an in-process simulated port, the agent runs in-process (install it with: apt-get install socat)');
    const doubles = createSerialDoubleFactory();
    serial = doubles;
    const line = (path: string): FieldLine => ({
      agentPath: path,
      write: (text) => doubles.ports.get(path)?.emitData(text),
      writeAsync: async (text) => { doubles.ports.get(path)?.emitData(text); },
      close: async () => undefined,
    });
    wx = line('/dev/sim-nmea');
    env = line('/dev/sim-kv');
  }
  const sim = createWeatherSim();
  let timer: ReturnType<typeof setInterval> | undefined;
  let bursting = false;
  let closed = false;
  return {
    real,
    serial,
    ports: { nmea: wx.agentPath, kv: env.agentPath, ...(consolePty ? { console: consolePty.agentPath } : {}) },
    ...(consolePty ? { consolePeer: consolePty.peerPath } : {}),
    talk(intervalMs) {
      timer = setInterval(() => {
        wx.write(sim.nmeaBurst(new Date()));
        if (!bursting) env.write(sim.kvLine());
      }, intervalMs);
    },
    quiet() { if (timer) clearInterval(timer); },
    async burst(lines) {
      bursting = true;
      try {
        // in slices, so the simulated port's reader gets its turn too
        for (let done = 0; done < lines;) {
          const n = Math.min(500, lines - done);
          await env.writeAsync(Array.from({ length: n }, () => sim.kvLine()).join(''));
          done += n;
          await new Promise((r) => setImmediate(r));
        }
      } finally { bursting = false; }
    },
    async close() {
      if (timer) clearInterval(timer);
      if (closed) return;
      closed = true;
      await wx.close();
      await env.close();
      await consolePty?.close();
    },
  };
}
