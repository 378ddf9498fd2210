// TLS client certificate rotation without a restart: the real agent against
// Mosquitto with require_certificate and use_identity_as_username (so the
// broker's log names the certificate each connection used). The client cert
// and key files are replaced with a newly issued pair (openssl); the agent
// reconnects with it, and no reading is lost.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, copyFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentProcess } from '../peers/agent-process.js';
import { startDeviceRig } from '../peers/device-rig.js';
import { startMosquitto } from '../peers/mosquitto.js';
import { makePki } from '../peers/pki.js';
import { tempDir, waitFor } from '../helpers.js';

const DEV = 'cert-1';

/** Replaces `dest` atomically with a copy of `src` (as a certificate renewal tool does), keeping `mode`. */
function replaceFile(src: string, dest: string, mode: number): void {
  copyFileSync(src, dest + '.new');
  chmodSync(dest + '.new', mode);
  renameSync(dest + '.new', dest);
}

test('client certificate and key replaced by a newly issued pair: the agent reconnects with it (require_certificate), no reading lost', async () => {
  const dir = tempDir('tapwire-cert-');
  const pki = makePki(dir.path, ['tapwire-cert-a', 'tapwire-cert-b', 'verifier']);
  const broker = await startMosquitto({
    tls: { cafile: pki.ca, certfile: pki.serverCert, keyfile: pki.serverKey, requireCertificate: true, useIdentityAsUsername: true },
  });
  const cert = join(dir.path, 'client.pem');
  const key = join(dir.path, 'client.key');
  replaceFile(pki.client('tapwire-cert-a').cert, cert, 0o644);
  replaceFile(pki.client('tapwire-cert-a').key, key, 0o600);
  const r = await startDeviceRig({
    url: broker.url, device: DEV, protocolVersion: 5,
    uplink: { ca: pki.ca, cert, key, reconnect: { initialMs: 100, maxMs: 500 } },
    batch: { maxRecords: 5, maxAgeMs: 50 },
    journal: { fsyncIntervalMs: 20 },
    source: { id: 'x' },
    cloud: { tls: { ca: pki.ca, ...pki.client('verifier') } },
  });
  const values = (): number[] => r.cloud.values('x:n');
  let agent: AgentProcess;
  try {
    agent = await r.startAgent({ args: ['--file-poll', '200'] });
    await waitFor(() => broker.log().includes(`as tapwire-${DEV} `) && broker.log().includes("u'tapwire-cert-a'"), 10_000, 'agent connected with certificate a');
    for (let n = 1; n <= 20; n++) r.write(`n=${n}`);
    await waitFor(() => values().includes(20), 10_000, 'readings over TLS');

    replaceFile(pki.client('tapwire-cert-b').key, key, 0o600);
    replaceFile(pki.client('tapwire-cert-b').cert, cert, 0o644);
    await waitFor(() => broker.log().includes("u'tapwire-cert-b'"), 15_000, `agent reconnected with certificate b\n${broker.log().slice(-2000)}`);
    await agent.waitLine(/credential files changed: reconnecting/, 1000);
    for (let n = 21; n <= 40; n++) r.write(`n=${n}`);
    await waitFor(() => values().includes(40), 10_000, 'readings after the reload');
    assert.equal([...new Set(values())].sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 1), 'no reading lost');
    assert.is(await agent.stop(), 0);
    const s = r.cloud.summary();
    assert.ok(s.complete, JSON.stringify(s));
    const connects = broker.log().split('\n').filter((l) => l.includes(`as tapwire-${DEV} `));
    assert.ok(connects.at(-1)!.includes("u'tapwire-cert-b'"), `last connection used the new certificate: ${connects.join('\n')}`);
  } finally {
    await r.close();
    await broker.close();
    dir.remove();
  }
});

test.run();
