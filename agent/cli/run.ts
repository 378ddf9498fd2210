// `tapwire run --config <file>`: the agent (under the OTA runtime) until
// SIGTERM/SIGINT, then a clean flush and exit 0.

import { createSystemClock } from '../../hal/clock.js';
import { nodeFileSystem } from '../../hal/file-node.js';
import { nodeSerial } from '../../hal/serial-node.js';
import { createSystemdNotifier } from '../../hal/watchdog.js';
import { createLogger } from '../log.js';
import { createLogRing, writeAndKeep } from '../console/log-ring.js';
import { createRuntime, DEFAULT_HEALTH_TIMEOUT_MS } from '../runtime.js';
import { formatIssues } from '../config/load.js';
import { preflight } from '../config/preflight.js';
import { loadLocalConfig, saveLastGood } from '../config/last-good.js';
import { exposedFullGc } from '../../hal/heap.js';
import { startWatchdog } from '../watchdog.js';
import { CliError, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, parse, requireOption, type Command } from './usage.js';

const usage = `Usage: tapwire run --config <file> [options]

Runs the agent: reads the configured sources, signs and journals batches,
publishes them to the broker. Stops cleanly on SIGTERM/SIGINT (exit 0).

Over-the-air config: the agent subscribes to <prefix>/<device>/config and
applies a config signed by a trusted operator key (<stateDir>/operators/) that
is newer than the running one, health-checks it (sources open, uplink
connected) and otherwise rolls back; every attempt is answered, signed, on
<prefix>/<device>/config/ack. An applied config (<stateDir>/ota/) runs instead
of the local file (version 0) from then on, also after a restart; to return to
the local file, publish a newer signed config, or delete <stateDir>/ota/ and
clear the retained config message (otherwise it is simply applied again).

Under systemd (Type=notify) the agent reports ready once its journal and
sources are up, and pings the watchdog (WatchdogSec=) only while its pipeline
moves: a wedged event loop or a stuck journal gets it restarted.

A bad config never bricks the device: the config file that last started the
agent is kept as <stateDir>/local-config.last-good.json; if the file is later
invalid, or cannot run here (what \`config check\` checks of the machine), the
agent logs every problem and runs that copy instead. With no good copy, such
a config exits with code 2.

Options:
  -c, --config <file>        config file (JSON; see \`tapwire config schema\`)
      --health-timeout <ms>  how long an applied config has to become healthy
                             before it is rolled back (default ${DEFAULT_HEALTH_TIMEOUT_MS})
      --file-poll <ms>       how often device.key.next (\`tapwire key rotate\`) and
                             the TLS / password files are checked for changes
                             (default 5000)
  -h, --help                 this help`;

function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`--${name} must be a positive integer (milliseconds), got ${JSON.stringify(value)}\n\n${usage}`);
  return n;
}

export const runCommand: Command = {
  name: 'run',
  usage,
  async run(argv) {
    const { values } = parse(argv, {
      config: { type: 'string', short: 'c' },
      'health-timeout': { type: 'string' },
      'file-poll': { type: 'string' },
    }, usage);
    const healthTimeoutMs = positiveInt(values['health-timeout'], 'health-timeout');
    const filePollMs = positiveInt(values['file-poll'], 'file-poll');
    const logRing = createLogRing(); // the console's `log` (issue 14)
    const log = createLogger('agent', { write: writeAndKeep(logRing) });
    const configPath = requireOption(values.config, 'config', usage);
    // what it needs of the system, checked as `config check` checks it (one code path)
    const loaded = loadLocalConfig(configPath, (c) => preflight(c, { create: true }));
    if (!loaded.ok) throw new CliError(`${loaded.failed === 'invalid' ? 'invalid config' : 'cannot start'}\n${formatIssues(loaded.issues, configPath)}`, EXIT_USAGE);
    // the uplink warns about mqtt:// itself (for over-the-air configs too)
    for (const w of loaded.warnings) if (w.code !== 'WARN_CONFIG_UNENCRYPTED') log.warn(w.message, { path: w.path || undefined, file: configPath });
    const config = loaded.config;
    if (loaded.fallback) {
      for (const line of formatIssues(loaded.fallback.issues, configPath).split('\n')) log.error(`invalid config: ${line}`);
      log.error('config file is invalid or cannot run here: running the last good config instead (fix it, check with `tapwire config check`, restart)', {
        file: configPath, last_good: loaded.fallback.path, problems: loaded.fallback.issues.length,
      });
    }
    const clock = createSystemClock(config.clock);
    const fullGc = exposedFullGc();
    const notifier = createSystemdNotifier({ env: process.env, pid: process.pid, log: log.child('systemd') });
    let watchdog: { stop(): void } | undefined;
    const runtime = createRuntime({
      local: config,
      ...(healthTimeoutMs !== undefined ? { healthTimeoutMs } : {}),
      ...(filePollMs !== undefined ? { filePollMs } : {}),
    }, {
      serial: nodeSerial,
      clock,
      fs: nodeFileSystem,
      log,
      logRing,
      ...(fullGc ? { fullGc } : {}),
      ...(process.env.RUNTIME_DIRECTORY ? { statusDir: process.env.RUNTIME_DIRECTORY } : {}),
    });
    // Signals are caught from before the first start until the process exits:
    // a SIGTERM while the agent starts still ends in a flush and exit 0, and a
    // second SIGTERM/SIGINT during the clean stop is logged and ignored (the
    // default action would kill the process mid-flush with 143).
    let exitCode = EXIT_OK;
    let stopping = false;
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => { finish = resolve; });
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) {
        log.info('signal received while stopping: ignored, the stop is under way', { signal: sig });
        return;
      }
      stopping = true;
      log.info('signal received, stopping', { signal: sig });
      finish();
    };
    void finished.then(() => { stopping = true; watchdog?.stop(); notifier.stopping(); });
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    runtime.onFatal((err) => {
      log.error('no agent can run: exiting', { cause: err.message });
      exitCode = EXIT_RUNTIME;
      stopping = true;
      finish();
    });
    try {
      await runtime.start();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // the hint fits the fault: a key that exists is not created again (its message says what to do)
      if (code === 'ERR_KEY_MISSING') {
        throw new CliError(`${(err as Error).message}\n(create the device key with: tapwire provision --config ${values.config})`, EXIT_USAGE);
      }
      if (code === 'ERR_KEY_PERMISSIONS' || code === 'ERR_KEY_INVALID') throw new CliError((err as Error).message, EXIT_USAGE);
      throw err;
    }
    if (!stopping) {
      notifier.ready(); // journal open, sources started, uplink connecting
      watchdog = startWatchdog({ notifier, clock, log: log.child('watchdog'), pipeline: () => runtime.agent() });
    }
    if (loaded.fallback) runtime.counters.inc('config.local_invalid');
    else {
      try { saveLastGood(configPath, config.stateDir); } catch (e) {
        log.warn('cannot keep a copy of the config as last good', { file: configPath, cause: (e as Error).message });
      }
    }
    await finished;
    stopping = true;
    watchdog?.stop();
    try {
      await runtime.stop();
    } catch (err) {
      // what was durable stays durable; one line, no stack trace
      log.error('stop did not finish cleanly', { cause: (err as Error).message });
      exitCode = EXIT_RUNTIME;
    }
    await notifier.idle();
    return exitCode;
  },
};
