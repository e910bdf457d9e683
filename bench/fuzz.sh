#!/usr/bin/env bash
# Run the hostile-input targets (tests/fuzz) far longer than the test suite does.
# Usage: bench/fuzz.sh [SCALE]   (SCALE 1 = the suite's few hundred examples per target)
# Prints each target's time and example count; a finding fails the run and is kept in
# .hypothesis/ so the next plain `pytest tests/fuzz` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
scale="${1:-100}"
start=$(date +%s)
PAPERBRIDGE_FUZZ_SCALE="$scale" .venv/bin/python -m pytest tests/fuzz -q -p no:cacheprovider \
    --hypothesis-show-statistics "${@:2}" \
    | tee "${TMPDIR:-/tmp}/paperbridge-fuzz.log" \
    | grep -E "^tests/|passing examples|Stopped because|Failing test case|passed|failed" || true
echo "full output: ${TMPDIR:-/tmp}/paperbridge-fuzz.log"
echo "fuzzing at scale $scale took $(( $(date +%s) - start )) s"
