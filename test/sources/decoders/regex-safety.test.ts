// Defect 7 (issue 13): which patterns can backtrack catastrophically, by rule.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backtrackingRisk } from '../../../agent/sources/decoders/regex-safety.js';

test('nested quantifiers (star height > 1) are refused, naming the rule', () => {
  for (const p of ['^(?<v>(a+)+)$', '(?<v>(\\d+,)*)', '(?<v>(a{1,5}){2,})', '(?<v>(?:x[a-z]*)+)', '(?<v>(a*)*)b', '(?<v>(?:a+?)+?)!']) {
    assert.match(backtrackingRisk(p) ?? 'accepted', /^nested quantifier/, p);
  }
});

test('overlapping alternation under a quantifier is refused, naming the rule', () => {
  for (const p of ['(?<v>(a|ab)*)', '(?<v>(\\w|\\d)+)x', '(?<v>(a|)*)', '(?<v>(?:[a-c]|b)+)', '(?<v>(?:.|x)*)$']) {
    assert.match(backtrackingRisk(p) ?? 'accepted', /^overlapping alternation/, p);
  }
});

test('the patterns sensors need pass', () => {
  for (const p of [
    'T=(?<t>[0-9.]+)', 'T=(?<temp>[0-9.]+)|H=(?<hum>\\d+)', '^(?<a>-?\\d+(?:\\.\\d+)?)$', '(?<v>(?:a|b)+)',
    '^(?<x>[^,]+),(?<y>.*)$', '(?<v>[\\]-a]+)', '^\\$(?<id>\\w{2})(?<n>\\d{1,3})?$', '(?<t>\\d+)\\s+(?<u>[A-Za-z%]+)',
  ]) assert.is(backtrackingRisk(p), undefined, p);
});

test('a pattern V8 cannot parse is left to new RegExp to report', () => {
  assert.is(backtrackingRisk('(?<a>\\d+'), undefined);
});

test.run();
