// The `tapwire` command line: dispatches to one module per command and maps
// failures to the exit-code contract (0 ok, 1 runtime, 2 usage/config).
// CommonJS-safe (bundled for Node SEA): no top-level await, no import.meta.

import { configCommand } from './config-cmd.js';
import { demoCommand } from './demo-cmd.js';
import { keyCommand } from './key.js';
import { provisionCommand } from './provision.js';
import { runCommand } from './run.js';
import { statusCommand } from './status.js';
import { CliError, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, wantsHelp, type Command } from './usage.js';
import { verifyCommand } from './verify.js';

declare const TAPWIRE_VERSION: string | undefined;
const version = typeof TAPWIRE_VERSION === 'string' ? TAPWIRE_VERSION : 'dev';

const commands: Command[] = [runCommand, provisionCommand, demoCommand, verifyCommand, configCommand, statusCommand, keyCommand];

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
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`tapwire: unknown command "${name}"\n\n${help}\n`);
    return EXIT_USAGE;
  }
  if (wantsHelp(rest) && command.name !== 'config') { process.stdout.write(command.usage + '\n'); return EXIT_OK; }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`tapwire ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`tapwire ${name}: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT_RUNTIME;
  }
}

main(process.argv.slice(2)).then(
  // exit even if a library left a handle open (the work is done and flushed)
  (code) => { process.exitCode = code; setTimeout(() => process.exit(code), 50).unref(); },
  (err: unknown) => { process.stderr.write(`tapwire: ${String(err)}\n`); process.exit(EXIT_RUNTIME); },
);
