#!/usr/bin/env bash
# Install everything the test suite needs (system Qt/X libraries, a virtualenv), then lint and test.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_setup.sh
ensure_system_packages
ensure_venv "qt,test,cluster,remote"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Two workers: most tests wait on child processes starting torch or on Qt events, so two
# share two cores well (535 s -> 401 s on the 2-core VM).
.venv/bin/python -m pytest -n 2 "$@"
