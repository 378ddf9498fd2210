// `tapwire key rotate --config <file>`: prepares a device key rollover. It only
// writes <stateDir>/device.key.next (0600, never overwritten) and
// device.pub.next; the agent performs the rollover (announcement signed by the
// old key, then the switch) within --file-poll of `tapwire run` if it is
// running, else at its next start. See agent/ota/device-key.ts.

import { existsSync, readFileSync } from 'node:fs';
import { fingerprint, generateKeyPair, readPrivateKey, writeKeyPair } from '../encode/keys.js';
import { deviceKeyPaths } from '../ota/device-key.js';
import { loadConfigOrExit } from './config-file.js';
import { CliError, EXIT_OK, EXIT_USAGE, parse, requireOption, type Command } from './usage.js';
import { deviceTopic } from '../uplink/topics.js';

const usage = `Usage: tapwire key rotate --config <file>
       tapwire key show --config <file>

rotate  creates a new device key as <stateDir>/device.key.next (mode 0600).
        The agent switches to it between two batches: it publishes, retained on
        <prefix>/<device>/key, an announcement of the new public key signed by
        the old key, naming the first batch seq the new key signs; every later
        batch is signed by the new key. The old key is kept as device.key.old
        (0600) until the broker has acknowledged the announcement. A running
        agent picks the new key up within its --file-poll interval (5 s by
        default); a stopped one at its next start.
show    prints the current key, and any rollover that is pending.

Options:
  -c, --config <file>   config file of the agent
  -h, --help            this help`;

function pubHex(path: string): string | undefined {
  try { return readFileSync(path, 'utf8').trim(); } catch { return undefined; }
}

async function rotate(argv: string[]): Promise<number> {
  const { values } = parse(argv, { config: { type: 'string', short: 'c' } }, usage);
  const config = loadConfigOrExit(requireOption(values.config, 'config', usage));
  const paths = deviceKeyPaths(config.stateDir);
  let current;
  try {
    current = readPrivateKey(paths.key);
  } catch (err) {
    // the hint fits the fault: a key that exists but may not be used says what to do itself
    const missing = (err as NodeJS.ErrnoException).code === 'ERR_KEY_MISSING';
    throw new CliError(`${(err as Error).message}${missing ? `\n(provision the device first: tapwire provision --config ${values.config})` : ''}`, EXIT_USAGE);
  }
  if (existsSync(paths.next)) {
    throw new CliError(`a rollover is already pending: ${paths.next} exists (the agent switches to it when it runs); not creating another`, EXIT_USAGE);
  }
  const next = generateKeyPair();
  writeKeyPair(paths.next, paths.nextPub, next);
  const lines = [
    `device        ${config.device}`,
    `current key   ${Buffer.from(current.publicKey).toString('hex')} (fingerprint ${fingerprint(current.publicKey)})`,
    `next key      ${Buffer.from(next.publicKey).toString('hex')} (fingerprint ${fingerprint(next.publicKey)})`,
    `written       ${paths.next} (0600)`,
    `announcement  ${deviceTopic(config.uplink.topicPrefix, config.device, 'key')}, signed by ${fingerprint(current.publicKey)}`,
  ];
  if (existsSync(paths.old)) {
    lines.push(`note          the previous rollover is not yet acknowledged by the broker (${paths.old} exists);`,
      '              the agent switches once it is');
  }
  process.stdout.write(lines.join('\n') + '\n');
  return EXIT_OK;
}

async function show(argv: string[]): Promise<number> {
  const { values } = parse(argv, { config: { type: 'string', short: 'c' } }, usage);
  const config = loadConfigOrExit(requireOption(values.config, 'config', usage));
  const paths = deviceKeyPaths(config.stateDir);
  const cur = pubHex(paths.pub);
  if (!cur) throw new CliError(`no device key for ${config.device} (${paths.pub} missing): tapwire provision --config ${values.config}`, EXIT_USAGE);
  const fp = (h: string): string => (/^[0-9a-f]{64}$/.test(h) ? fingerprint(new Uint8Array(Buffer.from(h, 'hex'))) : '?');
  const lines = [`device        ${config.device}`, `current key   ${cur} (fingerprint ${fp(cur)})`];
  const next = pubHex(paths.nextPub);
  if (existsSync(paths.next)) lines.push(`pending       ${next ?? '?'} (fingerprint ${next ? fp(next) : '?'}): the agent switches to it`);
  if (existsSync(paths.old)) lines.push(`old key kept  ${paths.old}: announcement not yet acknowledged by the broker`);
  process.stdout.write(lines.join('\n') + '\n');
  return EXIT_OK;
}

export const keyCommand: Command = {
  name: 'key',
  usage,
  async run(argv) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'rotate': return rotate(rest);
      case 'show': return show(rest);
      case undefined: process.stdout.write(usage + '\n'); return EXIT_USAGE;
      default: throw new CliError(`unknown key subcommand "${sub}"\n\n${usage}`);
    }
  },
};
