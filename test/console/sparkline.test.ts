import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sparkline } from '../../agent/console/sparkline.js';

test('a rising series runs from the lowest block to the highest', () => {
  assert.is(sparkline([1, 2, 3, 4, 5, 6, 7, 8]), '▁▂▃▄▅▆▇█');
});

test('values are scaled between the window min and max, whatever their range', () => {
  assert.is(sparkline([-40, 0, 40]), '▁▅█');
  assert.is(sparkline([1000.5, 1000.75, 1001]), '▁▅█');
});

test('a flat series is a flat middle line, one bar per value', () => {
  assert.is(sparkline([21.5, 21.5, 21.5]), '▄▄▄');
  assert.is(sparkline([3]), '▄');
});

test('no values, no line; non-finite values are left out', () => {
  assert.is(sparkline([]), '');
  assert.is(sparkline([NaN, Infinity]), '');
  assert.is(sparkline([0, NaN, 10]), '▁█');
});

test('extreme magnitudes do not overflow the scale', () => {
  assert.is(sparkline([-Number.MAX_VALUE, Number.MAX_VALUE]), '▄▄', 'the span overflows to Infinity: drawn flat, not garbage');
  assert.is(sparkline([0, 5e-324]), '▁█');
});

test.run();
