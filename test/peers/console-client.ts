// The technician's end of the local console: opens the far end of a pty pair
// with the real serialport binding (as picocom would open a USB-serial
// adapter), types lines and reads the answers between the echo and the next
// prompt. Cursor codes readline draws with are stripped for reading.

import { nodeSerial } from '../../hal/serial-node.js';
import type { SerialPort } from '../../hal/serial.js';
import { waitFor } from '../helpers.js';

// eslint-disable-next-line no-control-regex
const CSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

export interface ConsoleClient {
  /** Everything received so far, as sent (with cursor codes). */
  raw(): string;
  /** Everything received so far, cursor codes removed. */
  text(): string;
  send(data: string | Uint8Array): Promise<void>;
  /** Waits until the text received since `from` (a text().length) matches. */
  waitFor(what: RegExp | string, from?: number, timeoutMs?: number): Promise<string>;
  /** Types `line` and Enter; resolves with the answer's lines (between the echo and the next prompt). */
  ask(line: string, timeoutMs?: number): Promise<string[]>;
  close(): Promise<void>;
}

export async function openConsoleClient(path: string, prompt: string, baudRate = 115200): Promise<ConsoleClient> {
  const port: SerialPort = nodeSerial.openReadWrite({ path, baudRate });
  let raw = '';
  port.onData((chunk) => { raw += chunk.toString('utf8'); });
  port.onClose(() => undefined);
  await port.open();
  const text = (): string => raw.replace(CSI, '');
  const client: ConsoleClient = {
    raw: () => raw,
    text,
    send: (data) => port.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data),
    async waitFor(what, from = 0, timeoutMs = 10_000) {
      const test = (s: string): boolean => (typeof what === 'string' ? s.includes(what) : what.test(s));
      await waitFor(() => test(text().slice(from)), timeoutMs, `console output ${String(what)}; got:\n${text().slice(from).slice(-2000)}`);
      return text().slice(from);
    },
    async ask(line, timeoutMs = 10_000) {
      const from = text().length;
      await client.send(`${line}\r`);
      const ended = (s: string): boolean => {
        const echoEnd = s.indexOf('\r\n');
        return echoEnd >= 0 && s.endsWith(prompt) && s.length > echoEnd + 2 + prompt.length - 1;
      };
      await waitFor(() => ended(text().slice(from)), timeoutMs, `the answer to ${JSON.stringify(line)}; got:\n${text().slice(from).slice(-2000)}`);
      const s = text().slice(from);
      const body = s.slice(s.indexOf('\r\n') + 2, s.length - prompt.length);
      return body === '' ? [] : body.replace(/\r\n$/, '').split('\r\n');
    },
    close: () => port.close(),
  };
  return client;
}
