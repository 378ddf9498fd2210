// agent/uplink/topics: every topic named in one place, built and parsed alike.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deviceOfTopic, deviceTopic, everyDevice, isLeaf, sharedSubscription } from '../../agent/uplink/topics.js';

test('a device topic is <prefix>/<dev>/<leaf>, and parses back to its device', () => {
  assert.is(deviceTopic('tapwire', 'pump-7', 'config/ack'), 'tapwire/pump-7/config/ack');
  assert.is(deviceOfTopic(deviceTopic('site/a', 'pump-7', 'data'), 'site/a', 'data'), 'pump-7');
  assert.is(deviceOfTopic('tapwire/pump-7/data', 'tapwire', 'key'), undefined);
  assert.is(deviceOfTopic('tapwire/+/data', 'tapwire', 'data'), undefined);
});

test('filters for every device and shared subscriptions', () => {
  assert.is(everyDevice('tapwire', 'key'), 'tapwire/+/key');
  assert.is(sharedSubscription('ingest', everyDevice('tapwire', 'data')), '$share/ingest/tapwire/+/data');
  assert.ok(isLeaf('tapwire/pump-7/key', 'key'));
  assert.not.ok(isLeaf('tapwire/pump-7/data', 'key'));
});

test.run();
