#!/usr/bin/env bash
# `npm test`: system peers (installed when missing), type-check, unit tests (on
# this Node and on the executables' Node 24), integration tests with real peers.
# Prints "N passed, N failed" at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
bash test/peers/ensure-system-deps.sh || exit 1
[ -d node_modules ] || npm ci || exit 1
export PATH="$PATH:/usr/sbin"

echo "== typecheck"
npx tsc --noEmit -p . || { echo "0 passed, 1 failed"; exit 1; }

log=$(mktemp)
status=0
echo "== unit"
node --import tsx node_modules/uvu/bin.js test '\.test\.ts$' -i integration -i bench 2>&1 | tee -a "$log" || status=1
# The single executables run Node 24 (build/sea.mjs DEFAULT_NODE; downloaded once from the npm
# registry into the build cache, as the release tests do): the same code must pass on it too.
echo "== unit on Node 24 (the single executables' Node)"
node24=$(node -e "import('./build/sea.mjs').then((m) => process.stdout.write(m.fetchNode('node-linux-' + (process.arch === 'arm' ? 'armv7l' : process.arch), m.DEFAULT_NODE)))") || status=1
if [ -n "${node24:-}" ]; then
  "$node24" --import tsx node_modules/uvu/bin.js test '\.test\.ts$' -i integration -i bench 2>&1 | tee -a "$log" || status=1
else
  echo "no Node 24 binary"; status=1
fi
echo "== integration (real peers: socat ptys, aedes, mosquitto, python COSE verifier)"
node --import tsx node_modules/uvu/bin.js test/integration '\.test\.ts$' 2>&1 | tee -a "$log" || status=1

strip() { sed -e 's/\x1b\[[0-9;]*m//g' "$log"; }
passed=$(strip | awk '/Passed:/ {s+=$2} END {print s+0}')
total=$(strip | awk '/Total:/ {s+=$2} END {print s+0}')
failed=$((total - passed))
rm -f "$log"
[ "$failed" -eq 0 ] || status=1
[ "$total" -gt 0 ] || { echo "no tests ran"; status=1; }
echo "$passed passed, $failed failed"
exit $status
