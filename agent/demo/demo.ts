// `tapwire demo`: everything on embedded defaults — an in-process aedes broker
// on 127.0.0.1 (demo-broker.ts), a simulated weather station writing NMEA and
// kv lines into real ptys (sensors.ts; in-process simulated ports without
// socat), the agent as its own process (`tapwire run` on the config the demo
// writes; agent-host.ts) with the console on a pty, and the verifier. On a
// terminal a live view with faults at a keypress (faults.ts); otherwise one
// line per verified batch and reading. Ctrl-C or q stops everything cleanly.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WriteStream } from 'node:tty';
import { createSystemClock } from '../../hal/clock.js';
import { createLogger, type Logger } from '../log.js';
import type { VerifyEvent } from '../verify/chain.js';
import { subscribeVerifier, type StatusEvent } from '../verify/subscribe.js';
import { createAgentProcess, type AgentHost } from './agent-host.js';
import { createInProcessAgent } from './agent-inproc.js';
import { DEMO_DEVICE, DEMO_JOURNAL_BYTES, demoConfig, provisionDemo, writeDemoConfig } from './demo-config.js';
import { startDemoBroker } from './demo-broker.js';
import { createDemoScreen, type DemoScreen } from './demo-screen.js';
import { createFaults, KEYS_HELP, type Faults } from './faults.js';
import { openSensors } from './sensors.js';

export interface DemoOptions {
  /** Stop by itself after this many seconds (default: run until stopped). */
  durationS?: number;
  /** Sensor output interval in ms (default 500). */
  intervalMs?: number;
  /** Keep state (key, journal, config) here instead of a temp dir (kept afterwards). */
  stateDir?: string;
  /** Force the in-process simulated port even if socat exists. */
  simulatedPort?: boolean;
  /** Also store verified readings in a PGlite directory through the fleet ingest (opt-in: ~5 s to create). */
  ingestDir?: string;
  /** Line output (stdout). */
  print(line: string): void;
  /** A log line, formatted (`level component message key=value`): the demo's and its agent's. */
  logLine(line: string): void;
  /** A terminal: the live view instead of line output. */
  live?: WriteStream;
  /** Keypresses (stdin is a terminal): the faults. Returns how to stop listening. */
  keys?(listener: (key: string) => void): () => void;
}

export interface DemoResult { readings: number; batches: number; complete: boolean; summary: string }

/** After the agent stopped, how long the verifier may take to receive what the broker acknowledged. */
const LAST_DELIVERY_MS = 5000;

/** Until a signal (SIGINT, SIGTERM, SIGHUP: the terminal closed), the duration, or q. Other keys are handled one at a time, in order. */
function untilStopped(opts: Pick<DemoOptions, 'durationS' | 'keys'>, press: (key: string) => Promise<'quit' | undefined> | undefined): Promise<void> {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  return new Promise<void>((resolve) => {
    let stopKeys: () => void = () => undefined;
    const done = (): void => {
      for (const s of signals) process.off(s, done);
      stopKeys();
      resolve();
    };
    for (const s of signals) process.on(s, done);
    if (opts.durationS) setTimeout(done, opts.durationS * 1000).unref();
    if (opts.keys) {
      let queue = Promise.resolve(); // b b is down, then up
      stopKeys = opts.keys((key) => {
        // q at once, even while a fault is under way (it cuts that fault's waits short)
        if (key === 'q') void Promise.resolve(press(key)).then(done);
        else queue = queue.then(async () => { await press(key); });
      });
    }
  });
}

/** Waits (bounded) until the verifier has what the broker acknowledged. */
async function untilDelivered(verifiedSeq: () => number, ackedSeq: number): Promise<void> {
  const deadline = Date.now() + LAST_DELIVERY_MS;
  while (verifiedSeq() < ackedSeq && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const ownState = !opts.stateDir;
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'tapwire-demo-'));
  const clock = createSystemClock('auto');
  let screen: DemoScreen | undefined;
  // on the live view a log line would tear the screen: warnings and errors become notes there
  const logLine = (line: string): void => {
    if (!opts.live) opts.logLine(line);
    else if (/^(warn|error) /.test(line)) screen?.note(line);
  };
  // the agent warns at every reconnect attempt while `b` holds the broker down: its errors only
  const agentLogLine = (line: string): void => {
    if (!opts.live) opts.logLine(line);
    else if (line.startsWith('error ')) screen?.note(`agent: ${line}`);
  };
  const log: Logger = createLogger('demo', { write: logLine });
  const { pair, created } = provisionDemo(stateDir);
  log.info(created ? 'device key created' : 'device key reused', { state_dir: stateDir });

  const broker = await startDemoBroker();
  log.info('demo broker (aedes, MQTT 3.1.1) listening', { url: broker.url });
  const sensors = await openSensors({ ...(opts.simulatedPort ? { simulated: true } : {}), warn: (m) => log.warn(m) })
    .catch(async (err: unknown) => { await broker.close(); throw err; });
  if (sensors.real) log.info('sensors on real ptys', { nmea: sensors.ports.nmea, kv: sensors.ports.kv });
  const config = demoConfig({ stateDir, url: broker.url, ports: sensors.ports });

  let host: AgentHost | undefined;
  let faults: Faults | undefined;
  let readings = 0;
  let batches = 0;
  const keysShown = opts.keys ? (sensors.real ? KEYS_HELP : KEYS_HELP.replace('   k kill -9 the agent', '')) : undefined;
  const onEvent = (e: VerifyEvent | StatusEvent): void => {
    if (e.kind === 'batch') {
      batches++;
      readings += e.readings.length;
      faults?.verified(e.seq);
    }
    screen?.event(e);
  };
  // the verifier (cloud side) first, so it sees the first batch
  // its own client id: a `tapwire verify` pointed at the demo's broker (default id) must not take its session
  const verifier = subscribeVerifier({
    url: broker.url, device: DEMO_DEVICE, publicKeys: [pair.publicKey], protocolVersion: 4, clientId: 'tapwire-demo-verifier',
  }, onEvent);
  screen = createDemoScreen({
    ...(opts.live ? { live: opts.live } : {}),
    print: opts.print, device: DEMO_DEVICE, url: broker.url, clock,
    summary: () => verifier.summary(), broker, host: () => host, journalBytes: DEMO_JOURNAL_BYTES, keys: keysShown,
  });
  const closeAll = async (): Promise<void> => {
    await verifier.close();
    await sensors.close();
    await broker.close();
    if (ownState) rmSync(stateDir, { recursive: true, force: true });
  };
  let fleet: { stop(): Promise<string[]> } | undefined;
  try {
    await verifier.ready;
    if (opts.ingestDir !== undefined) {
      try {
        fleet = await (await import('./demo-ingest.js')).startDemoIngest({
          dir: opts.ingestDir, url: broker.url, device: DEMO_DEVICE, publicKey: pair.publicKey, print: (l) => screen?.note(l), log: log.child('ingest'),
        });
      } catch (err) {
        throw Object.assign(new Error(`--ingest: ${(err as Error).message}`), { code: 'ERR_DEMO_INGEST' });
      }
    }
    screen.start();
    host = sensors.real
      ? createAgentProcess({
        configPath: writeDemoConfig(stateDir, config), stateDir,
        onLog: agentLogLine,
        onUnexpectedExit: (why) => screen?.note(`the agent exited by itself (${why}): k starts it again`),
      })
      : createInProcessAgent({ config, serial: sensors.serial, log: createLogger('agent', { write: agentLogLine }) });
    await host.start();
  } catch (err) {
    screen.stop();
    await host?.stop().catch(() => undefined);
    await fleet?.stop().catch(() => undefined);
    await closeAll();
    throw err;
  }
  if (sensors.consolePeer) screen.note(`console: attach with \`screen ${sensors.consolePeer} 115200\` (or picocom -b 115200 ${sensors.consolePeer}); type help`);
  sensors.talk(opts.intervalMs ?? 500);
  const agentHost = host;
  faults = createFaults({ broker, host: agentHost, sensors, summary: () => verifier.summary(), say: (l) => screen?.note(l), journalBytes: DEMO_JOURNAL_BYTES });

  await untilStopped(opts, (key) => faults?.press(key));
  await faults.settled();

  // stop in data-flow order: sensors, agent (flush + publish), verifier, broker
  sensors.quiet();
  await agentHost.stop();
  // what the broker acknowledged reaches the verifier's session: wait for it (bounded)
  await untilDelivered(() => verifier.summary().lastSeq ?? 0, agentHost.status()?.status.journal?.committedSeq ?? 0);
  screen.stop();
  const summary = verifier.summary();
  const fleetLines = (await fleet?.stop()) ?? [];
  await closeAll();
  for (const line of fleetLines) opts.print(line);
  const text = `demo: ${batches} batches, ${readings} readings verified; ${summary.complete ? 'chain complete' : 'chain INCOMPLETE'}`;
  opts.print(text);
  return { readings, batches, complete: summary.complete, summary: text };
}
