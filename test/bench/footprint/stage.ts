// One contender on its own stage: a fresh socat pty, the Modbus slave on its
// far end (unless idle), an aedes broker, and the contender spawned against
// them; and the stage struck again (SIGTERM, 15 s, SIGKILL; slave, broker, pty).
// The footprint and soak benches both measure on it.

import { createPtyPair, type PtyPair } from '../../peers/socat.js';
import { startAedes, type AedesPeer } from '../../peers/aedes.js';
import { startModbusSlave, type ModbusSlave } from '../../peers/modbus-slave.js';
import type { Contender, Spawned } from './contenders.js';
import { BAUD, slaveUnits } from './workload.js';

export interface Stage { spawned: Spawned; pty: PtyPair; slave?: ModbusSlave; broker: AedesPeer }

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function setStage(c: Contender, o: { dir: string; intervalMs: number; slave?: boolean }): Promise<Stage> {
  const pty = await createPtyPair();
  const slave = o.slave === false ? undefined : await startModbusSlave({ path: pty.peerPath, baudRate: BAUD, units: slaveUnits() });
  const broker = await startAedes();
  const spawned = c.spawn({ dir: o.dir, port: pty.agentPath, brokerUrl: broker.url, brokerPort: broker.port, intervalMs: o.intervalMs });
  return { spawned, pty, broker, ...(slave ? { slave } : {}) };
}

export async function strikeStage(s: Stage): Promise<void> {
  const child = s.spawned.child;
  child.kill('SIGTERM');
  await Promise.race([new Promise((r) => child.once('exit', r)), sleep(15_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await s.slave?.stop();
  await s.broker.close();
  await s.pty.close();
}
