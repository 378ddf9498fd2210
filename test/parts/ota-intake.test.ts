// agent/parts/ota-intake.ts: one apply at a time, redeliveries of a decided
// message dropped, a bounded queue (busy beyond it), empty messages ignored.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCounters } from '../../agent/counters.js';
import { silentLogger } from '../../agent/log.js';
import { createOtaIntake, type ConfigMessage } from '../../agent/parts/ota-intake.js';

function rig() {
  const counters = createCounters();
  const processed: string[] = [];
  const busy: number[] = [];
  let release: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();
  const intake = createOtaIntake({
    stopping: () => false,
    decided: () => undefined,
    async process(m: ConfigMessage) { processed.push(Buffer.from(m.bytes).toString()); await gate; },
    busy: (hash) => busy.push(hash.length),
    running: () => 0,
    fatal: () => undefined,
    counters,
    log: silentLogger,
  });
  const hold = (): void => { gate = new Promise((r) => { release = r; }); };
  const msg = (s: string, meta = { retained: false, dup: false }): void => intake.onMessage(Buffer.from(s), meta);
  return { counters, processed, busy, intake, hold, release: () => release(), msg };
}

test('a retained redelivery of a decided message is dropped; a live publish of it is processed again', async () => {
  const r = rig();
  r.msg('v1');
  await r.intake.stop();
  r.msg('v1', { retained: true, dup: false });
  await r.intake.stop();
  assert.equal(r.processed, ['v1']);
  assert.is(r.counters.get('ota.redelivered'), 1);
  r.msg('v1');
  await r.intake.stop();
  assert.equal(r.processed, ['v1', 'v1'], 'a live publish (a replay) is processed and acked');
});

test('one at a time, in order; beyond 8 waiting the message is rejected busy', async () => {
  const r = rig();
  r.hold();
  for (let i = 0; i < 10; i++) r.msg(`m${i}`);
  assert.equal(r.processed, ['m0'], 'the first is being applied, the rest wait');
  assert.is(r.busy.length, 1, 'm9 found 8 waiting');
  assert.is(r.counters.get('ota.rejected.busy'), 1);
  r.release();
  await r.intake.stop();
  assert.equal(r.processed, ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']);
});

test('an empty message (a cleared retained config) is no config', async () => {
  const r = rig();
  r.msg('', { retained: true, dup: false });
  await r.intake.stop();
  assert.equal(r.processed, []);
  assert.is(r.counters.get('ota.cleared'), 1);
});

test.run();
