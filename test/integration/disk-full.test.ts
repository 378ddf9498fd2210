// A full disk is the journal being full (issue 11): the agent's state
// directory on a real 2 MiB tmpfs, journal.maxBytes at its 64 MiB default
// (far more than the disk), the broker down while lines stream in. The real
// CLI as a child process, a socat pty, a real Mosquitto, a cloud-side verifier.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type AgentProcess } from '../peers/agent-process.js';
import { startFieldRig, type FieldRig } from '../peers/field-rig.js';
import { mountSmallDisk } from '../peers/tmpfs.js';
import { waitFor } from '../helpers.js';

const READING = 'field:n';
const DISK = 2 * 1024 * 1024;
const FIELDS = 31; // n + 30 extra per line: ~0.3 KiB of batch per line (one bn, one bt per line)
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Status { counters: Record<string, number>; journal: { maxBytes: number; limitBytes: number; limitedBy: string; diskBytes: number } }

test('a 2 MiB disk fills while the broker is down: the agent never stops, drops the oldest as disk-full and tells it, publishes again as soon as the broker is back, and stops with exit 0', async () => {
  const disk = mountSmallDisk(DISK);
  if ('cannot' in disk) {
    console.error(`SKIPPED full-disk test: ${disk.cannot}`);
    return;
  }
  let r: FieldRig | undefined;
  let agent: AgentProcess;
  try {
    r = await startFieldRig({ device: 'diskfull-1', stateDir: disk.path, batch: { maxRecords: 200, maxAgeMs: 100 }, journal: { fsyncIntervalMs: 50 }, extraFields: FIELDS - 1 });
    const rig = r;
    agent = await r.startAgent();
    const a = agent;
    await r.stream(50, 200);
    await waitFor(() => rig.cloud.values(READING).includes(50), 15_000, 'readings before the outage');

    await r.broker.stop();
    await waitFor(() => /warn uplink disconnected/.test(a.stderr()), 5000, 'the agent notices the outage');
    await r.stream(12_000, 1500); // ~3.8 MiB of batches (~0.3 KiB a line) into a 2 MiB disk
    await waitFor(() => /reason=disk-full/.test(a.stderr()), 30_000, 'the journal drops the oldest as disk-full');
    await pause(300); // the last batch closes and is journaled
    assert.is(a.child.exitCode, null, 'the agent is still running');
    const st = JSON.parse((await runCli(['status', '--config', r.configPath, '--json'])).stdout) as Status;
    assert.is(st.journal.limitedBy, 'disk', 'status says the disk, not maxBytes, is the bound');
    assert.ok(st.journal.limitBytes < DISK && st.journal.maxBytes === 64 * 1024 * 1024, JSON.stringify(st.journal));
    assert.ok(st.journal.diskBytes <= st.journal.limitBytes, JSON.stringify(st.journal));
    assert.match((await runCli(['status', '--config', r.configPath])).stdout, /max bytes: +[^\n]*LIMITED BY THE DISK/, 'and says so in words');

    // the broker comes back: publishing resumes at once (bounded wait, not a timing assertion)
    const before = rig.cloud.summary().lastSeq ?? 0;
    await r.broker.start();
    await waitFor(() => (rig.cloud.summary().lastSeq ?? 0) > before + 5, 15_000, 'batches published after the broker returned');
    await r.stream(50, 200);
    const last = r.written[r.written.length - 1]!;
    await waitFor(() => rig.cloud.values(READING).includes(last), 20_000, 'the newest reading at the cloud');

    assert.is(await agent.stop(), 0, 'SIGTERM on a full disk: exit 0');
    const log = a.stderr();
    assert.not.match(log, /\n\s+at /, 'no stack trace');
    assert.not.match(log, /batch lost|stop did not finish/, 'nothing lost untold, a clean stop');
    assert.not.ok(existsSync(join(disk.path, 'status.json.tmp')), 'no status.json.tmp left behind');
    const statusFile = (): Status => JSON.parse(readFileSync(join(disk.path, 'status.json'), 'utf8')) as Status;
    const firstRun = statusFile(); // counters of the run that dropped, as it stopped
    assert.ok(!readdirSync(disk.path).some((f) => f.endsWith('.tmp')), `no temp files: ${readdirSync(disk.path).join(' ')}`);

    // a restart on the full disk: starts, resumes the chain, still nothing untold
    agent = await r.startAgent();
    await r.stream(20, 200);
    const after = r.written[r.written.length - 1]!;
    await waitFor(() => rig.cloud.values(READING).includes(after), 20_000, 'readings after the restart');
    assert.is(await agent.stop(), 0);
    const secondRun = statusFile();

    const s = r.cloud.summary();
    assert.is(s.firstSeq, 1);
    assert.equal(s.missing, [], `every seq 1..${s.lastSeq} delivered or inside a gap notice: ${JSON.stringify(s)}`);
    assert.is(s.unexplainedBreaks, 0, JSON.stringify(s));
    assert.is(s.conflicts, 0);
    assert.ok(s.complete, JSON.stringify(s));
    assert.ok(s.gaps.length > 0 && s.gaps.every((g) => g.reason === 'disk-full'), `gap notices say disk-full: ${JSON.stringify(s.gaps)}`);
    // the newest data was kept: everything written after the broker came back arrived, and the last ones before it
    const values = new Set(r.cloud.values(READING));
    assert.ok(r.written.slice(-70).every((n) => values.has(n)), 'the newest readings arrive');
    // no reading disappears untold: at the cloud + dropped (and told) = written
    const count = (k: string): number => (firstRun.counters[k] ?? 0) + (secondRun.counters[k] ?? 0);
    const dropped = count('journal.dropped_readings') + count('readings.lost');
    assert.ok(dropped > 0, 'readings were dropped');
    assert.is(s.readings + dropped, r.written.length * FIELDS, 'readings at the cloud + told as dropped = readings written');
  } finally {
    if (r) await r.close();
    disk.unmount();
  }
});

test.run();
