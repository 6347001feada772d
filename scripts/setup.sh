#!/usr/bin/env bash
# Set up maskwatch on a fresh machine: a virtual environment in .venv with the package.
#   bash scripts/setup.sh          inference only (detect, classify, serve core)
#   bash scripts/setup.sh --dev    everything: training, serving, tests, headless Chromium
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "--dev" ]; then
  .venv/bin/python -m pip install -q -e ".[dev]"
  bash scripts/install_browser.sh
else
  .venv/bin/python -m pip install -q -e ".[serve]"
fi
