// The answers that come from the console's views (the status-file ones are in
// status-answers.ts): help, sources, last, key, config, log. Every value that
// came from outside is escaped (escape.ts) before it is laid out.

import type { AgentStatus } from '../agent.js';
import { escapeShort, escapeText } from '../escape.js';
import { ago, keyValues, number, table } from './format.js';
import type { FieldHistory } from './last-values.js';
import { sparkline } from './sparkline.js';
import { sourceTrouble } from './status-answers.js';
import type { SourceView } from './views.js';

export const COMMANDS: ReadonlyArray<readonly [string, string]> = [
  ['help', 'this list'],
  ['status', 'device, version, uptime, config version, clock; one line per area'],
  ['sources', 'one row per source: type, port, state, readings, errors, last reading'],
  ['last [source]', 'latest value of each field, its age, and a sparkline of recent values'],
  ['buffer', 'what waits for the broker: pending batches and bytes, oldest, journal size'],
  ['uplink', 'the broker connection: state, broker, since, last error, published, acknowledged'],
  ['key', 'the device key: fingerprint and public key'],
  ['config', 'the running config (secret files by path only) and its version'],
  ['log [n]', 'the last n log lines (default 20)'],
  ['monitor <source> [seconds]', 'live hex + ASCII of the bytes the source\'s port receives (default 10 s); any key stops'],
];

export function helpAnswer(): string[] {
  const width = Math.max(...COMMANDS.map(([c]) => c.length));
  return [
    ...COMMANDS.map(([c, what]) => `${c.padEnd(width)}  ${what}`),
    'Read-only: nothing here changes the agent, its config or the field. Ctrl-C cancels a line or a monitor.',
  ];
}

// Counters (last name segment) that say something went wrong on a source.
const ERROR_COUNTERS = new Set([
  'bad_lines', 'long_lines', 'open_failures', 'port_lost', 'start_errors', 'errors', 'non_finite',
  'timeouts', 'exceptions', 'crc_errors', 'garbage', 'unpaired', 'open_errors', 'port_errors',
]);

function sourceErrors(counters: Record<string, number>, id: string): number {
  const prefix = `source.${id}.`;
  let n = 0;
  for (const [name, v] of Object.entries(counters)) {
    if (name.startsWith(prefix) && ERROR_COUNTERS.has(name.slice(name.lastIndexOf('.') + 1))) n += v;
  }
  return n;
}

export function sourcesAnswer(status: AgentStatus, sources: SourceView[], readings: (id: string) => number, nowMs: number): string[] {
  const rows = sources.map((s) => {
    const h = status.sources[s.id];
    const why = h ? sourceTrouble(h, 70) : 'not running';
    const state = why === undefined ? 'ok' : `error: ${why}`;
    return [s.id, s.type, escapeShort(s.port, 64), state, String(readings(s.id)), String(sourceErrors(status.counters, s.id)), ago(h?.lastReadingAt, nowMs)];
  });
  if (rows.length === 0) return ['no sources'];
  return table(['name', 'type', 'port', 'state', 'readings', 'errors', 'last reading'], rows, new Set([4, 5]));
}

function showValue(v: number | string | boolean): string {
  if (typeof v === 'string') return `"${escapeShort(v, 40)}"`;
  return typeof v === 'number' ? number(v) : String(v);
}

export function lastAnswer(fields: FieldHistory[], nowMs: number, source?: string): string[] {
  if (fields.length === 0) return [source === undefined ? 'no readings yet' : `no readings yet from ${source}`];
  const rows = fields.map((f) => [
    escapeText(f.name), showValue(f.value), escapeShort(f.unit ?? '', 12), ago(f.at, nowMs).replace(/ ago$/, ''), sparkline(f.recent),
  ]);
  return table(['field', 'value', 'unit', 'age', 'recent'], rows);
}

export function keyAnswer(kidHex: string, publicKey: Uint8Array): string[] {
  return keyValues([['fingerprint', kidHex], ['public key', Buffer.from(publicKey).toString('hex')]]);
}

export function configAnswer(view: { version: number; entries: Array<[string, string]> }): string[] {
  return [
    ...keyValues([['config version', `${view.version} (${view.version === 0 ? 'local file' : 'signed, over the air'})`]]),
    ...view.entries.map(([k, v]) => `${escapeText(k)}: ${escapeShort(v, 200)}`),
  ];
}

export function logAnswer(lines: string[]): string[] {
  return lines.length === 0 ? ['no log lines yet'] : lines.map((l) => escapeShort(l, 400));
}
