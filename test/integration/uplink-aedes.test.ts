// The uplink against aedes, a real (in-process) MQTT 3.1.1 broker.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { UplinkOptions } from '../../agent/uplink/uplink.js';
import { startAedes, type AedesPeer } from '../peers/aedes.js';
import { rawSubscriber, type RawSubscriber } from '../peers/cloud.js';
import { createUplinkRig, type UplinkRig } from '../peers/uplink-rig.js';
import { waitFor } from '../helpers.js';
import { recordBytes, seqOf } from '../uplink/fake-journal.js';

const DEVICE = 'pump-7';
const STATUS = `tapwire/${DEVICE}/status`;
const DATA = `tapwire/${DEVICE}/data`;

const setup = (broker: AedesPeer, over: Partial<UplinkOptions> = {}): UplinkRig =>
  createUplinkRig({ device: DEVICE, url: broker.url, protocolVersion: 4, reconnect: { initialMs: 200, maxMs: 2000 }, ...over });

/** A plain MQTT 3.1.1 subscriber on the same broker. */
const subscriber = (url: string, topic: string): Promise<RawSubscriber> => rawSubscriber(url, topic, { protocolVersion: 4 });

test('N records are published in seq order to <prefix>/<dev>/data, all PUBACKed, and the journal commits the last', async () => {
  const broker = await startAedes();
  const { journal, uplink } = setup(broker, { inflight: 8 });
  try {
    for (let i = 1; i <= 150; i++) journal.append(recordBytes(i));
    await uplink.start();
    for (let i = 151; i <= 300; i++) journal.append(recordBytes(i)); // more arrive while streaming
    await waitFor(() => journal.committedSeq() === 300, 10_000, 'committed 300');
    const data = broker.published.filter((m) => m.topic === DATA);
    assert.equal(data.map((m) => seqOf(m.payload)), Array.from({ length: 300 }, (_, i) => i + 1));
    assert.ok(data.every((m) => m.qos === 1 && !m.retain && m.clientId === `tapwire-${DEVICE}`));
    assert.equal(data[41]!.payload, Buffer.from(recordBytes(42)), 'the bytes are sent as stored');
    const st = uplink.state();
    assert.is(st.connected, true);
    assert.is(st.ackedSeq, 300);
    assert.is(st.publishedSeq, 300);
    assert.is(st.inflight, 0);
    // the commits only ever moved forward and ended at the last record
    assert.ok(journal.commits.every((c, i) => i === 0 || c > journal.commits[i - 1]!));
  } finally {
    await uplink.stop();
    await broker.close();
  }
});

test('status: the retained message a late subscriber gets is exactly the signed online bytes; a clean stop replaces it with a signed offline', async () => {
  const broker = await startAedes();
  const { uplink, signed } = setup(broker);
  try {
    await uplink.start();
    await waitFor(() => uplink.state().connected && broker.published.some((m) => m.topic === STATUS), 5000, 'online status');
    const online = signed.filter((s) => s.state === 'online');
    assert.is(online.length, 1);
    const sub = await subscriber(broker.url, STATUS);
    await waitFor(() => sub.got.length > 0, 5000, 'retained status');
    assert.is(sub.got[0]!.retain, true);
    assert.equal(sub.got[0]!.payload, online[0]!.bytes);
    assert.match(sub.got[0]!.payload.toString(), /"v":1,"dev":"pump-7","state":"online","since":\d+,"counters":\{/);
    await uplink.stop();
    await waitFor(() => sub.got.length > 1, 5000, 'offline status');
    const offline = signed.filter((s) => s.state === 'offline').at(-1)!;
    assert.equal(sub.got[1]!.payload, offline.bytes);
    assert.match(sub.got[1]!.payload.toString(), /"state":"offline"/);
    // a clean DISCONNECT: the broker must not have published the will (signed first, at connect) as well
    const willBytes = signed[0]!.bytes;
    assert.match(willBytes.toString(), /"state":"offline"/);
    assert.is(broker.published.filter((m) => m.topic === STATUS && m.payload.equals(willBytes)).length, 0);
    await sub.end();
  } finally {
    await uplink.stop();
    await broker.close();
  }
});

test('last will: when the broker loses the connection uncleanly it publishes the offline status signed at connect, and the uplink comes back', async () => {
  const broker = await startAedes();
  const { uplink, signed, journal } = setup(broker);
  try {
    journal.append(recordBytes(1));
    await uplink.start();
    await waitFor(() => journal.committedSeq() === 1, 5000, 'first record acked');
    const willBytes = signed.find((s) => s.state === 'offline')!.bytes; // signed before CONNECT
    const client = await waitFor(() => broker.clients.get(`tapwire-${DEVICE}`), 5000, 'client on broker');
    client.conn.destroy(); // unclean from the broker's side: no DISCONNECT was seen
    // aedes publishes a will on behalf of its client, so it carries our client id: tell it by its bytes
    const will = await waitFor(() => broker.published.find((m) => m.topic === STATUS && m.payload.equals(willBytes)), 5000, 'the will');
    assert.equal(will.payload, willBytes);
    assert.is(will.retain, true);
    assert.is(will.qos, 1);
    assert.match(will.payload.toString(), /"state":"offline"/);
    // back online after the backoff, with a fresh online status, and streaming again
    await waitFor(() => uplink.state().connected && uplink.state().reconnects >= 1, 5000, 'reconnected');
    journal.append(recordBytes(2));
    await waitFor(() => journal.committedSeq() === 2, 5000, 'second record acked');
    const statuses = broker.published.filter((m) => m.topic === STATUS);
    assert.match(statuses.at(-1)!.payload.toString(), /"state":"online"/);
  } finally {
    await uplink.stop();
    await broker.close();
  }
});

test('MQTT 5 against aedes (3.1.1 only) is refused, logged with the fix, and retried with backoff, not in a storm', async () => {
  const broker = await startAedes();
  const { uplink, lines, attempts } = setup(broker, { protocolVersion: 5, reconnect: { initialMs: 200, maxMs: 30_000 } });
  try {
    const t0 = Date.now();
    await uplink.start();
    await waitFor(() => attempts() >= 3, 5000, 'three attempts');
    // observe a fixed window: a storm would make hundreds of attempts in it
    await new Promise((r) => setTimeout(r, Math.max(0, 2500 - (Date.now() - t0))));
    const n = broker.connections();
    assert.ok(n >= 3 && n <= 10, `${n} connection attempts in 2.5 s`);
    assert.is(attempts(), n, 'every attempt is one TCP connection');
    const refused = lines.filter((l) => l.startsWith('error uplink connect refused: unacceptable protocol version'));
    assert.ok(refused.length >= 3, lines.join('\n'));
    assert.match(refused[0]!, /protocolVersion to 4/);
    assert.is(uplink.state().connected, false);
    assert.match(uplink.state().lastError ?? '', /unacceptable protocol version/);
  } finally {
    await uplink.stop();
    await broker.close();
  }
});

test('a broker that refuses our credentials (aedes authenticate) gets "connect refused: not authorized" and backoff', async () => {
  const broker = await startAedes({
    authenticate: (_c, _u, _p, done) => done(Object.assign(new Error('no'), { returnCode: 5 }), false),
  });
  const { uplink, lines, attempts } = setup(broker, { reconnect: { initialMs: 200, maxMs: 30_000 } });
  try {
    await uplink.start();
    await waitFor(() => attempts() >= 2, 5000, 'a retry');
    assert.ok(lines.some((l) => l.startsWith('error uplink connect refused: not authorized')), lines.join('\n'));
    const retryMs = [...lines.join('\n').matchAll(/retryMs=(\d+)/g)].map((m) => Number(m[1]));
    assert.ok(retryMs.length >= 1 && retryMs.every((ms) => ms >= 100), `retry delays ${retryMs.join(',')}`);
  } finally {
    await uplink.stop();
    await broker.close();
  }
});

test.run();
