#!/usr/bin/env bash
# The asv dashboard as a reader gets it from this checkout: publish the
# committed results, serve them on 127.0.0.1 and render the grid and the
# relu/relu_grad graphs in headless Chromium. Fails on a missing file (any
# 404 or failed request), a request to another host, asv's "continental
# origin of swallow" error page, or a graph with fewer than two commits.
# See tools/dashboard_check.py. Runs inside the CI virtual environment.
set -euo pipefail
cd "$(dirname "$0")/../.."

python -c "import asv" 2>/dev/null || python -m pip install --quiet -e ".[asv]"

if ! command -v chromium > /dev/null; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get > /dev/null; then
        echo "chromium is missing: install Debian's chromium package" >&2
        exit 1
    fi
    echo "installing chromium (Debian package)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq > /dev/null
    # Recommended packages are mostly desktop parts; the fonts make the
    # screenshots legible.
    apt-get install -y -qq --no-install-recommends chromium fonts-liberation > /dev/null
fi

start=$(date +%s)
python tools/dashboard_check.py output/asv
echo "dashboard checked in $(( $(date +%s) - start )) s: screenshots in output/asv/"
