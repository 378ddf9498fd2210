// `tapwire demo`: simulated sensor + in-process broker + agent + verifier; on
// a terminal a live view with faults at a keypress.

import { emitKeypressEvents } from 'node:readline';
import { runDemo } from '../demo/demo.js';
import { CliError, EXIT_OK, EXIT_RUNTIME, parse, type Command } from './usage.js';

const usage = `Usage: tapwire demo [--duration <s>] [--simulated-port] [--ingest <dir>]

Runs everything on embedded defaults: an in-process MQTT broker (aedes, on
127.0.0.1 only), a simulated weather station writing NMEA and key=value
lines into real serial ptys (socat), the agent as its own process (\`tapwire
run\` on a config the demo writes), and the verifier. With socat it also opens
the local console on a pty and says how to attach (\`screen <pty> 115200\`).

On a terminal it shows a live view: one row per field (value, unit, age, a
sparkline of its trend) and the chain as the cloud side verifies it. Keys:
  b   stop / start the broker: pending batches grow, then drain with no gap
  k   kill -9 the agent and restart it: the chain goes on, no seq reused
  f   fill the journal to its bound: a signed gap notice tells what was dropped
  q   quit cleanly (Ctrl-C too)
Piped, one line per verified batch and reading.

Options:
      --duration <s>     stop after s seconds
      --interval <ms>    sensor output interval (default 500)
      --simulated-port   use an in-process port instead of socat ptys (the
                         agent then runs in the demo's process: no \`k\`)
      --state-dir <dir>  keep the demo's key, journal and config here (a new
                         dir gets a new key; an existing one is reused)
      --ingest <dir>     also store the verified readings in a PGlite database
                         in <dir> through the fleet ingest (creating it takes
                         ~5 s); then: tapwire fleet report --db <dir>
      --lines            line output even on a terminal
  -h, --help             this help`;

/** Keypresses from a terminal's stdin, raw (no echo, no line editing); Ctrl-C is q. */
function terminalKeys(listener: (key: string) => void): () => void {
  const stdin = process.stdin;
  emitKeypressEvents(stdin);
  stdin.setRawMode(true);
  const onKey = (str: string | undefined, key: { name?: string; ctrl?: boolean } | undefined): void => {
    if (key?.ctrl && (key.name === 'c' || key.name === 'd')) listener('q');
    else if (str && !key?.ctrl) listener(str.toLowerCase());
  };
  stdin.on('keypress', onKey);
  stdin.resume();
  return () => {
    stdin.off('keypress', onKey);
    stdin.setRawMode(false);
    stdin.pause();
  };
}

export const demoCommand: Command = {
  name: 'demo',
  usage,
  async run(argv) {
    const { values } = parse(argv, {
      duration: { type: 'string' }, interval: { type: 'string' },
      'simulated-port': { type: 'boolean' }, 'state-dir': { type: 'string' }, ingest: { type: 'string' },
      lines: { type: 'boolean' },
    }, usage);
    const durationS = values.duration === undefined ? undefined : Number(values.duration);
    const intervalMs = values.interval === undefined ? undefined : Number(values.interval);
    if (durationS !== undefined && !(durationS > 0)) throw new CliError('--duration must be a positive number of seconds');
    if (intervalMs !== undefined && !(intervalMs >= 10)) throw new CliError('--interval must be ≥ 10 ms');
    const live = process.stdout.isTTY && !values.lines;
    const result = await runDemo({
      durationS, intervalMs,
      stateDir: values['state-dir'],
      simulatedPort: values['simulated-port'],
      ingestDir: values.ingest,
      print: (l) => process.stdout.write(l + '\n'),
      logLine: (l) => process.stderr.write(l + '\n'),
      ...(live ? { live: process.stdout } : {}),
      ...(process.stdin.isTTY ? { keys: terminalKeys } : {}),
    }).catch((err: Error & { code?: string }) => {
      // the demo's own failures and a state dir's unusable key: a message, no stack trace
      if (err.code === 'ERR_DEMO_INGEST' || err.code === 'ERR_DEMO_AGENT' || err.code?.startsWith('ERR_KEY_')) throw new CliError(err.message, EXIT_RUNTIME);
      throw err;
    });
    return result.complete && result.readings > 0 ? EXIT_OK : EXIT_RUNTIME;
  },
};
