// agent/watchdog.ts on a manual clock: a ping per interval while the pipeline
// moves, none while it is stuck or no agent runs for too long, and back again.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createManualClock } from '../hal/clock.js';
import { createNotifierDouble } from '../hal/watchdog.js';
import { createLogger } from '../agent/log.js';
import { startWatchdog, type WatchedPipeline } from '../agent/watchdog.js';

function rig(intervalMs: number | undefined) {
  const clock = createManualClock();
  const notifier = createNotifierDouble(intervalMs);
  const logged: string[] = [];
  const log = createLogger('watchdog', { write: (l) => logged.push(l) });
  let problem: string | undefined;
  let pipeline: WatchedPipeline | undefined = { stalled: () => problem };
  const limits: number[] = [];
  const wd = startWatchdog({
    notifier, clock, log,
    pipeline: () => (pipeline ? { stalled: (limit) => { limits.push(limit); return pipeline!.stalled(limit); } } : undefined),
  });
  return {
    clock, notifier, logged, limits, wd,
    pings: () => notifier.sent.filter((m) => m === 'WATCHDOG=1').length,
    stick(why: string | undefined) { problem = why; },
    unplug(gone: boolean) { pipeline = gone ? undefined : { stalled: () => problem }; },
  };
}

test('no watchdog armed: nothing is sent, ever', async () => {
  const r = rig(undefined);
  await r.clock.advance(60_000);
  assert.equal(r.notifier.sent, []);
  r.wd.stop();
});

test('pings at once and then every interval while the pipeline moves; the stall limit is the whole timeout', async () => {
  const r = rig(1000);
  assert.is(r.pings(), 1);
  await r.clock.advance(5000);
  assert.is(r.pings(), 6);
  assert.ok(r.limits.every((l) => l === 2000), 'stalled() is asked with WATCHDOG_USEC as the limit');
  r.wd.stop();
  await r.clock.advance(5000);
  assert.is(r.pings(), 6, 'stop() ends the pings');
});

test('a stuck pipeline gets no ping (one error line says why), a moving one gets them again', async () => {
  const r = rig(1000);
  r.stick('no journal fsync for 40.0 s (durable seq 7, newest 9)');
  await r.clock.advance(10_000);
  assert.is(r.pings(), 1, 'only the ping before it stuck');
  const errors = r.logged.filter((l) => l.startsWith('error'));
  assert.equal(errors, ['error watchdog pipeline stuck: watchdog pings stop, the service manager will restart the agent cause="no journal fsync for 40.0 s (durable seq 7, newest 9)"']);
  r.stick(undefined);
  await r.clock.advance(1000);
  assert.is(r.pings(), 2);
  assert.ok(r.logged.some((l) => l === 'info watchdog pipeline moves again: watchdog pings resume'));
  r.wd.stop();
});

test('between two agents (an over-the-air swap) pings go on, until no agent has run for longer than the limit', async () => {
  const r = rig(1000);
  r.unplug(true);
  await r.clock.advance(2000);
  assert.is(r.pings(), 3, 'a short swap is not a stall');
  await r.clock.advance(3000);
  // missed first at t=1 s; at t=3 s 2 s have passed (not more than the limit), at t=4 s and 5 s more
  assert.is(r.pings(), 4, 'no agent for more than 2 s: no ping');
  assert.match(r.logged.join('\n'), /cause="no agent running for 3\.0 s"/);
  r.unplug(false);
  await r.clock.advance(1000);
  assert.is(r.pings(), 5);
  r.wd.stop();
});

test.run();
