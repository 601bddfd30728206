#!/usr/bin/env bash
# Every CUDA kernel relukit ships, built with NVRTC without a GPU: for each
# operation of the table, variant, dtype and indexing layout, the source
# CuPy would generate, compiled to a cubin for the oldest and the newest
# architecture in tools/gpu_check.py (COMPILE_ARCHS). CI has no GPU, so this
# is the only place a typo in a CUDA snippet or in the preamble's inline PTX
# shows before someone runs the kernels. Any build error fails the step.
# Runs inside the CI virtual environment (.ci/run activates it).
set -euo pipefail
cd "$(dirname "$0")/../.."

# CuPy's wheel for CUDA 12 and NVIDIA's NVRTC wheel, pinned in setup.cfg:
# no CUDA toolkit and no driver are needed to compile.
start=$(date +%s)
python -m pip install --quiet -e ".[cuda-compile]"
echo "cuda-compile extra installed in $(( $(date +%s) - start )) s"

start=$(date +%s)
python tools/gpu_check.py --compile-only
echo "CUDA kernels compiled in $(( $(date +%s) - start )) s"
