// `tapwire verify` (the real CLI, a real aedes broker) prints a device's
// string reading that carries terminal escapes escaped: no ESC byte reaches
// stdout or stderr, in line output or in --json (which stays valid JSON).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import { createBatchEncoder, ZERO_HASH } from '../../agent/encode/batch.js';
import { createCryptoSigner } from '../../agent/encode/signer.js';
import { deviceTopic } from '../../agent/uplink/topics.js';
import { startAedes } from '../peers/aedes.js';
import { startVerifyProcess } from '../peers/agent-process.js';
import { waitFor } from '../helpers.js';

const DEV = 'esc-1';
const NOTE = '\x1b[31mRED\x1b[0m \u009b2J';
const signer = createCryptoSigner(new Uint8Array(32).fill(9));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

async function publishBatch(url: string): Promise<void> {
  const enc = createBatchEncoder({ device: DEV, signer, clockSynced: () => true, nowMs: () => 0 }, { seq: 0, prev: ZERO_HASH });
  const bytes = enc.encodeReadings([{ name: 'line:note', time: 1_700_000_000, vs: NOTE }]).bytes;
  const client = await mqtt.connectAsync(url, { clientId: 'esc-publisher' });
  try {
    await client.publishAsync(deviceTopic('tapwire', DEV, 'data'), Buffer.from(bytes), { qos: 1 });
  } finally {
    await client.endAsync();
  }
}

for (const mode of ['--lines', '--json'] as const) {
  test(`verify ${mode}: a string reading "\\x1b[31mRED" arrives with no raw control byte on stdout or stderr`, async () => {
    const broker = await startAedes();
    const verify = await startVerifyProcess(['--url', broker.url, '--device', DEV, '--pubkey', hex(signer.publicKey), '--clean', '--count', '1', mode]);
    try {
      await publishBatch(broker.url);
      await waitFor(() => verify.child.exitCode !== null, 20_000, 'verify exits after one reading');
      const code = await verify.exited;
      assert.is(code, 0, verify.stderr());
      const out = verify.stdout();
      assert.not.ok(RAW_CONTROL.test(out), JSON.stringify(out));
      assert.not.ok(RAW_CONTROL.test(verify.stderr()), JSON.stringify(verify.stderr()));
      if (mode === '--json') {
        const reading = verify.lines().find((l) => l.name === 'line:note');
        assert.is(reading?.vs, NOTE, out);
      } else {
        assert.ok(out.includes('line:note = \\x1b[31mRED\\x1b[0m \\x9b2J'), out);
      }
    } finally {
      await verify.stop('SIGKILL');
      await broker.close();
    }
  });
}

test.run();
