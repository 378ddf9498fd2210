// `tapwire verify`: subscribe, verify every batch (signature, seq, prev-hash
// chain, duplicates, gap notices), print readings; a completeness summary at
// the end. Exit 0 when the stream was complete and nothing was rejected, 1
// otherwise (with what was rejected and why).

import { createSystemClock } from '../../hal/clock.js';
import { escapeJson, escapeText } from '../escape.js';
import { parsePublicKey } from '../encode/keys.js';
import { createVerifyLive } from '../view/verify-live.js';
import { formatEvent, formatEventJson, formatRejections, formatSummary, safeLines } from '../view/verify-text.js';
import { DEFAULT_SESSION_EXPIRY_S, subscribeVerifier } from '../verify/subscribe.js';
import { brokerUrlOption, CliError, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, parse, readFileOption, requireOption, type Command } from './usage.js';

const usage = `Usage: tapwire verify --url <mqtt url> --device <id> --pubkey <hex|file> [options]

Subscribes to <prefix>/<device>/data, /status and /key, verifies every batch
(COSE_Sign1 signature, seq continuity, prev-hash chain, duplicates, gap
notices) and prints the readings. Ctrl-C prints a completeness summary; the
exit code is 0 only if every batch was accounted for and nothing was rejected
(forged, malformed, wrong device). On a terminal it shows a live view (one row
per field with a sparkline of its trend, the chain below); piped or with
--json, one line per reading or event.

The session is persistent (stable client id, QoS 1, clean session off): the
broker keeps what the device publishes while the broker or the verifier
restarts and delivers it when the verifier is back. Start the verifier before
the agent: a session only holds what was published after it first subscribed.

Options:
      --url <url>            broker, e.g. mqtts://broker:8883 or mqtt://127.0.0.1:1883
      --device <id>          device id
      --pubkey <hex|file>    device public key (repeatable: rotated keys)
      --topic-prefix <p>     default "tapwire"
      --protocol <4|5>       MQTT version (default 4 = 3.1.1)
      --ca <file> --cert <file> --key <file>   TLS files
      --client-id <id>       session client id (default tapwire-verify-<device>);
                             give each verifier of one device its own
      --session-expiry <s>   MQTT 5: how long the broker keeps the session while
                             the verifier is away (default ${DEFAULT_SESSION_EXPIRY_S}, 7 days)
      --clean                a clean session, discarded at exit (a one-off look)
      --json                 one JSON object per reading / event on stdout
      --lines                line output even on a terminal (which otherwise
                             gets a live view: one row per field, the chain)
      --count <n>            exit after n readings
      --timeout <s>          exit after s seconds
  -h, --help                 this help`;

export const verifyCommand: Command = {
  name: 'verify',
  usage,
  async run(argv) {
    const { values } = parse(argv, {
      url: { type: 'string' },
      device: { type: 'string' },
      pubkey: { type: 'string', multiple: true },
      'topic-prefix': { type: 'string' },
      protocol: { type: 'string' },
      ca: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' },
      json: { type: 'boolean' },
      count: { type: 'string' },
      timeout: { type: 'string' },
      'client-id': { type: 'string' },
      'session-expiry': { type: 'string' },
      clean: { type: 'boolean' },
      lines: { type: 'boolean' },
    }, usage);
    const url = brokerUrlOption(requireOption(values.url, 'url', usage));
    const device = requireOption(values.device, 'device', usage);
    if (!values.pubkey?.length) throw new CliError(`missing --pubkey\n\n${usage}`);
    const publicKeys = values.pubkey.map((p) => {
      try { return parsePublicKey(p); } catch (err) { throw new CliError(`--pubkey ${p}: ${(err as Error).message}`, EXIT_USAGE); }
    });
    const protocol = values.protocol === undefined ? 4 : Number(values.protocol);
    if (protocol !== 4 && protocol !== 5) throw new CliError('--protocol must be 4 or 5');
    const count = values.count === undefined ? Infinity : Number(values.count);
    const timeoutS = values.timeout === undefined ? Infinity : Number(values.timeout);
    if (!(count > 0) || !(timeoutS > 0)) throw new CliError('--count and --timeout must be positive numbers');
    const sessionExpiryS = values['session-expiry'] === undefined ? undefined : Number(values['session-expiry']);
    if (sessionExpiryS !== undefined && !(Number.isInteger(sessionExpiryS) && sessionExpiryS >= 0 && sessionExpiryS <= 0xffff_ffff)) {
      throw new CliError('--session-expiry must be a whole number of seconds (0 to 4294967295)');
    }
    if (values['client-id'] !== undefined && values['client-id'] === '') throw new CliError('--client-id must not be empty');

    let readings = 0;
    /** What was rejected, by reason (forged, malformed, wrong device, bad status or key message). */
    const rejections = new Map<string, number>();
    const rejected = (reason: string): void => { rejections.set(reason, (rejections.get(reason) ?? 0) + 1); };
    let finish: () => void = () => undefined;
    const done = new Promise<void>((r) => { finish = r; });
    // escaped here too: every line reaching stdout passes this one point
    const out = (line: string): void => { process.stdout.write(escapeText(line) + '\n'); };
    const outJson = (value: unknown): void => { process.stdout.write(escapeJson(JSON.stringify(value)) + '\n'); };
    // a terminal gets the live view; a pipe, a log or --json the lines, unchanged
    const live = process.stdout.isTTY && !values.json && !values.lines
      ? createVerifyLive({ out: process.stdout, device, url, clock: createSystemClock(), summary: () => session.summary(), describe: formatEvent })
      : undefined;
    const session = subscribeVerifier({
      url, device, publicKeys, topicPrefix: values['topic-prefix'], protocolVersion: protocol,
      ca: values.ca ? readFileOption(values.ca, 'ca') : undefined,
      cert: values.cert ? readFileOption(values.cert, 'cert') : undefined,
      key: values.key ? readFileOption(values.key, 'key') : undefined,
      ...(values['client-id'] !== undefined ? { clientId: values['client-id'] } : {}),
      ...(values.clean ? { clean: true } : {}),
      ...(sessionExpiryS !== undefined ? { sessionExpiryS } : {}),
      ...(live ? { onConnection: live.connection } : {}),
      onKey: (k) => {
        if (!k.ok) rejected(`key announcement: ${k.reason}`);
        if (values.json) outJson(k);
        else (live ? live.note : out)(k.ok ? `key rollover: ${k.signedBy} → ${k.newKid} from seq ${k.seq} (signed by the old key)${k.duplicate ? ', seen before' : ''}` : `key announcement REJECTED: ${k.reason}`);
      },
    }, (e) => {
      if (e.kind === 'rejected') rejected(e.reason);
      if (e.kind === 'status' && !e.ok) rejected(`status message: ${e.reason ?? 'invalid'}`);
      if (live) live.event(e);
      else if (values.json) {
        for (const l of formatEventJson(e)) process.stdout.write(l + '\n');
      } else {
        for (const l of formatEvent(e)) out(l);
      }
      if (e.kind === 'batch') { readings += e.readings.length; if (readings >= count) finish(); }
    }, (err) => (live ? live.note(`warn ${err.message}`) : process.stderr.write(`warn verify ${escapeText(err.message)}\n`)));
    try { await session.ready; } catch (err) {
      await session.close();
      process.stderr.write(`error verify cannot subscribe url=${escapeText(url)} cause=${escapeJson(JSON.stringify((err as Error).message))}\n`);
      return EXIT_RUNTIME;
    }
    if (live) { live.start(); live.note(`subscribed to ${device} at ${url}`); }
    else process.stderr.write(`info verify subscribed device=${escapeText(device)} url=${escapeText(url)}\n`);
    const timer = Number.isFinite(timeoutS) ? setTimeout(finish, timeoutS * 1000) : undefined;
    const onSignal = (): void => finish();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    await done;
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    live?.stop();
    await session.close();
    const summary = session.summary();
    // the chain's count is authoritative: a batch first rejected for an unknown key is
    // revised once the key announcement arrives; status messages are counted here
    const statusRejected = [...rejections].filter(([r]) => r.startsWith('status message:')).reduce((a, [, n]) => a + n, 0);
    const rejectedTotal = summary.rejected + statusRejected;
    if (values.json) outJson({ kind: 'summary', ...summary, rejectedMessages: rejectedTotal, rejections: Object.fromEntries(rejections) });
    else {
      process.stderr.write(safeLines(formatSummary(summary)) + '\n');
      if (rejectedTotal > 0) process.stderr.write(safeLines(formatRejections(rejections)) + '\n');
    }
    return summary.complete && rejectedTotal === 0 ? EXIT_OK : EXIT_RUNTIME;
  },
};
