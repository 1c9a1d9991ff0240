# Sourced by the tests of Sesame's clients (scripts/test-typescript.sh, test-console.sh and
# test-openapi.sh), which each run the embedded default (target/debug/sesame on SQLite, keys
# and database in a scratch folder) to test against. Set $script (the name errors start with)
# and cd to the repository before sourcing; it sets $work (the scratch folder, removed on exit
# with every server started here stopped first) and defines the helpers below.

fail() {
  echo "$script: $*" >&2
  exit 1
}

# Node.js, npm and Chromium ($CHROMIUM, or the one on PATH) for the browser tests; sets
# $chromium.
require_node_and_chromium() {
  command -v node >/dev/null || fail "Node.js 18+ is required (node not found)"
  command -v npm >/dev/null || fail "npm is required"
  chromium=${CHROMIUM:-$(command -v chromium || true)}
  [ -n "$chromium" ] && [ -x "$chromium" ] ||
    fail "Chromium is required for the browser tests: apt-get install chromium (or set CHROMIUM)"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

sesame_binary=$PWD/target/debug/sesame
work=$(mktemp -d)
servers=()
stop_servers() {
  local pid
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${servers[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stop_servers EXIT

# sesame_in DIR PORT ADMIN_KEY [VAR=VALUE…] -- ARGS…: runs `sesame ARGS` in DIR (its database
# and keys there), listening on PORT, with only the SESAME_ variables set here and in VAR=VALUE
# (a VAR=VALUE overrides one set here): none from the caller's environment and no .env (the
# working folder is DIR). It replaces the shell it runs in, so call it in a subshell
# (`$(sesame_in …)`, `(sesame_in …) &`).
sesame_in() {
  local dir=$1 port=$2 admin_key=$3
  shift 3
  local vars=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    vars+=("$1")
    shift
  done
  [ $# -gt 0 ] && shift
  cd "$dir" && exec env $(env | grep -o '^SESAME_[A-Z0-9_]*' | sed 's/^/-u /') \
    SESAME_LISTEN="127.0.0.1:$port" SESAME_METRICS_LISTEN= \
    SESAME_ISSUER="http://127.0.0.1:$port" \
    SESAME_DATABASE_URL="sqlite://$dir/sesame.db" \
    SESAME_KEYS_DIR="$dir/keys" \
    SESAME_ADMIN_API_KEY="$admin_key" \
    "${vars[@]}" "$sesame_binary" "$@"
}

# serve_sesame NAME ADMIN_KEY [VAR=VALUE…]: `sesame serve` as sesame_in runs it, in
# $work/NAME (created if missing) on a free port, its output in $work/NAME/sesame.log; returns
# once it answers /healthz and sets $url (not a command substitution: the server's pid must
# reach stop_servers).
serve_sesame() {
  local name=$1 admin_key=$2
  shift 2
  local dir=$work/$name port pid
  port=$(free_port)
  mkdir -p "$dir"
  (sesame_in "$dir" "$port" "$admin_key" "$@" -- serve) >"$dir/sesame.log" 2>&1 &
  pid=$!
  servers+=("$pid")
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
