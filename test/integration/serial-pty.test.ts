// hal/serial-node on a real kernel pty pair (socat), driven through the real
// serialport binding; the field side is a plain file descriptor on the peer pty.

import { test } from 'uvu';
import { openSync, writeSync, readSync, closeSync, constants } from 'node:fs';
import { nodeSerial } from '../../hal/serial-node.js';
import { createPtyPair } from '../peers/socat.js';
import { serialContract } from '../hal/serial-contract.js';

serialContract(test, async () => {
  const pty = await createPtyPair();
  const fd = openSync(pty.peerPath, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  const got: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  const drain = (): void => {
    for (;;) {
      try { const n = readSync(fd, buf, 0, buf.length, null); if (n <= 0) return; got.push(Buffer.from(buf.subarray(0, n))); }
      catch { return; } // EAGAIN: nothing more right now
    }
  };
  const poll = setInterval(drain, 5);
  let fdOpen = true;
  return {
    factory: nodeSerial,
    opts: { path: pty.agentPath, baudRate: 9600 },
    field: {
      async send(d) { writeSync(fd, d); },
      received: () => { drain(); return Buffer.concat(got); },
      async unplug() { clearInterval(poll); closeSync(fd); fdOpen = false; await pty.unplug(); },
    },
    async teardown() { clearInterval(poll); if (fdOpen) closeSync(fd); await pty.close(); },
  };
});

test.run();
