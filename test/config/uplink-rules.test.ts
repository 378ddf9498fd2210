// The uplink's content rules through validateConfig (local file and over the
// air alike): a broker URL the uplink can use, and no secret inline.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exampleConfig } from '../../agent/config/example.js';
import { formatIssues, validateConfig, type ConfigIssue } from '../../agent/config/load.js';

type Json = Record<string, any>; // fixtures are mutated freely

const example = (): Json => exampleConfig('/var/lib/tapwire', 'mqtts://broker.example.net:8883', { weather: '/dev/ttyUSB0' }) as Json;

function issues(c: Json): ConfigIssue[] {
  const r = validateConfig(c);
  return r.ok ? [] : r.issues;
}

test('a port outside 1-65535 is refused at uplink.url, not left to a TypeError at run', () => {
  for (const port of ['99999', '65536', '0', 'x']) {
    const c = example();
    c.uplink.url = `mqtts://127.0.0.1:${port}`;
    const found = issues(c);
    assert.is(found.length, 1, `port ${port}:\n${formatIssues(found)}`);
    assert.is(found[0]!.path, 'uplink.url');
    assert.match(found[0]!.message, /not a port \(1-65535\)/);
  }
  const ok = example();
  ok.uplink.url = 'mqtts://127.0.0.1:65535';
  assert.equal(issues(ok), []);
  ok.uplink.url = 'mqtts://[::1]:8883';
  assert.equal(issues(ok), []);
});

test('a URL without a host is refused', () => {
  const c = example();
  c.uplink.url = 'mqtts://:8883';
  const found = issues(c);
  assert.is(found.length, 1, formatIssues(found));
  assert.is(found[0]!.path, 'uplink.url');
  assert.match(found[0]!.message, /no broker host/);
});

test('credentials in the URL are refused, and the secret is never repeated', () => {
  for (const url of ['mqtt://user:s3cret@127.0.0.1:1883', 'mqtts://user@broker:8883', 'mqtts://u:s3cret/x@broker:8883']) {
    const c = example();
    c.uplink.url = url;
    const found = issues(c);
    assert.is(found.length, 1, `${url}:\n${formatIssues(found)}`);
    assert.is(found[0]!.path, 'uplink.url');
    assert.match(found[0]!.message, /secrets are never inline/);
    assert.not.match(formatIssues(found), /s3cret/);
  }
});

test('a username without passwordFile is refused at uplink.passwordFile', () => {
  const c = example();
  c.uplink.username = 'station7';
  const found = issues(c);
  assert.is(found.length, 1, formatIssues(found));
  assert.is(found[0]!.path, 'uplink.passwordFile');
  assert.match(found[0]!.message, /never inline/);
  c.uplink.passwordFile = '/etc/tapwire/mqtt.pass';
  assert.equal(issues(c), []);
});

test.run();
