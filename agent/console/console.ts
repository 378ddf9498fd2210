// The local console part: serves a read-only terminal on its own serial port
// for a technician with a USB-serial cable (screen, picocom, minicom). It
// holds that port and the read-only views, nothing else: no other port, no
// journal, uplink, key or config store. The port is kept open like a source's
// (unplugged, re-plugged: reopened with backoff) and is refused when it is the
// device of a source. Input is gated and rate-limited here; the data path
// never waits for the console.

import type { Clock } from '../../hal/clock.js';
import type { ReadOnlyPort, SerialPort } from '../../hal/serial.js';
import { consoleClashes } from '../config/console-port.js';
import type { Counters } from '../counters.js';
import { createRateLimitedWarn, type Logger } from '../log.js';
import { createPortKeeper } from '../sources/reopen.js';
import { answerLine, MAX_LINE_CHARS } from './commands.js';
import { createInputGate } from './input-gate.js';
import { createMonitor, type Monitor } from './monitor.js';
import { createTokenBucket } from './rate-limit.js';
import { createTerminalSession, type TerminalSession } from './terminal.js';
import type { ConsoleViews } from './views.js';

export interface ConsoleDeps {
  /** The console's own port: the one port the console writes to. */
  port: SerialPort;
  baudRate: number;
  views: ConsoleViews;
  clock: Clock;
  log: Logger;
  counters: Counters;
}

export interface ConsolePart {
  /** Opens the port (or starts retrying it); resolves after the first attempt. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Input after this long a silence redraws the prompt first: the terminal may have been attached since. */
const REDRAW_AFTER_MS = 10_000;
/** Output waiting for the port at most; beyond it answers are cut (and that is said). */
const MAX_QUEUED_BYTES = 128 * 1024;
// A technician types a few bytes a second and pastes a line at most: 1 KiB/s
// with a 4 KiB burst is generous; binary noise at 115200 bd is mostly dropped.
const INPUT_BYTES = { capacity: 4096, perSecond: 1024 };
const COMMANDS = { capacity: 20, perSecond: 4 };

export function createConsole(deps: ConsoleDeps): ConsolePart {
  const { port, views, clock, counters } = deps;
  const log = deps.log.child('console');
  const warn = createRateLimitedWarn(log, 60_000, () => clock.monotonic());
  const now = (): number => clock.monotonic();
  const gate = createInputGate({ budget: createTokenBucket({ ...INPUT_BYTES, now }), maxLineBytes: MAX_LINE_CHARS + 64 });
  const commandBudget = createTokenBucket({ ...COMMANDS, now });
  const prompt = `${views.device}> `;
  let session: TerminalSession | undefined;
  let monitor: Monitor | undefined;
  let lastInputAt = -Infinity;
  let queued = 0; // bytes handed to the port and not yet written, this session
  let generation = 0; // a write still pending on a port that went away counts no more
  let droppedOutput = 0;
  let ignoredLines = 0;
  let floodTold = false;

  function write(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    if (queued + bytes.length > MAX_QUEUED_BYTES) {
      droppedOutput += bytes.length;
      counters.inc('console.output_dropped_bytes', bytes.length);
      return;
    }
    queued += bytes.length;
    const gen = generation;
    port.write(bytes).catch(() => undefined).finally(() => { if (gen === generation) queued -= bytes.length; });
  }

  function say(lines: string[]): void {
    if (droppedOutput > 0 && queued < MAX_QUEUED_BYTES / 2) {
      session?.print([`(${droppedOutput} bytes of output were cut: the console is slower than the answers)`]);
      droppedOutput = 0;
    }
    session?.print(lines);
  }

  function onLine(line: string): void {
    if (monitor?.running) return;
    if (!commandBudget.take()) {
      ignoredLines++;
      counters.inc('console.lines_ignored');
      if (!floodTold) { floodTold = true; say(['(input too fast: lines are ignored for a moment)']); }
      return;
    }
    if (ignoredLines > 0) {
      say([`(${ignoredLines} lines ignored: input too fast)`]);
      ignoredLines = 0;
    }
    floodTold = false;
    counters.inc('console.commands');
    let answer: ReturnType<typeof answerLine>;
    try {
      answer = answerLine(line, views, clock.now());
    } catch (err) {
      counters.inc('console.errors');
      warn('console command failed', { cause: (err as Error).message });
      answer = { kind: 'lines', lines: [`internal error: ${(err as Error).message}`] };
    }
    if (answer?.kind === 'monitor') { startMonitor(answer.source, answer.seconds); return; }
    if (answer) say(answer.lines);
    session?.prompt();
  }

  function startMonitor(source: string, seconds: number): void {
    const m = createMonitor({
      source, seconds, consoleBaud: deps.baudRate, clock,
      watch: (listener) => views.monitor(source, listener) ?? (() => undefined),
      print: say,
      onEnd: () => { if (monitor === m) monitor = undefined; session?.prompt(); },
    });
    monitor = m;
    m.start();
  }

  function onBytes(chunk: Buffer): void {
    if (!session) return;
    try {
      if (monitor?.running) { monitor.stop('stopped (key pressed)'); return; } // the key is only a stop
      const t = now();
      if (t - lastInputAt >= REDRAW_AFTER_MS) session.redraw();
      lastInputAt = t;
      session.input(gate.filter(chunk));
    } catch (err) {
      counters.inc('console.errors');
      warn('console input failed', { cause: (err as Error).message });
    }
  }

  function openSession(): void {
    closeSession();
    generation++;
    queued = 0;
    lastInputAt = -Infinity;
    session = createTerminalSession({ prompt, write, onLine, onInterrupt: () => session?.prompt() });
    say([`Tapwire console on ${views.device} (read-only diagnostics). Type help.`]);
    session.prompt();
  }

  function closeSession(): void {
    monitor?.stop('ended (console closed)');
    monitor = undefined;
    session?.close();
    session = undefined;
  }

  // The console is never the device of a source: checked at every (re)open, as the
  // running config may have changed since config validation saw it.
  const guarded: ReadOnlyPort = {
    get path() { return port.path; },
    get isOpen() { return port.isOpen; },
    async open() {
      const clash = consoleClashes(port.path, views.sources().map((s) => s.port))[0];
      if (clash) throw new Error(clash.message);
      await port.open();
    },
    close: () => port.close(),
    onData: (l) => port.onData(l),
    onClose: (l) => port.onClose(l),
  };
  port.onData(onBytes);
  port.onClose(() => closeSession());
  const keeper = createPortKeeper(guarded, { counterPrefix: 'console', onOpen: openSession }, { clock, log, counters });

  return {
    async start() {
      await keeper.start();
      log.info('console serving', { path: port.path, baud: deps.baudRate, open: keeper.isOpen });
    },
    async stop() {
      closeSession();
      await keeper.stop();
    },
  };
}
