// agent/parts/health-watch.ts on the manual clock: healthy ends the wait, the
// deadline gives the problems in words, stop() ends a wait at once.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHealthWatch } from '../../agent/parts/health-watch.js';
import { createManualClock } from '../../hal/clock.js';

const agentWith = (h: { ok: boolean; problems: string[] }) => ({ health: () => h });

test('an agent that becomes healthy before the deadline passes', async () => {
  const clock = createManualClock();
  const watch = createHealthWatch(1000, { clock });
  const h = { ok: false, problems: ['uplink not connected'] };
  const result = watch.wait(agentWith(h));
  await clock.advance(500);
  h.ok = true;
  await clock.advance(100);
  assert.is(await result, undefined);
});

test('still unhealthy at the deadline: the problems, not before', async () => {
  const clock = createManualClock();
  const watch = createHealthWatch(1000, { clock });
  let done: string | undefined | null = null;
  void watch.wait(agentWith({ ok: false, problems: ['source a not open', 'uplink not connected'] })).then((r) => { done = r; });
  await clock.advance(900);
  assert.is(done, null, 'still waiting before the deadline');
  await clock.advance(200);
  assert.is(done, 'source a not open; uplink not connected');
});

test('stop() ends a wait at once, with "stopping"', async () => {
  const clock = createManualClock();
  const watch = createHealthWatch(30_000, { clock });
  const result = watch.wait(agentWith({ ok: false, problems: ['agent starting'] }));
  await clock.advance(100);
  watch.stop();
  assert.is(await result, 'stopping', 'without the clock moving on');
});

test.run();
