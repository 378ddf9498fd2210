// `tapwire fleet enroll | report | readings`: the fleet store, for people and
// scripts. Opens PostgreSQL or a PGlite directory like `ingest`; a PGlite
// directory held by a running `ingest` is reported plainly, not waited for.

import { readFileSync } from 'node:fs';
import { parsePublicKey } from '../encode/keys.js';
import { checkDeviceId, enrol, parseEnrolmentCsv, type Enrolment } from '../fleet/enroll.js';
import { exportReadings, parseSince, type ExportFormat } from '../fleet/readings.js';
import { fleetReport } from '../fleet/report.js';
import { formatReport } from '../fleet/report-format.js';
import { DbError, openDb, type Db } from '../ingest/db.js';
import { ensureSchema } from '../ingest/schema.js';
import { CliError, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, parse, requireOption, type Command } from './usage.js';

const usage = `Usage: tapwire fleet <subcommand> --db <postgres url | directory> [options]

Subcommands:
  enroll --device <id> --pubkey <hex|file>   accept batches from a device signed
         --csv <file>                        by this key (or a CSV of id,pubkey lines)
  report [--device <id>] [--json]            per device: batches, readings, first/last
                                             seen, gaps told by signed gap notices,
                                             gaps unexplained, key rollovers, rejects;
                                             exit 0 only when every chain is complete
  readings --device <id> --since <time>      export readings as CSV (or --format jsonl)
           [--until <time>] [--name <n>]     time: ISO 8601, Unix seconds, or an age
                                             like 15m, 6h, 7d

Run \`tapwire fleet <subcommand> --help\` for details.`;

const enrollUsage = `Usage: tapwire fleet enroll --db <db> (--device <id> --pubkey <hex|file> | --csv <file>)

Enrols devices: the ingest accepts their batches signed by this key, or by
keys it rolls over to (signed announcements). The public key is what
\`tapwire provision\` printed (64 hex characters, or a file holding them).
A CSV has one "id,pubkey" per line (a header line and # comments are skipped).
Enrolling again with the same key changes nothing; with another key it is refused.`;

const reportUsage = `Usage: tapwire fleet report --db <db> [--device <id>] [--json]

Per enrolled device: batches, readings, seq range, first/last seen, batches
dropped on the device and told by a signed gap notice, batches missing that
nobody accounts for, key rollovers, rejected messages, batches waiting for
an announced key. Also lists devices that sent messages but are not enrolled.
Exit 0 when every enrolled device's chain is complete, 1 when not.`;

const readingsUsage = `Usage: tapwire fleet readings --db <db> --device <id> --since <time> [options]

Writes the device's readings from <time> on to stdout, in the device's order.
CSV columns: time,name,value,unit,seq,idx (time in ISO 8601 UTC).

Options:
      --since <time>     ISO 8601 ("2026-01-31T12:00:00Z"), Unix seconds, or an age (90s, 15m, 6h, 7d)
      --until <time>     same forms; default now
      --name <name>      one field only, e.g. weather:temp
      --format <f>       csv (default) or jsonl`;

/** A database failure as the one line a user gets (exit 1: the command was fine, the world was not). */
export function dbFailure(err: unknown): Error {
  if (err instanceof DbError) return new CliError(err.message, err.code === 'ERR_DB_TARGET' ? EXIT_USAGE : EXIT_RUNTIME);
  return err as Error;
}

async function withDb<T>(target: string, command: string, fn: (db: Db) => Promise<T>, mustExist = true): Promise<T> {
  let db: Db;
  try {
    db = await openDb(target, { command, mustExist, onCreate: (m) => process.stderr.write(`${m}\n`) });
    await ensureSchema(db);
  } catch (err) {
    throw dbFailure(err);
  }
  try { return await fn(db); } finally { await db.close(); }
}

async function enrollCmd(argv: string[]): Promise<number> {
  const { values } = parse(argv, { db: { type: 'string' }, device: { type: 'string' }, pubkey: { type: 'string' }, csv: { type: 'string' } }, enrollUsage);
  if (values.help) { process.stdout.write(enrollUsage + '\n'); return EXIT_OK; }
  const target = requireOption(values.db, 'db', enrollUsage);
  let list: Enrolment[];
  if (values.csv) {
    if (values.device || values.pubkey) throw new CliError(`give --csv, or --device with --pubkey, not both\n\n${enrollUsage}`);
    let text: string;
    try { text = readFileSync(values.csv, 'utf8'); } catch (err) { throw new CliError(`cannot read ${values.csv}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`); }
    try { list = parseEnrolmentCsv(text, values.csv); } catch (err) { throw new CliError((err as Error).message); }
  } else {
    const dev = requireOption(values.device, 'device', enrollUsage);
    const bad = checkDeviceId(dev);
    if (bad) throw new CliError(bad);
    const hex = requireOption(values.pubkey, 'pubkey', enrollUsage);
    let pubkey: Uint8Array;
    try { pubkey = parsePublicKey(hex); } catch (err) { throw new CliError(`--pubkey: ${(err as Error).message}`); }
    list = [{ dev, pubkey }];
  }
  const results = await withDb(target, 'tapwire fleet enroll', (db) => enrol(db, list), false);
  let refused = 0;
  for (const r of results) {
    if (r.status === 'refused') { refused++; process.stderr.write(`refused ${r.dev}: ${r.reason}\n`); } else process.stdout.write(`${r.status.padEnd(9)} ${r.dev}\n`);
  }
  return refused === 0 ? EXIT_OK : EXIT_RUNTIME;
}

async function reportCmd(argv: string[]): Promise<number> {
  const { values } = parse(argv, { db: { type: 'string' }, device: { type: 'string' }, json: { type: 'boolean' } }, reportUsage);
  if (values.help) { process.stdout.write(reportUsage + '\n'); return EXIT_OK; }
  const target = requireOption(values.db, 'db', reportUsage);
  const report = await withDb(target, 'tapwire fleet report', (db) => fleetReport(db, values.device === undefined ? {} : { device: values.device }));
  if (values.device !== undefined && report.devices.length === 0) throw new CliError(`device ${values.device} is not enrolled`, EXIT_RUNTIME);
  process.stdout.write((values.json ? JSON.stringify(report) : formatReport(report)) + '\n');
  return report.complete ? EXIT_OK : EXIT_RUNTIME;
}

async function readingsCmd(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    db: { type: 'string' }, device: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' },
    name: { type: 'string' }, format: { type: 'string' },
  }, readingsUsage);
  if (values.help) { process.stdout.write(readingsUsage + '\n'); return EXIT_OK; }
  const target = requireOption(values.db, 'db', readingsUsage);
  const dev = requireOption(values.device, 'device', readingsUsage);
  const now = Date.now();
  const since = parseSince(requireOption(values.since, 'since', readingsUsage), now);
  if (!since) throw new CliError(`--since ${JSON.stringify(values.since)}: expected ISO 8601, Unix seconds or an age like 15m`);
  const until = values.until === undefined ? undefined : parseSince(values.until, now);
  if (values.until !== undefined && !until) throw new CliError(`--until ${JSON.stringify(values.until)}: expected ISO 8601, Unix seconds or an age like 15m`);
  const format = (values.format ?? 'csv') as ExportFormat;
  if (format !== 'csv' && format !== 'jsonl') throw new CliError(`--format must be csv or jsonl, got ${JSON.stringify(values.format)}`);
  const write = (chunk: string): Promise<void> | void => {
    if (!process.stdout.write(chunk)) return new Promise((r) => process.stdout.once('drain', () => r()));
  };
  const n = await withDb(target, 'tapwire fleet readings', async (db) => {
    const known = await db.query('SELECT 1 FROM tapwire_devices WHERE dev = $1', [dev]);
    if (known.length === 0) throw new CliError(`device ${dev} is not enrolled`, EXIT_RUNTIME);
    return exportReadings(db, { dev, since, ...(until ? { until } : {}), ...(values.name ? { name: values.name } : {}), format, write });
  });
  process.stderr.write(`${n} reading(s) of ${dev} since ${since.toISOString()}\n`);
  return EXIT_OK;
}

export const fleetCommand: Command = {
  name: 'fleet',
  usage,
  async run(argv) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'enroll': return enrollCmd(rest);
      case 'report': return reportCmd(rest);
      case 'readings': return readingsCmd(rest);
      case undefined: case '--help': case '-h': process.stdout.write(usage + '\n'); return sub ? EXIT_OK : EXIT_USAGE;
      default: throw new CliError(`unknown fleet subcommand "${sub}"\n\n${usage}`);
    }
  },
};
