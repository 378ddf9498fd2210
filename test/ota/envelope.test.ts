// agent/ota/envelope: every way a config message is refused, each with its
// stable code, and the one way it is accepted.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeCbor, Tag } from '../../agent/encode/cbor.js';
import { signSign1 } from '../../agent/encode/cose.js';
import { fingerprint } from '../../agent/encode/keys.js';
import type { Signer } from '../../agent/encode/signer.js';
import { MAX_CONFIG_MESSAGE_BYTES, verifyConfigMessage, type ConfigVerdict, type VerifyContext } from '../../agent/ota/envelope.js';
import { operator, rawConfig, signConfig, stranger } from './fixtures.js';

const STATE = '/var/lib/tapwire-test';
const ctx = (over: Partial<VerifyContext> = {}): VerifyContext => ({
  device: 'ota-1', stateDir: STATE, running: 3, highest: 3,
  operatorKey: (kid) => (Buffer.from(kid).toString('hex') === fingerprint(operator.publicKey) ? operator.publicKey : undefined),
  ...over,
});
const msg = (version: number, config: unknown = rawConfig(STATE), dev = 'ota-1', s: Signer = operator): Uint8Array =>
  signConfig(s, { dev, version, config });

function rejected(v: ConfigVerdict): { code: string; reason: string; version?: number } {
  assert.not.ok(v.ok, 'expected a rejection');
  if (v.ok) throw new Error('unreachable');
  return v;
}

test('a newer config signed by a trusted operator for this device is accepted, resolved with defaults', () => {
  const v = verifyConfigMessage(msg(4), ctx());
  assert.ok(v.ok, JSON.stringify(v));
  if (!v.ok) return;
  assert.is(v.version, 4);
  assert.is(v.dev, 'ota-1');
  assert.is(v.signedBy, fingerprint(operator.publicKey));
  assert.is(v.config.batch.maxRecords, 100, 'defaults filled');
  assert.equal(v.raw, rawConfig(STATE), 'the raw config is kept as signed');
});

test('dev "*" addresses every device; a fleet-wide config may leave out device and stateDir, each agent fills in its own', () => {
  assert.ok(verifyConfigMessage(msg(4, rawConfig(STATE), '*'), ctx()).ok);
  const { device: _d, stateDir: _s, ...fleet } = rawConfig(STATE);
  for (const [dev, dir] of [['ota-1', STATE], ['pump-2', '/var/lib/other']] as const) {
    const v = verifyConfigMessage(msg(4, fleet, '*'), ctx({ device: dev, stateDir: dir }));
    assert.ok(v.ok, JSON.stringify(v));
    if (v.ok) assert.equal([v.config.device, v.config.stateDir, v.raw.device], [dev, dir, dev]);
  }
  const r = rejected(verifyConfigMessage(msg(4, fleet, 'ota-1'), ctx()));
  assert.is(r.code, 'schema', 'a config for one device must be complete');
});

test('anti-rollback: an older version, a replay of the running one, and a rolled-back one are "not-newer"', () => {
  const older = rejected(verifyConfigMessage(msg(2), ctx()));
  assert.is(older.code, 'not-newer');
  assert.match(older.reason, 'older than the running version 3');
  assert.is(older.version, 2);
  const replay = rejected(verifyConfigMessage(msg(3), ctx()));
  assert.is(replay.code, 'not-newer');
  assert.match(replay.reason, 'replay');
  const tried = rejected(verifyConfigMessage(msg(5), ctx({ running: 3, highest: 5 })));
  assert.is(tried.code, 'not-newer');
  assert.match(tried.reason, 'rolled back');
});

test('a flipped byte anywhere in the signed parts fails the signature (or the envelope), never passes', () => {
  const good = msg(4);
  let badSig = 0;
  for (let i = 0; i < good.length; i++) {
    const b = Uint8Array.from(good);
    b[i]! ^= 0x01;
    const v = verifyConfigMessage(b, ctx());
    assert.not.ok(v.ok, `flipping byte ${i} must not pass`);
    if (!v.ok && v.code === 'bad-signature') badSig++;
  }
  assert.ok(badSig > good.length / 2, `most flips are caught by the signature (${badSig}/${good.length})`);
  const last = Uint8Array.from(good);
  last[last.length - 1]! ^= 0x80; // inside the signature
  assert.is(rejected(verifyConfigMessage(last, ctx())).code, 'bad-signature');
});

test('a config signed by an unknown key is "unknown-key", checked before the payload is read', () => {
  const r = rejected(verifyConfigMessage(msg(4, rawConfig(STATE), 'ota-1', stranger), ctx()));
  assert.is(r.code, 'unknown-key');
  assert.match(r.reason, fingerprint(stranger.publicKey));
  assert.is(r.version, undefined, 'nothing from the unverified payload is reported');
  // even a payload that is not CBOR at all is never looked at
  const junk = signSign1(stranger, new Uint8Array([0xff, 0xff]), 'application/tapwire-config+cbor');
  assert.is(rejected(verifyConfigMessage(junk, ctx())).code, 'unknown-key');
});

test('a config for another device is "wrong-device"', () => {
  const r = rejected(verifyConfigMessage(msg(4, rawConfig(STATE), 'pump-9'), ctx()));
  assert.is(r.code, 'wrong-device');
  assert.match(r.reason, 'pump-9');
});

test('a schema-invalid config is "schema", naming the field', () => {
  const cfg = rawConfig(STATE);
  (cfg.sources as Array<Record<string, unknown>>)[0]!.port = { path: '/dev/ttyUSB0', baudRate: 'fast' };
  const r = rejected(verifyConfigMessage(msg(4, cfg), ctx()));
  assert.is(r.code, 'schema');
  assert.match(r.reason, 'sources[0].port.baudRate');
});

test('no signed config can enable a write: write function codes 5, 6, 15, 16 and any unknown "write" key are schema errors', () => {
  for (const fc of [5, 6, 15, 16]) {
    const cfg = rawConfig(STATE, {
      sources: [{ id: 'm', type: 'modbus-rtu', port: { path: '/dev/ttyS0', baudRate: 9600 },
        devices: [{ unit: 1, registers: [{ name: 'x', fc, address: 0, type: 'u16' }] }] }],
    });
    const r = rejected(verifyConfigMessage(msg(4, cfg), ctx()));
    assert.is(r.code, 'schema', `fc ${fc}`);
    assert.match(r.reason, 'fc');
  }
  const cfg = rawConfig(STATE);
  (cfg.sources as Array<Record<string, unknown>>)[0]!.write = true;
  assert.is(rejected(verifyConfigMessage(msg(4, cfg), ctx())).code, 'schema');
  const console = rawConfig(STATE, { console: { port: '/dev/ttyS1', allowWrites: true } });
  assert.is(rejected(verifyConfigMessage(msg(4, console), ctx())).code, 'schema');
});

test('device and stateDir cannot be changed over the air ("forbidden-change")', () => {
  const dev = rawConfig(STATE, { device: 'other-id' });
  const r1 = rejected(verifyConfigMessage(msg(4, dev, '*'), ctx()));
  assert.is(r1.code, 'forbidden-change');
  assert.match(r1.reason, '"device"');
  const r2 = rejected(verifyConfigMessage(msg(4, rawConfig('/tmp/elsewhere')), ctx()));
  assert.is(r2.code, 'forbidden-change');
  assert.match(r2.reason, '"stateDir"');
  assert.ok(verifyConfigMessage(msg(4, rawConfig(STATE + '/')), ctx()).ok, 'the same directory spelled with a trailing slash is no change');
});

test('non-COSE input is "not-cose": JSON, random bytes, another CBOR tag, an untagged array', () => {
  for (const b of [
    new TextEncoder().encode(JSON.stringify({ v: 1, dev: 'ota-1', version: 9, config: rawConfig(STATE) })),
    new Uint8Array([0x00, 0x01, 0x02, 0x03]),
    encodeCbor(new Tag([1, 2, 3, 4], 17)),
    encodeCbor([new Uint8Array(0), new Map(), new Uint8Array(0), new Uint8Array(64)]),
  ]) {
    assert.is(rejected(verifyConfigMessage(b, ctx())).code, 'not-cose');
  }
});

test('an oversized message is "too-large" and is refused before CBOR decoding', () => {
  const big = new Uint8Array(MAX_CONFIG_MESSAGE_BYTES + 1).fill(0x9f); // an endless CBOR array if it were decoded
  const r = rejected(verifyConfigMessage(big, ctx()));
  assert.is(r.code, 'too-large');
  // a validly signed config that is just too big is refused the same way
  const cfg = rawConfig(STATE, { $schema: 'x'.repeat(MAX_CONFIG_MESSAGE_BYTES) });
  assert.is(rejected(verifyConfigMessage(msg(4, cfg), ctx())).code, 'too-large');
});

test('an empty message, a wrong content type, an unknown payload version and a malformed payload are refused with their codes', () => {
  assert.is(rejected(verifyConfigMessage(new Uint8Array(0), ctx())).code, 'empty');
  const batchType = signConfig(operator, { dev: 'ota-1', version: 4, config: rawConfig(STATE) }, 'application/tapwire+cbor');
  assert.is(rejected(verifyConfigMessage(batchType, ctx())).code, 'content-type');
  assert.is(rejected(verifyConfigMessage(signConfig(operator, { v: 2, dev: 'ota-1', version: 4, config: {} }), ctx())).code, 'unsupported-version');
  const ct = 'application/tapwire-config+cbor';
  for (const payload of [
    encodeCbor([1, 2]),
    encodeCbor({ v: 1, dev: 'ota-1', version: 0, config: rawConfig(STATE) }),
    encodeCbor({ v: 1, dev: 'ota-1', version: 1.5, config: rawConfig(STATE) }),
    encodeCbor({ v: 1, version: 4, config: rawConfig(STATE) }),
    encodeCbor({ v: 1, dev: 'ota-1', version: 4, config: [rawConfig(STATE)] }),
    encodeCbor({ v: 1, dev: 'ota-1', version: 4, config: { ...rawConfig(STATE), stateDir: new Uint8Array([1]) } }),
    encodeCbor({ v: 1, dev: 'ota-1', version: 4, config: new Map<unknown, unknown>([[1, 'x']]) }),
  ]) {
    const r = rejected(verifyConfigMessage(signSign1(operator, payload, ct), ctx()));
    assert.is(r.code, 'bad-payload', r.reason);
  }
});

test('a "__proto__" key in a signed config stays an ordinary key and is rejected by the schema', () => {
  const cfg = new Map<string, unknown>(Object.entries(rawConfig(STATE)));
  cfg.set('__proto__', { polluted: true });
  const bytes = signSign1(operator, encodeCbor(new Map<string, unknown>([['v', 1], ['dev', 'ota-1'], ['version', 4], ['config', cfg]])), 'application/tapwire-config+cbor');
  const r = rejected(verifyConfigMessage(bytes, ctx()));
  assert.is(r.code, 'schema');
  assert.is(({} as Record<string, unknown>).polluted, undefined, 'no prototype was touched');
});

test('the local config runs as version 0: version 1 is newer', () => {
  assert.ok(verifyConfigMessage(msg(1), ctx({ running: 0, highest: 0 })).ok);
});

/** CBOR as a streaming encoder may write it: every string, map and array of indefinite length, strings in 3-byte chunks. */
function streamingCbor(v: unknown): Uint8Array {
  const parts: Uint8Array[] = [];
  const chunked = (major: number, bytes: Uint8Array): void => {
    parts.push(Uint8Array.of((major << 5) | 31));
    for (let i = 0; i < bytes.length; i += 3) parts.push(encodeCbor(major === 3 ? Buffer.from(bytes.subarray(i, i + 3)).toString('utf8') : bytes.subarray(i, i + 3)));
    parts.push(Uint8Array.of(0xff));
  };
  const walk = (x: unknown): void => {
    if (typeof x === 'string') { chunked(3, new TextEncoder().encode(x)); return; }
    if (Array.isArray(x)) { parts.push(Uint8Array.of(0x9f)); x.forEach(walk); parts.push(Uint8Array.of(0xff)); return; }
    if (x !== null && typeof x === 'object') {
      parts.push(Uint8Array.of(0xbf));
      for (const [k, val] of Object.entries(x)) { walk(k); walk(val); }
      parts.push(Uint8Array.of(0xff));
      return;
    }
    parts.push(encodeCbor(x));
  };
  walk(v);
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

test('a config whose payload uses indefinite-length text and byte strings (valid CBOR) is accepted like its definite form', () => {
  // ASCII only in the config: 3-byte chunks never split a UTF-8 sequence
  const payload = streamingCbor({ v: 1, dev: 'ota-1', version: 4, config: rawConfig(STATE) });
  assert.ok(payload.includes(0x7f), 'the payload really has indefinite-length text');
  const v = verifyConfigMessage(signSign1(operator, payload, 'application/tapwire-config+cbor'), ctx());
  assert.ok(v.ok, JSON.stringify(v));
  if (v.ok) assert.equal(v.raw, rawConfig(STATE));
  // an indefinite-length byte string is still no JSON value: refused for that, not as "not CBOR"
  const bytes = streamingCbor({ v: 1, dev: 'ota-1', version: 4, config: { ...rawConfig(STATE), stateDir: 'x' } });
  // (_ "x") -> (_ h'78')
  const withBstr = Buffer.from(bytes).toString('hex').replace('7f6178ff', '5f4178ff');
  const r = rejected(verifyConfigMessage(signSign1(operator, Buffer.from(withBstr, 'hex'), 'application/tapwire-config+cbor'), ctx()));
  assert.is(r.code, 'bad-payload');
  assert.match(r.reason, /stateDir: a byte string has no JSON equivalent/);
});

test.run();
