// The demo's keys with faithful stand-ins for the broker, the agent host and
// the sensors (the real ones are driven in a terminal by
// test/integration/live-view.test.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AgentStatus } from '../../agent/agent.js';
import type { AgentHost } from '../../agent/demo/agent-host.js';
import type { DemoBroker } from '../../agent/demo/demo-broker.js';
import { createFaults } from '../../agent/demo/faults.js';
import type { Sensors } from '../../agent/demo/sensors.js';
import type { ChainSummary } from '../../agent/verify/chain.js';
import { waitFor } from '../helpers.js';

function rig(o: { crash?: boolean; dropAfterLines?: number } = {}) {
  const said: string[] = [];
  let up = true;
  const broker: DemoBroker = {
    url: 'mqtt://127.0.0.1:1', get up() { return up; },
    async stop() { up = false; }, async start() { up = true; }, async close() { up = false; },
  };
  let lines = 0;
  let pid = 100;
  const status = (): AgentStatus => ({ journal: { droppedBatches: o.dropAfterLines !== undefined && lines >= o.dropAfterLines ? 7 : 0 } } as unknown as AgentStatus);
  const host: AgentHost = {
    kind: o.crash === false ? 'in-process' : 'process',
    get pid() { return pid; },
    async start() {},
    ...(o.crash === false ? {} : { async crash() { const killed = pid; pid += 1; return { killed, started: pid }; } }),
    status: () => ({ status: status(), ageMs: 0 }),
    async stop() {},
  };
  const bursts: boolean[] = [];
  const sensors = { async burst(n: number) { bursts.push(up); lines += n; } } as unknown as Sensors;
  let summary: Partial<ChainSummary> = { lastSeq: 41, conflicts: 0, unexplainedBreaks: 0 };
  const faults = createFaults({ broker, host, sensors, summary: () => summary as ChainSummary, say: (l) => said.push(l), journalBytes: 64 * 1024 });
  return { faults, said, bursts, broker, setSummary: (s: Partial<ChainSummary>) => { summary = s; } };
}

test('b stops the broker, b again starts it, each with one line saying what to watch', async () => {
  const r = rig();
  await r.faults.press('b');
  assert.is(r.broker.up, false);
  assert.match(r.said[0]!, /^b: broker stopped\. .*watch "pending" grow/);
  await r.faults.press('b');
  assert.is(r.broker.up, true);
  assert.match(r.said[1]!, /^b: broker started\. Watch "pending" drain to 0/);
});

test('f holds the broker down while the sensor bursts, until the agent reports a drop; then the broker is back', async () => {
  const r = rig({ dropAfterLines: 1 });
  await r.faults.press('f');
  assert.ok(r.bursts.length >= 1 && r.bursts.every((brokerUp) => !brokerUp), 'every burst with the broker down');
  assert.is(r.broker.up, true);
  assert.match(r.said.at(-1)!, /^f: journal full: the agent drops its oldest unsent batches \(7 so far\) and signs a gap notice for them\. Broker back up/);
});

test('f leaves a broker that b took down, down', async () => {
  const r = rig({ dropAfterLines: 1 });
  await r.faults.press('b');
  await r.faults.press('f');
  assert.is(r.broker.up, false);
  assert.match(r.said.at(-1)!, /The broker is still down \(b starts it\)/);
});

test('q during f cuts its wait short, and the broker is left to close with the demo', async () => {
  const r = rig(); // the agent never reports a drop
  const f = r.faults.press('f');
  await waitFor(() => r.bursts.length >= 1, 5000, 'the first burst');
  assert.is(await r.faults.press('q'), 'quit');
  await r.faults.settled();
  await f;
  assert.is(r.broker.up, false);
  assert.not.ok(r.said.some((l) => l.startsWith('f: journal full') || l.startsWith('f: the agent reported no drop')));
  assert.match(r.said.at(-1)!, /^q: stopping/);
});

test('k kills and restarts the agent, then says when the chain goes on after the kill', async () => {
  const r = rig();
  await r.faults.press('k');
  assert.match(r.said[0]!, /^k: killing the agent \(pid 100\) with SIGKILL; last verified seq 41/);
  assert.match(r.said[1]!, /^k: agent restarted as pid 101/);
  r.faults.verified(41);
  assert.is(r.said.length, 2, 'a seq from before the kill is no news');
  r.faults.verified(42);
  assert.match(r.said[2]!, /^seq 42 verified after the kill: the chain goes on \(prev-hash ok, 0 conflicts, 0 unexplained breaks\)/);
  r.faults.verified(43);
  assert.is(r.said.length, 3, 'said once');
});

test('k with the agent in-process says why there is nothing to kill; another key while one is under way waits its turn', async () => {
  const r = rig({ crash: false });
  await r.faults.press('k');
  assert.match(r.said[0]!, /no agent process to kill -9/);
  const f = r.faults.press('f');
  await waitFor(() => r.bursts.length >= 1, 5000, 'the first burst');
  await r.faults.press('b');
  assert.match(r.said.at(-1)!, /^b: wait, f is still under way/);
  await r.faults.press('q');
  await f;
  await r.faults.press('x');
  assert.match(r.said.at(-1)!, /^"x" does nothing\. keys: b/);
});

test.run();
