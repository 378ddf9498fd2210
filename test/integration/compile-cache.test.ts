// The V8 code cache made on the device at run time (build/code-cache.cjs), for
// both ways the bundle starts: on a system Node through the armv7 launcher
// (build/compile-cache.cjs preloaded) and as the x64 single executable (its
// main, build/sea-main.cjs, runs the bundle from the blob). Written once into
// our own private cache dir, used from then on, refused and rewritten when
// damaged, never read from a dir others can write. Each program is the real
// CLI, built as the release builds it; `run` goes through a socat pty to its
// first journaled batch.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runProcess, signalProcess, spawnProcess } from '../peers/process.js';
import { openFieldPty } from '../peers/field-pty.js';
import { tempDir, waitFor } from '../helpers.js';
import { generateKeyPair, writeKeyPair } from '../../agent/encode/keys.js';
import { keyPaths } from '../../agent/agent.js';

const repo = resolve(import.meta.dirname, '..', '..');
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const work = tempDir('tapwire-compile-cache-');
const dist = join(work.path, 'dist');

interface Starter {
  name: string;
  /** What the cache file is called under v8/. */
  cacheName: RegExp;
  /** `args` with `cacheDir` as TAPWIRE_CACHE_DIR (undefined: none). */
  command(args: string[], cacheDir: string | undefined, home?: string): { file: string; args: string[]; env: Record<string, string> };
}
const envFor = (cacheDir: string | undefined, home: string): Record<string, string> =>
  ({ HOME: home, NODE_OPTIONS: '', TAPWIRE_CACHE_DIR: cacheDir ?? '', CACHE_DIRECTORY: '' });
const STARTERS: Starter[] = [
  {
    name: 'the launcher (system Node)',
    // Node >= 22.1 keeps it itself (module.enableCompileCache): v8/<version>-<arch>-<hash>/<hash>
    cacheName: 'enableCompileCache' in Module ? /\/v8\/v\d+\.\d+\.\d+-[^/]+\/[0-9a-f]+$/ : /\/v8\/tapwire-[0-9a-f]{16}\.v8cache$/,
    command: (args, cacheDir, home = work.path) => ({ file: join(dist, 'tapwire'), args, env: { ...envFor(cacheDir, home), TAPWIRE_NODE: process.execPath } }),
  },
  {
    name: 'the x64 executable',
    cacheName: /\/v8\/tapwire-[0-9a-f]{16}\.v8cache$/,
    command: (args, cacheDir, home = work.path) => ({ file: join(dist, 'sea', 'tapwire-linux-x64'), args, env: envFor(cacheDir, home) }),
  },
];

/** The files under the cache dir's v8/, at any depth. */
const cacheFiles = (cacheDir: string): string[] => {
  const dir = join(cacheDir, 'v8');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
};

async function version1(starter: Starter, cacheDir: string | undefined, home?: string): Promise<void> {
  const r = await runProcess(starter.command(['--version'], cacheDir, home));
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), version);
}

test.before(async () => {
  writeFileSync(join(work.path, 'package.json'), '{ "type": "module" }\n'); // like the repo
  // the x64 executable and, beside it, the bundle as the release ships it
  const r = await runProcess({ file: process.execPath, args: ['build/sea.mjs', '--arch', 'x64', '--outdir', dist], cwd: repo, env: { NODE_OPTIONS: '' } }, { timeoutMs: 300_000 });
  assert.is(r.code, 0, r.stderr);
  copyFileSync(join(repo, 'build', 'tapwire-launcher.sh'), join(dist, 'tapwire'));
  chmodSync(join(dist, 'tapwire'), 0o755);
});
test.after(() => work.remove());

for (const [i, starter] of STARTERS.entries()) {
  const at = (name: string): string => join(work.path, `${i}-${name}`);

  test(`${starter.name}: the first start writes one cache file (0600 in a 0700 dir); the next starts use it as it is`, async () => {
    const cache = at('cache-1');
    await version1(starter, cache);
    const [file, ...more] = cacheFiles(cache);
    assert.ok(file, 'a cache file');
    assert.equal(more, []);
    assert.match(file!, starter.cacheName);
    assert.is(statSync(file!).mode & 0o777, 0o600);
    assert.is(statSync(join(cache, 'v8')).mode & 0o777, 0o700);
    const before = statSync(file!);
    await version1(starter, cache);
    await version1(starter, cache);
    const after = statSync(file!);
    // a refused cache is written anew (a new file renamed over it): same inode and time = used
    assert.is(after.ino, before.ino);
    assert.is(after.mtimeMs, before.mtimeMs);
  });

  test(`${starter.name}: a damaged cache (garbage, or cut short) is refused by V8, the program runs, and a good cache replaces it`, async () => {
    for (const damage of ['garbage', 'truncated'] as const) {
      const cache = at(`cache-${damage}`);
      await version1(starter, cache);
      const [file] = cacheFiles(cache);
      const good = readFileSync(file!);
      const bad = damage === 'garbage' ? randomBytes(good.length) : good.subarray(0, good.length >> 1);
      writeFileSync(file!, bad, { mode: 0o600 });
      await version1(starter, cache);
      const now = readFileSync(file!);
      assert.not.ok(now.equals(bad), `${damage}: replaced`);
      assert.ok(now.length > 1000, `${damage}: a real cache again (${now.length} bytes)`);
    }
  });

  test(`${starter.name}: a cache dir that others can write is neither read nor written; no cache dir: nothing is written anywhere`, async () => {
    const cache = at('cache-open');
    mkdirSync(join(cache, 'v8'), { recursive: true });
    chmodSync(join(cache, 'v8'), 0o777);
    const planted = join(cache, 'v8', 'tapwire-0000000000000000.v8cache');
    writeFileSync(planted, 'not code');
    await version1(starter, cache);
    assert.equal(readdirSync(join(cache, 'v8')), ['tapwire-0000000000000000.v8cache']);
    assert.is(readFileSync(planted, 'utf8'), 'not code');

    const home = at('home');
    mkdirSync(home);
    await version1(starter, undefined, home);
    assert.equal(readdirSync(home), []);
  });

  test(`${starter.name}: \`run\` from the cache: the agent loads its serial addon, reads the pty and journals, cold and warm`, async () => {
    const cache = at('cache-run');
    const pty = await openFieldPty();
    try {
      for (const start of ['cold', 'warm'] as const) {
        const state = at(`state-${start}`);
        mkdirSync(state, { recursive: true, mode: 0o700 });
        const { key, pub } = keyPaths(state);
        writeKeyPair(key, pub, generateKeyPair());
        const config = at(`config-${start}.json`);
        writeFileSync(config, JSON.stringify({
          device: 'cc-1', stateDir: state, uplink: { url: 'mqtt://127.0.0.1:1', protocolVersion: 4 },
          sources: [{ id: 'meter', type: 'lines', port: { path: pty.agentPath, baudRate: 9600 }, decoder: { type: 'kv' } }],
        }));
        const before = cacheFiles(cache).map((f) => statSync(f).ino);
        const agent = spawnProcess(starter.command(['run', '--config', config], cache));
        try {
          await waitFor(() => { pty.write('temp=21.5\n'); return /first batch journaled/.test(agent.stderr()) || agent.child.exitCode !== null; }, 20_000, `${start}: first batch`);
          assert.match(agent.stderr(), /first batch journaled/, agent.stderr());
        } finally {
          assert.is(await signalProcess(agent, 'SIGTERM'), 0, agent.stderr());
        }
        const files = cacheFiles(cache);
        assert.is(files.length, 1, `${start}: one cache file`);
        if (start === 'warm') assert.equal(files.map((f) => statSync(f).ino), before, 'warm: the cache was used, not rewritten');
      }
    } finally {
      await pty.close();
    }
  });

}

test.run();
