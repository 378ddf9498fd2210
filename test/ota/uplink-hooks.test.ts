// The uplink's OTA surface, with a scripted MQTT client and a manual clock:
// the one subscription, the config message hook, signed publishes (ack, key
// announcement) and the credential file watch that reconnects with new files.

import { EventEmitter } from 'node:events';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IClientOptions, IClientPublishOptions, IClientSubscribeOptions } from 'mqtt';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCounters } from '../../agent/counters.js';
import { silentLogger } from '../../agent/log.js';
import { createUplink, type InboundMeta, type UplinkOptions } from '../../agent/uplink/uplink.js';
import type { ConnectFn } from '../../agent/uplink/types.js';
import { createManualClock } from '../../hal/clock.js';
import { tempDir } from '../helpers.js';
import { createFakeJournal } from '../uplink/fake-journal.js';

interface Published { topic: string; payload: Buffer; opts: IClientPublishOptions; cb: (err?: Error) => void }

class Client extends EventEmitter {
  published: Published[] = [];
  subscriptions: Array<{ topic: string | string[]; opts: IClientSubscribeOptions }> = [];
  endedWith: boolean | undefined;
  constructor(readonly options: IClientOptions) { super(); }
  publish(topic: string, payload: Buffer, opts: IClientPublishOptions, cb: (err?: Error) => void): this {
    const p = { topic, payload: Buffer.from(payload), opts, cb };
    this.published.push(p);
    if (topic.endsWith('/status')) queueMicrotask(() => cb());
    return this;
  }
  subscribe(topic: string | string[], opts: IClientSubscribeOptions, cb: (err: Error | null, granted: Array<{ topic: string; qos: number }>) => void): this {
    this.subscriptions.push({ topic, opts });
    queueMicrotask(() => cb(null, [{ topic: String(topic), qos: 1 }]));
    return this;
  }
  end(force?: boolean, _o?: object, cb?: () => void): this {
    if (this.endedWith === undefined) this.endedWith = force ?? false;
    cb?.();
    queueMicrotask(() => this.emit('close'));
    return this;
  }
  connack(): void { this.emit('connect', { cmd: 'connack', sessionPresent: true, returnCode: 0 }); }
  message(topic: string, payload: Uint8Array, flags: { retain?: boolean; dup?: boolean } = {}): void {
    this.emit('message', topic, Buffer.from(payload), { cmd: 'publish', topic, payload, qos: 1, retain: flags.retain ?? false, dup: flags.dup ?? false });
  }
}

const settle = async (): Promise<void> => { for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r)); };

function setup(over: Partial<UplinkOptions> = {}, hook = true) {
  const clock = createManualClock();
  const clients: Client[] = [];
  const got: Array<{ payload: string; meta: InboundMeta }> = [];
  const counters = createCounters();
  const connect = ((options: IClientOptions) => {
    const c = new Client(options);
    clients.push(c);
    return c;
  }) as unknown as ConnectFn;
  const uplink = createUplink({
    device: 'd-1', url: 'mqtt://broker.invalid:1883', protocolVersion: 5, clientId: 'tapwire-d-1', topicPrefix: 'tw',
    keepaliveS: 30, inflight: 4, reconnect: { initialMs: 500, maxMs: 30_000 }, ...over,
  }, {
    journal: createFakeJournal(), signStatus: () => new Uint8Array([1]), statusCounters: () => ({}),
    clock, log: silentLogger, counters, connect,
    ...(hook ? { onConfigMessage: (p: Uint8Array, meta: InboundMeta) => { got.push({ payload: Buffer.from(p).toString(), meta }); } } : {}),
  });
  return { clock, clients, got, counters, uplink };
}

test('with a config hook: exactly one subscription per connect, to <prefix>/<dev>/config at QoS 1', async () => {
  const s = setup();
  await s.uplink.start();
  s.clients[0]!.connack();
  await settle();
  assert.equal(s.clients[0]!.subscriptions.map((x) => [x.topic, x.opts.qos]), [['tw/d-1/config', 1]]);
  s.clients[0]!.emit('close');
  await s.clock.advance(30_000);
  s.clients[1]!.connack();
  await settle();
  assert.equal(s.clients[1]!.subscriptions.map((x) => x.topic), ['tw/d-1/config'], 'again after a reconnect (the retained config comes again)');
  await s.uplink.stop();
});

test('without a config hook the uplink subscribes to nothing', async () => {
  const s = setup({}, false);
  await s.uplink.start();
  s.clients[0]!.connack();
  await settle();
  assert.equal(s.clients[0]!.subscriptions, []);
  await s.uplink.stop();
});

test('config messages reach the hook with their retained / dup flags; other topics do not', async () => {
  const s = setup();
  await s.uplink.start();
  const c = s.clients[0]!;
  c.connack();
  await settle();
  c.message('tw/d-1/config', new TextEncoder().encode('one'));
  c.message('tw/d-1/config', new TextEncoder().encode('two'), { retain: true });
  c.message('tw/d-1/config', new TextEncoder().encode('three'), { dup: true });
  c.message('tw/d-2/config', new TextEncoder().encode('not ours'));
  c.message('tw/d-1/data', new TextEncoder().encode('nope'));
  assert.equal(s.got, [
    { payload: 'one', meta: { retained: false, dup: false } },
    { payload: 'two', meta: { retained: true, dup: false } },
    { payload: 'three', meta: { retained: false, dup: true } },
  ]);
  assert.is(s.counters.get('uplink.config_messages'), 3);
  await s.uplink.stop();
});

test('publishSigned: false while disconnected; on the connection, QoS 1 with the retain flag asked for, true on PUBACK, false on error', async () => {
  const s = setup();
  await s.uplink.start();
  assert.is(await s.uplink.publishSigned('config/ack', new Uint8Array([1]), { retain: false }), false);
  const c = s.clients[0]!;
  c.connack();
  await settle();
  const ack = s.uplink.publishSigned('config/ack', new Uint8Array([7]), { retain: false });
  const key = s.uplink.publishSigned('key', new Uint8Array([8]), { retain: true });
  const sent = c.published.filter((p) => !p.topic.endsWith('/status'));
  assert.equal(sent.map((p) => [p.topic, p.opts.qos, p.opts.retain, [...p.payload]]), [['tw/d-1/config/ack', 1, false, [7]], ['tw/d-1/key', 1, true, [8]]]);
  sent[0]!.cb();
  sent[1]!.cb(new Error('broker said no'));
  assert.is(await ack, true);
  assert.is(await key, false);
  await s.uplink.stop();
});

test('credential files changing: the connection is closed cleanly (no last will) and a new one is made at once with the new files', async () => {
  const dir = tempDir();
  try {
    const cert = join(dir.path, 'client.pem');
    const key = join(dir.path, 'client.key');
    writeFileSync(cert, 'CERT-1');
    writeFileSync(key, 'KEY-1', { mode: 0o600 });
    const s = setup({ url: 'mqtts://broker.invalid:8883', cert, key, fileWatchMs: 1000 });
    await s.uplink.start();
    s.clients[0]!.connack();
    await settle();
    await s.clock.advance(3000);
    assert.is(s.clients.length, 1, 'unchanged files: no reconnect');

    writeFileSync(cert, 'CERT-2-longer');
    writeFileSync(key, 'KEY-2-longer', { mode: 0o600 });
    utimesSync(cert, new Date(), new Date(Date.now() + 5000));
    await s.clock.advance(1000);
    await settle();
    assert.is(s.clients[0]!.endedWith, false, 'DISCONNECT sent: the broker drops the last will');
    assert.is(s.clients.length, 2, 'reconnected without waiting for a backoff');
    assert.is(String(s.clients[1]!.options.cert), 'CERT-2-longer');
    assert.is(String(s.clients[1]!.options.key), 'KEY-2-longer');
    assert.is(s.counters.get('uplink.credential_reloads'), 1);
    await s.uplink.stop();
  } finally { dir.remove(); }
});

test('credential files changing while the broker refuses us: the next attempt comes at once, not after the backoff', async () => {
  const dir = tempDir();
  try {
    const cert = join(dir.path, 'client.pem');
    const key = join(dir.path, 'client.key');
    writeFileSync(cert, 'EXPIRED');
    writeFileSync(key, 'K', { mode: 0o600 });
    const s = setup({ url: 'mqtts://broker.invalid:8883', cert, key, fileWatchMs: 1000, reconnect: { initialMs: 60_000, maxMs: 60_000 } });
    await s.uplink.start();
    s.clients[0]!.emit('error', new Error('certificate expired'));
    await settle();
    assert.ok((s.uplink.state().nextRetryMs ?? 0) >= 30_000, 'backing off for at least 30 s');
    writeFileSync(cert, 'RENEWED-CERT');
    await s.clock.advance(1000);
    await settle();
    assert.is(s.clients.length, 2);
    assert.is(String(s.clients[1]!.options.cert), 'RENEWED-CERT');
    await s.uplink.stop();
  } finally { dir.remove(); }
});

test.run();
