// agent/parts/ota-acks.ts: acks wait for a connected Agent, go out in order,
// the oldest are dropped (and counted) beyond 32, and a persisted one is
// reported once the broker has it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCounters } from '../../agent/counters.js';
import type { Ack } from '../../agent/ota/ack.js';
import { createAckOutbox } from '../../agent/parts/ota-acks.js';

const ack = (version: number): Ack => ({ dev: 'd1', version, result: 'accepted', msg: new Uint8Array(32) });

/** Lets a flush under way (one at a time) see its not-connected answer and end. */
const settle = async (): Promise<void> => { for (let i = 0; i < 10; i++) await Promise.resolve(); };

function rig() {
  const counters = createCounters();
  const sent: number[] = [];
  const reported: number[] = [];
  let connected = false;
  const agent = { async sendAck(a: Ack) { if (!connected) return false; sent.push(a.version ?? -1); return true; } };
  const outbox = createAckOutbox({
    agent: () => agent, stopping: () => false, counters,
    async published(a) { reported.push(a.version ?? -1); },
  });
  return { counters, sent, reported, outbox, connect: () => { connected = true; } };
}

test('not connected: acks wait; at the connect they go out in order; persisted ones are reported', async () => {
  const r = rig();
  r.outbox.queue(ack(1));
  r.outbox.queue(ack(2), true);
  await settle();
  assert.equal(r.sent, [], 'nothing goes out while not connected');
  r.connect();
  await r.outbox.flush();
  assert.equal(r.sent, [1, 2]);
  assert.equal(r.reported, [2], 'only the persisted one is reported');
  assert.is(r.counters.get('ota.acks_published'), 2);
});

test('beyond 32 waiting, the oldest are dropped and counted', async () => {
  const r = rig();
  for (let v = 1; v <= 40; v++) r.outbox.queue(ack(v));
  await settle();
  r.connect();
  await r.outbox.flush();
  assert.is(r.counters.get('ota.acks_dropped'), 8);
  assert.equal(r.sent, Array.from({ length: 32 }, (_, i) => i + 9));
});

test.run();
