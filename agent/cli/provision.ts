// `tapwire provision --config <file> [--if-missing] [--operator <hex|file>]...`:
// creates the device key (0600) and device.pub, installs trusted operator keys,
// prints what to enrol. An existing device key is never overwritten, not even
// by two provisions racing (O_EXCL: the loser reads the winner's key).

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyPaths } from '../agent.js';
import { ensureKey, fingerprint, parsePublicKey, readPrivateKey } from '../encode/keys.js';
import { loadOperatorKeys, operatorsDir } from '../ota/operators.js';
import { createLogger } from '../log.js';
import { stateDirProblem } from '../config/preflight.js';
import { loadConfigOrExit } from './config-file.js';
import { CliError, EXIT_OK, EXIT_USAGE, parse, requireOption, type Command } from './usage.js';

const usage = `Usage: tapwire provision --config <file> [--if-missing] [--operator <hex|file>]...

Creates <stateDir>/device.key (Ed25519, mode 0600) and <stateDir>/device.pub
(hex of the raw public key) for the config's device, and prints the public
key and fingerprint to enrol in the cloud. Run again to print them; an
existing key is never replaced.

Options:
  -c, --config <file>        config file
      --if-missing           for the service at boot (tapwire.service runs it
                             before the agent): create the key only if there is
                             none, and log one line (device, fingerprint, public
                             key) instead of the table. An image flashed onto
                             many cards carries no key: each device makes its own
                             at first boot, and its log says what to enrol.
      --operator <hex|file>  trust this operator public key for signed
                             config updates (repeatable)
  -h, --help                 this help`;

export const provisionCommand: Command = {
  name: 'provision',
  usage,
  async run(argv) {
    const { values } = parse(argv, {
      config: { type: 'string', short: 'c' },
      'if-missing': { type: 'boolean' },
      operator: { type: 'string', multiple: true },
    }, usage);
    const config = loadConfigOrExit(requireOption(values.config, 'config', usage));
    // one level at a time (a recursive mkdir under /proc loops forever), with a reason when it cannot
    const problem = stateDirProblem(config.stateDir, { create: true });
    if (problem) throw new CliError(`stateDir: ${problem}`, EXIT_USAGE);
    const paths = keyPaths(config.stateDir);
    let created: boolean;
    let pair: ReturnType<typeof readPrivateKey>;
    try {
      created = ensureKey(paths);
      pair = readPrivateKey(paths.key);
    } catch (err) {
      // a key that is there but unusable (mode 0644, not a key): its message says what to do
      if (String((err as NodeJS.ErrnoException).code).startsWith('ERR_KEY_')) throw new CliError((err as Error).message, EXIT_USAGE);
      throw err;
    }
    if (!existsSync(paths.pub)) writeFileSync(paths.pub, Buffer.from(pair.publicKey).toString('hex') + '\n', { mode: 0o644 });
    const operators: string[] = [];
    for (const op of values.operator ?? []) {
      let pub: Uint8Array;
      try { pub = parsePublicKey(op); } catch (err) {
        throw new CliError(`--operator ${op}: ${(err as Error).message}`, EXIT_USAGE);
      }
      const dir = operatorsDir(config.stateDir);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const fp = fingerprint(pub);
      writeFileSync(join(dir, `${fp}.pub`), Buffer.from(pub).toString('hex') + '\n', { mode: 0o644 });
      operators.push(fp);
    }
    if (values['if-missing']) {
      // one line for the journal: the service runs this at every start
      createLogger('provision').info(created ? 'device key created: enrol this device with its public key' : 'device key present', {
        device: config.device, fingerprint: fingerprint(pair.publicKey), public_key: Buffer.from(pair.publicKey).toString('hex'), file: paths.key,
      });
      return EXIT_OK;
    }
    const trusted = [...loadOperatorKeys(config.stateDir).keys()];
    const out = [
      `device       ${config.device}`,
      `public key   ${Buffer.from(pair.publicKey).toString('hex')}`,
      `fingerprint  ${fingerprint(pair.publicKey)}`,
      `key file     ${paths.key} (0600${created ? ', created' : ', existing'})`,
      ...trusted.map((fp) => `operator     ${fp} (trusted${operators.includes(fp) ? ', installed now' : ''})`),
      ...(trusted.length === 0 ? ['operators    none: over-the-air config is refused until one is installed (--operator)'] : []),
    ];
    process.stdout.write(out.join('\n') + '\n');
    return EXIT_OK;
  },
};
