// A source under test in-process on a real pty: the real serialport binding,
// a free-running clock, a silent log and fresh counters, every reading kept;
// and a Modbus slave (modbus-slave.ts) on the pty's far end for the master.

import { createCounters, type Counters } from '../../agent/counters.js';
import { silentLogger } from '../../agent/log.js';
import type { Reading } from '../../agent/reading.js';
import type { Source, SourceContext } from '../../agent/sources/source.js';
import { createSystemClock } from '../../hal/clock.js';
import { nodeSerial } from '../../hal/serial-node.js';
import { startModbusSlave, type ModbusSlave, type SlaveSpec } from './modbus-slave.js';
import { createPtyPair } from './socat.js';

export interface SourceRun { readings: Reading[]; counters: Counters; source: Source }

/** Makes the source, starts it, runs `body`, and stops the source whatever happens. */
export async function withSource(make: (ctx: SourceContext) => Source, body: (r: SourceRun) => Promise<void>): Promise<void> {
  const counters = createCounters();
  const source = make({ serial: nodeSerial, clock: createSystemClock('free'), log: silentLogger, counters });
  const readings: Reading[] = [];
  try {
    await source.start((r) => readings.push(r));
    await body({ readings, counters, source });
  } finally {
    await source.stop();
  }
}

/** A slave on the far end of a fresh pty; `body` gets the agent end. Slave and pty are closed after; resolves with what the slave received. */
export async function withSlaveOnPty(spec: Omit<SlaveSpec, 'path'>, body: (agentPath: string, slave: ModbusSlave) => Promise<void>): Promise<Buffer> {
  const pty = await createPtyPair();
  const slave = await startModbusSlave({ ...spec, path: pty.peerPath }).catch(async (e: unknown) => { await pty.close(); throw e; });
  try {
    await body(pty.agentPath, slave);
  } finally {
    await slave.stop();
    await pty.close();
  }
  return slave.received();
}
