// agent/ota/store: state and configs survive a power cut at every single file
// operation of an apply; what comes back always names a complete config, the
// old one or the new one.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FileSystem } from '../../hal/file.js';
import { onEveryWrite } from './fixtures.js';
import { createFileSystemDouble, type FileSystemDouble } from '../../hal/file-double.js';
import { createOtaStore, INITIAL_STATE, type OtaState, type StoredConfig } from '../../agent/ota/store.js';

const STATE_DIR = '/state';
const cfg = (version: number): StoredConfig => ({
  version, dev: 'ota-1', signedBy: '00112233aabbccdd', message: String(version).repeat(64).slice(0, 64),
  raw: { device: 'ota-1', stateDir: STATE_DIR, note: `version ${version}`, pad: 'x'.repeat(5000) },
});

class Crash extends Error {}

/** Wraps a FileSystem so that operation number `at` (counting every call, on handles too) is a power cut. */
function crashingAt(inner: FileSystem, at: number): { fs: FileSystem; ops(): number } {
  return onEveryWrite(inner, (n) => { if (n === at) throw new Crash(`power cut at operation ${at}`); });
}

async function seeded(): Promise<FileSystemDouble> {
  const fs = createFileSystemDouble();
  await fs.mkdir(STATE_DIR);
  const store = createOtaStore(STATE_DIR, { fs });
  await store.writeConfig(cfg(2));
  await store.saveState({ highest: 2, current: 2, good: 2, trial: false, message: 'a'.repeat(64) });
  return fs;
}

/** The apply sequence of runtime.ts, up to and including the health check verdict "ok". */
async function applyThree(fs: FileSystem): Promise<void> {
  const store = createOtaStore(STATE_DIR, { fs });
  await store.writeConfig(cfg(3));
  await store.saveState({ highest: 3, current: 3, good: 2, trial: true, message: 'b'.repeat(64) });
  await store.saveState({ highest: 3, current: 3, good: 3, trial: false, message: 'b'.repeat(64) });
  await store.prune([3, 2]);
}

test('a missing state is the initial state: the local file, version 0', async () => {
  const fs = createFileSystemDouble();
  const { state, problems } = await createOtaStore('/nowhere', { fs }).load();
  assert.equal(state, INITIAL_STATE);
  assert.equal(problems, []);
});

test('state and config round-trip', async () => {
  const fs = await seeded();
  const store = createOtaStore(STATE_DIR, { fs });
  const { state } = await store.load();
  assert.equal(state, { highest: 2, current: 2, good: 2, trial: false, message: 'a'.repeat(64) });
  assert.equal(await store.readConfig(2), cfg(2));
});

test('power cut at every file operation of an apply: state names the old or the new config, and that config is complete', async () => {
  const clean = crashingAt(await seeded(), Infinity);
  await applyThree(clean.fs);
  const total = clean.ops();
  assert.ok(total >= 10, `an apply is several operations (${total})`);
  const seen = new Set<string>();
  for (let at = 1; at <= total + 1; at++) {
    for (const torn of [false, true]) {
      const fs = await seeded();
      const c = crashingAt(fs, at);
      try {
        await applyThree(c.fs);
      } catch (err) {
        if (!(err instanceof Crash)) throw err;
      }
      fs.crash({ torn, random: () => 0.5 });
      const store = createOtaStore(STATE_DIR, { fs });
      const { state, problems } = await store.load();
      assert.equal(problems, [], `crash at ${at}: state readable`);
      const ok = (s: OtaState): boolean =>
        (s.current === 2 && s.good === 2 && !s.trial) || (s.current === 3 && s.good === 2 && s.trial) || (s.current === 3 && s.good === 3 && !s.trial);
      assert.ok(ok(state), `crash at ${at}: unexpected state ${JSON.stringify(state)}`);
      assert.equal(await store.readConfig(state.current), cfg(state.current), `crash at ${at}: current config complete`);
      assert.equal(await store.readConfig(state.good), cfg(state.good), `crash at ${at}: good config complete`);
      seen.add(`${state.current}/${state.good}/${state.trial}`);
    }
  }
  assert.equal([...seen].sort(), ['2/2/false', '3/2/true', '3/3/false'], 'every stage is reachable');
});

test('an unreadable state file runs the local config but keeps the anti-rollback floor from the configs on disk', async () => {
  const fs = await seeded();
  fs.writeRaw(`${STATE_DIR}/ota/state.json`, new TextEncoder().encode('{"v":1,"high'));
  const { state, problems } = await createOtaStore(STATE_DIR, { fs }).load();
  assert.is(state.current, 0);
  assert.is(state.highest, 2);
  assert.is(problems.length, 1);
  assert.match(problems[0]!, 'anti-rollback floor 2');
});

test('prune removes unreferenced configs and leftover tmp files, keeps the rest', async () => {
  const fs = await seeded();
  const store = createOtaStore(STATE_DIR, { fs });
  await store.writeConfig(cfg(3));
  await store.writeConfig(cfg(4));
  fs.writeRaw(`${STATE_DIR}/ota/state.json.tmp`, new Uint8Array([1]));
  await store.prune([4, 2]);
  assert.equal(await fs.readdir(`${STATE_DIR}/ota`), ['config-2.json', 'config-4.json', 'state.json']);
});

test.run();
