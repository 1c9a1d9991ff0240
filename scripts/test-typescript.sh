#!/usr/bin/env bash
# The TypeScript clients' tests (clients/typescript): install, typecheck and build the
# packages, check that the committed /demo build is current, run the unit tests, then start
# Sesame (the embedded default, from target/debug/sesame) and run the integration tests and
# the browser tests of /demo in Debian's Chromium. Servers are stopped whatever happens.
#
#   scripts/test-typescript.sh                      everything
#   scripts/test-typescript.sh --update-screenshot  also copy the signed-in page to docs/demo.png
#
# The last line is `typescript: N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
ts=$repo/clients/typescript
update_screenshot=false
[ "${1:-}" = "--update-screenshot" ] && update_screenshot=true

fail() {
  echo "test-typescript: $*" >&2
  exit 1
}

command -v node >/dev/null || fail "Node.js 18+ is required (node not found)"
command -v npm >/dev/null || fail "npm is required"
chromium=${CHROMIUM:-$(command -v chromium || true)}
[ -n "$chromium" ] && [ -x "$chromium" ] ||
  fail "Chromium is required for the browser tests: apt-get install chromium (or set CHROMIUM)"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

echo "== npm ci, typecheck and build"
(cd "$ts" && npm ci --no-audit --no-fund --loglevel=error)
(cd "$ts" && npx tsc -b packages/client packages/react demo test)
(cd "$ts" && node demo/build.mjs)
# The server embeds the committed build: it must be what the sources build to.
if ! git diff --quiet -- "$ts/demo/dist" || [ -n "$(git ls-files --others --exclude-standard -- "$ts/demo/dist")" ]; then
  git --no-pager diff --stat -- "$ts/demo/dist"
  fail "clients/typescript/demo/dist differs from a fresh build: commit the rebuilt files"
fi

# Tests record TAP next to the readable output, for the summary line.
node_test() {
  local name=$1
  shift
  node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$work/$name.tap" "$@"
}

status=0
echo "== unit tests"
(cd "$ts" && node_test unit test-build/unit/) || status=1

echo "== Sesame for the integration and browser tests"
# A no-op when the binary is current; it must embed the demo just checked.
cargo build --quiet --bin sesame
binary=$repo/target/debug/sesame

free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

admin_key="typescript-tests-admin-key-0123456789"
test_numbers=$(for n in $(seq 1 40); do printf '+447700900%03d=424242,' "$n"; done)

# start NAME [VAR=VALUE…]: a Sesame of its own (database, keys, port) in $work/NAME; sets
# $url (not a command substitution: the server's pid must reach the cleanup).
start() {
  local name=$1
  shift
  local dir=$work/$name port
  port=$(free_port)
  mkdir -p "$dir"
  # Only the variables given here: none from the caller's environment, no .env (cwd is $dir).
  (cd "$dir" && exec env $(env | grep -o '^SESAME_[A-Z0-9_]*' | sed 's/^/-u /') \
    SESAME_LISTEN="127.0.0.1:$port" SESAME_METRICS_LISTEN= \
    SESAME_ISSUER="http://127.0.0.1:$port" \
    SESAME_DATABASE_URL="sqlite://$dir/sesame.db" \
    SESAME_KEYS_DIR="$dir/keys" \
    SESAME_ADMIN_API_KEY="$admin_key" \
    SESAME_TEST_NUMBERS="${test_numbers%,}" \
    SESAME_ALLOWED_COUNTRIES=GB \
    SESAME_IP_HOURLY_CAP=10000 \
    SESAME_IP_VERIFY_HOURLY_CAP=10000 \
    "$@" "$binary" serve >"$dir/sesame.log" 2>&1) &
  pids+=($!)
  local pid=$!
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
      url="http://127.0.0.1:$port"
      return
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  cat "$dir/sesame.log" >&2
  fail "Sesame ($name) did not start"
}

start main
main_url=$url
start short-grace SESAME_REFRESH_REUSE_GRACE=1
short_grace_url=$url
echo "main: $main_url, short grace: $short_grace_url"

echo "== integration and browser tests"
(cd "$ts" && SESAME_URL=$main_url SESAME_SHORT_GRACE_URL=$short_grace_url \
  SESAME_ADMIN_KEY=$admin_key CHROMIUM=$chromium \
  node_test live test-build/integration/ test-build/browser/) || status=1

if [ "$status" -ne 0 ]; then
  for log in "$work"/*/sesame.log; do
    echo "--- $log (last lines)"
    tail -n 30 "$log"
  done
fi
if $update_screenshot && [ -f "$ts/test-results/demo.png" ]; then
  cp "$ts/test-results/demo.png" "$repo/docs/demo.png"
  echo "docs/demo.png updated"
fi

passed=$(cat "$work"/*.tap | awk '/^# pass / { n += $3 } END { print n + 0 }')
failed=$(cat "$work"/*.tap | awk '/^# fail / { n += $3 } END { print n + 0 }')
echo "typescript: $passed passed, $failed failed"
exit "$status"
