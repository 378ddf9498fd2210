// The single executables' main script (build/sea.mjs): runs the bundle, which
// rides in the blob as the asset "tapwire.js", from a V8 code cache made on the
// device at run time (build/code-cache.cjs: our own 0700 cache dir, 0600 files,
// refused and rewritten when it does not match). A cache baked in at build time
// (the blob's useCodeCache) is not used: it carries string hashes of a random
// seed, so no two builds would be byte-identical, and it is CPU-specific (the
// arm64 blob is made on x64). esbuild.config.mjs inlines code-cache.cjs here.
'use strict';

const Module = require('node:module');
const sea = require('node:sea');
const { ownPrivateDir, runCached } = require('./code-cache.cjs');

// a hashbang is only valid at the very start of a script, not inside the wrapper
const source = Module.wrap(sea.getAsset('tapwire.js', 'utf8').replace(/^#!.*/, ''));
// the bundle gets what a SEA main gets: the built-in modules' require, and the executable as its file
const run = runCached(source, __filename, ownPrivateDir());
run.call(module.exports, module.exports, require, module, __filename, __dirname);
