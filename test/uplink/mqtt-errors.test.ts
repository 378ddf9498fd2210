// agent/uplink/mqtt-errors: refusals named from mqtt.js's reason-code table.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorText, refusalText, safeUrl } from '../../agent/uplink/mqtt-errors.js';

test('CONNACK codes of 3.1.1 and 5 are named (lower case); an unknown one says its number', () => {
  assert.is(refusalText(5), 'not authorized');
  assert.is(refusalText(134), 'bad user name or password');
  assert.is(refusalText(138), 'banned');
  assert.is(refusalText(250), 'reason code 250');
});

test('errors in one line; the URL without credentials', () => {
  assert.is(errorText(Object.assign(new Error('x\ndump'), { code: 'ECONNREFUSED' })), 'ECONNREFUSED: x');
  assert.is(safeUrl('mqtts://u:secret@broker:8883/x'), 'mqtts://broker:8883');
});

test.run();
