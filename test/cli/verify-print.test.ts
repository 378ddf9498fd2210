// `tapwire verify` prints what a device sent: a string reading (a serial line's
// text) carrying terminal escapes reaches the terminal escaped, never raw —
// in line output and in --json (which stays valid JSON).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatEvent, formatEventJson } from '../../agent/view/verify-text.js';
import { createBatchEncoder, ZERO_HASH } from '../../agent/encode/batch.js';
import { createCryptoSigner } from '../../agent/encode/signer.js';
import { createChainVerifier, type VerifyEvent } from '../../agent/verify/chain.js';

const DEV = 'pump-7';
const signer = createCryptoSigner(new Uint8Array(32).fill(5));
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** A signed batch with one string reading, verified as `tapwire verify` does. */
function verifiedBatch(text: string): VerifyEvent {
  const enc = createBatchEncoder({ device: DEV, signer, clockSynced: () => true, nowMs: () => 0 }, { seq: 0, prev: ZERO_HASH });
  const bytes = enc.encodeReadings([{ name: 'weather:note', time: 1_700_000_000, vs: text }]).bytes;
  const events = createChainVerifier({ device: DEV, publicKeys: [signer.publicKey] }).accept(bytes);
  const batch = events.find((e) => e.kind === 'batch');
  assert.ok(batch, `expected a batch event, got ${JSON.stringify(events)}`);
  return batch;
}

test('a string reading "\\x1b[31mRED" prints no ESC byte, and says \\x1b visibly', () => {
  const lines = formatEvent(verifiedBatch('\x1b[31mRED\x1b[0m'));
  assert.is(lines.length, 1);
  assert.not.ok(lines[0]!.includes('\x1b'), JSON.stringify(lines[0]));
  assert.ok(lines[0]!.includes('weather:note = \\x1b[31mRED\\x1b[0m'), lines[0]);
});

test('NUL, C1 CSI (U+009B) and a bidi override in a reading print as visible escapes', () => {
  const [line] = formatEvent(verifiedBatch('4\0\0\0hum=5\0 \u009b2J \u202e'));
  assert.not.ok(RAW_CONTROL.test(line!), JSON.stringify(line));
  assert.ok(line!.includes('4\\x00\\x00\\x00hum=5\\x00 \\x9b2J \\u202e'), line);
});

test('--json: no raw control character, and the line still parses to the same text', () => {
  const text = '\x1b]0;owned\x07 \u009b31m \u2028 \x7f';
  const [line] = formatEventJson(verifiedBatch(text));
  assert.not.ok(RAW_CONTROL.test(line!) || /[\u2028\u202e]/.test(line!), JSON.stringify(line));
  assert.is((JSON.parse(line!) as { vs: string }).vs, text);
});

test('a rejection reason from outside is escaped too', () => {
  const [line] = formatEvent({ kind: 'rejected', reason: 'bad \x1b[2J thing' });
  assert.is(line, 'REJECTED: bad \\x1b[2J thing');
});

test.run();
