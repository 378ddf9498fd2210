// The uplink against a real mosquitto process: MQTT 5, a broker outage and
// restart on the same port, refused credentials, insecure secret files, TLS
// with a client certificate.

import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { UplinkOptions } from '../../agent/uplink/uplink.js';
import { startMosquitto, type MosquittoPeer } from '../peers/mosquitto.js';
import { rawSubscriber } from '../peers/cloud.js';
import { makePki } from '../peers/pki.js';
import { createUplinkRig, type UplinkRig } from '../peers/uplink-rig.js';
import { tempDir, waitFor } from '../helpers.js';
import { recordBytes, seqOf } from '../uplink/fake-journal.js';

const DEVICE = 'meter-3';
const DATA = `tapwire/${DEVICE}/data`;

function setup(url: string, over: Partial<UplinkOptions> = {}): UplinkRig & { sentPerClient: number[][] } {
  /** Data seqs as the uplink wrote them to the wire, one list per mqtt connection. */
  const sentPerClient: number[][] = [];
  const rig = createUplinkRig({ device: DEVICE, url, protocolVersion: 5, reconnect: { initialMs: 200, maxMs: 1000 }, ...over }, (c) => {
    const sent: number[] = [];
    sentPerClient.push(sent);
    c.on('packetsend', (p) => { if (p.cmd === 'publish' && p.topic === DATA) sent.push(seqOf(p.payload as Buffer)); });
  });
  return { ...rig, sentPerClient };
}

/** An MQTT 5 subscriber with a persistent session, so it misses nothing across a broker restart; `seqs()`: what it got. */
async function subscriber(url: string): Promise<{ seqs(): number[]; end(): Promise<void> }> {
  const sub = await rawSubscriber(url, DATA, { protocolVersion: 5, session: `verifier-${process.pid}` });
  return { seqs: () => sub.got.map((m) => seqOf(m.payload)), end: () => sub.end() };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('MQTT 5: records are published in seq order, PUBACKed, and committed to the end', async () => {
  const broker = await startMosquitto();
  const sub = await subscriber(broker.url);
  const { journal, uplink, lines } = setup(broker.url);
  try {
    for (let i = 1; i <= 100; i++) journal.append(recordBytes(i));
    await uplink.start();
    await waitFor(() => journal.committedSeq() === 100, 10_000, 'committed 100');
    await waitFor(() => sub.seqs().length >= 100, 5000, 'subscriber got 100');
    assert.equal(sub.seqs(), range(1, 100));
    assert.ok(lines.some((l) => l.startsWith('info uplink connected') && l.includes('mqtt=5')), lines.join('\n'));
  } finally {
    await uplink.stop();
    await sub.end();
    await broker.close();
  }
});

test('broker outage: stopped mid-stream and restarted on the same port, every record arrives, resends start at the committed offset, order kept per connection', async () => {
  const broker: MosquittoPeer = await startMosquitto({ persistence: true });
  const sub = await subscriber(broker.url);
  const { journal, uplink, counters, sentPerClient } = setup(broker.url);
  const N = 400;
  // the field keeps producing during the outage: 10 records every 25 ms
  const producer = setInterval(() => {
    for (let i = 0; i < 10 && journal.records.length < N; i++) journal.append(recordBytes(journal.records.length + 1));
    if (journal.records.length >= N) clearInterval(producer);
  }, 25);
  try {
    await uplink.start();
    await waitFor(() => journal.committedSeq() >= 100, 10_000, 'streaming under way');
    const stoppedAt = Date.now();
    await broker.stop();
    await waitFor(() => !uplink.state().connected, 5000, 'uplink sees the outage');
    const committedAtDrop = journal.committedSeq();
    const publishedAtDrop = uplink.state().publishedSeq;
    // the broker stays away while the uplink retries (and fails) at least twice
    const failuresBefore = counters.get('uplink.connect_failures');
    await waitFor(() => counters.get('uplink.connect_failures') >= failuresBefore + 2, 10_000, 'failed reconnects');
    // an outage of about 2 s (the fault's length, not an assertion on speed)
    await new Promise((r) => setTimeout(r, Math.max(0, 2000 - (Date.now() - stoppedAt))));
    assert.is(journal.committedSeq(), committedAtDrop, 'nothing commits while the broker is down');
    await broker.start();
    await waitFor(() => journal.committedSeq() === N, 15_000, `committed ${N}`);
    await waitFor(() => new Set(sub.seqs()).size === N, 10_000, 'subscriber has every record');

    // every record arrived, first-seen in seq order
    const got = sub.seqs();
    const firstSeen = got.filter((s, i) => got.indexOf(s) === i);
    assert.equal(firstSeen, range(1, N));
    // our sends: ascending within each connection
    const conns = sentPerClient.filter((s) => s.length > 0);
    assert.ok(conns.length >= 2, `sent on ${conns.length} connections`);
    for (const s of conns) assert.ok(s.every((v, i) => i === 0 || v > s[i - 1]!), `out of order on one connection: ${s.join(',')}`);
    // the next connection resumed right after the committed offset
    assert.is(conns[1]![0], committedAtDrop + 1);
    // duplicates only for what had been sent but not PUBACKed when the broker went away
    const count = new Map<number, number>();
    for (const v of conns.flat()) count.set(v, (count.get(v) ?? 0) + 1);
    const dups = [...count].filter(([, n]) => n > 1).map(([v]) => v);
    assert.ok(dups.every((v) => v > committedAtDrop && v <= publishedAtDrop), `duplicates ${dups.join(',')} outside (${committedAtDrop}, ${publishedAtDrop}]`);
    assert.equal([...count.keys()].sort((a, b) => a - b), range(1, N));
    assert.is(uplink.state().ackedSeq, N);
  } finally {
    clearInterval(producer);
    await uplink.stop();
    await sub.end();
    await broker.close();
  }
});

test('wrong password: refused, logged as "connect refused: not authorized", retried with backoff (no storm); the right one connects', async () => {
  const broker = await startMosquitto({ allowAnonymous: false, users: { agent: 'right-horse-battery' } });
  const dir = tempDir();
  const wrong = join(dir.path, 'wrong');
  writeFileSync(wrong, 'wrong-horse\n', { mode: 0o600 });
  const right = join(dir.path, 'right');
  writeFileSync(right, 'right-horse-battery\n', { mode: 0o600 });
  const bad = setup(broker.url, { username: 'agent', passwordFile: wrong, reconnect: { initialMs: 200, maxMs: 30_000 } });
  const good = setup(broker.url, { username: 'agent', passwordFile: right, clientId: 'tapwire-good' });
  try {
    const t0 = Date.now();
    await bad.uplink.start();
    await waitFor(() => bad.counters.get('uplink.connect_refused') >= 3, 5000, 'three refusals');
    // observe a fixed window: a storm would make hundreds of attempts in it
    await new Promise((r) => setTimeout(r, Math.max(0, 2500 - (Date.now() - t0))));
    const n = bad.attempts();
    assert.ok(n >= 3 && n <= 10, `${n} attempts in 2.5 s`);
    const refused = bad.lines.filter((l) => l.startsWith('error uplink connect refused: not authorized'));
    assert.ok(refused.length >= 3, bad.lines.join('\n'));
    assert.is(bad.uplink.state().connected, false);
    assert.is(bad.uplink.state().lastError, 'connect refused: not authorized');
    assert.not.match(bad.lines.join('\n'), /horse/, 'no password in the log');

    good.journal.append(recordBytes(1));
    await good.uplink.start();
    await waitFor(() => good.journal.committedSeq() === 1, 5000, 'the right password works');
  } finally {
    await bad.uplink.stop();
    await good.uplink.stop();
    dir.remove();
    await broker.close();
  }
});

test('a client key or password file readable by others (0644) is refused before any connection', async () => {
  const broker = await startMosquitto();
  const dir = tempDir();
  try {
    const pw = join(dir.path, 'pw');
    writeFileSync(pw, 'secret\n');
    chmodSync(pw, 0o644);
    const a = setup(broker.url, { username: 'agent', passwordFile: pw });
    const errA = await a.uplink.start().then(() => undefined, (e: unknown) => e);
    assert.is((errA as { code?: string } | undefined)?.code, 'ERR_SECRET_FILE_MODE');
    assert.match((errA as Error).message, /uplink\.passwordFile.*0644/);
    assert.is(a.attempts(), 0);

    const cert = join(dir.path, 'client.pem');
    const key = join(dir.path, 'client.key');
    writeFileSync(cert, 'CERT');
    writeFileSync(key, 'KEY');
    chmodSync(key, 0o644);
    const b = setup(broker.url.replace('mqtt:', 'mqtts:'), { cert, key });
    const errB = await b.uplink.start().then(() => undefined, (e: unknown) => e);
    assert.is((errB as { code?: string } | undefined)?.code, 'ERR_SECRET_FILE_MODE');
    assert.match((errB as Error).message, /uplink\.key.*0644/);
    assert.is(b.attempts(), 0);
  } finally {
    dir.remove();
    await broker.close();
  }
});

test('TLS with a client certificate: mqtts publishes and commits; without the certificate the broker refuses and the uplink backs off', async () => {
  const dir = tempDir();
  const pki = makePki(dir.path, ['tapwire-test-client']);
  const client = pki.client('tapwire-test-client');
  const broker = await startMosquitto({ tls: { cafile: pki.ca, certfile: pki.serverCert, keyfile: pki.serverKey, requireCertificate: true } });
  const ok = setup(broker.url, { ca: pki.ca, cert: client.cert, key: client.key });
  const noCert = setup(broker.url, { ca: pki.ca, clientId: 'tapwire-nocert' });
  try {
    assert.match(broker.url, /^mqtts:\/\//);
    for (let i = 1; i <= 20; i++) ok.journal.append(recordBytes(i));
    await ok.uplink.start();
    await waitFor(() => ok.journal.committedSeq() === 20, 10_000, 'committed over TLS');
    assert.not.ok(ok.lines.some((l) => l.includes('nothing is encrypted')), 'no plaintext warning for mqtts');

    noCert.journal.append(recordBytes(1));
    await noCert.uplink.start();
    await waitFor(() => noCert.attempts() >= 2, 5000, 'a retry');
    assert.is(noCert.uplink.state().connected, false);
    assert.is(noCert.journal.committedSeq(), 0);
    assert.ok(noCert.lines.some((l) => l.startsWith('warn uplink connect failed') && l.includes('certificate required')), noCert.lines.join('\n'));
  } finally {
    await ok.uplink.stop();
    await noCert.uplink.stop();
    await broker.close();
    dir.remove();
  }
});

test.run();
