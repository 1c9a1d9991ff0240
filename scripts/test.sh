#!/usr/bin/env bash
# The test command: every unit test, and the end-to-end suite against the embedded backends
# (SQLite + in-process store) and against Postgres + Redis (started here if installed but down).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
cargo test --all-targets "$@" -- --test-threads "${TEST_THREADS:-6}"
