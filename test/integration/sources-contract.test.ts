// The source-type contract on real ports (issue 13): for every descriptor in
// the registry, its README sample, pointed at a socat pty, passes `config
// check` and starts through the real serialport binding; a `lines` sample
// turns a line from the field side into readings.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { formatIssues, validateConfig } from '../../agent/config/load.js';
import { createCounters } from '../../agent/counters.js';
import { silentLogger } from '../../agent/log.js';
import type { Reading } from '../../agent/reading.js';
import { SOURCE_TYPES, createSource, type SourceConfig } from '../../agent/sources/registry.js';
import { createSystemClock } from '../../hal/clock.js';
import { nodeSerial } from '../../hal/serial-node.js';
import { tempDir, waitFor } from '../helpers.js';
import { runCli } from '../peers/agent-process.js';
import { createPtyPair } from '../peers/socat.js';
import { configWith, readmeSample } from '../sources-samples.js';

for (const descriptor of SOURCE_TYPES) {
  test(`${descriptor.type}: the README sample passes check and starts on a real pty`, async () => {
    const pty = await createPtyPair();
    try {
      const sample = readmeSample(descriptor.type);
      const source = { ...sample, port: { ...(sample['port'] as object), path: pty.agentPath } };
      const checked = validateConfig(configWith(source));
      if (!checked.ok) assert.unreachable(formatIssues(checked.issues));
      if (!checked.ok) return;
      const counters = createCounters();
      const running = createSource(checked.config.sources[0] as SourceConfig, { serial: nodeSerial, clock: createSystemClock(), log: silentLogger, counters });
      const readings: Reading[] = [];
      await running.start((r) => readings.push(r));
      try {
        await waitFor(() => running.health().open, 5000, `${descriptor.type} open on the pty`);
        if (descriptor.type === 'lines') {
          writeFileSync(pty.peerPath, 'temp=21.5 hum=40\n');
          await waitFor(() => readings.length >= 2, 5000, 'readings from the line');
          assert.equal(readings.map((r) => [r.name, r.v, r.unit]), [['env:temp', 21.5, 'Cel'], ['env:hum', 40, '%RH']]);
        }
      } finally {
        await running.stop();
      }
    } finally {
      await pty.close();
    }
  });
}

// Defects 1 and 7: `config check` refuses what `run` would die of, naming the
// field and exiting 2; run refuses it with the same words before starting.
for (const [pattern, words] of [['T=(?<t$x>\\d+)', 'group name "t$x"'], ['^(?<v>(a+)+)$', 'nested quantifier']] as const) {
  test(`config check and run refuse the regex ${pattern} at sources[0].decoder.pattern, exit 2`, async () => {
    const dir = tempDir();
    try {
      const file = `${dir.path}/c.json`;
      const config = configWith({ ...readmeSample('lines'), decoder: { type: 'regex', pattern } });
      writeFileSync(file, JSON.stringify({ ...config, stateDir: `${dir.path}/state`, uplink: { url: 'mqtt://127.0.0.1:1' } }));
      for (const args of [['config', 'check', file], ['run', '--config', file]]) {
        const r = await runCli(args);
        assert.is(r.code, 2, `${args[0]}: ${r.stderr}`);
        assert.ok(r.stderr.includes('sources[0].decoder.pattern'), `${args[0]} names the field:\n${r.stderr}`);
        assert.ok(r.stderr.includes(words), `${args[0]} says why:\n${r.stderr}`);
        assert.not.match(r.stderr, /^\s+at /m, 'no stack trace');
      }
    } finally { dir.remove(); }
  });
}

test.run();
