// One console line -> one answer. The command table is closed: each command
// only reads the views; anything else answers `unknown command` — there is no
// shell, no escape to one, no argument that reaches a program or a file.

import { configAnswer, helpAnswer, keyAnswer, lastAnswer, logAnswer, sourcesAnswer } from './answers.js';
import { escapeShort } from '../escape.js';
import { bufferAnswer, statusAnswer, uplinkAnswer } from './status-answers.js';
import type { ConsoleViews } from './views.js';

export type Answer =
  | { kind: 'lines'; lines: string[] }
  | { kind: 'monitor'; source: string; seconds: number };

/** Longest command line read; longer ones are refused whole (DESIGN: lines over 256 bytes). */
export const MAX_LINE_CHARS = 256;
export const DEFAULT_LOG_LINES = 20;
export const DEFAULT_MONITOR_S = 10;
export const MAX_MONITOR_S = 3600;

const NO_AGENT = ['no agent running right now (a config is being applied); try again in a moment'];

const lines = (l: string[]): Answer => ({ kind: 'lines', lines: l });

/** The answer to `line`, or undefined for an empty line (the prompt comes back alone). */
export function answerLine(line: string, views: ConsoleViews, nowMs: number): Answer | undefined {
  if (line.length > MAX_LINE_CHARS) return lines([`line too long (more than ${MAX_LINE_CHARS} characters): ignored`]);
  const words = line.trim().split(/\s+/).filter((w) => w !== '');
  const word = words[0];
  if (word === undefined) return undefined;
  const args = words.slice(1);
  const usage = (syntax: string): Answer => lines([`usage: ${syntax}`]);
  const withStatus = (f: (s: NonNullable<ReturnType<ConsoleViews['status']>>) => string[]): Answer => {
    const s = views.status();
    return lines(s ? f(s) : NO_AGENT);
  };
  switch (word.toLowerCase()) {
    case 'help': case '?':
      return lines(helpAnswer());
    case 'status':
      if (args.length > 0) return usage('status');
      return withStatus((s) => statusAnswer(s, nowMs));
    case 'buffer':
      if (args.length > 0) return usage('buffer');
      return withStatus((s) => bufferAnswer(s, nowMs));
    case 'uplink':
      if (args.length > 0) return usage('uplink');
      return withStatus((s) => uplinkAnswer(s, nowMs));
    case 'sources':
      if (args.length > 0) return usage('sources');
      return withStatus((s) => sourcesAnswer(s, views.sources(), views.readings, nowMs));
    case 'last': {
      if (args.length > 1) return usage('last [source]');
      const source = args[0];
      if (source !== undefined && !views.sources().some((s) => s.id === source)) return unknownSource(source, views);
      return lines(lastAnswer(views.lastValues(source), nowMs, source));
    }
    case 'key': {
      if (args.length > 0) return usage('key');
      const pub = views.publicKey();
      return pub ? withStatus((s) => keyAnswer(s.key.kid, pub)) : lines(NO_AGENT);
    }
    case 'config': {
      if (args.length > 0) return usage('config');
      const view = views.config();
      return lines(view ? configAnswer(view) : NO_AGENT);
    }
    case 'log': {
      const max = views.logCapacity;
      const n = args[0] === undefined ? DEFAULT_LOG_LINES : Number(args[0]);
      if (args.length > 1 || !Number.isInteger(n) || n < 1 || n > max) return usage(`log [n]  (n from 1 to ${max}, default ${DEFAULT_LOG_LINES})`);
      return lines(logAnswer(views.log(n)));
    }
    case 'monitor': {
      const syntax = `monitor <source> [seconds]  (seconds from 1 to ${MAX_MONITOR_S}, default ${DEFAULT_MONITOR_S})`;
      const source = args[0];
      const seconds = args[1] === undefined ? DEFAULT_MONITOR_S : Number(args[1]);
      if (source === undefined || args.length > 2 || !(seconds >= 1 && seconds <= MAX_MONITOR_S)) return usage(syntax);
      if (!views.sources().some((s) => s.id === source)) return unknownSource(source, views);
      return { kind: 'monitor', source, seconds };
    }
    default:
      return lines([`unknown command: ${escapeShort(word, 40)} (try help)`]);
  }
}

function unknownSource(source: string, views: ConsoleViews): Answer {
  const known = views.sources().map((s) => s.id).join(', ') || 'none';
  return lines([`unknown source: ${escapeShort(source, 40)} (sources: ${known})`]);
}
