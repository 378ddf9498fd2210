// One line per event, `level component message key=value`, to stderr (journald
// keeps them). Never pass a secret as a field: there is no redaction layer.
// Message, component and fields are escaped (escape.ts): a bad line quoted in
// a warning never copies raw control bytes into the log.

import { escapeText, logValue } from './escape.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Record<string, string | number | boolean | undefined | null>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(component: string): Logger;
}

export interface LogOptions {
  level?: Level;
  write?: (line: string) => void;
}

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function formatValue(v: string | number | boolean): string {
  return logValue(String(v));
}

function formatFields(fields: Fields | undefined): string {
  if (!fields) return '';
  let out = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || v === null) continue;
    out += ` ${escapeText(k)}=${formatValue(v)}`;
  }
  return out;
}

export function createLogger(component: string, opts: LogOptions = {}): Logger {
  const min = ORDER[opts.level ?? (process.env.TAPWIRE_LOG as Level | undefined) ?? 'info'] ?? ORDER.info;
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const emit = (level: Level, msg: string, fields?: Fields): void => {
    if (ORDER[level] < min) return;
    write(`${level} ${escapeText(component)} ${escapeText(msg)}${formatFields(fields)}`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (c) => createLogger(c, opts),
  };
}

/** A logger that drops everything (unit tests that do not assert on logs). */
export const silentLogger: Logger = {
  debug() {}, info() {}, warn() {}, error() {},
  child() { return silentLogger; },
};

/**
 * Rate-limited warnings for things that repeat on a noisy line (bad frames,
 * checksum failures): at most one line per `intervalMs`, carrying how many
 * were suppressed since the last one.
 */
export function createRateLimitedWarn(
  log: Logger,
  intervalMs = 10_000,
  now: () => number = Date.now,
): (msg: string, fields?: Fields) => void {
  let last = -Infinity;
  let suppressed = 0;
  return (msg, fields) => {
    const t = now();
    if (t - last < intervalMs) { suppressed++; return; }
    last = t;
    log.warn(msg, suppressed > 0 ? { ...fields, suppressed } : fields);
    suppressed = 0;
  };
}

/**
 * One rate limiter per message text: a flood of one kind of problem must not
 * hide another kind.
 */
export function createKeyedRateLimitedWarn(
  log: Logger,
  intervalMs = 10_000,
  now: () => number = Date.now,
): (msg: string, fields?: Fields) => void {
  const limiters = new Map<string, (msg: string, fields?: Fields) => void>();
  return (msg, fields) => {
    let w = limiters.get(msg);
    if (!w) { w = createRateLimitedWarn(log, intervalMs, now); limiters.set(msg, w); }
    w(msg, fields);
  };
}
