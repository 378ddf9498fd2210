// V8 code cache for the bundle, made on the device at run time: one rule for
// where it lives, when it is read and when it is written, shared by the two
// ways the bundle starts (each is built into one file with this one inlined):
//   compile-cache.cjs  the bundle on a system Node (the armv7 launcher preloads it)
//   sea-main.cjs       the single executables (the bundle is an asset of the blob)
// Without a cache every start parses the 1 MB bundle, and V8's parser zones
// (~5 MB) stay behind in malloc's heap for the life of the process.
// The cache is code: it is only read from and written to a directory of our own
// that nobody else can write ($TAPWIRE_CACHE_DIR, else systemd's CacheDirectory=),
// files 0600. No such directory: no cache, the bundle starts as before. The
// file name hashes Node's version, its flags and the source; V8 checks all
// three again and refuses a cache that does not match (or is damaged), and
// then a good one is written over it.
'use strict';

const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const SAVE_AFTER_MS = 10_000;
const PREFIX = 'tapwire-';
const SUFFIX = '.v8cache';

/** `<cache dir>/v8` when it is ours alone (made 0700 if missing), else undefined. */
function ownPrivateDir() {
  const env = process.env;
  const base = env.TAPWIRE_CACHE_DIR || (env.CACHE_DIRECTORY ? env.CACHE_DIRECTORY.split(':')[0] : '');
  if (!base) return undefined;
  const dir = path.join(base, 'v8');
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.statSync(dir);
    const mine = typeof process.getuid !== 'function' || st.uid === process.getuid();
    return st.isDirectory() && mine && (st.mode & 0o022) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Compiles `source` (a whole script: for a CommonJS body, Module.wrap it first)
 * with the cache in `dir`, runs it in this context and returns its value.
 * With no `dir` it compiles without a cache.
 */
function runCached(source, filename, dir) {
  let file;
  let cachedData;
  if (dir !== undefined) {
    const key = createHash('sha256').update(`${process.version}\0${process.execArgv.join(' ')}\0`).update(source).digest('hex').slice(0, 16);
    file = path.join(dir, `${PREFIX}${key}${SUFFIX}`);
    try { cachedData = fs.readFileSync(file); } catch { /* the first start of this build */ }
  }
  // import() inside the bundle (the cloud-side database drivers) resolves as from the main script
  const importModuleDynamically = vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  const script = new vm.Script(source, { filename, cachedData, importModuleDynamically });
  if (file !== undefined && (cachedData === undefined || script.cachedDataRejected)) saveLater(script, dir, file);
  return script.runInThisContext({ displayErrors: true });
}

function saveLater(script, dir, file) {
  let saved = false;
  const save = () => {
    if (saved) return;
    saved = true;
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      // after start-up: the functions compiled so far (the run path) are in it too
      fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      fs.renameSync(tmp, file);
      for (const f of fs.readdirSync(dir)) {
        if (f.startsWith(PREFIX) && f !== path.basename(file)) fs.rmSync(path.join(dir, f), { force: true });
      }
    } catch {
      try { fs.rmSync(tmp, { force: true }); } catch { /* nothing to clean */ }
    }
  };
  setTimeout(save, SAVE_AFTER_MS).unref();
  process.once('exit', save);
}

module.exports = { ownPrivateDir, runCached };
