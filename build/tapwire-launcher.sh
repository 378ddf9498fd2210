#!/bin/sh
# Tapwire on the system Node.js (>= 20), for boards without a single executable
# (armv7): this launcher, tapwire.js and prebuilds/ stay in one folder; a
# symlink to the launcher (e.g. /usr/local/bin/tapwire) works too.
# TAPWIRE_NODE names the node binary to use (default: `node` on PATH).
node=${TAPWIRE_NODE:-node}
if ! command -v "$node" >/dev/null 2>&1; then
  echo "tapwire: needs Node.js >= 20 on this device, and \`$node\` is not on PATH (install nodejs, or set TAPWIRE_NODE to its path)" >&2
  exit 1
fi
self=$(readlink -f "$0")
dir=${self%/*}
# LAUNCHER_NODE_FLAGS in build/sea.mjs (the executables' flags less --jitless, which Node 20 warns about);
# compile-cache.cjs beside the bundle: start from V8's code cache instead of parsing 1 MB (see the file)
if [ -f "$dir/compile-cache.cjs" ]; then
  exec "$node" --max-semi-space-size=1 --single-threaded-gc --initial-old-space-size=12 --expose-gc --require "$dir/compile-cache.cjs" "$dir/tapwire.js" "$@"
fi
exec "$node" --max-semi-space-size=1 --single-threaded-gc --initial-old-space-size=12 --expose-gc "$dir/tapwire.js" "$@"
