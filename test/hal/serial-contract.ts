// One contract suite for hal/serial, run against the double (unit) and the
// real serialport binding on a socat pty pair (integration).

import * as assert from 'uvu/assert';
import type { PortOptions, SerialFactory } from '../../hal/serial.js';
import { waitFor } from '../helpers.js';

export interface FieldSide {
  /** Send bytes from the field into the agent's port. */
  send(data: Buffer): Promise<void>;
  /** Bytes the field side has received from the agent so far. */
  received(): Buffer;
  /** Make the port vanish. */
  unplug(): Promise<void>;
}

export interface ContractSetup {
  factory: SerialFactory;
  opts: PortOptions;
  field: FieldSide;
  teardown(): Promise<void>;
}

type Test = (name: string, fn: () => Promise<void>) => void;

export function serialContract(test: Test, setup: () => Promise<ContractSetup>): void {
  test('read-only port delivers field bytes and has no write method', async () => {
    const s = await setup();
    try {
      const port = s.factory.openReadOnly(s.opts);
      assert.not.ok('write' in port, 'read-only port must not expose write');
      await port.open();
      assert.ok(port.isOpen);
      const chunks: Buffer[] = [];
      port.onData((c) => chunks.push(c));
      await s.field.send(Buffer.from('temp=21.5\n'));
      await waitFor(() => Buffer.concat(chunks).toString() === 'temp=21.5\n', 3000, 'field bytes');
      await port.close();
      assert.not.ok(port.isOpen);
      assert.is(s.field.received().length, 0, 'a read-only port never writes');
    } finally { await s.teardown(); }
  });

  test('read-write port sends bytes that reach the field side', async () => {
    const s = await setup();
    try {
      const port = s.factory.openReadWrite(s.opts);
      await port.open();
      await port.write(Uint8Array.from([0x01, 0x03, 0x00, 0x00, 0x00, 0x01, 0x84, 0x0a]));
      await waitFor(() => s.field.received().length === 8, 3000, 'bytes at the field side');
      assert.equal([...s.field.received()], [0x01, 0x03, 0x00, 0x00, 0x00, 0x01, 0x84, 0x0a]);
      await port.close();
    } finally { await s.teardown(); }
  });

  test('unplugging the port reports a close with an error', async () => {
    const s = await setup();
    try {
      const port = s.factory.openReadOnly(s.opts);
      await port.open();
      let closedWith: Error | undefined | 'none' = 'none';
      port.onClose((e) => { closedWith = e; });
      await s.field.unplug();
      await waitFor(() => closedWith !== 'none', 5000, 'close after unplug');
      assert.instance(closedWith, Error);
    } finally { await s.teardown(); }
  });

  test('opening a missing port rejects with the path in the message', async () => {
    const s = await setup();
    try {
      const port = s.factory.openReadOnly({ ...s.opts, path: s.opts.path + '-missing' });
      if ('ports' in s.factory) {
        // the double cannot know what is missing: make it fail like the OS would
        const ports = (s.factory as { ports: Map<string, { failOpen?: string }> }).ports;
        const d = ports.get(s.opts.path + '-missing');
        if (d) d.failOpen = 'No such file or directory';
      }
      const err = await port.open().then(() => undefined, (e: Error) => e);
      assert.instance(err, Error);
      assert.match(err!.message, s.opts.path + '-missing');
    } finally { await s.teardown(); }
  });
}
