// The bundle: one CommonJS file (dist/tapwire.js, executable with a shebang: runnable
// as `dist/tapwire.js` or `node dist/tapwire.js`, and usable as a Node SEA main),
// dist/prebuilds/ for the native addons it loads, and dist/package.json marking the
// folder CommonJS.
// A build with any esbuild warning fails: a warning here is a failure at run time.
//
//   node esbuild.config.mjs [--entry agent/cli/main.ts] [--outdir dist] [--no-minify]
//   --no-minify keeps names (for --cpu-prof and heap snapshots that say which function)

import * as esbuild from 'esbuild';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const loaderPath = join(root, 'build', 'node-gyp-build-loader.ts');

/** Prebuild folders shipped next to the bundle (glibc only: Pi OS, Debian, Ubuntu). */
export const TARGETS = ['linux-x64', 'linux-arm64', 'linux-arm'];

// Optional native speed-ups that each library already guards with try/catch and a
// pure-JS fallback. Bundling them as a module that throws makes the fallback
// deterministic (no lookup in whatever node_modules happens to be near the bundle).
//   bufferutil, utf-8-validate: ws (mqtt's websocket transport)
//   supports-color: debug (serialport)     cbor-extract: cbor-x's native string extractor
const STUBBED = ['bufferutil', 'utf-8-validate', 'supports-color', 'cbor-extract'];

// Cloud-side database drivers (fleet ingest, issue 17): never bundled. The device
// build stays small and never carries them; `tapwire ingest` / `fleet` load them
// on demand from node_modules (npm install), and say so plainly where they are
// missing (the single executables). PGlite also needs its .wasm/.data files
// next to its own module, which a bundle would break.
export const EXTERNAL = ['pg', 'pg-native', '@electric-sql/pglite'];

function packageRootOf(file) {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && JSON.parse(readFileSync(pj, 'utf8')).name) return dir;
  }
  throw new Error(`no package.json with a name above ${file}`);
}

const stubOptional = {
  name: 'tapwire-stub-optional',
  setup(b) {
    const filter = new RegExp(`^(${STUBBED.map((s) => s.replace(/[-]/g, '\\-')).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'tapwire-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'tapwire-stub' }, (args) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${args.path}' (not bundled)`)}), { code: 'MODULE_NOT_FOUND' });`,
      loader: 'js',
    }));
  },
};

/** `node-gyp-build` → the loader, told which addon (named as prebuildify names it) to load. */
function nativeAddons(found) {
  return {
    name: 'tapwire-native-addons',
    setup(b) {
      b.onResolve({ filter: /^node-gyp-build$/ }, (args) => {
        const pkgRoot = packageRootOf(args.importer);
        const name = JSON.parse(readFileSync(join(pkgRoot, 'package.json'), 'utf8')).name.replace('/', '+');
        found.set(name, pkgRoot);
        return { path: name, namespace: 'tapwire-addon' };
      });
      b.onLoad({ filter: /.*/, namespace: 'tapwire-addon' }, (args) => ({
        // __dirname is the bundle's folder at run time (cjs output)
        contents: `module.exports = function nodeGypBuild() {
  return require(${JSON.stringify(loaderPath)}).loadAddon(${JSON.stringify(args.path)}, { bundleDir: __dirname });
};`,
        loader: 'js',
        resolveDir: root,
      }));
    },
  };
}

function copyPrebuilds(found, outdir) {
  const out = join(outdir, 'prebuilds');
  rmSync(out, { recursive: true, force: true });
  const copied = [];
  for (const [name, pkgRoot] of found) {
    for (const target of TARGETS) {
      const src = join(pkgRoot, 'prebuilds', target);
      const files = existsSync(src) ? readdirSync(src).filter((f) => f.startsWith(`${name}.`) && f.endsWith('.glibc.node')) : [];
      if (files.length === 0) throw new Error(`${name}: no glibc prebuild for ${target} in ${src}`);
      mkdirSync(join(out, target), { recursive: true });
      for (const f of files) {
        copyFileSync(join(src, f), join(out, target, f));
        copied.push(join('prebuilds', target, f));
      }
    }
  }
  return copied;
}

/**
 * Builds `<outdir>/tapwire.js` (+ .map) and `<outdir>/prebuilds/`.
 * @param {{ entry?: string, outdir?: string, minify?: boolean }} [opts]
 * @returns {Promise<{ outfile: string, prebuilds: string[], addons: string[] }>}
 */
export async function buildBundle(opts = {}) {
  const entry = resolve(root, opts.entry ?? 'agent/cli/main.ts');
  const outdir = resolve(root, opts.outdir ?? 'dist');
  const outfile = join(outdir, 'tapwire.js');
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const found = new Map();
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs', // a Node SEA main must be CommonJS
    minify: opts.minify ?? true,
    sourcemap: 'linked',
    sourcesContent: false,
    charset: 'ascii',
    banner: {
      // the Node check runs before any module: on an older system Node (the armv7 bundle) the user
      // reads what is wrong instead of a syntax or API error from deep inside a library
      js: '#!/usr/bin/env node\n'
        + 'if (+process.versions.node.split(".")[0] < 20) { process.stderr.write("tapwire needs Node.js >= 20, this is " + process.version + "\\n"); process.exit(1); }\n'
        + 'var __tapwire_import_meta_url = require("url").pathToFileURL(__filename).href;',
    },
    define: {
      // sources read it as `declare const TAPWIRE_VERSION: string | undefined` ('dev' unbundled)
      TAPWIRE_VERSION: JSON.stringify(version),
      // ESM sources (ours, cbor-x) read import.meta; in cjs output it would be empty
      'import.meta.url': '__tapwire_import_meta_url',
      'import.meta.filename': '__filename',
      'import.meta.dirname': '__dirname',
    },
    external: EXTERNAL,
    plugins: [stubOptional, nativeAddons(found)],
    // esbuild only whispers (debug level) about these; each is a failure at run time
    logOverride: {
      'empty-import-meta': 'error', // import.meta.<anything but url/filename/dirname>
      'unsupported-require-call': 'warning', // require(<variable>): nothing to require in a SEA
      'unsupported-dynamic-import': 'warning',
    },
    logLevel: 'silent',
  }).catch((err) => {
    // esbuild attaches formatted errors; rethrow them readable
    const msgs = err.errors ? esbuild.formatMessagesSync(err.errors, { kind: 'error' }).join('') : '';
    throw new Error(`bundle failed:\n${msgs || err.message}`);
  });
  if (result.warnings.length > 0) {
    const msgs = esbuild.formatMessagesSync(result.warnings, { kind: 'warning' }).join('');
    throw new Error(`bundle has warnings (treated as errors):\n${msgs}`);
  }
  // dist/ sits inside a "type": "module" package: without this, node would load the
  // cjs bundle as ESM (ReferenceError: require is not defined in ES module scope)
  writeFileSync(join(outdir, 'package.json'), '{ "type": "commonjs" }\n');
  // preloaded by the launcher beside the bundle: V8's code cache on a system Node
  await buildHelper('compile-cache.cjs', join(outdir, 'compile-cache.cjs'));
  // the banner's shebang makes it a command: `./dist/tapwire.js --help`, and `npm link` → `tapwire`
  chmodSync(outfile, 0o755);
  const prebuilds = copyPrebuilds(found, outdir);
  return { outfile, prebuilds, addons: [...found.keys()] };
}

/**
 * One of the small start-up scripts in build/ (compile-cache.cjs, sea-main.cjs) as
 * one readable file with build/code-cache.cjs, which both require, inlined.
 * @param {string} name  the script in build/
 * @param {string} outfile
 */
export async function buildHelper(name, outfile) {
  await esbuild.build({
    entryPoints: [join(root, 'build', name)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    charset: 'ascii',
    logLevel: 'silent',
  });
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if ((a === '--entry' || a === '--outdir') && argv[i + 1]) opts[a.slice(2)] = argv[++i];
    else if (a === '--no-minify') opts.minify = false;
    else throw new Error(`usage: node esbuild.config.mjs [--entry <file>] [--outdir <dir>] [--no-minify] (got ${a})`);
  }
  return opts;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { outfile, prebuilds } = await buildBundle(parseArgs(process.argv.slice(2)));
    const kb = (f) => `${Math.round(readFileSync(f).length / 1024)} KiB`;
    console.log(`${relative(process.cwd(), outfile)}  ${kb(outfile)}`);
    for (const p of prebuilds) console.log(`${relative(process.cwd(), join(dirname(outfile), p))}`);
  } catch (err) {
    console.error(err.message);
    process.exit(err.message.startsWith('usage:') ? 2 : 1);
  }
}
