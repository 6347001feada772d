#!/usr/bin/env bash
# The test command: set everything up (idempotent), then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
export MASKWATCH_SHARED=${MASKWATCH_SHARED:-$(cd .. && pwd)/shared}
export MASKWATCH_HOME=${MASKWATCH_HOME:-$MASKWATCH_SHARED/weights}
# The whole run (no pytest arguments) also proves the core install on Python 3.11 and 3.12.
if [ $# -eq 0 ]; then bash scripts/check_install.sh; fi
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
