#!/usr/bin/env bash
# The test command: every unit test of the workspace (Sesame and sesame-verify), the
# documentation examples, the end-to-end suite against the embedded backends (SQLite +
# in-process store), against Postgres + Redis (started here if installed but down) and against
# Postgres + a Redis Cluster (3 masters + 3 replicas started here on spare ports), then the
# TypeScript clients' tests, the admin console in Chromium and the OpenAPI document
# (Schemathesis).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
# The browser tests (the /demo page and the admin console) drive Debian's Chromium.
command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

# Each test run creates databases named sesame_test_p<pid>_<random>; drop those of runs that
# have ended (a live run's databases are left alone).
pg_url="${SESAME_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
psql "$pg_url" -Atc "select datname from pg_database where datname like 'sesame\_test\_%'" |
  while read -r database; do
    pid=$(echo "$database" | sed -n 's/^sesame_test_p\([0-9]*\)_.*/\1/p')
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
      echo "drop database if exists \"$database\";"
    fi
  done | psql "$pg_url" -q >/dev/null 2>&1 || true
# Criterion benches run once in test mode; they take no libtest flags, hence the variable.
log=$(mktemp)
cluster_dir=$(mktemp -d)
trap 'rm -f "$log"; scripts/redis-cluster.sh stop "$cluster_dir"' EXIT
SESAME_TEST_REDIS_CLUSTER_URL=$(scripts/redis-cluster.sh start "$cluster_dir")
export SESAME_TEST_REDIS_CLUSTER_URL
set +e
RUST_TEST_THREADS="${TEST_THREADS:-6}" cargo test --workspace --all-targets "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# Doc tests are no target of --all-targets.
cargo test --workspace --doc "$@" 2>&1 | tee -a "$log"
doc_status=${PIPESTATUS[0]}
[ "$status" -ne 0 ] || status=$doc_status
# The TypeScript clients (unit, against a live Sesame, and /demo in Chromium); its last line
# is `typescript: N passed, N failed`.
scripts/test-typescript.sh 2>&1 | tee -a "$log"
typescript=${PIPESTATUS[0]}
# The admin console in Chromium; its last line is `console: N passed, N failed`.
scripts/test-console.sh 2>&1 | tee -a "$log"
console=${PIPESTATUS[0]}
# The OpenAPI document against the server (Schemathesis); its last line is
# `openapi: N passed, N failed`.
scripts/test-openapi.sh 2>&1 | tee -a "$log"
openapi=${PIPESTATUS[0]}
set -e
# The benches print after the last test binary; close with the totals of every test run.
awk '/^test result:/ { passed += $4; failed += $6 }
     /^(typescript|console|openapi): [0-9]+ passed, [0-9]+ failed$/ { passed += $2; failed += $4 }
     END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
# An `a && b` list that fails does not stop a `set -e` script; say the failure outright.
if [ "$status" -ne 0 ] || [ "$typescript" -ne 0 ] || [ "$console" -ne 0 ] ||
  [ "$openapi" -ne 0 ]; then
  exit 1
fi

# The README's walkthroughs, line for line, against the embedded default.
scripts/readme-login.sh
