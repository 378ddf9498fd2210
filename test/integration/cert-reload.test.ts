// TLS client certificate rotation without a restart: the real agent against
// Mosquitto with require_certificate and use_identity_as_username (so the
// broker's log names the certificate each connection used). The client cert
// and key files are replaced with a newly issued pair (openssl); the agent
// reconnects with it, and no reading is lost.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, constants, copyFileSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { VerifyEvent } from '../../agent/verify/chain.js';
import { subscribeVerifier } from '../../agent/verify/subscribe.js';
import { prepareDevice } from '../peers/agent-process.js';
import { startMosquitto } from '../peers/mosquitto.js';
import { createPtyPair } from '../peers/socat.js';
import { tempDir, waitFor } from '../helpers.js';
import { startRun, type RunProcess } from '../ota/fixtures.js';

const DEV = 'cert-1';

/** A throwaway CA, a server certificate for 127.0.0.1, and client certificates with the given CNs. */
function makePki(dir: string, clients: string[]): { ca: string; serverCert: string; serverKey: string; client(cn: string): { cert: string; key: string } } {
  const p = (f: string): string => join(dir, f);
  const ossl = (...args: string[]): void => { execFileSync('openssl', args, { stdio: 'pipe' }); };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl('req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '1', '-subj', '/CN=tapwire-test-ca');
  const issue = (name: string, cn: string, ext: string): void => {
    ossl('req', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}`);
    writeFileSync(p(`${name}.ext`), ext + '\n');
    ossl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
      '-out', p(`${name}.pem`), '-days', '1', '-extfile', p(`${name}.ext`));
    chmodSync(p(`${name}.key`), 0o600);
  };
  issue('server', 'tapwire-test-server', 'subjectAltName=IP:127.0.0.1');
  for (const cn of clients) issue(cn, cn, 'extendedKeyUsage=clientAuth');
  return { ca: p('ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key'), client: (cn) => ({ cert: p(`${cn}.pem`), key: p(`${cn}.key`) }) };
}

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
  const pty = await createPtyPair();
  const fd = openSync(pty.peerPath, constants.O_RDWR | constants.O_NOCTTY);
  const cert = join(dir.path, 'client.pem');
  const key = join(dir.path, 'client.key');
  replaceFile(pki.client('tapwire-cert-a').cert, cert, 0o644);
  replaceFile(pki.client('tapwire-cert-a').key, key, 0o600);
  const stateDir = join(dir.path, 'state');
  const configPath = join(dir.path, 'config.json');
  const publicKey = prepareDevice(configPath, {
    device: DEV, stateDir,
    uplink: { url: broker.url, protocolVersion: 5, ca: pki.ca, cert, key, reconnect: { initialMs: 100, maxMs: 500 } },
    batch: { maxRecords: 5, maxAgeMs: 50 },
    journal: { fsyncIntervalMs: 20 },
    sources: [{ id: 'x', type: 'lines', port: { path: pty.agentPath, baudRate: 115200 }, decoder: { type: 'kv' } }],
  });
  const events: VerifyEvent[] = [];
  const v = pki.client('verifier');
  const verifier = subscribeVerifier({
    url: broker.url, device: DEV, publicKeys: [publicKey], protocolVersion: 5,
    ca: readFileSync(pki.ca), cert: readFileSync(v.cert), key: readFileSync(v.key),
  }, (e) => { if (e.kind !== 'status') events.push(e); });
  const values = (): number[] => events.flatMap((e) => (e.kind === 'batch' ? e.readings.map((r) => r.v!) : []));
  let agent: RunProcess | undefined;
  try {
    await verifier.ready;
    agent = await startRun(configPath, ['--file-poll', '200']);
    await waitFor(() => broker.log().includes(`as tapwire-${DEV} `) && broker.log().includes("u'tapwire-cert-a'"), 10_000, 'agent connected with certificate a');
    for (let n = 1; n <= 20; n++) writeSync(fd, `n=${n}\n`);
    await waitFor(() => values().includes(20), 10_000, 'readings over TLS');

    replaceFile(pki.client('tapwire-cert-b').key, key, 0o600);
    replaceFile(pki.client('tapwire-cert-b').cert, cert, 0o644);
    await waitFor(() => broker.log().includes("u'tapwire-cert-b'"), 15_000, `agent reconnected with certificate b\n${broker.log().slice(-2000)}`);
    await agent.waitLine(/credential files changed: reconnecting/, 1000);
    for (let n = 21; n <= 40; n++) writeSync(fd, `n=${n}\n`);
    await waitFor(() => values().includes(40), 10_000, 'readings after the reload');
    assert.equal([...new Set(values())].sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 1), 'no reading lost');
    assert.is(await agent.stop(), 0);
    agent = undefined;
    const s = verifier.summary();
    assert.ok(s.complete, JSON.stringify(s));
    const connects = broker.log().split('\n').filter((l) => l.includes(`as tapwire-${DEV} `));
    assert.ok(connects.at(-1)!.includes("u'tapwire-cert-b'"), `last connection used the new certificate: ${connects.join('\n')}`);
  } finally {
    if (agent) await agent.kill9();
    await verifier.close();
    closeSync(fd);
    await pty.close();
    await broker.close();
    dir.remove();
  }
});

test.run();
