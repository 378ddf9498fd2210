// V8 code cache for the bundle (dist/tapwire.js) run by a system Node: the armv7
// launcher preloads this file (`node -r compile-cache.cjs tapwire.js`). The rules
// (where the cache lives, when it is used or rewritten) are build/code-cache.cjs,
// which esbuild.config.mjs inlines here when it writes dist/compile-cache.cjs.
// - Node >= 22.1: Node's own module.enableCompileCache(dir).
// - Node 20: the bundle is compiled through vm.Script with the cache
//   (build/code-cache.cjs runCached), other modules as Node does.
// The single executables start from the same kind of cache: build/sea-main.cjs.
'use strict';

const Module = require('node:module');
const fs = require('node:fs');
const path = require('node:path');
const { ownPrivateDir, runCached } = require('./code-cache.cjs');

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
    const fn = runCached(Module.wrap(content.replace(/^#!.*/, '')), filename, dir);
    const mod = this;
    const require = (id) => mod.require(id);
    require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
    require.main = mod.id === '.' ? mod : undefined; // not process.mainModule: deprecated (DEP0138)
    require.cache = Module._cache;
    require.extensions = Module._extensions;
    return fn.call(mod.exports, mod.exports, require, mod, filename, path.dirname(filename));
  };
}

const dir = ownPrivateDir();
const target = bundlePath();
if (dir && target) {
  if (typeof Module.enableCompileCache === 'function') Module.enableCompileCache(dir);
  else installFor(dir, target);
}
