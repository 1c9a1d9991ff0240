#!/usr/bin/env bash
# The OpenAPI document against the server it describes: Schemathesis (a pinned version,
# installed once into a virtualenv under ~/.cache) reads /openapi.json from Sesame (the
# embedded default, from target/debug/sesame, in a temporary folder) and runs every check,
# the stateful phase included, with an admin API key and a live login token. Any finding
# fails the script.
#
#   scripts/test-openapi.sh            the run (about a minute)
#   OPENAPI_MAX_EXAMPLES=200 scripts/test-openapi.sh   a longer one
#
# The last line is `openapi: N passed, N failed` (its JUnit test cases).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
version=4.32.5
venv=${XDG_CACHE_HOME:-$HOME/.cache}/sesame/schemathesis-$version

fail() {
  echo "test-openapi: $*" >&2
  exit 1
}

if [ ! -x "$venv/bin/schemathesis" ]; then
  echo "== installing Schemathesis $version into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || fail "python3 with venv is required"
  "$venv/bin/pip" install --quiet "schemathesis==$version"
fi

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

echo "== Sesame for Schemathesis"
cargo build --quiet --bin sesame
binary=$repo/target/debug/sesame
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
admin_key="openapi-tests-admin-key-0123456789"
number="+447700900001"
code=424242
# Only these variables: none from the caller's environment, no .env (the cwd is $work).
# Generated requests hammer a few numbers and one IP, so the abuse caps are lifted.
(cd "$work" && exec env $(env | grep -o '^SESAME_[A-Z0-9_]*' | sed 's/^/-u /') \
  SESAME_LISTEN="127.0.0.1:$port" SESAME_METRICS_LISTEN= \
  SESAME_ISSUER="$base" \
  SESAME_DATABASE_URL="sqlite://$work/sesame.db" \
  SESAME_KEYS_DIR="$work/keys" \
  SESAME_ADMIN_API_KEY="$admin_key" \
  SESAME_TEST_NUMBERS="$number=$code" \
  "$binary" serve) >"$work/sesame.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.2
done
curl -fsS "$base/healthz" >/dev/null 2>&1 || {
  cat "$work/sesame.log" >&2
  fail "Sesame did not start"
}

# A live login: the test number's fixed code.
curl -fsS "$base/v1/otp/start" -H 'content-type: application/json' \
  -d "{\"phone_number\": \"$number\"}" >/dev/null
access_token=$(curl -fsS "$base/oauth/token" -d grant_type=otp \
  --data-urlencode "phone_number=$number" -d "code=$code" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

cat - scripts/schemathesis.toml >"$work/schemathesis.toml" <<TOML
[auth.openapi.api_key]
bearer = "$admin_key"

[auth.openapi.access_token]
bearer = "$access_token"

TOML

echo "== Schemathesis $version against $base/openapi.json"
status=0
# From the temporary folder, where Schemathesis keeps its example database.
(cd "$work" && "$venv/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$base/openapi.json" \
  --checks all --phases examples,coverage,fuzzing,stateful \
  --max-examples "${OPENAPI_MAX_EXAMPLES:-30}" --seed "${OPENAPI_SEED:-1}" \
  --workers 2 --suppress-health-check all \
  --report junit --report-junit-path "$work/junit.xml") || status=1
if [ "$status" -ne 0 ]; then
  echo "--- sesame.log (last lines)"
  tail -n 30 "$work/sesame.log"
fi

read -r passed failed < <(python3 - "$work/junit.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

cases = list(ET.parse(sys.argv[1]).getroot().iter("testcase"))
failed = sum(1 for case in cases if case.find("failure") is not None or case.find("error") is not None)
print(len(cases) - failed, failed)
PY
)
echo "openapi: $passed passed, $failed failed"
exit "$status"
