// One terminal session on the console port: node:readline in terminal mode
// does what screen, picocom and minicom expect — echo, backspace, CR / LF /
// CRLF, CRLF output, the prompt, history with the arrow keys. The session
// never ends by a key: Ctrl-C (SIGINT) cancels the line, a `close` (Ctrl-D
// on an empty line, should one get through) and SIGTSTP (Ctrl-Z; without a
// listener readline would stop the whole agent process) do nothing but give
// a fresh line. readline's interface is dead after `close`, so a new one is
// made on the same streams, keeping the history.

import { createInterface, type Interface } from 'node:readline';
import { PassThrough, Writable } from 'node:stream';
import { escapeText } from '../escape.js';

export interface TerminalOptions {
  prompt: string;
  /** Bytes for the console port. */
  write(text: string): void;
  /** A complete line was entered. */
  onLine(line: string): void;
  /** Ctrl-C: the line was cancelled (the console may also stop a monitor). */
  onInterrupt(): void;
}

export interface TerminalSession {
  /** Bytes from the console port (already through the input gate). */
  input(bytes: Uint8Array): void;
  /** Answer lines: each escaped, each ended with CRLF. */
  print(lines: readonly string[]): void;
  /** The prompt on a fresh line (after an answer). */
  prompt(): void;
  /** Prompt and the line typed so far again, in place (a terminal attached late missed them). */
  redraw(): void;
  close(): void;
}

const HISTORY_SIZE = 50;
// readline lays out long lines by this width; serial terminals are 80 wide unless told otherwise
const COLUMNS = 80;

export function createTerminalSession(opts: TerminalOptions): TerminalSession {
  const input = new PassThrough();
  const output = Object.assign(new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      opts.write(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      cb();
    },
    decodeStrings: false,
  }), { columns: COLUMNS });
  let history: string[] = [];
  let rl: Interface;
  let closed = false;
  let replacing = false;

  function open(): void {
    rl = createInterface({
      input, output, terminal: true, prompt: opts.prompt, history: [...history],
      historySize: HISTORY_SIZE, removeHistoryDuplicates: true, tabSize: 4,
    });
    rl.on('history', (h: string[]) => { history = [...h]; });
    rl.on('line', (line: string) => opts.onLine(line));
    rl.on('SIGINT', () => {
      opts.write('^C\r\n');
      replace(); // the cancelled line is gone with the old interface
      opts.onInterrupt();
    });
    rl.on('SIGTSTP', () => { /* Ctrl-Z: nothing (never suspend the agent) */ });
    rl.on('close', () => {
      if (closed || replacing) return;
      opts.write('\r\n');
      replace();
      rl.prompt();
    });
  }

  function replace(): void {
    replacing = true;
    try { rl.close(); } finally { replacing = false; }
    open();
  }

  open();
  return {
    input(bytes) {
      if (!closed && bytes.length > 0) input.write(bytes);
    },
    print(lines) {
      if (closed || lines.length === 0) return;
      opts.write(lines.map((l) => `${escapeText(l)}\r\n`).join(''));
    },
    prompt() { if (!closed) rl.prompt(); },
    redraw() { if (!closed) rl.prompt(true); },
    close() {
      if (closed) return;
      closed = true;
      rl.close();
      input.destroy();
      output.destroy();
    },
  };
}
