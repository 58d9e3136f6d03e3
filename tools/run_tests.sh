#!/usr/bin/env bash
# Set up everything (idempotent), then lint and run the test suite.
# Usage: bash tools/run_tests.sh [pytest options]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENV_DIR=$(bash "$ROOT/tools/setup_env.sh" | tail -n 1)
PY="$ENV_DIR/bin/python"
cd "$ROOT"
echo "== lint (ruff)"
"$PY" -m ruff check .
echo "== tests"
"$PY" -m pytest tests -q -p no:cacheprovider "$@"
