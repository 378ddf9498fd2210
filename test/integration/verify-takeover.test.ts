// Two verifiers left on one (persistent) client id take the session from each
// other and neither sees the stream: the verifier says so, once, with the way
// out (--client-id). A real broker (aedes, MQTT 3.1.1: it just closes the
// connection of the client whose session was taken over).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { subscribeVerifier, type VerifierSession } from '../../agent/verify/subscribe.js';
import { startAedes } from '../peers/aedes.js';
import { waitFor } from '../helpers.js';

const KEY = new Uint8Array(32).fill(7);

function verifier(url: string, clientId: string | undefined, warnings: string[]): VerifierSession {
  return subscribeVerifier({ url, device: 'fight-1', publicKeys: [KEY], protocolVersion: 4, ...(clientId ? { clientId } : {}) },
    () => undefined, (err) => warnings.push(err.message));
}

test('two verifiers on the default client id: the session fight is told, naming the id and --client-id', async () => {
  const broker = await startAedes();
  const warnings: string[] = [];
  const a = verifier(broker.url, undefined, warnings);
  await a.ready;
  const b = verifier(broker.url, undefined, warnings);
  try {
    await waitFor(() => warnings.length > 0, 30_000, 'a warning about the session fight');
    assert.match(warnings[0]!, /client id tapwire-verify-fight-1/);
    assert.match(warnings[0]!, /--client-id/);
  } finally {
    await a.close();
    await b.close();
    await broker.close();
  }
});

test('two verifiers with their own client ids: both stay connected, nothing is told', async () => {
  const broker = await startAedes();
  const warnings: string[] = [];
  const a = verifier(broker.url, 'verify-a', warnings);
  const b = verifier(broker.url, 'verify-b', warnings);
  try {
    await Promise.all([a.ready, b.ready]);
    // as long as a fight takes to be told above (three reconnects, one second apart)
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(warnings, []);
  } finally {
    await a.close();
    await b.close();
    await broker.close();
  }
});

test.run();
