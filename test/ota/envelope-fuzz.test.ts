// Fuzzing the OTA envelope and the config path behind it (bounded, seeded):
// random bytes, mutated valid messages, validly signed random payloads and
// mutated configs. Nothing throws, nothing hits an internal error, and nothing
// is accepted that is not the untouched valid message or a config the schema
// itself accepts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateConfig } from '../../agent/config/load.js';
import { encodeCbor } from '../../agent/encode/cbor.js';
import { signSign1 } from '../../agent/encode/cose.js';
import { fingerprint } from '../../agent/encode/keys.js';
import { CONFIG_CONTENT_TYPE, verifyConfigMessage, type ConfigVerdict, type VerifyContext } from '../../agent/ota/envelope.js';
import { operator, rawConfig, signConfig } from './fixtures.js';
import { prng } from '../../agent/prng.js';

const STATE = '/var/lib/tapwire-fuzz';
const ctx: VerifyContext = {
  device: 'ota-1', stateDir: STATE, running: 0, highest: 0,
  operatorKey: (kid) => (Buffer.from(kid).toString('hex') === fingerprint(operator.publicKey) ? operator.publicKey : undefined),
};


function check(bytes: Uint8Array): ConfigVerdict {
  let v: ConfigVerdict;
  try {
    v = verifyConfigMessage(bytes, ctx);
  } catch (err) {
    throw new Error(`verifyConfigMessage threw on ${Buffer.from(bytes.subarray(0, 64)).toString('hex')}: ${String(err)}`);
  }
  if (!v.ok) assert.not.match(v.reason, 'internal error', `no internal error: ${v.reason}`);
  return v;
}

const valid = signConfig(operator, { dev: 'ota-1', version: 7, config: rawConfig(STATE) });

test('2000 random byte strings: none crashes, none is accepted', () => {
  const r = prng(1);
  for (let i = 0; i < 2000; i++) {
    const len = Math.floor(r() * 600);
    const b = new Uint8Array(len);
    for (let j = 0; j < len; j++) b[j] = Math.floor(r() * 256);
    if (i % 3 === 0 && len > 0) b[0] = 0xd2; // tag 18: get past the first check more often
    assert.not.ok(check(b).ok);
  }
});

test('3000 mutations of a valid signed config (flip, insert, delete, truncate, splice): none crashes, none is accepted', () => {
  const r = prng(2);
  assert.ok(check(valid).ok, 'the unmutated message is accepted');
  for (let i = 0; i < 3000; i++) {
    let b = Array.from(valid);
    const n = 1 + Math.floor(r() * 4);
    for (let k = 0; k < n; k++) {
      const at = Math.floor(r() * b.length);
      switch (Math.floor(r() * 5)) {
        case 0: b[at] = b[at]! ^ (1 << Math.floor(r() * 8)); break;
        case 1: b.splice(at, 0, Math.floor(r() * 256)); break;
        case 2: b.splice(at, 1); break;
        case 3: b = b.slice(0, at); break;
        default: b.splice(at, 0, ...b.slice(Math.floor(r() * b.length), Math.floor(r() * b.length))); break;
      }
    }
    const bytes = Uint8Array.from(b);
    if (Buffer.from(bytes).equals(Buffer.from(valid))) continue;
    assert.not.ok(check(bytes).ok, `mutation ${i} must not be accepted`);
  }
});

/** A random CBOR-encodable value (maps with text or int keys, arrays, text, numbers, bytes, booleans, null). */
function randomValue(r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * (depth > 4 ? 6 : 8));
  switch (pick) {
    case 0: return Math.floor(r() * 2 ** 32) - 2 ** 31;
    case 1: return r() * 1e6;
    case 2: return ['v', 'dev', 'version', 'config', 'ota-1', '*', '', 'x'.repeat(Math.floor(r() * 40))][Math.floor(r() * 8)];
    case 3: return new Uint8Array(Math.floor(r() * 8));
    case 4: return r() < 0.5;
    case 5: return null;
    case 6: return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const m = new Map<unknown, unknown>();
      for (let i = Math.floor(r() * 5); i > 0; i--) m.set(r() < 0.8 ? ['v', 'dev', 'version', 'config', 'k' + i][Math.floor(r() * 5)] : i, randomValue(r, depth + 1));
      return m;
    }
  }
}

test('1000 validly signed random payloads: none crashes, none is accepted', () => {
  const r = prng(3);
  for (let i = 0; i < 1000; i++) {
    const payload = encodeCbor(randomValue(r, 0));
    assert.not.ok(check(signSign1(operator, payload, CONFIG_CONTENT_TYPE)).ok);
  }
});

/** Mutates a JSON value: change a type, drop or add a key, replace a leaf. */
function mutateJson(v: unknown, r: () => number): unknown {
  if (Array.isArray(v)) return v.map((x) => (r() < 0.3 ? mutateJson(x, r) : x));
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const roll = r();
      if (roll < 0.05) continue; // drop
      out[roll < 0.08 ? k + '_' : k] = roll < 0.4 ? mutateJson(x, r) : x;
    }
    if (r() < 0.05) out.extra = 1;
    return out;
  }
  const leaves: unknown[] = [0, -1, 1.5, 1e12, '', 'x', '/dev/ttyS9', true, null, [], {}, 6, 16];
  return r() < 0.5 ? leaves[Math.floor(r() * leaves.length)] : v;
}

test('1500 validly signed mutated configs: accepted exactly when the schema accepts them', () => {
  const r = prng(4);
  const base = rawConfig(STATE, {
    sources: [
      { id: 'env', type: 'lines', port: { path: '/dev/ttyUSB0', baudRate: 9600 }, decoder: { type: 'csv', columns: ['a', 'b'] } },
      { id: 'm', type: 'modbus-rtu', port: { path: '/dev/ttyS0', baudRate: 9600 }, devices: [{ unit: 1, registers: [{ name: 'v', fc: 4, address: 0, type: 'f32' }] }] },
    ],
  });
  let accepted = 0;
  for (let i = 0; i < 1500; i++) {
    const cfg = mutateJson(base, r);
    const v = check(signConfig(operator, { dev: 'ota-1', version: 1 + i, config: cfg }));
    const schemaOk = validateConfig(cfg).ok;
    const sameIdentity = typeof cfg === 'object' && cfg !== null && (cfg as Record<string, unknown>).device === 'ota-1' && (cfg as Record<string, unknown>).stateDir === STATE;
    assert.is(v.ok, schemaOk && sameIdentity, `mutation ${i}: ${JSON.stringify(cfg)}`);
    if (v.ok) {
      accepted++;
      for (const s of v.config.sources) {
        if (s.type !== 'lines') for (const d of s.devices) for (const reg of d.registers) assert.ok(reg.fc >= 1 && reg.fc <= 4, 'only read function codes');
      }
    }
  }
  assert.ok(accepted > 0 && accepted < 1500, `both outcomes occur (${accepted} accepted)`);
});

test.run();
