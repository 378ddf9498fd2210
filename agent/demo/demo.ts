// `tapwire demo`: everything on embedded defaults in one process — an
// in-process aedes broker on 127.0.0.1 (the demo's broker is the ONE listening
// socket Tapwire ever opens, and only in this command), a simulated weather
// station writing NMEA and kv lines into real ptys (socat; an in-process
// simulated port when socat is missing), the agent, and the verifier printing
// verified readings live; with socat, a console pty too (`screen <pty> 115200`).
// Ctrl-C stops everything cleanly.

import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { createSystemClock } from '../../hal/clock.js';
import { nodeFileSystem } from '../../hal/file-node.js';
import { createSerialDoubleFactory } from '../../hal/serial-double.js';
import { nodeSerial } from '../../hal/serial-node.js';
import type { SerialFactory } from '../../hal/serial.js';
import { createAgent, keyPaths } from '../agent.js';
import { validateConfig } from '../config/load.js';
import { generateKeyPair, writeKeyPair } from '../encode/keys.js';
import type { Logger } from '../log.js';
import type { VerifyEvent } from '../verify/chain.js';
import { createCounters } from '../counters.js';
import type { LogRing } from '../console/log-ring.js';
import { createAgentObservers } from '../console/observers.js';
import { consolePartFor } from '../console/part.js';
import { subscribeVerifier, type StatusEvent } from '../verify/subscribe.js';
import { createPtyPair, socatAvailable, type PtyPair } from './pty.js';
import { createWeatherSim } from './weather-sim.js';

export interface DemoOptions {
  /** Stop by itself after this many seconds (default: run until stopped). */
  durationS?: number;
  /** Sensor output interval in ms (default 500). */
  intervalMs?: number;
  /** Keep state here instead of a temp dir (kept afterwards). */
  stateDir?: string;
  /** Force the in-process simulated port even if socat exists. */
  simulatedPort?: boolean;
  /** Also store verified readings in a PGlite directory through the fleet ingest (opt-in: ~5 s to create). */
  ingestDir?: string;
  print(line: string): void;
  log: Logger;
  /** The demo's log lines, for the console's `log`. */
  logRing?: LogRing;
}

export interface DemoResult { readings: number; batches: number; complete: boolean; summary: string }

interface FieldLine { write(text: string): void; close(): Promise<void>; agentPath: string }

async function realPty(): Promise<FieldLine> {
  const pty: PtyPair = await createPtyPair();
  const fd = openSync(pty.peerPath, constants.O_RDWR | constants.O_NOCTTY);
  return {
    agentPath: pty.agentPath,
    write: (text) => { writeSync(fd, text); },
    async close() { closeSync(fd); await pty.close(); },
  };
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const { log, print } = opts;
  const ownState = !opts.stateDir;
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'tapwire-demo-'));

  // 1. broker
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  log.info('demo broker (aedes, MQTT 3.1.1) listening', { url });

  // 2. field side: two instruments on two serial lines
  let serial: SerialFactory = nodeSerial;
  let wx: FieldLine;
  let env: FieldLine;
  let consolePty: PtyPair | undefined;
  if (!opts.simulatedPort && socatAvailable()) {
    wx = await realPty();
    env = await realPty();
    consolePty = await createPtyPair(); // the technician's side is peerPath
    log.info('sensors on real ptys', { nmea: wx.agentPath, kv: env.agentPath });
  } else {
    if (!opts.simulatedPort) log.warn('socat not found: using an in-process simulated port (install it with: apt-get install socat)');
    const doubles = createSerialDoubleFactory();
    serial = doubles;
    const line = (path: string): FieldLine => ({
      agentPath: path,
      write: (text) => doubles.ports.get(path)?.emitData(text),
      close: async () => undefined,
    });
    wx = line('/dev/sim-nmea');
    env = line('/dev/sim-kv');
  }

  // 3. agent
  const resolved = validateConfig({
    device: 'demo-station',
    stateDir,
    clock: 'auto',
    uplink: { url, protocolVersion: 4 },
    batch: { maxRecords: 100, maxAgeMs: 1000 },
    journal: { maxBytes: 8 * 1024 * 1024, fsyncIntervalMs: 1000 },
    sources: [
      { id: 'wx', type: 'lines', port: { path: wx.agentPath, baudRate: 4800 }, decoder: { type: 'nmea' } },
      { id: 'env', type: 'lines', port: { path: env.agentPath, baudRate: 9600 },
        decoder: { type: 'kv', units: { temp: 'Cel', hum: '%RH', pres: 'hPa' } } },
    ],
    ...(consolePty ? { console: { port: { path: consolePty.agentPath, baudRate: 115200 } } } : {}),
  });
  if (!resolved.ok) throw new Error(`demo config invalid: ${resolved.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  const config = resolved.config;
  const keys = keyPaths(stateDir);
  const pair = generateKeyPair();
  try { writeKeyPair(keys.key, keys.pub, pair); } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_KEY_EXISTS') throw err;
  }
  const clock = createSystemClock('auto');
  const observers = createAgentObservers(serial);
  const agent = createAgent(config, {
    serial, clock, fs: nodeFileSystem, log: log.child('agent'), observers,
  });
  const technician = consolePartFor(config, {
    serial, clock, log, counters: createCounters(), agent: () => agent, observers,
    ...(opts.logRing ? { logRing: opts.logRing } : {}),
  });

  // 4. verifier (cloud side) first, so it sees the first batch
  let readings = 0;
  let batches = 0;
  const verifier = subscribeVerifier(
    { url, device: config.device, publicKeys: [agent.publicKey], protocolVersion: 4 },
    (e: VerifyEvent | StatusEvent) => {
      if (e.kind === 'batch') {
        batches++;
        readings += e.readings.length;
        print(`verified batch seq ${e.seq}: ${e.readings.length} readings, signature ok, chain ok`);
        for (const r of e.readings) {
          const v = r.v ?? r.vs ?? r.vb;
          print(`  ${r.name.padEnd(22)} ${String(v).padStart(12)} ${r.unit ?? ''}`);
        }
      } else if (e.kind === 'status') {
        print(e.ok ? `device status: ${e.state} (signed)` : `status rejected: ${e.reason}`);
      } else if (e.kind !== 'duplicate') {
        print(`verifier: ${JSON.stringify(e)}`);
      }
    },
  );
  await verifier.ready;
  let fleet: { stop(): Promise<string[]> } | undefined;
  if (opts.ingestDir !== undefined) {
    try {
      fleet = await (await import('./demo-ingest.js')).startDemoIngest({ dir: opts.ingestDir, url, device: config.device, publicKey: agent.publicKey, print, log: log.child('ingest') });
    } catch (err) {
      await verifier.close();
      await wx.close();
      await env.close();
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
      if (ownState) rmSync(stateDir, { recursive: true, force: true });
      throw Object.assign(new Error(`--ingest: ${(err as Error).message}`), { code: 'ERR_DEMO_INGEST' });
    }
  }
  await agent.start();
  if (technician && consolePty) {
    await technician.start();
    print(`console: attach with \`screen ${consolePty.peerPath} 115200\` (or picocom -b 115200 ${consolePty.peerPath}); type help`);
  }

  // 5. sensors talk
  const sim = createWeatherSim();
  const interval = opts.intervalMs ?? 500;
  const talk = setInterval(() => {
    wx.write(sim.nmeaBurst(new Date()));
    env.write(sim.kvLine());
  }, interval);

  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
    if (opts.durationS) setTimeout(done, opts.durationS * 1000).unref();
  });

  // 6. stop in data-flow order: sensors, agent (flush + publish), verifier, broker
  clearInterval(talk);
  await technician?.stop();
  await agent.stop();
  // give the verifier a moment to receive what the agent published last
  await new Promise((r) => setTimeout(r, 300));
  const summary = verifier.summary();
  await verifier.close();
  for (const line of (await fleet?.stop()) ?? []) print(line);
  await wx.close();
  await env.close();
  await consolePty?.close();
  await new Promise<void>((r) => broker.close(() => r()));
  await new Promise<void>((r) => server.close(() => r()));
  if (ownState) rmSync(stateDir, { recursive: true, force: true });
  const text = `demo: ${batches} batches, ${readings} readings verified; ${summary.complete ? 'chain complete' : 'chain INCOMPLETE'}`;
  print(text);
  return { readings, batches, complete: summary.complete, summary: text };
}
