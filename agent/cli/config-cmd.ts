// `tapwire config schema | check <file> | keygen --out <file> | sign ...`
// (`check --config <file>` too: the flag every other command takes)

import { readFileSync, writeFileSync } from 'node:fs';
import { formatIssues, loadConfigFile, schemaJson, validateConfig, type ConfigIssue } from '../config/load.js';
import { preflight } from '../config/preflight.js';
import { encodeCbor } from '../encode/cbor.js';
import { signSign1 } from '../encode/cose.js';
import { fingerprint, generateKeyPair, readPrivateKey, writeKeyPair } from '../encode/keys.js';
import { createCryptoSigner } from '../encode/signer.js';
import { CONFIG_CONTENT_TYPE, MAX_CONFIG_MESSAGE_BYTES } from '../ota/envelope.js';
import { CliError, EXIT_OK, EXIT_USAGE, parse, requireOption, wantsHelp, type Command } from './usage.js';

const usage = `Usage: tapwire config <subcommand>

Subcommands:
  schema                       print the config JSON Schema
  check [--content-only] <file>   (or --config <file>, as for run)
                               validate a config file and what \`run\` will need
                               of this machine (uplink files readable, secrets
                               0600, state directory writable, no device used
                               by two sources); every problem is listed with
                               the field it is in (exit 2 when invalid).
                               --content-only: the file alone, not this machine
                               (a config written for another device)
  keygen --out <file>          create an operator key pair: <file> (0600) and
                               <file>.pub (hex public key)
  sign --key <file> --device <id|*> --version <n> [--out <file>] <config.json>
                               sign a config for over-the-air delivery
                               (COSE_Sign1 by the operator key)

Options:
  -h, --help   this help`;

async function check(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { 'content-only': { type: 'boolean' }, config: { type: 'string', short: 'c' } }, usage, true);
  if (values.config !== undefined && positionals.length > 0) throw new CliError(`config check: give the file once: <file> or --config <file>\n\n${usage}`);
  const file = values.config ?? positionals[0];
  if (!file) throw new CliError(`config check: missing <file>\n\n${usage}`);
  const problems = (issues: ConfigIssue[]): number => {
    process.stderr.write(formatIssues(issues, file) + '\n');
    process.stderr.write(`${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n`);
    return EXIT_USAGE;
  };
  const result = loadConfigFile(file);
  if (!result.ok) return problems(result.issues);
  // what `run` checks before it starts, checked the same way (nothing created is left behind)
  const missing = values['content-only'] ? [] : preflight(result.config);
  if (missing.length > 0) return problems(missing);
  if (result.warnings.length) process.stderr.write(formatIssues(result.warnings, file) + '\n');
  process.stdout.write(`${file}: ok (device ${result.config.device}, ${result.config.sources.length} source${result.config.sources.length === 1 ? '' : 's'})\n`);
  return EXIT_OK;
}

async function keygen(argv: string[]): Promise<number> {
  const { values } = parse(argv, { out: { type: 'string', short: 'o' } }, usage);
  const out = requireOption(values.out, 'out', usage);
  const pair = generateKeyPair();
  try { writeKeyPair(out, `${out}.pub`, pair); } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ERR_KEY_EXISTS' ? (err as Error).message : `--out ${out}: cannot write it (${code ?? (err as Error).message})`);
  }
  process.stdout.write(`operator key  ${out} (0600)\npublic key    ${Buffer.from(pair.publicKey).toString('hex')}\nfingerprint   ${fingerprint(pair.publicKey)}\n`);
  return EXIT_OK;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJsonFile(file: string): unknown {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try { return JSON.parse(text) as unknown; } catch (err) {
    throw new CliError(`${file} is not JSON: ${(err as Error).message} (tapwire config check ${file} shows where)`);
  }
}

async function sign(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    key: { type: 'string' }, device: { type: 'string' }, version: { type: 'string' }, out: { type: 'string', short: 'o' },
  }, usage, true);
  const keyFile = requireOption(values.key, 'key', usage);
  const device = requireOption(values.device, 'device', usage);
  const version = Number(requireOption(values.version, 'version', usage));
  if (!Number.isSafeInteger(version) || version < 1) throw new CliError('--version must be an integer ≥ 1 (the local config runs as version 0)');
  const file = positionals[0];
  if (!file) throw new CliError(`config sign: missing <config.json>\n\n${usage}`);
  const raw = parseJsonFile(file);
  // a fleet config (--device '*') may leave device and stateDir out: each agent fills in its own
  const probe = device === '*' && isObject(raw)
    ? { device: 'fleet-check', stateDir: '/var/lib/tapwire', ...raw }
    : raw;
  const checked = validateConfig(probe);
  if (!checked.ok) throw new CliError(`refusing to sign an invalid config\n${formatIssues(checked.issues, file)}`);
  if (device !== '*' && isObject(raw) && raw.device !== device) {
    throw new CliError(`refusing to sign: ${file} is for device ${JSON.stringify(raw.device)}, not ${JSON.stringify(device)}`);
  }
  let seed: Uint8Array;
  try { seed = readPrivateKey(keyFile).seed; } catch (err) { throw new CliError(`--key: ${(err as Error).message}`); }
  const signer = createCryptoSigner(seed);
  const bytes = signSign1(signer, encodeCbor({ v: 1, dev: device, version, config: raw }), CONFIG_CONTENT_TYPE);
  if (bytes.length > MAX_CONFIG_MESSAGE_BYTES) {
    throw new CliError(`refusing to sign: the signed message would be ${bytes.length} bytes, agents accept at most ${MAX_CONFIG_MESSAGE_BYTES}`);
  }
  if (values.out) {
    try { writeFileSync(values.out, bytes); } catch (err) { throw new CliError(`--out ${values.out}: cannot write it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`); }
  }
  else process.stdout.write(bytes);
  process.stderr.write(`signed ${file} for device ${device} version ${version} with ${fingerprint(signer.publicKey)} (${bytes.length} bytes)\n`);
  return EXIT_OK;
}

export const configCommand: Command = {
  name: 'config',
  usage,
  async run(argv) {
    const [sub, ...rest] = argv;
    // `config <sub> --help` is help, never the subcommand (schema would print the schema)
    if (sub !== undefined && wantsHelp(rest)) { process.stdout.write(usage + '\n'); return EXIT_OK; }
    switch (sub) {
      case 'schema': parse(rest, {}, usage); process.stdout.write(schemaJson() + '\n'); return EXIT_OK;
      case 'check': return check(rest);
      case 'keygen': return keygen(rest);
      case 'sign': return sign(rest);
      case undefined: case '--help': case '-h': process.stdout.write(usage + '\n'); return sub ? EXIT_OK : EXIT_USAGE;
      default: throw new CliError(`unknown config subcommand "${sub}"\n\n${usage}`);
    }
  },
};
