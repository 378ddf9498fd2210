// The live view and the demo's faults, in a real terminal (tmux): the rows
// appear and update; b twice: pending rises, then drains to 0 with no gap;
// k: the agent process is killed with SIGKILL, restarts, and the chain goes
// on; f: a signed gap notice is shown; q: exit 0. A small terminal shows
// fewer rows and a resize redraws. `verify` on a terminal too. Piped, the
// output is line oriented with no escape codes. Waits are on screen content,
// bounded; nothing is timed.

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startAedes } from '../peers/aedes.js';
import { CLI, runCli, startVerifyProcess } from '../peers/agent-process.js';
import { startDeviceRig } from '../peers/device-rig.js';
import { startTmux, type TmuxPane } from '../peers/tmux.js';
import { tempDir } from '../helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tapwire = (...args: string[]): string[] => [process.execPath, '--import', 'tsx', CLI, ...args];

/** The value column of a chain-panel row, e.g. row(s, 'last seq'). */
const row = (s: string[], label: string): string | undefined =>
  s.find((r) => r.startsWith(`${label} `))?.slice(label.length).trim();
const lastSeq = (s: string[]): number => Number(/^(\d+)/.exec(row(s, 'last seq') ?? '')?.[1] ?? NaN);
const pending = (s: string[]): number => Number(/^(\d+) batch/.exec(row(s, 'pending') ?? '')?.[1] ?? NaN);
const agentPid = (s: string[]): number => Number(/^pid (\d+)/.exec(row(s, 'agent') ?? '')?.[1] ?? NaN);
/** The "what happened" notes as one line of text (notes wrap at the width). */
const notes = (s: string[]): string => s.slice(s.indexOf('-- what happened --') + 1).join(' ').replace(/\s+/g, ' ');
const fieldRow = (s: string[], name: string): string | undefined => s.find((r) => r.startsWith(`${name} `));
const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };

async function quit(pane: TmuxPane, key = 'q'): Promise<void> {
  if ((await pane.exitStatus()) === undefined) {
    await pane.keys(key);
    await pane.waitForExit(60_000).catch(() => undefined);
  }
  await pane.close();
}

test('demo on a terminal: rows appear and update; b b drains with no gap; k restarts the agent and the chain goes on; f shows a gap notice; q exits 0', async () => {
  const pane = await startTmux(tapwire('demo', '--interval', '100'), { cols: 60, rows: 14, cwd: root });
  try {
    // a small terminal: fewer field rows, never wider or taller than the screen
    const small = await pane.waitForScreen((s) => (s.some((r) => r.includes('more fields')) && row(s, 'last seq') !== undefined ? s : undefined), 90_000, 'the small frame');
    assert.ok(small[0]!.startsWith('tapwire demo'), small.join('\n'));
    assert.is(small.filter((r) => r.startsWith('tapwire demo')).length, 1);
    for (const r of small) assert.ok(Array.from(r).length <= 59, `wider than the pane: ${r}`);
    // a resize redraws the whole frame: every field now, still one title
    await pane.resize(120, 45);
    const first = await pane.waitForScreen((s) => (fieldRow(s, 'env:temp') && fieldRow(s, 'wx:wind_speed') && lastSeq(s) >= 1 && !s.some((r) => r.includes('more fields')) ? s : undefined), 60_000, 'every field row');
    assert.is(first.filter((r) => r.startsWith('tapwire demo')).length, 1, first.join('\n'));
    assert.match(fieldRow(first, 'env:temp')!, /^env:temp\s+-?\d+(\.\d)?\s+Cel\s+\d/);
    // the rows update in place
    const seq0 = lastSeq(first);
    const temp0 = fieldRow(first, 'env:temp');
    await pane.waitForScreen((s) => lastSeq(s) >= seq0 + 2 && fieldRow(s, 'env:temp') !== temp0, 60_000, 'the rows to update');

    // b: the broker goes away, pending batches grow; b: it comes back, they drain, no gap
    await pane.keys('b');
    const down = await pane.waitForScreen((s) => (row(s, 'broker')?.startsWith('DOWN') && row(s, 'agent')?.includes('uplink disconnected') && pending(s) >= 1 ? s : undefined), 60_000, 'pending batches while the broker is down');
    const seqDown = lastSeq(down);
    assert.match(notes(down), /b: broker stopped/);
    await pane.keys('b');
    const drained = await pane.waitForScreen((s) => (row(s, 'broker')?.startsWith('up') && row(s, 'agent')?.includes('uplink connected') && pending(s) === 0 && lastSeq(s) > seqDown + 1 ? s : undefined), 90_000, 'pending to drain to 0');
    assert.is(row(drained, 'gap notices'), '0');
    assert.match(row(drained, 'chain')!, /^complete/);
    assert.is(row(drained, 'rejects'), '0');

    // k: kill -9 the agent process; it restarts and the chain goes on, no seq reused
    const oldPid = agentPid(drained);
    assert.ok(oldPid > 0 && alive(oldPid));
    await pane.keys('k');
    const restarted = await pane.waitForScreen((s) => /k: agent restarted as pid (\d+)/.exec(notes(s)), 90_000, 'the agent to restart');
    const newPid = Number(restarted[1]);
    assert.is.not(newPid, oldPid);
    assert.not.ok(alive(oldPid), 'the old agent process is gone');
    const after = await pane.waitForScreen((s) => (/verified after the kill: the chain goes on \(prev-hash ok, 0 conflicts, 0 unexplained breaks\)/.test(notes(s)) ? s : undefined), 60_000, 'a batch verified after the kill');
    assert.match(row(after, 'chain')!, /^complete/);

    // f: the journal fills to its bound; a signed gap notice arrives and is shown
    await pane.keys('f');
    // (a gap notice dropped in its turn is told again: complete once all have arrived)
    const gap = await pane.waitForScreen((s) => (/^[1-9]\d*: \d+\.\.\d+ journal-full/.test(row(s, 'gap notices') ?? '') && /^complete/.test(row(s, 'chain') ?? '') ? s : undefined), 240_000, 'a gap notice, and the chain complete');
    assert.match(row(gap, 'pending')!, /; [1-9]\d* dropped$/);

    await pane.keys('q');
    assert.is(await pane.waitForExit(90_000), 0);
    const last = await pane.screen();
    assert.ok(last.some((r) => /^demo: \d+ batches, \d+ readings verified; chain complete$/.test(r)), last.join('\n'));
    assert.not.ok(alive(newPid), 'the agent stopped with the demo');
  } finally {
    await quit(pane);
  }
});

test('demo piped: line oriented, no escape codes', async () => {
  const r = await runCli(['demo', '--duration', '3', '--interval', '100'], { timeoutMs: 60_000 });
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(r.stdout.includes('\u001b') || r.stderr.includes('\u001b'), 'an escape code in piped output');
  const lines = r.stdout.trimEnd().split('\n');
  const known = [/^verified batch seq \d+: \d+ readings, signature ok, chain ok$/, /^ {2}\S+ +\S+ \S*$/, /^device status: \w+ \(signed\)$/, /^console: attach with /, /^demo: \d+ batches/];
  for (const l of lines) assert.ok(known.some((re) => re.test(l)), `not a known line: ${JSON.stringify(l)}`);
  assert.ok(lines.filter((l) => l.startsWith('verified batch seq')).length >= 1);
});

test('demo --state-dir <a new dir> provisions its key there (0600), and a second run reuses it and continues the chain', async () => {
  const dir = tempDir();
  try {
    const state = join(dir.path, 'new', 'state');
    const one = await runCli(['demo', '--state-dir', state, '--duration', '3', '--interval', '100'], { timeoutMs: 60_000 });
    assert.is(one.code, 0, one.stderr);
    assert.not.match(one.stderr, /ENOENT|\n\s+at /);
    assert.is(statSync(join(state, 'device.key')).mode & 0o777, 0o600);
    const pub = readFileSync(join(state, 'device.pub'), 'utf8');
    const last = Math.max(...[...one.stdout.matchAll(/verified batch seq (\d+)/g)].map((m) => Number(m[1])));
    const two = await runCli(['demo', '--state-dir', state, '--duration', '3', '--interval', '100'], { timeoutMs: 60_000 });
    assert.is(two.code, 0, two.stderr);
    assert.is(readFileSync(join(state, 'device.pub'), 'utf8'), pub, 'the same key');
    const firstAgain = Number(/verified batch seq (\d+)/.exec(two.stdout)?.[1]);
    assert.ok(firstAgain > last, `the chain goes on: ${firstAgain} after ${last}`);
  } finally { dir.remove(); }
});

test('verify on a terminal: the live view of the fields and the chain; Ctrl-C prints the summary; piped: lines, no escape codes', async () => {
  const broker = await startAedes();
  const r = await startDeviceRig({
    url: broker.url, device: 'live-1', protocolVersion: 4,
    batch: { maxRecords: 10, maxAgeMs: 200 },
    source: { id: 'probe', decoder: { type: 'kv', units: { temp: 'Cel' } } },
    cloud: false,
  });
  let pane: TmuxPane | undefined;
  let piped: Awaited<ReturnType<typeof startVerifyProcess>> | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    const pub = join(r.stateDir, 'device.pub');
    const args = ['verify', '--url', broker.url, '--device', 'live-1', '--pubkey', pub];
    pane = await startTmux(tapwire(...args, '--client-id', 'live-tty'), { cols: 100, rows: 30, cwd: root });
    piped = await startVerifyProcess([...args.slice(1), '--client-id', 'live-pipe']);
    await pane.waitForScreen((s) => s.some((r) => r.includes('subscribed to live-1')), 60_000, 'the view subscribed');
    const agent = await r.startAgent();
    let i = 0;
    timer = setInterval(() => { i++; r.write(`temp=${(20 + (i % 7) / 10).toFixed(1)} n=${i}`); }, 50);
    const first = await pane.waitForScreen((s) => (fieldRow(s, 'probe:temp') && lastSeq(s) >= 1 ? s : undefined), 60_000, 'the field rows');
    assert.match(fieldRow(first, 'probe:temp')!, /^probe:temp\s+20(\.\d)?\s+Cel\s+\d+(\.\d)? s\s+[▁▂▃▄▅▆▇█]+$/);
    assert.match(row(first, 'broker')!, /^connected/);
    const seq = lastSeq(first);
    const n0 = fieldRow(first, 'probe:n');
    await pane.waitForScreen((s) => lastSeq(s) >= seq + 3 && fieldRow(s, 'probe:n') !== n0 && /^online/.test(row(s, 'agent') ?? ''), 60_000, 'the rows to update and the signed status');
    clearInterval(timer);
    timer = undefined;
    await agent.stop();
    await pane.keys('C-c');
    assert.is(await pane.waitForExit(60_000), 0);
    const end = await pane.screen();
    assert.ok(end.some((r) => r === 'COMPLETE: every batch accounted for'), end.join('\n'));

    assert.is(await piped.stop(), 0, piped.stderr());
    const out = piped.stdout() + piped.stderr();
    assert.not.ok(out.includes('\u001b'), 'an escape code in piped output');
    assert.match(piped.stdout(), /^seq \d+ {2}\S+ {2}probe:temp = 20(\.\d)? Cel( {2}\(clock free-running\))?$/m);
  } finally {
    if (timer) clearInterval(timer);
    await piped?.stop();
    if (pane) await quit(pane, 'C-c');
    await r.close();
    await broker.close();
  }
});

test.run();
