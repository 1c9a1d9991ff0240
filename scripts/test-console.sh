#!/usr/bin/env bash
# The admin console end to end in Debian's Chromium (tests/console, playwright-core): starts
# Sesame (the embedded default, from target/debug/sesame) in a temporary folder with an admin
# key, an auditor key made with the CLI and a test number, runs the browser scenario, and
# stops the server whatever happens.
#
#   scripts/test-console.sh                       the scenario
#   scripts/test-console.sh --update-screenshots  also save each page to docs/console/*.png
#
# The last line is `console: N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
update_screenshots=false
[ "${1:-}" = "--update-screenshots" ] && update_screenshots=true

fail() {
  echo "test-console: $*" >&2
  exit 1
}

command -v node >/dev/null || fail "Node.js 18+ is required (node not found)"
command -v npm >/dev/null || fail "npm is required"
chromium=${CHROMIUM:-$(command -v chromium || true)}
[ -n "$chromium" ] && [ -x "$chromium" ] ||
  fail "Chromium is required: apt-get install chromium (or set CHROMIUM)"

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== npm ci (tests/console)"
(cd tests/console && npm ci --no-audit --no-fund --loglevel=error)

echo "== Sesame for the console"
cargo build --quiet --bin sesame
binary=$repo/target/debug/sesame
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
admin_key="console-tests-admin-key-0123456789"
# Only these variables: none from the caller's environment, no .env (the cwd is $work).
# It replaces the shell it runs in, so call it only in a subshell (`$(sesame …)`, `sesame … &`):
# then `$!` is Sesame itself, and the clean-up's kill reaches it.
sesame() {
  cd "$work" && exec env $(env | grep -o '^SESAME_[A-Z0-9_]*' | sed 's/^/-u /') \
    SESAME_LISTEN="127.0.0.1:$port" SESAME_METRICS_LISTEN= \
    SESAME_ISSUER="http://127.0.0.1:$port" \
    SESAME_DATABASE_URL="sqlite://$work/sesame.db" \
    SESAME_KEYS_DIR="$work/keys" \
    SESAME_ADMIN_API_KEY="$admin_key" \
    SESAME_TEST_NUMBERS="+447700900001=424242" \
    "$binary" "$@"
}
auditor_key=$(sesame api-key create --name auditor --role auditor 2>/dev/null)
sesame serve >"$work/sesame.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 || {
  cat "$work/sesame.log" >&2
  fail "Sesame did not start"
}

echo "== the console in Chromium"
screenshots=""
$update_screenshots && screenshots=$repo/docs/console
status=0
(cd tests/console && SESAME_URL="http://127.0.0.1:$port" SESAME_ADMIN_KEY=$admin_key \
  SESAME_AUDITOR_KEY=$auditor_key CHROMIUM=$chromium SCREENSHOTS=$screenshots \
  node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$work/console.tap" console.test.mjs) || status=1
if [ "$status" -ne 0 ]; then
  echo "--- sesame.log (last lines)"
  tail -n 30 "$work/sesame.log"
fi
$update_screenshots && echo "docs/console/*.png updated"

passed=$(awk '/^# pass / { n += $3 } END { print n + 0 }' "$work/console.tap")
failed=$(awk '/^# fail / { n += $3 } END { print n + 0 }' "$work/console.tap")
echo "console: $passed passed, $failed failed"
exit "$status"
