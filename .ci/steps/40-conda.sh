#!/usr/bin/env bash
# The conda package: build conda-recipe/ with the network cut, run the recipe's
# tests, inspect the artifact and install it with a conda installer, all against
# a local STAND-IN channel (this interpreter + PyPI wheels repacked), because no
# conda channel is reachable from CI. What a pass does and does not prove is
# printed at the end and written in docs/user_guide/install_conda.rst.
# Runs inside the CI virtual environment (.ci/run activates it).
set -euo pipefail
cd "$(dirname "$0")/../.."

python -m pip install --quiet -e ".[conda]"
python tools/conda_check_offline.py
