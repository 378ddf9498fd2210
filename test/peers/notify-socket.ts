// A NOTIFY_SOCKET peer (test/peers/notify_socket.py): what a service manager
// receives from the agent through the real systemd-notify binary.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { waitFor } from '../helpers.js';

const SCRIPT = fileURLToPath(new URL('./notify_socket.py', import.meta.url));

export interface NotifyMessage { pid: number | null; fields: string[] }

/** sd_notify_barrier's own message (its fd is closed by the peer): protocol, not news. */
const BARRIER = 'BARRIER=1';

export interface NotifySocket {
  path: string;
  /** Every datagram received, in order, but the barriers. */
  messages: NotifyMessage[];
  /** BARRIER=1 datagrams received: systemd-notify waited for the manager to read what it sent. */
  barriers(): number;
  /** All fields of all messages, flattened, in order. */
  fields(): string[];
  close(): Promise<void>;
}

export async function startNotifySocket(dir: string): Promise<NotifySocket> {
  const path = join(dir, 'notify.sock');
  const child = spawn('/usr/bin/python3', [SCRIPT, path], { stdio: ['pipe', 'pipe', 'pipe'] });
  const messages: NotifyMessage[] = [];
  let barriers = 0;
  let listening = false;
  let buffered = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, nl)) as NotifyMessage & { listening?: boolean };
      buffered = buffered.slice(nl + 1);
      if (line.listening) listening = true;
      else if (line.fields.length === 1 && line.fields[0] === BARRIER) barriers++;
      else messages.push({ pid: line.pid, fields: line.fields });
    }
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitFor(() => listening || child.exitCode !== null, 10_000, 'the notify socket listening');
  if (!listening) throw new Error(`notify_socket.py failed: ${stderr}`);
  return {
    path,
    messages,
    barriers: () => barriers,
    fields: () => messages.flatMap((m) => m.fields),
    async close() {
      child.stdin.end(); // it ends when stdin closes
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
