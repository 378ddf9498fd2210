#!/usr/bin/env bash
# `npm test`: system peers (installed when missing), type-check, unit tests,
# integration tests with real peers. Prints "N passed, N failed" at the end.
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
