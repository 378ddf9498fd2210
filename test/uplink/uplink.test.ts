// Unit tests of the uplink's window, commit, reconnect and status logic,
// driven through a scripted mqtt client and a manual clock. The real brokers
// are in test/integration/uplink-*.test.ts.

import { EventEmitter } from 'node:events';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IClientOptions, IClientPublishOptions } from 'mqtt';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createUplink, type UplinkOptions } from '../../agent/uplink/uplink.js';
import type { ConnectFn } from '../../agent/uplink/types.js';
import { createCounters } from '../../agent/counters.js';
import { createLogger } from '../../agent/log.js';
import { createManualClock } from '../../hal/clock.js';
import { tempDir, waitFor } from '../helpers.js';
import { createFakeJournal, recordBytes, seqOf, type FakeJournal } from './fake-journal.js';

interface Sent { topic: string; payload: Buffer; opts: IClientPublishOptions; cb: (err?: Error) => void; done: boolean }

/** A scripted mqtt client: the test decides when CONNACK, PUBACKs and drops happen. */
class ScriptedClient extends EventEmitter {
  sent: Sent[] = [];
  endedWith: boolean | undefined;
  /** The broker PUBACKs status publishes at once unless a test turns this off. */
  autoAckStatus = true;
  constructor(readonly options: IClientOptions) { super(); }
  publish(topic: string, payload: Buffer, opts: IClientPublishOptions, cb: (err?: Error) => void): this {
    const sent = { topic, payload: Buffer.from(payload), opts, cb, done: false };
    this.sent.push(sent);
    if (this.autoAckStatus && topic.endsWith('/status')) queueMicrotask(() => { sent.done = true; cb(); });
    return this;
  }
  end(force?: boolean, _opts?: object, cb?: () => void): this {
    if (this.endedWith === undefined) this.endedWith = force ?? false;
    cb?.();
    return this;
  }
  connack(properties?: { receiveMaximum?: number }): void {
    this.emit('connect', { cmd: 'connack', sessionPresent: false, returnCode: 0, reasonCode: 0, properties });
  }
  data(): Sent[] { return this.sent.filter((s) => s.topic.endsWith('/data')); }
  status(): Sent[] { return this.sent.filter((s) => s.topic.endsWith('/status')); }
  /** Data publishes not yet acked. */
  outstanding(): Sent[] { return this.data().filter((s) => !s.done); }
  ack(seq: number, err?: Error): void {
    const s = this.data().find((x) => !x.done && seqOf(x.payload) === seq);
    if (!s) throw new Error(`no outstanding publish of seq ${seq}`);
    s.done = true;
    s.cb(err);
  }
}

const decoder = new TextDecoder();
/** The test's "signature": a recognisable wrapper the test can open again. */
const signStatus = (status: Record<string, unknown>): Uint8Array => new TextEncoder().encode(`SIGNED:${JSON.stringify(status)}`);
const openStatus = (b: Uint8Array): Record<string, unknown> => {
  const s = decoder.decode(b);
  assert.ok(s.startsWith('SIGNED:'), `not produced by signStatus: ${s}`);
  return JSON.parse(s.slice('SIGNED:'.length)) as Record<string, unknown>;
};

/** Lets pending promise callbacks and the pump run (no wall-clock wait). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

function setup(over: Partial<UplinkOptions> = {}, journal: FakeJournal = createFakeJournal()) {
  const clock = createManualClock();
  const clients: ScriptedClient[] = [];
  const lines: string[] = [];
  const log = createLogger('test', { level: 'debug', write: (l) => lines.push(l) });
  const counters = createCounters();
  const connect = ((options: IClientOptions) => {
    const c = new ScriptedClient(options);
    clients.push(c);
    return c;
  }) as unknown as ConnectFn;
  const uplink = createUplink({
    device: 'dev-1', url: 'mqtt://broker.invalid:1883', protocolVersion: 5, clientId: 'tapwire-dev-1',
    topicPrefix: 'tapwire', keepaliveS: 30, inflight: 4, reconnect: { initialMs: 500, maxMs: 30_000 },
    statusIntervalMs: 60_000, ...over,
  }, {
    journal, signStatus, statusCounters: () => ({ 'journal.records': journal.records.length }),
    clock, log, counters, connect, random: () => 0.5,
  });
  const last = (): ScriptedClient => {
    const c = clients.at(-1);
    if (!c) throw new Error('no client created');
    return c;
  };
  return { clock, clients, lines, counters, uplink, journal, last };
}

test('connects with a persistent session, mqtt.js reconnect off, MQTT 5 session expiry and a signed retained offline will', async () => {
  const { uplink, last, clock } = setup();
  await uplink.start();
  const o = last().options;
  // where, as parsed parts (no URL string: mqtt.js would url.parse() it, DEP0169 on Node 24)
  assert.equal([o.protocol, o.host, o.port], ['mqtt', 'broker.invalid', 1883]);
  assert.is(o.clean, false);
  assert.is(o.reconnectPeriod, 0);
  assert.is(o.protocolVersion, 5);
  assert.is(o.clientId, 'tapwire-dev-1');
  assert.is(o.keepalive, 30);
  assert.ok((o.properties?.sessionExpiryInterval ?? 0) >= 24 * 3600, 'session outlives an outage');
  assert.ok(o.will, 'a last will is set');
  assert.is(o.will!.topic, 'tapwire/dev-1/status');
  assert.is(o.will!.qos, 1);
  assert.is(o.will!.retain, true);
  const will = openStatus(o.will!.payload as Buffer);
  assert.equal(will, { v: 1, dev: 'dev-1', state: 'offline', since: Math.floor(clock.now() / 1000), counters: { 'journal.records': 0 } });
  await uplink.stop();
});

test('MQTT 3.1.1 connects without MQTT 5 properties', async () => {
  const { uplink, last } = setup({ protocolVersion: 4 });
  await uplink.start();
  assert.is(last().options.protocolVersion, 4);
  assert.is(last().options.properties, undefined);
  await uplink.stop();
});

test('publishes durable records in seq order, QoS 1, never more than `inflight` unacknowledged', async () => {
  const { uplink, last, journal } = setup({ inflight: 4 });
  for (let i = 0; i < 20; i++) journal.append(recordBytes(i + 1));
  await uplink.start();
  last().connack();
  await settle();
  const c = last();
  assert.equal(c.data().map((s) => seqOf(s.payload)), [1, 2, 3, 4]);
  assert.ok(c.data().every((s) => s.opts.qos === 1 && !s.opts.retain));
  assert.is(uplink.state().inflight, 4);
  let maxOutstanding = 0;
  while (c.outstanding().length > 0) {
    maxOutstanding = Math.max(maxOutstanding, c.outstanding().length);
    c.ack(seqOf(c.outstanding()[0]!.payload));
    await settle();
  }
  assert.is(maxOutstanding, 4);
  assert.equal(c.data().map((s) => seqOf(s.payload)), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.is(journal.committedSeq(), 20);
  assert.is(uplink.state().ackedSeq, 20);
  assert.is(uplink.state().publishedSeq, 20);
  await uplink.stop();
});

test('commits only the contiguous acknowledged prefix, whatever order PUBACKs arrive in', async () => {
  const { uplink, last, journal } = setup({ inflight: 4 });
  for (let i = 0; i < 8; i++) journal.append(recordBytes(i + 1));
  await uplink.start();
  last().connack();
  await settle();
  const c = last();
  c.ack(3);
  c.ack(2);
  await settle();
  assert.equal(journal.commits, [], 'nothing commits while seq 1 is unacked');
  assert.is(c.data().length, 4, 'the window counts every uncommitted batch: no new send yet');
  c.ack(1);
  await settle();
  assert.equal(journal.commits, [3]);
  assert.equal(c.data().map((s) => seqOf(s.payload)), [1, 2, 3, 4, 5, 6, 7]);
  c.ack(6);
  c.ack(5);
  await settle();
  assert.equal(journal.commits, [3], 'seq 4 is still unacked');
  c.ack(4);
  await settle();
  assert.equal(journal.commits, [3, 6]);
  await uplink.stop();
});

test('the broker\'s Receive Maximum narrows the window below `inflight`', async () => {
  const { uplink, last, journal } = setup({ inflight: 16 });
  for (let i = 0; i < 10; i++) journal.append(recordBytes(i + 1));
  await uplink.start();
  last().connack({ receiveMaximum: 2 });
  await settle();
  assert.is(last().data().length, 2);
  await uplink.stop();
});

test('records that become durable later are sent as they arrive', async () => {
  const { uplink, last, journal } = setup();
  await uplink.start();
  last().connack();
  await settle();
  assert.is(last().data().length, 0);
  journal.append(recordBytes(1));
  await settle();
  assert.equal(last().data().map((s) => seqOf(s.payload)), [1]);
  await uplink.stop();
});

test('nothing is published while disconnected; after reconnect it resends from the committed offset, in order', async () => {
  const { uplink, clients, last, journal, clock } = setup({ inflight: 4 });
  for (let i = 0; i < 6; i++) journal.append(recordBytes(i + 1));
  await uplink.start();
  last().connack();
  await settle();
  const first = last();
  first.ack(1);
  first.ack(2);
  await settle();
  assert.is(journal.committedSeq(), 2);
  assert.is(journal.rewinds, 0);
  first.emit('close'); // the connection drops with 3..6 unacked
  assert.is(uplink.state().connected, false);
  assert.is(journal.rewinds, 1, 'the journal learns that 3..6 will be sent again (what a drop took meanwhile is told)');
  const sentBefore = first.sent.length;
  journal.append(recordBytes(7));
  journal.append(recordBytes(8));
  await settle();
  assert.is(first.sent.length, sentBefore, 'no publish on a dead connection');
  assert.is(clients.length, 1, 'no reconnect before the backoff delay');
  const delay = uplink.state().nextRetryMs;
  assert.ok(delay !== undefined && delay >= 250 && delay <= 500, `retry in ${delay}`);
  await clock.advance(delay!);
  assert.is(clients.length, 2);
  const second = last();
  second.connack();
  await settle();
  assert.equal(second.data().map((s) => seqOf(s.payload)), [3, 4, 5, 6]);
  for (const s of [3, 4, 5, 6, 7, 8]) { second.ack(s); await settle(); }
  assert.equal(second.data().map((s) => seqOf(s.payload)), [3, 4, 5, 6, 7, 8]);
  assert.is(journal.committedSeq(), 8);
  assert.is(uplink.state().reconnects, 1);
  await uplink.stop();
});

test('a record the journal dropped (and told) after it was read is not published; the window goes on past it', async () => {
  const { uplink, last, journal } = setup({ inflight: 4 });
  for (let i = 0; i < 3; i++) journal.append(recordBytes(i + 1));
  const realRead = journal.readFrom.bind(journal);
  let readOnce = false;
  journal.readFrom = async (seq, max) => {
    const out = await realRead(seq, max);
    if (!readOnce) { readOnce = true; journal.dropped.add(1); journal.dropped.add(2); } // the bound overflowed meanwhile
    return out;
  };
  await uplink.start();
  last().connack();
  await settle();
  assert.equal(last().data().map((s) => seqOf(s.payload)), [3]);
  assert.equal(journal.sentSeqs.slice(0, 3), [1, 2, 3]);
  last().ack(3);
  await settle();
  assert.is(journal.committedSeq(), 3);
  await uplink.stop();
});

test('late PUBACK callbacks of a dropped connection are ignored', async () => {
  const { uplink, last, journal, clock } = setup({ inflight: 4 });
  for (let i = 0; i < 4; i++) journal.append(recordBytes(i + 1));
  await uplink.start();
  last().connack();
  await settle();
  const first = last();
  first.emit('close');
  first.ack(1); // mqtt.js may still call back after the socket is gone
  await settle();
  assert.equal(journal.commits, []);
  await clock.advance(uplink.state().nextRetryMs!);
  last().connack();
  await settle();
  assert.equal(last().data().map((s) => seqOf(s.payload)), [1, 2, 3, 4]);
  await uplink.stop();
});

test('a refused CONNACK is logged as "connect refused: not authorized" and retried only after the backoff', async () => {
  const { uplink, clients, last, lines, clock } = setup();
  await uplink.start();
  last().emit('error', Object.assign(new Error('Connection refused: Not authorized'), { code: 135 }));
  last().emit('close');
  const refused = lines.filter((l) => l.includes('connect refused: not authorized'));
  assert.is(refused.length, 1, lines.join('\n'));
  assert.match(refused[0]!, /^error uplink connect refused: not authorized /);
  assert.is(uplink.state().lastError, 'connect refused: not authorized');
  const delay = uplink.state().nextRetryMs!;
  assert.ok(delay >= 250 && delay <= 500, `first retry in ${delay}`);
  await clock.advance(delay - 1);
  assert.is(clients.length, 1, 'no retry before the delay');
  await clock.advance(1);
  assert.is(clients.length, 2);
  // refused again: the next delay grows (random fixed at 0.5: 250 + 0.5 * (1000 - 250))
  last().emit('error', Object.assign(new Error('Connection refused: Not authorized'), { code: 135 }));
  assert.is(uplink.state().nextRetryMs, 625);
  await uplink.stop();
});

test('MQTT 5 refused as an unacceptable protocol version hints at protocolVersion 4', async () => {
  const { uplink, last, lines } = setup();
  await uplink.start();
  last().emit('error', Object.assign(new Error('Connection refused: Unacceptable protocol version'), { code: 1 }));
  const line = lines.find((l) => l.includes('connect refused: unacceptable protocol version'));
  assert.ok(line, lines.join('\n'));
  assert.match(line!, /protocolVersion to 4/);
  await uplink.stop();
});

test('no CONNACK within the connect timeout: the attempt is abandoned and retried with backoff', async () => {
  const { uplink, clients, clock } = setup();
  await uplink.start();
  await clock.advance(30_000);
  assert.is(clients[0]!.endedWith, true, 'the silent attempt is torn down');
  assert.match(uplink.state().lastError ?? '', /no CONNACK/);
  await clock.advance(uplink.state().nextRetryMs!);
  assert.is(clients.length, 2);
  await uplink.stop();
});

test('a PUBACK with an error reason reconnects and resends from the committed offset', async () => {
  const { uplink, last, journal, clock } = setup({ inflight: 4 });
  for (let i = 0; i < 3; i++) journal.append(recordBytes(i + 1));
  await uplink.start();
  last().connack();
  await settle();
  const first = last();
  first.ack(1);
  first.ack(2, Object.assign(new Error('Publish error: Quota exceeded'), { code: 151 }));
  await settle();
  assert.is(first.endedWith, true);
  assert.is(journal.committedSeq(), 1);
  await clock.advance(uplink.state().nextRetryMs!);
  last().connack();
  await settle();
  assert.equal(last().data().map((s) => seqOf(s.payload)), [2, 3]);
  await uplink.stop();
});

test('a failing journal read is retried, not fatal', async () => {
  const journal = createFakeJournal();
  const { uplink, last, clock, lines } = setup({}, journal);
  journal.append(recordBytes(1));
  journal.failReads(1);
  await uplink.start();
  last().connack();
  await settle();
  assert.is(last().data().length, 0);
  assert.ok(lines.some((l) => l.includes('journal read failed')));
  await clock.advance(1000);
  await waitFor(() => last().data().length === 1, 1000, 'the retried read');
  await uplink.stop();
});

test('status: retained, signed, online on connect with since and counters, refreshed every statusIntervalMs', async () => {
  const { uplink, last, clock, journal } = setup({ statusIntervalMs: 10_000 });
  journal.append(recordBytes(1));
  await uplink.start();
  const connectedAt = Math.floor(clock.now() / 1000);
  last().connack();
  await settle();
  const st = last().status();
  assert.is(st.length, 1);
  assert.is(st[0]!.topic, 'tapwire/dev-1/status');
  assert.equal(st[0]!.opts, { qos: 1, retain: true });
  assert.equal(openStatus(st[0]!.payload), { v: 1, dev: 'dev-1', state: 'online', since: connectedAt, counters: { 'journal.records': 1 } });
  journal.append(recordBytes(2));
  await clock.advance(10_000);
  assert.is(last().status().length, 2);
  assert.equal(openStatus(last().status()[1]!.payload), { v: 1, dev: 'dev-1', state: 'online', since: connectedAt, counters: { 'journal.records': 2 } });
  await uplink.stop();
});

test('stop publishes a signed retained offline status, then disconnects cleanly (DISCONNECT, not a dropped socket)', async () => {
  const { uplink, last, clock } = setup();
  await uplink.start();
  last().connack();
  await settle();
  const c = last();
  await clock.advance(5000);
  await uplink.stop();
  const offline = c.status().at(-1)!;
  assert.equal(offline.opts, { qos: 1, retain: true });
  const body = openStatus(offline.payload);
  assert.is(body.state, 'offline');
  assert.is(body.since, Math.floor(clock.now() / 1000));
  assert.is(c.endedWith, false, 'end(false): a clean DISCONNECT, so the broker drops the will');
  assert.is(uplink.state().connected, false);
});

test('stop is bounded when the broker never acknowledges the offline status', async () => {
  const { uplink, last, clock } = setup();
  await uplink.start();
  last().connack();
  await settle();
  const c = last();
  c.autoAckStatus = false;
  c.end = function (force?: boolean) { // a client whose graceful end never completes
    if (this.endedWith === undefined || force) this.endedWith = force ?? false;
    return this;
  };
  const stopped = uplink.stop();
  let done = false;
  void stopped.then(() => { done = true; });
  await settle();
  assert.is(done, false);
  await clock.advance(2000);
  await settle();
  assert.is(done, true, 'stop() resolved within its 2 s budget');
  assert.is(c.endedWith, true, 'forced at the deadline');
});

test('start() with nothing listening does not throw and stop() before any connect is clean', async () => {
  const { uplink, clients } = setup();
  await uplink.start();
  assert.is(clients.length, 1);
  assert.is(uplink.state().connected, false);
  await uplink.stop();
  assert.is(clients[0]!.endedWith, true);
});

test('mqtt:// warns that nothing is encrypted; the log never carries the password', async () => {
  const dir = tempDir();
  try {
    const pw = join(dir.path, 'pw');
    writeFileSync(pw, 'hunter2-secret\n');
    chmodSync(pw, 0o600);
    const { uplink, lines, last } = setup({ url: 'mqtt://agent:inline-secret@broker.invalid:1883', username: 'agent', passwordFile: pw });
    await uplink.start();
    assert.ok(lines.some((l) => l.startsWith('warn uplink') && l.includes('nothing is encrypted')), lines.join('\n'));
    assert.equal(last().options.password, Buffer.from('hunter2-secret'));
    last().emit('error', Object.assign(new Error('Connection refused: Bad username or password'), { code: 134 }));
    await uplink.stop();
    const all = lines.join('\n');
    assert.not.match(all, /hunter2/);
    assert.not.match(all, /inline-secret/);
  } finally {
    dir.remove();
  }
});

test('start() refuses a password file readable by group or other', async () => {
  const dir = tempDir();
  try {
    const pw = join(dir.path, 'pw');
    writeFileSync(pw, 'secret\n');
    chmodSync(pw, 0o644);
    const { uplink, clients } = setup({ username: 'agent', passwordFile: pw });
    let err: unknown;
    try { await uplink.start(); } catch (e) { err = e; }
    assert.instance(err, Error);
    assert.is((err as { code?: string }).code, 'ERR_SECRET_FILE_MODE');
    assert.match((err as Error).message, /uplink\.passwordFile.*chmod 600/);
    assert.is(clients.length, 0, 'no connection attempted with an exposed secret');
  } finally {
    dir.remove();
  }
});

test.run();
