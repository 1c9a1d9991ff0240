#!/usr/bin/env bash
# What Postgres stores per login (docs/performance.md, "Storage per login"): rows inserted and
# updated, and bytes added (table, indexes and TOAST), per table that changed, divided by the
# logins served.
# Counts, not timings, so the figures do not move with the machine's load. Three phases on one
# fresh database, each measured from its own start:
#   first      `loadgen --scenario login` on new numbers (a new identity each);
#   returning  the same numbers again, for half as long (the identity exists);
#   session    whole sessions (start, token, /v1/me, refresh, logout) on new numbers.
# SESAME_BIN and LOADGEN_BIN choose the binaries (default: the release build), STORAGE_DURATION
# (seconds, default 5) and STORAGE_CONCURRENCY (default 8) the load.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

sesame_bin=${SESAME_BIN:-target/release/sesame}
loadgen_bin=${LOADGEN_BIN:-target/release/loadgen}
duration=${STORAGE_DURATION:-5}
concurrency=${STORAGE_CONCURRENCY:-8}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
sink=127.0.0.1:$(free_port)
pg_admin=${SESAME_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db=sesame_storage_$$
db_url="${pg_admin%/*}/$db?sslmode=disable"
redis_url=${SESAME_TEST_REDIS_URL:-redis://127.0.0.1:6379}
redis_prefix=storage_$$
work=$(mktemp -d)
sesame_pid=

cleanup() {
  [ -n "$sesame_pid" ] && kill "$sesame_pid" 2>/dev/null && wait "$sesame_pid" 2>/dev/null
  rm -rf "$work"
  psql "$pg_admin" -qc "drop database if exists $db" >/dev/null 2>&1 || true
  redis-cli -u "$redis_url" --scan --pattern "$redis_prefix:*" |
    xargs -r -n 500 redis-cli -u "$redis_url" del >/dev/null 2>&1 || true
}
trap cleanup EXIT

if [ -z "${SESAME_BIN:-}" ] || [ -z "${LOADGEN_BIN:-}" ]; then
  cargo build --release --quiet --bin sesame --bin loadgen
fi
scripts/services.sh >/dev/null
psql "$pg_admin" -qc "create database $db" >/dev/null

start_sesame() {
  env -i PATH="$PATH" \
    SESAME_LISTEN=127.0.0.1:$port SESAME_METRICS_LISTEN= SESAME_DATABASE_URL="$db_url" \
    SESAME_REDIS_URL="$redis_url" SESAME_REDIS_KEY_PREFIX="$redis_prefix" \
    SESAME_KEYS_DIR="$work/keys" \
    SESAME_SMS_PROVIDER=webhook SESAME_SMS_WEBHOOK_URL="http://$sink/" \
    SESAME_SMS_HOURLY_CAP=1000000 SESAME_SMS_DAILY_CAP=1000000 \
    SESAME_IP_HOURLY_CAP=10000000 SESAME_IP_VERIFY_HOURLY_CAP=10000000 \
    SESAME_SMS_COUNTRY_HOURLY_BUDGET=10000000 SESAME_SMS_GLOBAL_HOURLY_BUDGET=10000000 \
    SESAME_OTP_RESEND_AFTER=0 RUST_LOG=warn "$sesame_bin" >"$work/sesame.log" 2>&1 &
  sesame_pid=$!
  until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
    kill -0 "$sesame_pid" 2>/dev/null || { cat "$work/sesame.log" >&2; exit 1; }
    sleep 0.05
  done
}

# Sesame's connections report their statistics when they close, so each snapshot is taken with
# Sesame stopped. One line per table: name, rows inserted, rows updated, bytes.
snapshot() {
  psql "$db_url" -AtF ' ' -c "
    select relname, n_tup_ins, n_tup_upd, pg_total_relation_size(relid)
    from pg_stat_user_tables where relname <> '_sqlx_migrations'" |
    sort
}

# Runs one phase ($1 name, $2 scenario, $3 number offset, $4 seconds) and prints its figures
# per login (the sessions it opened).
phase() {
  local before after logins
  before=$(snapshot)
  start_sesame
  "$loadgen_bin" --base-url "http://127.0.0.1:$port" --sink "$sink" --concurrency "$concurrency" \
    --duration "$4" --scenario "$2" --number-offset "$3" >/dev/null 2>&1
  kill "$sesame_pid" && wait "$sesame_pid" || true
  sesame_pid=
  sleep 1
  after=$(snapshot)
  logins=$(join <(echo "$before") <(echo "$after") | awk '$1 == "sessions" { print $5 - $2 }')
  echo "$1: $logins logins; per login:"
  join <(echo "$before") <(echo "$after") | awk -v n="$logins" '
    { ins = ($5 - $2) / n; upd = ($6 - $3) / n; bytes = ($7 - $4) / n
      if (ins == 0 && upd == 0 && bytes == 0) next
      printf "  %-22s %5.2f inserted %5.2f updated %7.0f bytes\n", $1, ins, upd, bytes
      t_ins += ins; t_upd += upd; t_bytes += bytes }
    END { printf "  %-22s %5.2f inserted %5.2f updated %7.0f bytes\n", "total", t_ins, t_upd, t_bytes }'
}

start_sesame
kill "$sesame_pid" && wait "$sesame_pid" || true
sesame_pid=
phase first login 0 "$((duration * 2))"
phase returning login 0 "$duration"
phase session session 50000000 "$duration"
