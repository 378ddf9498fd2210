// Verifies an over-the-air config message. Invariant: nothing inside the
// payload is parsed before the envelope is within the size cap, is a COSE_Sign1
// by a trusted operator key and its signature verifies; the checks then run in
// a fixed order and the first failure is the (stable) rejection code.
//
//   COSE_Sign1 (tag 18), at most MAX_CONFIG_MESSAGE_BYTES, protected header
//   {1: -8 EdDSA, 3: "application/tapwire-config+cbor", 4: kid of an operator key}
//   payload (CBOR map, text keys):
//     "v": 1   "dev": tstr (<device id> or "*")   "version": uint >= 1
//     "config": map (the JSON config, as CBOR: maps with text keys, arrays,
//               text, numbers, booleans, null; nothing else). For dev "*" (a
//               fleet-wide config) "device" and "stateDir" may be left out: each
//               agent fills in its own. Present, they must equal the running ones.
//
// Read-only toward the field: the config goes through the same schema as the
// local file (validateConfig). The schema is the only way into a source's
// settings, has no write function code (Modbus fc is a union of 1-4 only),
// rejects unknown keys anywhere, and no source type has a write path; so no
// config, however signed, can make the agent write to a field device. Proven
// by test/ota/envelope.test.ts ("a signed config with a write function code").
//
// No leaked secret: validateConfig also applies the secret-path rule
// (agent/config/secret-paths.ts), the same code `config check` and `run` use;
// a config naming a device secret as a credential or port is rejected with
// code "secret-path" before anything is stored, stopped or connected.

import { resolve } from 'node:path';
import { IssueCode, validateConfig, type ConfigIssue, type ResolvedConfig } from '../config/load.js';
import { otaConsoleProblem } from '../config/console-port.js';
import { decodeCbor, Tag } from '../encode/cbor.js';
import { COSE_ALG_EDDSA, CoseError, decodeSign1, verifySign1 } from '../encode/cose.js';

export const CONFIG_CONTENT_TYPE = 'application/tapwire-config+cbor';
export const CONFIG_PAYLOAD_VERSION = 1;
/** A config is a few KiB; 64 KiB leaves room for big register maps and stops abuse before CBOR decoding. */
export const MAX_CONFIG_MESSAGE_BYTES = 64 * 1024;
/** Deeper than any schema-valid config (about 8 levels). */
const MAX_DEPTH = 32;

/** Stable rejection codes (also in acks and the counters `ota.rejected.<code>`). */
export type RejectCode =
  | 'empty' | 'too-large' | 'not-cose' | 'bad-alg' | 'content-type' | 'unknown-key' | 'bad-signature'
  | 'bad-payload' | 'unsupported-version' | 'wrong-device' | 'not-newer' | 'schema' | 'secret-path' | 'forbidden-change'
  /** what `run` would meet in the file system: a missing TLS file, one port named twice (the preflight of `config check`) */
  | 'preflight';

export interface VersionFloor {
  /** The version that runs now (0 = the local config file). */
  running: number;
  /** The highest version ever accepted for apply (>= running; > running after a rollback). */
  highest: number;
}

export interface VerifyContext extends VersionFloor {
  device: string;
  /** The running config's stateDir: a config may not move it. */
  stateDir: string;
  /** Trusted operator public key for a kid, if any. */
  operatorKey(kid: Uint8Array): Uint8Array | undefined;
  /** The local config file's console, if any: a config may not move it, nor read from it (issue 14). */
  console?: ResolvedConfig['console'];
}

export interface AcceptedConfig {
  ok: true;
  version: number;
  /** "*" or our device id, as signed. */
  dev: string;
  /** kid (hex) of the operator key that signed it. */
  signedBy: string;
  /** The config as signed (JSON-compatible), for storing. */
  raw: Record<string, unknown>;
  config: ResolvedConfig;
  warnings: ConfigIssue[];
}

export interface RejectedConfig {
  ok: false;
  code: RejectCode;
  reason: string;
  /** Known only once the signature verified and the payload parsed that far. */
  version?: number;
}

export type ConfigVerdict = AcceptedConfig | RejectedConfig;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const reject = (code: RejectCode, reason: string, version?: number): RejectedConfig =>
  (version === undefined ? { ok: false, code, reason } : { ok: false, code, reason, version });

/** CBOR (as decoded) -> JSON value; throws with the path of the first thing JSON has no room for. */
function toJson(v: unknown, path: string, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new Error(`${path || 'config'}: nested deeper than ${MAX_DEPTH} levels`);
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`${path || 'config'}: ${v} is not a JSON number`);
    return v;
  }
  if (Array.isArray(v)) return v.map((x, i) => toJson(x, `${path}[${i}]`, depth + 1));
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v) {
      if (typeof k !== 'string') throw new Error(`${path || 'config'}: map key ${String(k)} is not text`);
      if (Object.hasOwn(out, k)) throw new Error(`${path || 'config'}: duplicate key ${JSON.stringify(k)}`);
      // defineProperty: a key named "__proto__" stays an ordinary key (the schema then rejects it)
      Object.defineProperty(out, k, { value: toJson(x, path ? `${path}.${k}` : k, depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  const what = v instanceof Uint8Array ? 'a byte string' : v instanceof Tag ? `CBOR tag ${String(v.tag)}` : typeof v;
  throw new Error(`${path || 'config'}: ${what} has no JSON equivalent`);
}

function floorReason(version: number, floor: VersionFloor): string {
  if (version === floor.running) return `version ${version} is the running version (replay)`;
  if (version < floor.running) return `version ${version} is older than the running version ${floor.running}`;
  return `version ${version} was applied before and rolled back (highest seen ${floor.highest}); publish a newer version`;
}

/** Checks one config message; never throws. */
export function verifyConfigMessage(bytes: Uint8Array, ctx: VerifyContext): ConfigVerdict {
  try {
    return check(bytes, ctx);
  } catch (err) {
    // a bug must not take the agent down, nor let anything through
    return reject('bad-payload', `internal error while checking: ${(err as Error).message}`);
  }
}

function check(bytes: Uint8Array, ctx: VerifyContext): ConfigVerdict {
  if (bytes.length === 0) return reject('empty', 'empty message');
  // 1. size, before any decoding
  if (bytes.length > MAX_CONFIG_MESSAGE_BYTES) {
    return reject('too-large', `message is ${bytes.length} bytes, limit ${MAX_CONFIG_MESSAGE_BYTES}`);
  }
  // 2. the envelope only: structure, alg, content type, kid
  let kid: Uint8Array;
  try {
    const env = decodeSign1(bytes, MAX_CONFIG_MESSAGE_BYTES);
    if (env.alg !== COSE_ALG_EDDSA) return reject('bad-alg', `COSE alg ${env.alg} is not EdDSA (-8)`);
    if (env.contentType !== CONFIG_CONTENT_TYPE) {
      return reject('content-type', `content type ${JSON.stringify(env.contentType.slice(0, 80))} is not ${CONFIG_CONTENT_TYPE}`);
    }
    kid = env.kid;
  } catch (err) {
    return reject('not-cose', (err as Error).message.slice(0, 200));
  }
  // 3. trusted operator key, signature
  if (!ctx.operatorKey(kid)) return reject('unknown-key', `signed by key ${hex(kid).slice(0, 32)}, which is not a trusted operator key`);
  let payload: Uint8Array;
  try {
    payload = verifySign1(bytes, ctx.operatorKey).payload;
  } catch (err) {
    const code = err instanceof CoseError && err.code === 'ERR_COSE_SIGNATURE' ? 'bad-signature' : 'not-cose';
    return reject(code, (err as Error).message);
  }
  // 4. the signed payload
  let m: unknown;
  try {
    m = decodeCbor(payload);
  } catch (err) {
    return reject('bad-payload', `payload is not CBOR: ${(err as Error).message}`);
  }
  if (!(m instanceof Map)) return reject('bad-payload', 'payload is not a CBOR map');
  const v: unknown = m.get('v');
  if (v !== CONFIG_PAYLOAD_VERSION) {
    return typeof v === 'number'
      ? reject('unsupported-version', `payload format version ${v}; this agent reads version ${CONFIG_PAYLOAD_VERSION}`)
      : reject('bad-payload', 'payload has no integer "v"');
  }
  const dev: unknown = m.get('dev');
  if (typeof dev !== 'string') return reject('bad-payload', 'payload has no text "dev"');
  const version: unknown = m.get('version');
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    return reject('bad-payload', '"version" must be an integer >= 1');
  }
  if (dev !== ctx.device && dev !== '*') {
    return reject('wrong-device', `config is for device ${JSON.stringify(dev.slice(0, 64))}, this is ${JSON.stringify(ctx.device)}`, version);
  }
  // 5. anti-rollback: strictly newer than anything accepted before
  if (version <= ctx.highest) return reject('not-newer', floorReason(version, ctx), version);
  // 6. the config itself: JSON-shaped, schema-valid, same identity
  let raw: unknown;
  try {
    raw = toJson(m.get('config'), '', 0);
  } catch (err) {
    return reject('bad-payload', (err as Error).message, version);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return reject('bad-payload', '"config" must be a map', version);
  if (dev === '*') {
    const fleet = raw as Record<string, unknown>;
    if (!Object.hasOwn(fleet, 'device')) fleet.device = ctx.device;
    if (!Object.hasOwn(fleet, 'stateDir')) fleet.stateDir = ctx.stateDir;
  }
  const result = validateConfig(raw);
  if (!result.ok) {
    const shown = result.issues.slice(0, 5).map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ');
    // a config naming a secret of the device as a credential or port: never applied, never connected with
    const code = result.issues.every((i) => i.code === IssueCode.SECRET_PATH) ? 'secret-path' : 'schema';
    return reject(code, `${result.issues.length} problem(s): ${shown}`.slice(0, 600), version);
  }
  const config = result.config;
  if (config.device !== ctx.device) {
    return reject('forbidden-change', `"device" cannot be changed over the air (${JSON.stringify(config.device)} != ${JSON.stringify(ctx.device)})`, version);
  }
  if (resolve(config.stateDir) !== resolve(ctx.stateDir)) {
    return reject('forbidden-change', `"stateDir" cannot be changed over the air (${JSON.stringify(config.stateDir)} != ${JSON.stringify(ctx.stateDir)})`, version);
  }
  const consoleProblem = otaConsoleProblem(config, ctx.console);
  if (consoleProblem) return reject('forbidden-change', consoleProblem, version);
  return { ok: true, version, dev, signedBy: hex(kid), raw: raw as Record<string, unknown>, config, warnings: result.warnings };
}
