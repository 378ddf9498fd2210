// agent/fleet: enrolment CSV parsing (errors name the line), --since forms,
// and the completeness arithmetic of verify/ranges the report is built on.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseEnrolmentCsv } from '../../agent/fleet/enroll.js';
import { parseSince } from '../../agent/fleet/readings.js';
import { missingRanges } from '../../agent/verify/ranges.js';

const KEY = 'ab'.repeat(32);

test('CSV of id,pubkey: header and comments skipped, whitespace trimmed, the first bad line named', () => {
  const list = parseEnrolmentCsv(`# fleet A\nid,pubkey\n pump-1 , ${KEY}\n\npump-2,${KEY.toUpperCase()}\n`, 'a.csv');
  assert.equal(list.map((e) => [e.dev, e.pubkey.length, e.pubkey[0]]), [['pump-1', 32, 0xab], ['pump-2', 32, 0xab]]);
  assert.throws(() => parseEnrolmentCsv(`pump-1,${KEY}\npump 2,${KEY}\n`, 'b.csv'), /b\.csv:2: device id "pump 2"/);
  assert.throws(() => parseEnrolmentCsv(`pump-1,${KEY},extra\n`, 'c.csv'), /c\.csv:1: expected two fields/);
  assert.throws(() => parseEnrolmentCsv(`pump-1,abcd\n`, 'd.csv'), /d\.csv:1: public key must be 64 hex/);
  assert.throws(() => parseEnrolmentCsv('id,pubkey\n# nothing\n', 'e.csv'), /e\.csv: no devices/);
});

test('--since: ISO 8601, a date, Unix seconds, or an age before now', () => {
  const now = Date.UTC(2026, 0, 31, 12, 0, 0);
  assert.is(parseSince('2026-01-31T11:00:00Z', now)!.getTime(), Date.UTC(2026, 0, 31, 11));
  assert.is(parseSince('2026-01-30', now)!.getTime(), Date.UTC(2026, 0, 30));
  assert.is(parseSince('1760000000', now)!.getTime(), 1_760_000_000_000);
  assert.is(parseSince('90s', now)!.getTime(), now - 90_000);
  assert.is(parseSince('15m', now)!.getTime(), now - 900_000);
  assert.is(parseSince('6h', now)!.getTime(), now - 6 * 3600_000);
  assert.is(parseSince('7d', now)!.getTime(), now - 7 * 86400_000);
  for (const bad of ['yesterday', '', '5 weeks', '2026-13-45']) assert.is(parseSince(bad, now), undefined, bad);
});

test('missing ranges: holes between held runs minus the gap notices, from seq 1 when the report holds [0,0]', () => {
  assert.equal(missingRanges([[0, 0], [1, 10]], []), []);
  assert.equal(missingRanges([[0, 0], [3, 10]], []), [[1, 2]]);
  assert.equal(missingRanges([[0, 0], [1, 4], [8, 9], [12, 12]], [{ first: 5, last: 6, reason: 'journal-full' }]), [[7, 7], [10, 11]]);
  assert.equal(missingRanges([[0, 0], [1, 4], [10, 10]], [{ first: 5, last: 9, reason: 'corrupt' }]), []);
  assert.equal(missingRanges([[0, 0], [1, 2], [10, 10]], [{ first: 4, last: 5, reason: 'a' }, { first: 7, last: 7, reason: 'b' }]), [[3, 3], [6, 6], [8, 9]]);
});

test.run();
