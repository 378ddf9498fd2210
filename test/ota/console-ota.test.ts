// A signed config cannot move the local console or read from it
// ("forbidden-change", acked like every other refusal).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fingerprint } from '../../agent/encode/keys.js';
import { verifyConfigMessage, type VerifyContext } from '../../agent/ota/envelope.js';
import { operator, rawConfig, signConfig } from './fixtures.js';

const STATE = '/var/lib/tapwire-test';
const local = { port: { path: '/dev/ttyS0', baudRate: 115200, dataBits: 8 as const, stopBits: 1 as const, parity: 'none' as const } };
const ctx: VerifyContext = {
  device: 'ota-1', stateDir: STATE, running: 1, highest: 1, console: local,
  operatorKey: (kid) => (Buffer.from(kid).toString('hex') === fingerprint(operator.publicKey) ? operator.publicKey : undefined),
};
const verdict = (over: Record<string, unknown>) => verifyConfigMessage(signConfig(operator, { dev: 'ota-1', version: 2, config: rawConfig(STATE, over) }), ctx);

test('a config that leaves the console out, or names the same one, is accepted', () => {
  assert.ok(verdict({}).ok);
  assert.ok(verdict({ console: { port: { path: '/dev/ttyS0', baudRate: 115200 } } }).ok);
});

test('a config that moves the console is refused: forbidden-change', () => {
  const v = verdict({ console: { port: { path: '/dev/ttyUSB3', baudRate: 115200 } } });
  assert.not.ok(v.ok);
  if (v.ok) return;
  assert.is(v.code, 'forbidden-change');
  assert.match(v.reason, '"console" cannot be set or changed over the air');
  assert.is(v.version, 2);
});

test('a config whose source reads the local console port is refused: forbidden-change', () => {
  const v = verdict({ sources: [{ id: 'tap', type: 'lines', port: { path: '/dev/ttyS0', baudRate: 115200 }, decoder: { type: 'kv' } }] });
  assert.not.ok(v.ok);
  if (v.ok) return;
  assert.is(v.code, 'forbidden-change');
  assert.match(v.reason, 'the local console');
});

test.run();
