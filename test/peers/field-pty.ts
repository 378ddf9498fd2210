// The pty fixture: a socat pty pair (peers/socat.ts) whose agent end the code
// under test opens, and whose far end the test holds open as the field device
// (a plain file descriptor: write to it, or read what the agent sent).

import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { createPtyPair, type PtyPair, type PtyPairOptions } from './socat.js';

export interface FieldPty extends PtyPair {
  /** The far end, open read-write (non-blocking if asked). */
  fd: number;
  /** Writes `data` into the far end as the field device would. */
  write(data: string | Uint8Array): void;
}

export async function openFieldPty(opts: PtyPairOptions & { nonBlocking?: boolean } = {}): Promise<FieldPty> {
  const pty = await createPtyPair(opts.dir === undefined ? {} : { dir: opts.dir });
  const fd = openSync(pty.peerPath, constants.O_RDWR | constants.O_NOCTTY | (opts.nonBlocking ? constants.O_NONBLOCK : 0));
  let open = true;
  const closeFd = (): void => { if (open) closeSync(fd); open = false; };
  return {
    agentPath: pty.agentPath, peerPath: pty.peerPath, fd,
    write: (data) => { if (typeof data === 'string') writeSync(fd, data); else writeSync(fd, data); },
    async unplug() { closeFd(); await pty.unplug(); },
    async close() { closeFd(); await pty.close(); },
  };
}
