// The release artifacts for the tests: `build/release.mjs` (what `npm run
// build:release` runs) into a temp dir, once per test process and shared by
// every test file that needs them (~30 s; the Node downloads are cached in
// ~/.cache/tapwire-build). Unpacks a tarball where a test wants it.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Release, ReleaseArtifact } from '../../build/release.mjs';

export type { Release, ReleaseArtifact } from '../../build/release.mjs';

const repo = resolve(import.meta.dirname, '..', '..');
const dirs: string[] = [];
process.once('exit', () => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** A temp dir removed when the test process exits. */
export function scratchDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Runs build/release.mjs into a fresh dir; resolves with what it built. */
export function buildReleaseInto(outdir: string): Promise<Release> {
  return new Promise((done, fail) => {
    execFile(process.execPath, ['build/release.mjs', '--outdir', outdir, '--json'], { cwd: repo, maxBuffer: 16 << 20, timeout: 15 * 60_000 }, (err, stdout, stderr) => {
      if (err) fail(new Error(`build/release.mjs failed: ${err.message}\n${stderr}`));
      else done(JSON.parse(stdout) as Release);
    });
  });
}

let shared: Promise<Release> | undefined;

/** The release built once for this test process. */
export function sharedRelease(): Promise<Release> {
  shared ??= buildReleaseInto(join(scratchDir('tapwire-release-'), 'release'));
  return shared;
}

export function artifact(release: Release, board: ReleaseArtifact['board']): ReleaseArtifact {
  const a = release.artifacts.find((x) => x.board === board);
  if (!a) throw new Error(`no ${board} artifact in ${release.outdir}`);
  return a;
}

/** Unpacks a tarball into a fresh dir; returns the folder it holds (tapwire-<version>-<board>). */
export function unpack(release: Release, board: ReleaseArtifact['board']): Promise<string> {
  const into = scratchDir(`tapwire-${board}-`);
  return new Promise((done, fail) => {
    execFile('tar', ['-xzf', artifact(release, board).file, '-C', into], (err) => {
      if (err) fail(err);
      else done(join(into, `tapwire-${release.version}-${board}`));
    });
  });
}
