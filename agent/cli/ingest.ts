// `tapwire ingest`: a fleet ingest worker — MQTT 5 shared subscription in,
// verified batches into PostgreSQL or PGlite, acknowledged after the commit.
// Runs until SIGTERM/SIGINT, then stores what is in flight and exits 0.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createSystemClock } from '../../hal/clock.js';
import { openDb, type Db } from '../ingest/db.js';
import { createIngest } from '../ingest/ingest.js';
import { createMqttIntake, parseBrokerUrl } from '../ingest/intake.js';
import { ensureSchema } from '../ingest/schema.js';
import { createLogger } from '../log.js';
import { CliError, EXIT_OK, EXIT_RUNTIME, parse, requireOption, type Command } from './usage.js';
import { dbFailure } from './fleet.js';
import { DEFAULT_TOPIC_PREFIX } from '../uplink/topics.js';

const usage = `Usage: tapwire ingest --url <mqtt url> --db <postgres url | directory> [options]

A fleet ingest worker. Subscribes to <prefix>/+/data through the MQTT 5
shared subscription $share/<group>/<prefix>/+/data (any number of workers,
on any number of machines, split the fleet between them) and to the key
announcements <prefix>/+/key (every worker sees every rollover). Every batch
is verified (signature by the enrolled key or one it rolled over to, seq,
prev-hash chain against what the database holds) and stored exactly once;
the broker's message is acknowledged only after the commit. Forged,
unenrolled and malformed messages go to tapwire_rejects.

--db postgres://... uses a PostgreSQL server; a directory uses the embedded
PGlite (one process at a time). The schema is created on first start.

Options:
      --url <url>             MQTT 5 broker, e.g. mqtts://broker:8883
      --db <url|dir>          postgres://user@host/db, or a directory
      --share <group>         shared subscription group (default tapwire-ingest)
      --worker <name>         stable worker name: MQTT client ids <name>-keys,
                              <name>-1..<name>-<lanes> (default ingest-<host name>)
      --lanes <n>             data sessions of this worker, i.e. messages in
                              flight (default 4; keep it the same for a name)
      --topic-prefix <p>      default "tapwire"
      --session-expiry <s>    how long the broker keeps this worker's sessions
                              and queued messages while it is away (default 604800 = 7 days)
      --park-timeout <s>      how long a batch signed by a key not yet announced
                              waits for the announcement (default 3600)
      --ca <file> --cert <file> --key <file>   TLS files
      --username <name> --password-file <file> broker credentials
  -h, --help                  this help`;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function defaultWorker(): string {
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 48) || 'host';
  return `ingest-${host}`;
}

function positiveInt(value: string | undefined, name: string, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new CliError(`--${name} must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

function readSecretFile(file: string, what: string): string {
  try { return readFileSync(file, 'utf8').replace(/\r?\n$/, ''); } catch (err) {
    throw new CliError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export const ingestCommand: Command = {
  name: 'ingest',
  usage,
  async run(argv) {
    const { values } = parse(argv, {
      url: { type: 'string' }, db: { type: 'string' }, share: { type: 'string' }, worker: { type: 'string' },
      lanes: { type: 'string' }, 'topic-prefix': { type: 'string' }, 'session-expiry': { type: 'string' },
      'park-timeout': { type: 'string' },
      ca: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' },
      username: { type: 'string' }, 'password-file': { type: 'string' },
    }, usage);
    const url = requireOption(values.url, 'url', usage);
    const target = requireOption(values.db, 'db', usage);
    const worker = values.worker ?? defaultWorker();
    const share = values.share ?? 'tapwire-ingest';
    const prefix = values['topic-prefix'] ?? DEFAULT_TOPIC_PREFIX;
    if (!NAME.test(worker)) throw new CliError(`--worker ${JSON.stringify(worker)} must be 1-64 of A-Z a-z 0-9 . _ -`);
    if (!NAME.test(share)) throw new CliError(`--share ${JSON.stringify(share)} must be 1-64 of A-Z a-z 0-9 . _ -`);
    if (!/^[^+#\s]+$/.test(prefix)) throw new CliError(`--topic-prefix ${JSON.stringify(prefix)} must not contain + # or spaces`);
    try { parseBrokerUrl(url); } catch (err) { throw new CliError((err as Error).message); }
    const lanes = positiveInt(values.lanes, 'lanes', 4, 64);
    const sessionExpirySec = positiveInt(values['session-expiry'], 'session-expiry', 604_800, 0xffff_fffe);
    const parkTimeoutS = positiveInt(values['park-timeout'], 'park-timeout', 3600);
    const file = (f: string | undefined, what: string): Buffer | undefined => {
      if (!f) return undefined;
      try { return readFileSync(f); } catch (err) { throw new CliError(`cannot read ${what} ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`); }
    };
    const tls = { ca: file(values.ca, 'CA file'), cert: file(values.cert, 'certificate'), key: file(values.key, 'key file') };
    const password = values['password-file'] ? readSecretFile(values['password-file'], 'password file') : undefined;

    const log = createLogger('ingest');
    let db: Db;
    try {
      db = await openDb(target, { command: `tapwire ingest --worker ${worker}`, onCreate: (m) => log.info(m) });
      await ensureSchema(db);
    } catch (err) {
      throw dbFailure(err);
    }
    const clock = createSystemClock();
    const ingest = createIngest({ db, worker, topicPrefix: prefix, maxGroup: lanes + 1, parkTimeoutMs: parkTimeoutS * 1000, clock, log });
    const intake = createMqttIntake({ url, worker, share, topicPrefix: prefix, lanes, sessionExpirySec, ...tls, username: values.username, password, log: log.child('ingest:mqtt') },
      { data: ingest.data, key: ingest.key });
    let stop: () => void = () => undefined;
    const stopped = new Promise<void>((r) => { stop = r; });
    process.once('SIGINT', () => stop());
    process.once('SIGTERM', () => stop());
    ingest.start();
    let failed: Error | undefined;
    const started = intake.start().then(
      () => log.info('ingest running', { worker, share, lanes, db: db.where, broker: url.replace(/\/\/[^@/]*@/, '//***@') }),
      (err: Error) => { failed = err; stop(); },
    );
    let last = '';
    const progress = setInterval(() => {
      const c = ingest.counters();
      const line = JSON.stringify(c);
      if (line !== last) log.info('progress', c);
      last = line;
    }, 30_000);
    await Promise.race([stopped, started.then(() => stopped)]);
    clearInterval(progress);
    log.info('stopping: storing what is in flight', { in_flight: intake.inFlight() });
    await intake.stop(10_000);
    await ingest.stop(2_000);
    await db.close();
    log.info('stopped', ingest.counters());
    if (failed) throw new CliError(failed.message, EXIT_RUNTIME);
    return intake.inFlight() === 0 ? EXIT_OK : EXIT_RUNTIME;
  },
};
