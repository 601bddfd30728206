#!/usr/bin/env bash
# Benchmark the commits on main that changed the package and have the
# operation table (src/relukit/_ops/__init__.py) that the suites are
# generated from, skipping commits that MACHINE already has results for.
# Older commits would have no benchmarks at all; their results from the
# suites of the registry era stay committed and on the same graphs.
#
#   bash tools/asv_history.sh MACHINE [asv run options, e.g. --steps 5 or -b TimeRelu]
#
# MACHINE must exist in ~/.asv-machine.json (asv machine --yes --machine
# MACHINE). It is passed explicitly: with several machines in that file, asv
# would otherwise file the results under the host name.
set -euo pipefail
machine=${1:?usage: tools/asv_history.sh MACHINE [asv run options]}
shift
cd "$(dirname "$0")/../asv_bench"
hashes=$(mktemp)
trap 'rm -f "$hashes"' EXIT
# Newest first, stopping at the commit that added the table.
git rev-list --first-parent main -- ../src \
    | while read -r commit; do
        git cat-file -e "$commit:src/relukit/_ops/__init__.py" 2>/dev/null || break
        echo "$commit"
    done > "$hashes"
echo "$(wc -l < "$hashes") commit(s) of main changed src/ since the operation table (src/relukit/_ops/)"
python -m asv run --machine "$machine" --skip-existing-commits "$@" "HASHFILE:$hashes"
