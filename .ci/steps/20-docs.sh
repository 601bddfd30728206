#!/usr/bin/env bash
# Build the documentation the way the README says, with warnings as errors.
# Runs inside the CI virtual environment (.ci/run activates it). The gallery
# examples execute during the build, so this also checks that they run.
set -euo pipefail
cd "$(dirname "$0")/../.."

python -m pip install --quiet -e ".[docs]"

# Start from nothing: a stale gallery or autosummary output would hide a
# broken example or a renamed function.
rm -rf docs/_build docs/auto_examples docs/generated
start=$(date +%s)
python -m sphinx -W --keep-going -b html docs docs/_build/html
echo "docs built in $(( $(date +%s) - start )) s: docs/_build/html/index.html"
