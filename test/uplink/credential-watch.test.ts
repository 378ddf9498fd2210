// agent/uplink/credential-watch: a changed credential file is reported once per
// change; nothing is watched without files or with interval 0.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createManualClock } from '../../hal/clock.js';
import { createCredentialWatch } from '../../agent/uplink/credential-watch.js';

function setup(paths: Array<string | undefined>, intervalMs = 1000) {
  const clock = createManualClock();
  const stamps = new Map<string, string>([['/k', 'a'], ['/c', 'a']]);
  const changes: string[][] = [];
  const watch = createCredentialWatch({ paths, intervalMs, clock, statFile: (p) => stamps.get(p) ?? 'missing', onChange: (f) => changes.push(f) });
  return { clock, stamps, changes, watch };
}

test('one change is reported once, with the watched files; no change, no report', async () => {
  const { clock, stamps, changes, watch } = setup(['/c', undefined, '/k']);
  watch.start();
  await clock.advance(3000);
  assert.equal(changes, []);
  stamps.set('/k', 'b');
  await clock.advance(1000);
  await clock.advance(3000);
  assert.equal(changes, [['/c', '/k']]);
  watch.stop();
  stamps.set('/c', 'b');
  await clock.advance(3000);
  assert.is(changes.length, 1, 'stopped: no more reports');
});

test('without files, or with interval 0, nothing is polled', async () => {
  for (const s of [setup([undefined]), setup(['/k'], 0)]) {
    s.watch.start();
    s.stamps.set('/k', 'z');
    await s.clock.advance(10_000);
    assert.equal(s.changes, []);
  }
});

test.run();
