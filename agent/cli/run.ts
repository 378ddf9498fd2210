// `tapwire run --config <file>`: the agent until SIGTERM/SIGINT, then a clean
// flush and exit 0.

import { createSystemClock } from '../../hal/clock.js';
import { nodeFileSystem } from '../../hal/file-node.js';
import { nodeSerial } from '../../hal/serial-node.js';
import { createAgent } from '../agent.js';
import { createLogger } from '../log.js';
import { loadConfigOrExit } from './config-file.js';
import { CliError, EXIT_OK, EXIT_USAGE, parse, requireOption, type Command } from './usage.js';

const usage = `Usage: tapwire run --config <file>

Runs the agent: reads the configured sources, signs and journals batches,
publishes them to the broker. Stops cleanly on SIGTERM/SIGINT (exit 0).

Options:
  -c, --config <file>   config file (JSON; see \`tapwire config schema\`)
  -h, --help            this help`;

export const runCommand: Command = {
  name: 'run',
  summary: 'run the agent',
  usage,
  async run(argv) {
    const { values } = parse(argv, { config: { type: 'string', short: 'c' } }, usage);
    const log = createLogger('agent');
    const config = loadConfigOrExit(requireOption(values.config, 'config', usage), log);
    let agent;
    try {
      agent = createAgent(config, {
        serial: nodeSerial,
        clock: createSystemClock(config.clock),
        fs: nodeFileSystem,
        log,
        statusDir: process.env.RUNTIME_DIRECTORY,
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_KEY_MISSING' || code === 'ERR_KEY_PERMISSIONS' || code === 'ERR_KEY_INVALID') {
        throw new CliError(`${(err as Error).message}\n(create the device key with: tapwire provision --config ${values.config})`, EXIT_USAGE);
      }
      throw err;
    }
    await agent.start();
    await new Promise<void>((resolve) => {
      const onSignal = (sig: NodeJS.Signals): void => {
        log.info('signal received, stopping', { signal: sig });
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        resolve();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    await agent.stop();
    return EXIT_OK;
  },
};
