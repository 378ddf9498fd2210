// A drop at the journal's bound while batches are in flight (published, the
// broker's PUBACK not yet back): a real aedes broker holds the agent's data
// publishes (authorizePublish waits), so the window fills, then a burst fills
// the journal and its oldest segment — the one holding the batches in flight —
// is dropped. Those batches are not "unsent": when the broker lets them
// through, the cloud has them, and no gap notice may name them.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuthorizePublishHandler } from 'aedes';
import type { VerifyEvent } from '../../agent/verify/chain.js';
import { startAedes } from '../peers/aedes.js';
import { startDeviceRig } from '../peers/device-rig.js';
import type { AgentProcess } from '../peers/agent-process.js';
import { waitFor } from '../helpers.js';

const DEVICE = 'inflight-1';
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Holds the agent's data publishes (no PUBACK, no delivery) until released, or discarded (the broker never had them). */
function publishGate(): { authorize: AuthorizePublishHandler; hold(): void; release(): void; discard(): void } {
  let holding = false;
  let held: Array<() => void> = [];
  return {
    authorize(client, packet, done) {
      if (holding && client?.id === `tapwire-${DEVICE}` && packet.topic.endsWith('/data')) held.push(() => done(null));
      else done(null);
    },
    hold() { holding = true; },
    release() {
      holding = false;
      const go = held;
      held = [];
      for (const f of go) f();
    },
    discard() {
      holding = false;
      held = []; // never authorized: never delivered, never acknowledged
    },
  };
}

/** Every seq of the log lines matching `re` (with first= and last= groups). */
const seqsOf = (log: string, re: RegExp): number[] =>
  [...log.matchAll(re)].flatMap((m) => Array.from({ length: Number(m[2]) - Number(m[1]) + 1 }, (_, i) => Number(m[1]) + i));
const IN_FLIGHT_DROP = /dropped batches in flight: told only if the broker does not acknowledge them first=(\d+) last=(\d+)/g;
const UNSENT_DROP = /warn journal dropped unsent batches first=(\d+) last=(\d+)/g;
const EXTRA = Array.from({ length: 4 }, (_, i) => ` x${i}=${(i * 1.25 + 0.5).toFixed(2)}`).join('');

/** A broker whose gate can hold the agent's data publishes, a device rig on it, and a writer of sensor lines. */
async function heldBrokerRig() {
  const gate = publishGate();
  const broker = await startAedes({ authorizePublish: gate.authorize });
  const rig = await startDeviceRig({
    url: broker.url, device: DEVICE, protocolVersion: 4,
    batch: { maxRecords: 20, maxAgeMs: 100 }, journal: { maxBytes: 65_536, segmentBytes: 8192, fsyncIntervalMs: 50 },
  });
  let n = 0;
  const stream = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      rig.write(`n=${++n}${EXTRA}`);
      if (i % 20 === 19) await pause(10);
    }
  };
  return {
    gate, rig, stream,
    lastN: () => n,
    /** 40 readings through, then the gate holds while ~250 KiB of batches overflow the 64 KiB bound several times. */
    async overflowWhileHeld(agent: AgentProcess): Promise<void> {
      await stream(40);
      await waitFor(() => rig.cloud.values('field:n').length === 40, 10_000, 'readings before the hold');
      gate.hold();
      await stream(2400);
      await waitFor(() => /dropped batches in flight/.test(agent.stderr()), 15_000, 'a drop takes batches in flight');
      await pause(300);
    },
    async close(): Promise<void> {
      gate.release();
      await rig.close();
      await broker.close();
    },
  };
}

test('batches in flight when the bound drops their segment are delivered and never told as lost; the unsent ones after them are told exactly', async () => {
  const h = await heldBrokerRig();
  const { rig } = h;
  try {
    const agent = await rig.startAgent();
    await h.overflowWhileHeld(agent);
    h.gate.release();
    await h.stream(20);
    await waitFor(() => rig.cloud.values('field:n').includes(h.lastN()), 15_000, 'readings after the release');
    assert.is(await agent.stop(), 0);
    const log = agent.stderr();
    const inFlight = seqsOf(log, IN_FLIGHT_DROP);
    const dropped = seqsOf(log, UNSENT_DROP);
    assert.ok(inFlight.length > 0 && dropped.length > 0, 'both kinds of drop happened');
    const received = new Set(rig.cloud.hashes.keys());
    for (const seq of inFlight) {
      assert.ok(received.has(seq), `in-flight seq ${seq} reached the cloud`);
      assert.not.ok(dropped.includes(seq), `in-flight seq ${seq} is not told as dropped`);
    }
    const gaps = rig.cloud.events.filter((e): e is Extract<VerifyEvent, { kind: 'gap' }> => e.kind === 'gap');
    const told = new Set(gaps.flatMap((g) => Array.from({ length: g.last - g.first + 1 }, (_, i) => g.first + i)));
    assert.equal([...told].sort((a, b) => a - b), [...new Set(dropped)].sort((a, b) => a - b), 'the gap notices tell exactly the unsent drops');
    const s = rig.cloud.summary();
    for (let seq = s.firstSeq!; seq <= s.lastSeq!; seq++) {
      assert.ok(received.has(seq) !== told.has(seq), `seq ${seq} is either received or told, not both or neither`);
    }
    assert.ok(s.complete, JSON.stringify(s));
    assert.is(s.conflicts, 0);
  } finally {
    await h.close();
  }
});

test('batches a drop took in flight and still unacknowledged at a clean stop are told before the journal closes, with their reason, and sent at the next start', async () => {
  const h = await heldBrokerRig();
  const { rig } = h;
  try {
    const first = await rig.startAgent();
    await h.overflowWhileHeld(first);
    // a clean stop while the broker still holds them: no PUBACK will ever come for them
    assert.is(await first.stop(), 0);
    h.gate.discard();
    const inFlight = seqsOf(first.stderr(), IN_FLIGHT_DROP);
    assert.ok(inFlight.length > 0, 'batches were dropped in flight');
    const toldAtStop = seqsOf(first.stderr(), UNSENT_DROP);
    for (const seq of inFlight) assert.ok(toldAtStop.includes(seq), `in-flight seq ${seq} is told at the stop`);

    const second = await rig.startAgent();
    await waitFor(() => rig.cloud.summary().complete, 15_000, 'the cloud has every seq, received or told');
    assert.is(await second.stop(), 0);
    assert.not.match(second.stderr(), /never told|cut short by a crash/, 'nothing is found missing at the next start');

    const received = new Set(rig.cloud.hashes.keys());
    const gaps = rig.cloud.events.filter((e): e is Extract<VerifyEvent, { kind: 'gap' }> => e.kind === 'gap');
    for (const seq of inFlight) {
      assert.not.ok(received.has(seq), `in-flight seq ${seq} never reached the cloud`);
      const told = gaps.filter((g) => g.first <= seq && seq <= g.last);
      assert.is(told.length, 1, `in-flight seq ${seq} is told once`);
      assert.is(told[0]!.reason, 'journal-full', `in-flight seq ${seq}: told with the drop's reason`);
    }
    assert.is(rig.cloud.summary().conflicts, 0);
  } finally {
    await h.close();
  }
});

test.run();
