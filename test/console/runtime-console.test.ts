// The console belongs to the runtime, not to one Agent: an over-the-air config
// swaps the Agent under it and the technician's session goes on, now showing
// the new config. Agent doubles, a port double for the console.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSystemClock } from '../../hal/clock.js';
import { createFileSystemDouble } from '../../hal/file-double.js';
import { createSerialDoubleFactory } from '../../hal/serial-double.js';
import type { Agent, AgentDeps } from '../../agent/agent.js';
import { validateConfig, type ResolvedConfig } from '../../agent/config/load.js';
import { createCounters } from '../../agent/counters.js';
import { silentLogger } from '../../agent/log.js';
import { createRuntime } from '../../agent/runtime.js';
import { tempDir, waitFor } from '../helpers.js';
import { operator, rawConfig, signConfig, trustOperators } from '../ota/fixtures.js';
import { statusFixture } from './fixtures.js';

// eslint-disable-next-line no-control-regex
const strip = (s: string): string => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
const CONSOLE = '/dev/ttyCONSOLE0';

test('an over-the-air config swaps the Agent; the console session stays open and answers for the new one', async () => {
  const dir = tempDir('tapwire-runtime-console-');
  try {
    trustOperators(dir.path, [operator]);
    const consoleCfg = { port: { path: CONSOLE, baudRate: 115200 } };
    const local = validateConfig(rawConfig(dir.path, { console: consoleCfg }));
    if (!local.ok) throw new Error(JSON.stringify(local.issues));
    const serial = createSerialDoubleFactory();
    const agents: Array<{ deps: AgentDeps; stopped: boolean }> = [];
    const createAgent = (config: ResolvedConfig, deps: AgentDeps): Agent => {
      const me = { deps, stopped: false };
      agents.push(me);
      const connectListeners: Array<() => void> = [];
      return {
        config,
        counters: deps.counters ?? createCounters(),
        publicKey: new Uint8Array(32).fill(agents.length),
        async start() {
          for (const l of connectListeners) l();
          return { segments: 0, records: 0, truncatedBytes: 0, corruptRecords: 0, quarantined: [], chain: { seq: 0, source: 'fresh' as const, epoch: '0000000000000000', lost: [] } };
        },
        async stop() { me.stopped = true; },
        status: () => statusFixture({ dev: config.device, config: { version: deps.configVersion ?? 0 } }),
        health: () => ({ ok: !me.stopped, problems: [] }),
        stalled: () => undefined,
        onConnect(l) { connectListeners.push(l); },
        sendAck: async () => true,
      };
    };
    const runtime = createRuntime({ local: local.config, healthTimeoutMs: 2000 }, {
      serial, clock: createSystemClock('sync'), fs: createFileSystemDouble(), log: silentLogger, createAgent,
    });
    await runtime.start();
    const port = serial.ports.get(CONSOLE)!;
    assert.ok(port.isOpen, 'the console serves from the local file');
    const text = (): string => strip(port.written.map((b) => Buffer.from(b).toString('utf8')).join(''));
    const ask = async (line: string): Promise<string> => {
      const from = text().length;
      port.emitData(`${line}\r`);
      await waitFor(() => { const t = text().slice(from); return t.includes('\r\n') && t.endsWith('ota-1> '); }, 3000, `answer to ${line}`);
      return text().slice(from);
    };
    assert.match(await ask('status'), 'config version: 0 (local file)');

    const message = signConfig(operator, { dev: 'ota-1', version: 1, config: rawConfig(dir.path, { batch: { maxRecords: 5 } }) });
    agents[0]!.deps.onConfigMessage!(message, { retained: false, dup: false });
    await waitFor(() => runtime.version() === 1 && agents.length === 2 && runtime.agent() !== undefined, 5000, 'the new config applied');
    assert.ok(agents[0]!.stopped, 'the old Agent stopped');
    assert.ok(port.isOpen, 'the console port never closed');
    assert.is((text().match(/Tapwire console on/g) ?? []).length, 1, 'one session throughout: no new banner');
    assert.match(await ask('status'), 'config version: 1 (signed, over the air)');
    assert.match(await ask('config'), 'batch.maxRecords: 5');
    assert.match(await ask('key'), `public key: ${'02'.repeat(32)}`, 'the views follow the running Agent');
    await runtime.stop();
    assert.not.ok(port.isOpen, 'stopped with the runtime');
  } finally {
    dir.remove();
  }
});

test.run();
