// The `tapwire` command line: dispatches to one module per command and maps
// failures to the exit-code contract (0 ok, 1 runtime, 2 usage/config).
// CommonJS-safe (bundled for Node SEA): no top-level await, no import.meta.

import { AGENT_VERSION as version } from '../version.js';
import { CliError, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, wantsHelp, type Command } from './usage.js';

// Commands load on demand: `run` never initialises the demo's broker or the
// verifier (less heap on the device), and `--help` starts fast.
interface Entry { name: string; summary: string; load(): Promise<Command> }
const commands: Entry[] = [
  { name: 'run', summary: 'run the agent', load: () => import('./run.js').then((m) => m.runCommand) },
  { name: 'provision', summary: 'create the device key and install operator keys', load: () => import('./provision.js').then((m) => m.provisionCommand) },
  { name: 'demo', summary: 'simulated sensor + in-process broker + agent + verifier', load: () => import('./demo-cmd.js').then((m) => m.demoCommand) },
  { name: 'verify', summary: 'subscribe, verify and print readings', load: () => import('./verify.js').then((m) => m.verifyCommand) },
  { name: 'config', summary: 'schema, check, keygen, sign', load: () => import('./config-cmd.js').then((m) => m.configCommand) },
  { name: 'status', summary: 'what the running agent is doing', load: () => import('./status.js').then((m) => m.statusCommand) },
  { name: 'key', summary: 'rotate or show the device key', load: () => import('./key.js').then((m) => m.keyCommand) },
  // cloud side: these alone load pg / PGlite (never the device's `run`)
  { name: 'ingest', summary: 'fleet ingest worker: MQTT 5 shared subscription into PostgreSQL', load: () => import('./ingest.js').then((m) => m.ingestCommand) },
  { name: 'fleet', summary: 'enroll devices, report chain completeness, export readings', load: () => import('./fleet.js').then((m) => m.fleetCommand) },
];

const help = `tapwire ${version} — outbound-only, read-only edge agent

Usage: tapwire <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Run \`tapwire <command> --help\` for a command's options.
Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad config.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help + '\n');
    return name ? EXIT_OK : EXIT_USAGE;
  }
  if (name === '--version' || name === '-v') { process.stdout.write(version + '\n'); return EXIT_OK; }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`tapwire: unknown command "${name}"\n\n${help}\n`);
    return EXIT_USAGE;
  }
  try {
    const command = await entry.load();
    // config and fleet print each subcommand's own help
    if (wantsHelp(rest) && command.name !== 'config' && command.name !== 'fleet') { process.stdout.write(command.usage + '\n'); return EXIT_OK; }
    return await command.run(rest);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`tapwire ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    // a runtime failure: one line for the operator; the stack only when asked for (TAPWIRE_LOG=debug)
    const debug = process.env.TAPWIRE_LOG === 'debug' && err instanceof Error && err.stack;
    process.stderr.write(`tapwire ${name}: ${debug || (err instanceof Error ? err.message : String(err))}\n`);
    return EXIT_RUNTIME;
  }
}

main(process.argv.slice(2)).then(
  // Exit now: the work is done, and on Linux writes to stdout/stderr (files, pipes, ttys) are
  // synchronous, so nothing is left unflushed. Waiting for the event loop to drain instead would
  // tear down the signal handlers first: a late SIGTERM (a second one from an impatient operator)
  // landing in that teardown killed the process with the signal instead of exit 0.
  (code) => process.exit(code),
  (err: unknown) => { process.stderr.write(`tapwire: ${String(err)}\n`); process.exit(EXIT_RUNTIME); },
);
