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
version=4.32.5
venv=${XDG_CACHE_HOME:-$HOME/.cache}/sesame/schemathesis-$version

script=test-openapi
. scripts/lib/embedded-sesame.sh

if [ ! -x "$venv/bin/schemathesis" ]; then
  echo "== installing Schemathesis $version into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || fail "python3 with venv is required"
  "$venv/bin/pip" install --quiet "schemathesis==$version"
fi

echo "== Sesame for Schemathesis"
cargo build --quiet --bin sesame
admin_key="openapi-tests-admin-key-0123456789"
number="+447700900001"
code=424242
# Generated requests hammer a few numbers and one IP, so the abuse caps are lifted.
serve_sesame openapi "$admin_key" SESAME_TEST_NUMBERS="$number=$code"
base=$url

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
  tail -n 30 "$work/openapi/sesame.log"
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
