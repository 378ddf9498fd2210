// CLI plumbing shared by every command: argument parsing with node:util
// parseArgs, --help text, and the exit-code contract (0 ok, 1 runtime
// failure, 2 bad usage or bad config).

import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** A failure that maps to an exit code, with a message for stderr. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT_USAGE) { super(message); }
}

export interface Command {
  name: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<O extends Options>(argv: string[], options: O, usage: string, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${usage}`);
  }
}

export function wantsHelp(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

export function requireOption(value: string | undefined, name: string, usage: string): string {
  if (!value) throw new CliError(`missing --${name}\n\n${usage}`);
  return value;
}

/** A file an option names, read now: a missing or unreadable one is a usage error (exit 2), not a stack trace. */
export function readFileOption(path: string, flag: string): Buffer {
  try { return readFileSync(path); } catch (err) {
    throw new CliError(`--${flag} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** A broker URL option, checked before anything connects (mqtt:// or mqtts://, a port 1-65535). */
export function brokerUrlOption(url: string, flag = 'url'): string {
  let u: URL;
  try { u = new URL(url); } catch {
    throw new CliError(`--${flag} ${JSON.stringify(url)} is not a broker URL (mqtt://host:1883 or mqtts://host:8883; a port is 1-65535)`);
  }
  if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') throw new CliError(`--${flag} must be mqtt:// or mqtts://, got ${u.protocol}//`);
  if (!u.hostname) throw new CliError(`--${flag} ${JSON.stringify(url)} names no host`);
  return url;
}
