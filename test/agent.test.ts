// agent/agent.ts: its side jobs run on the hal clock and file system. An idle
// agent writes status.json through the hal file system at start and when the
// status changed, never on the ticks in between (gentle on an SD card); the
// last write at stop says "stopping". Manual clock, real files, serial double.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAgent, keyPaths } from '../agent/agent.js';
import { validateConfig } from '../agent/config/load.js';
import { generateKeyPair, writeKeyPair } from '../agent/encode/keys.js';
import { silentLogger } from '../agent/log.js';
import { createManualClock } from '../hal/clock.js';
import type { FileSystem } from '../hal/file.js';
import { nodeFileSystem } from '../hal/file-node.js';
import { createSerialDoubleFactory } from '../hal/serial-double.js';
import { tempDir, waitFor } from './helpers.js';

test('an idle agent writes status.json through the hal file system only when it changed', async () => {
  const dir = tempDir('tapwire-agent-');
  const clock = createManualClock();
  const serial = createSerialDoubleFactory();
  let statusWrites = 0;
  // each status write starts by clearing a leftover temp file: counted synchronously, when the write starts
  const fs: FileSystem = {
    ...nodeFileSystem,
    unlink(path) { if (path.endsWith('status.json.tmp')) statusWrites++; return nodeFileSystem.unlink(path); },
  };
  const stateDir = join(dir.path, 'state');
  const checked = validateConfig({
    device: 'idle-1', stateDir, clock: 'free',
    // nothing listens, and the retry is 10 min away: after the first failure nothing changes
    uplink: { url: 'mqtt://127.0.0.1:9', protocolVersion: 4, reconnect: { initialMs: 600_000, maxMs: 600_000 } },
    sources: [{ id: 'env', type: 'lines', port: { path: '/dev/double0', baudRate: 9600 }, decoder: { type: 'kv' } }],
  });
  if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeKeyPair(keyPaths(stateDir).key, keyPaths(stateDir).pub, generateKeyPair());
  const agent = createAgent(checked.config, { serial, clock, fs, log: silentLogger, statusDir: dir.path });
  const onDisk = (): { state: string; uplink: { lastError?: string } } => JSON.parse(readFileSync(join(dir.path, 'status.json'), 'utf8')) as { state: string; uplink: { lastError?: string } };
  try {
    await agent.start();
    assert.is(statusWrites, 1, 'written once at start, through the hal file system');
    assert.is(onDisk().state, 'running');
    await waitFor(() => agent.status().uplink.lastError, 5000, 'the first connection attempt failed');
    await clock.advance(5000);
    assert.is(statusWrites, 2, 'the uplink state changed: written at the next tick');
    await waitFor(() => onDisk().uplink.lastError, 5000, 'the new status on disk');
    for (let i = 0; i < 10; i++) await clock.advance(5000);
    assert.is(statusWrites, 2, '50 s of ticks with nothing changed: no write');
  } finally {
    await agent.stop();
    dir.remove();
  }
  assert.is(statusWrites, 3, 'the last status at stop');
});

test.run();
