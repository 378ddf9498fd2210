// `tapwire verify`: subscribe, verify every batch (signature, seq, prev-hash
// chain, duplicates, gap notices), print readings; a completeness summary at
// the end. Exit 0 when the stream was complete, 1 when it was not.

import { readFileSync } from 'node:fs';
import { parsePublicKey } from '../encode/keys.js';
import type { ChainSummary, VerifyEvent } from '../verify/chain.js';
import { subscribeVerifier, type StatusEvent } from '../verify/subscribe.js';
import { CliError, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, parse, requireOption, type Command } from './usage.js';

const usage = `Usage: tapwire verify --url <mqtt url> --device <id> --pubkey <hex|file> [options]

Subscribes to <prefix>/<device>/data and /status, verifies every batch
(COSE_Sign1 signature, seq continuity, prev-hash chain, duplicates, gap
notices) and prints the readings. Ctrl-C prints a completeness summary.

Options:
      --url <url>            broker, e.g. mqtts://broker:8883 or mqtt://127.0.0.1:1883
      --device <id>          device id
      --pubkey <hex|file>    device public key (repeatable: rotated keys)
      --topic-prefix <p>     default "tapwire"
      --protocol <4|5>       MQTT version (default 4 = 3.1.1)
      --ca <file> --cert <file> --key <file>   TLS files
      --json                 one JSON object per reading / event on stdout
      --count <n>            exit after n readings
      --timeout <s>          exit after s seconds
  -h, --help                 this help`;

export function formatEvent(e: VerifyEvent | StatusEvent): string[] {
  switch (e.kind) {
    case 'batch':
      return e.readings.map((r) => {
        const value = r.v ?? r.vs ?? r.vb;
        return `seq ${e.seq}  ${new Date(r.time * 1000).toISOString()}  ${r.name} = ${String(value)}${r.unit ? ' ' + r.unit : ''}${e.clk === 'free' ? '  (clock free-running)' : ''}`;
      });
    case 'gap': return [`gap notice seq ${e.seq}: batches ${e.first}..${e.last} were dropped on the device (${e.reason})`];
    case 'duplicate': return [`duplicate seq ${e.seq} (resent after reconnect), ignored`];
    case 'conflict': return [`CONFLICT: seq ${e.seq} seen with different content`];
    case 'rejected': return [`REJECTED: ${e.reason}`];
    case 'chain-break': return [`chain break before seq ${e.seq}: ${e.explained ? 'explained by a gap notice' : 'UNEXPLAINED (batch ' + e.expectedPrevOf + ' missing or different)'}`];
    case 'status': return [e.ok ? `status: ${e.state}` : `status REJECTED: ${e.reason}`];
  }
}

export function formatSummary(s: ChainSummary): string {
  const lines = [
    `batches ${s.batches}, readings ${s.readings}, seq ${s.firstSeq ?? '-'}..${s.lastSeq ?? '-'}`,
    `duplicates ${s.duplicates}, rejected ${s.rejected}, gap notices ${s.gaps.length} (${s.gaps.map((g) => `${g.first}..${g.last} ${g.reason}`).join(', ') || 'none'})`,
    `chain breaks: ${s.explainedBreaks} explained, ${s.unexplainedBreaks} unexplained; missing: ${s.missing.map(([a, b]) => (a === b ? `${a}` : `${a}..${b}`)).join(', ') || 'none'}`,
    s.complete ? 'COMPLETE: every batch accounted for' : 'INCOMPLETE',
  ];
  return lines.join('\n');
}

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
    }, usage);
    const url = requireOption(values.url, 'url', usage);
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

    let readings = 0;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((r) => { finish = r; });
    const out = (line: string): void => { process.stdout.write(line + '\n'); };
    const session = subscribeVerifier({
      url, device, publicKeys, topicPrefix: values['topic-prefix'], protocolVersion: protocol,
      ca: values.ca ? readFileSync(values.ca) : undefined,
      cert: values.cert ? readFileSync(values.cert) : undefined,
      key: values.key ? readFileSync(values.key) : undefined,
      onKey: (k) => {
        if (values.json) out(JSON.stringify(k));
        else out(k.ok ? `key rollover: ${k.signedBy} → ${k.newKid} from seq ${k.seq} (signed by the old key)${k.duplicate ? ', seen before' : ''}` : `key announcement REJECTED: ${k.reason}`);
      },
    }, (e) => {
      if (values.json) {
        if (e.kind === 'batch') for (const r of e.readings) out(JSON.stringify({ seq: e.seq, clk: e.clk, ...r }));
        else out(JSON.stringify(e));
      } else {
        for (const l of formatEvent(e)) out(l);
      }
      if (e.kind === 'batch') { readings += e.readings.length; if (readings >= count) finish(); }
    }, (err) => process.stderr.write(`warn verify ${err.message}\n`));
    try { await session.ready; } catch (err) {
      await session.close();
      process.stderr.write(`error verify cannot subscribe url=${url} cause=${JSON.stringify((err as Error).message)}\n`);
      return EXIT_RUNTIME;
    }
    process.stderr.write(`info verify subscribed device=${device} url=${url}\n`);
    const timer = Number.isFinite(timeoutS) ? setTimeout(finish, timeoutS * 1000) : undefined;
    const onSignal = (): void => finish();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    await done;
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await session.close();
    const summary = session.summary();
    if (values.json) out(JSON.stringify({ kind: 'summary', ...summary }));
    else process.stderr.write(formatSummary(summary) + '\n');
    return summary.complete ? EXIT_OK : EXIT_RUNTIME;
  },
};
