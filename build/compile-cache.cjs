// V8 code cache for the bundle (dist/tapwire.js) run by a system Node (the armv7
// launcher preloads this file: `node -r compile-cache.cjs tapwire.js`). Without it
// every start parses the 1 MB bundle, and V8's parser zones (~6 MB) stay behind in
// malloc's heap for the life of the process; with it the bundle starts from
// compiled code: peak RSS ~5 MB lower and a faster start.
// - Node >= 22.1: Node's own module.enableCompileCache(dir).
// - Node 20: the bundle is compiled with vm.Script and the cache V8 hands back,
//   written once (10 s after start, or at exit if sooner) when there was none or
//   V8 refused it (another Node, other flags, another build: the file name is a
//   hash of all three, and V8 checks again). The single executables carry their
//   cache inside (build/sea.mjs, useCodeCache).
// The cache is code: it is only read from and written to a directory of our own
// that nobody else can write ($TAPWIRE_CACHE_DIR, else systemd's CacheDirectory=),
// files 0600. No such directory: no cache, the bundle starts as before.
'use strict';

const Module = require('node:module');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const SAVE_AFTER_MS = 10_000;
const PREFIX = 'tapwire-';
const SUFFIX = '.v8cache';

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

function bundlePath() {
  try { return fs.realpathSync(path.join(__dirname, 'tapwire.js')); } catch { return undefined; }
}

/** Node 20: compile the bundle through vm.Script with a cache; other modules as Node does. */
function installFor(dir, target) {
  const compile = Module.prototype._compile;
  Module.prototype._compile = function compileWithCache(content, filename) {
    if (filename !== target) return compile.call(this, content, filename);
    Module.prototype._compile = compile; // one file
    // the wrapper Node uses; a hashbang is only valid at the very start of a script
    const source = Module.wrap(content.replace(/^#!.*/, ''));
    const key = createHash('sha256').update(`${process.version}\0${process.execArgv.join(' ')}\0`).update(source).digest('hex').slice(0, 16);
    const file = path.join(dir, `${PREFIX}${key}${SUFFIX}`);
    let cachedData;
    try { cachedData = fs.readFileSync(file); } catch { /* first start of this build */ }
    const script = new vm.Script(source, { filename, cachedData });
    if (cachedData === undefined || script.cachedDataRejected) saveLater(script, dir, file);
    const fn = script.runInThisContext({ displayErrors: true });
    const mod = this;
    const require = (id) => mod.require(id);
    require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
    require.main = mod.id === '.' ? mod : undefined; // not process.mainModule: deprecated (DEP0138)
    require.cache = Module._cache;
    require.extensions = Module._extensions;
    return fn.call(mod.exports, mod.exports, require, mod, filename, path.dirname(filename));
  };
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

const dir = ownPrivateDir();
const target = bundlePath();
if (dir && target) {
  if (typeof Module.enableCompileCache === 'function') Module.enableCompileCache(dir);
  else installFor(dir, target);
}
