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

script=test-typescript
. scripts/lib/embedded-sesame.sh
require_node_and_chromium

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

admin_key="typescript-tests-admin-key-0123456789"
test_numbers=$(for n in $(seq 1 40); do printf '+447700900%03d=424242,' "$n"; done)

# start NAME [VAR=VALUE…]: a Sesame of its own (database, keys, port) in $work/NAME; sets $url.
start() {
  local name=$1
  shift
  serve_sesame "$name" "$admin_key" SESAME_TEST_NUMBERS="${test_numbers%,}" \
    SESAME_ALLOWED_COUNTRIES=GB SESAME_IP_HOURLY_CAP=10000 SESAME_IP_VERIFY_HOURLY_CAP=10000 "$@"
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
