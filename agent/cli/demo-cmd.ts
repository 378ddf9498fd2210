// `tapwire demo`: simulated sensor + in-process broker + agent + verifier.

import { runDemo } from '../demo/demo.js';
import { createLogRing, writeAndKeep } from '../console/log-ring.js';
import { createLogger } from '../log.js';
import { CliError, EXIT_OK, EXIT_RUNTIME, parse, type Command } from './usage.js';

const usage = `Usage: tapwire demo [--duration <s>] [--simulated-port] [--ingest <dir>]

Runs everything on embedded defaults: an in-process MQTT broker (aedes, on
127.0.0.1 only), a simulated weather station writing NMEA and key=value
lines into real serial ptys (socat), the agent, and the verifier printing
every verified reading live. With socat it also opens the local console on a
pty and prints how to attach (\`screen <pty> 115200\`). Ctrl-C stops it cleanly.

Options:
      --duration <s>     stop after s seconds
      --interval <ms>    sensor output interval (default 500)
      --simulated-port   use an in-process port instead of socat ptys
      --state-dir <dir>  keep the demo's key and journal here
      --ingest <dir>     also store the verified readings in a PGlite database
                         in <dir> through the fleet ingest (creating it takes
                         ~5 s); then: tapwire fleet report --db <dir>
  -h, --help             this help`;

export const demoCommand: Command = {
  name: 'demo',
  usage,
  async run(argv) {
    const { values } = parse(argv, {
      duration: { type: 'string' }, interval: { type: 'string' },
      'simulated-port': { type: 'boolean' }, 'state-dir': { type: 'string' }, ingest: { type: 'string' },
    }, usage);
    const durationS = values.duration === undefined ? undefined : Number(values.duration);
    const intervalMs = values.interval === undefined ? undefined : Number(values.interval);
    if (durationS !== undefined && !(durationS > 0)) throw new CliError('--duration must be a positive number of seconds');
    if (intervalMs !== undefined && !(intervalMs >= 10)) throw new CliError('--interval must be ≥ 10 ms');
    const logRing = createLogRing();
    const result = await runDemo({
      durationS, intervalMs,
      stateDir: values['state-dir'],
      simulatedPort: values['simulated-port'],
      ingestDir: values.ingest,
      print: (l) => process.stdout.write(l + '\n'),
      log: createLogger('demo', { write: writeAndKeep(logRing) }),
      logRing,
    }).catch((err: Error & { code?: string }) => {
      if (err.code === 'ERR_DEMO_INGEST') throw new CliError(err.message, EXIT_RUNTIME);
      throw err;
    });
    return result.complete && result.readings > 0 ? EXIT_OK : EXIT_RUNTIME;
  },
};
