#!/usr/bin/env bash
# asv smoke test: the benchmark suites import, every benchmark runs once
# against the working tree (already installed by .ci/run), nothing is saved.
# A benchmark that raises fails CI; a suite that cannot run here (no GPU,
# no torch) reports "skipped" and passes.
set -euo pipefail
cd "$(dirname "$0")/../.."

python -m pip install --quiet -e ".[asv]"
cd asv_bench
# asv asks for a machine description on first use; a CI machine needs no
# name, so asv uses the host name. Even a dry run writes
# results/<machine>/machine.json: remove it unless it was there before.
python -m asv machine --yes > /dev/null
machine_dir="results/$(python -c 'import platform; print(platform.node())')"
# asv also rewrites results/benchmarks.json with the grid it ran, which in
# the smoke test below has small sizes: put the committed one back, or the
# dashboard published afterwards opens its graphs on other curves.
saved=$(mktemp)
cp results/benchmarks.json "$saved"
cleanup() {
    cp "$saved" results/benchmarks.json && rm -f "$saved"
    if [ -n "${created:-}" ]; then rm -rf "$machine_dir"; fi
}
[ -e "$machine_dir" ] || created=1
trap cleanup EXIT
python -m asv check --python=same
# Every benchmark once, on small arrays and for relu's and gelu's
# operations only (see RELUKIT_ASV_SMOKE and SMOKE_ACTIVATIONS in
# benchmarks/_common.py): 75 to 82 s on the same 2-core machine for relu's
# alone, against 243 s for the dry run at the recorded sizes. With the
# smooth family in the table, every operation would make 337 benchmarks
# (not finished after 25 minutes under a load of 10); relu and gelu make 67,
# 198 s under a load of 4 from other programs (2026-11-28).
start=$(date +%s)
RELUKIT_ASV_SMOKE=1 python -m asv run --python=same --quick --dry-run --show-stderr
echo "asv smoke test in $(( $(date +%s) - start )) s"
