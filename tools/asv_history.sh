#!/usr/bin/env bash
# Benchmark every commit on main that changed the package and has the
# registry the suites read (older commits would only report "skipped"),
# skipping commits this machine already has results for. Run from anywhere;
# extra arguments go to `asv run` (e.g. -b TimeRelu).
# Run `asv machine --yes --machine NAME` once first (see benchmarking.rst).
set -euo pipefail
cd "$(dirname "$0")/../asv_bench"
hashes=$(mktemp)
trap 'rm -f "$hashes"' EXIT
# Commits that touch src/, newest first, stopping at the one that added the
# registry.
git rev-list --first-parent main -- ../src \
    | while read -r commit; do
        git cat-file -e "$commit:src/relukit/_registry.py" 2>/dev/null || break
        echo "$commit"
    done > "$hashes"
echo "benchmarking $(wc -l < "$hashes") commit(s) of main that changed src/"
python -m asv run --skip-existing-commits "$@" "HASHFILE:$hashes"
