// hal/serial-node on a real kernel pty pair (socat), driven through the real
// serialport binding; the field side is a plain file descriptor on the peer pty.

import { test } from 'uvu';
import { readSync } from 'node:fs';
import { nodeSerial } from '../../hal/serial-node.js';
import { openFieldPty } from '../peers/field-pty.js';
import { serialContract } from '../hal/serial-contract.js';

serialContract(test, async () => {
  const pty = await openFieldPty({ nonBlocking: true });
  const got: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  const drain = (): void => {
    for (;;) {
      try { const n = readSync(pty.fd, buf, 0, buf.length, null); if (n <= 0) return; got.push(Buffer.from(buf.subarray(0, n))); }
      catch { return; } // EAGAIN: nothing more right now
    }
  };
  const poll = setInterval(drain, 5);
  return {
    factory: nodeSerial,
    opts: { path: pty.agentPath, baudRate: 9600 },
    field: {
      async send(d) { pty.write(d); },
      received: () => { drain(); return Buffer.concat(got); },
      async unplug() { clearInterval(poll); await pty.unplug(); },
    },
    async teardown() { clearInterval(poll); await pty.close(); },
  };
});

test.run();
