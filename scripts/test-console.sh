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

script=test-console
. scripts/lib/embedded-sesame.sh
require_node_and_chromium

echo "== npm ci (tests/console)"
(cd tests/console && npm ci --no-audit --no-fund --loglevel=error)

echo "== Sesame for the console"
cargo build --quiet --bin sesame
admin_key="console-tests-admin-key-0123456789"
test_numbers="+447700900001=424242"
# The auditor's key, made with the CLI in the folder the server then runs in.
mkdir -p "$work/console"
auditor_key=$(sesame_in "$work/console" "$(free_port)" "$admin_key" SESAME_TEST_NUMBERS="$test_numbers" -- \
  api-key create --name auditor --role auditor 2>/dev/null)
serve_sesame console "$admin_key" SESAME_TEST_NUMBERS="$test_numbers"

echo "== the console in Chromium"
screenshots=""
$update_screenshots && screenshots=$repo/docs/console
status=0
(cd tests/console && SESAME_URL=$url SESAME_ADMIN_KEY=$admin_key \
  SESAME_AUDITOR_KEY=$auditor_key CHROMIUM=$chromium SCREENSHOTS=$screenshots \
  node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$work/console.tap" console.test.mjs) || status=1
if [ "$status" -ne 0 ]; then
  echo "--- sesame.log (last lines)"
  tail -n 30 "$work/console/sesame.log"
fi
$update_screenshots && echo "docs/console/*.png updated"

passed=$(awk '/^# pass / { n += $3 } END { print n + 0 }' "$work/console.tap")
failed=$(awk '/^# fail / { n += $3 } END { print n + 0 }' "$work/console.tap")
echo "console: $passed passed, $failed failed"
exit "$status"
