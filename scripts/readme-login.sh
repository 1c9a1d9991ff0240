#!/usr/bin/env bash
# Runs the README's walkthroughs line for line against the embedded default (SQLite, in-process
# store, console provider): "A login, by hand", the admin block after it, and the downstream
# API's. Only the addresses (free ports instead of 8080 and 9000), the code (read from the
# server's output instead of typed) and `cargo run` (the debug binaries the test command built)
# are substituted.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
binary="$root/target/debug/sesame"
orders_api="$root/target/debug/examples/orders_api"
# Built (or found current) every time: a binary left from an older tree would test old code.
cargo build -q --bin sesame
cargo build -q -p sesame-verify --example orders_api

work=$(mktemp -d)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
api_port=$(free_port)
server=""
stop() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  server=""
}
trap 'stop; rm -rf "$work"' EXIT

# Starts the server in the scratch folder with the given extra variables.
serve() {
  (cd "$work" && exec env "$@" SESAME_LISTEN="127.0.0.1:$port" SESAME_METRICS_LISTEN= "$binary") >>"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0
    sleep 0.1
  done
  cat "$work/server.log" >&2
  echo "readme-login: the server did not start" >&2
  return 1
}

# The sh block that follows the line matching $1 in the README, with the substitutions.
block() {
  awk -v heading="$1" 'index($0, heading) == 1 { found = 1 } found && /^```sh/ { inside = 1; next }
                       inside && /^```/ { exit } inside' README.md |
    sed -e "s#127.0.0.1:8080#127.0.0.1:$port#g" -e "s#127.0.0.1:9000#127.0.0.1:$api_port#g" \
        -e 's#^CODE=123456$#CODE=$(sent_code)#' \
        -e "s#cargo run -p sesame-verify --example orders_api#$orders_api#" \
        -e "s#cargo run --release -q --#$binary#g" -e "s#cargo run --release --#$binary#g" \
        -e "s#cargo run --release #$binary #" -e "s#cargo run --release\$#$binary#"
}

# The code of the newest message the console provider printed (to $SENT_LOG when set).
sent_code() {
  sleep 0.2
  grep 'sesame console sender' "${SENT_LOG:-$work/server.log}" | tail -n 1 |
    sed -E 's/.* code is ([0-9]+).*/\1/'
}
export -f sent_code
export work

# Runs the lines $1 as one shell session in the scratch folder, output to $2.
run() {
  (cd "$work" && bash -euo pipefail -c "$1") >"$2" 2>&1 || {
    echo "readme-login: $3 failed:" >&2
    cat "$2" >&2
    exit 1
  }
}

expect() {
  grep -qF -- "$1" "$2" || {
    echo "readme-login: expected $1 in the output of $3:" >&2
    cat "$2" >&2
    exit 1
  }
}

serve
login=$(block "## A login, by hand")
[ -n "$login" ] || { echo "readme-login: no walkthrough found in README.md" >&2; exit 1; }
run "$login" "$work/login.out" "the login walkthrough"
expect '"channel":"sms"' "$work/login.out" "step 1"
expect '"token_type":"Bearer"' "$work/login.out" "step 2"
expect '"kind":"anonymous"' "$work/login.out" "step 3"
expect '"error":"invalid_token"' "$work/login.out" "step 5"
expect '"keys":[' "$work/login.out" "the JWKS"
stop

# The admin block runs against a server started as its first block says.
start=$(block "An employee provisioned by an admin")
case "$start" in
  "SESAME_ADMIN_API_KEY=change-me-to-a-long-secret $binary") ;;
  *) echo "readme-login: unexpected server command: $start" >&2; exit 1 ;;
esac
serve SESAME_ADMIN_API_KEY=change-me-to-a-long-secret
admin=$(awk '/^An employee provisioned by an admin/ { found = 1 } found && /^```sh/ { n++ }
             n == 2 && /^```sh/ { inside = 1; next } inside && /^```/ { exit } inside' README.md |
          sed -e "s#127.0.0.1:8080#127.0.0.1:$port#g" -e "s#cargo run --release --#$binary#g")
run "$admin" "$work/admin.out" "the admin walkthrough"
expect '"external_id":"E-1001"' "$work/admin.out" "the employee upsert"
expect 'updated 1' "$work/admin.out" "the import"
stop

# The downstream block starts Sesame and the example API itself, in the background of its
# shell; they print to the block's output, where the code is read from.
downstream=$(block "## Downstream APIs")
[ -n "$downstream" ] || { echo "readme-login: no downstream walkthrough in README.md" >&2; exit 1; }
rm -rf "$work/data" "$work/keys"
run "export SESAME_LISTEN=127.0.0.1:$port SESAME_ISSUER=http://127.0.0.1:$port SESAME_METRICS_LISTEN=
     export ORDERS_LISTEN=127.0.0.1:$api_port
     export SENT_LOG=$work/downstream.out
     trap 'kill \$(jobs -p) 2>/dev/null; wait' EXIT
     $downstream" "$work/downstream.out" "the downstream walkthrough"
expect '{"hello":"stranger"}' "$work/downstream.out" "step 5 (public)"
expect '"kind":"employee"' "$work/downstream.out" "step 5 (with a token)"
expect '"item":"sesame seeds"' "$work/downstream.out" "step 5 (orders)"
expect '"revocations":{"entries":0' "$work/downstream.out" "step 5 (health)"
expect 'error="invalid_token"' "$work/downstream.out" "step 6"
echo "readme-login: the README's walkthroughs work as written"
