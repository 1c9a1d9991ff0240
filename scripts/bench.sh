#!/usr/bin/env bash
# Measures Sesame on this machine (not part of CI): full logins, refresh, introspection and JWKS
# under load on Postgres + Redis, pgbench's one-row INSERT ceiling at the same concurrency (the
# machine's own limit for durable commits), the embedded default (SQLite + in-process store),
# idle and loaded RSS, and start-up time. The last line on standard output is one JSON object.
# It also reports the CPU time per login of Sesame, Postgres and Redis (read from /proc before
# and after the login run, never during it) beside Postgres's CPU time per pgbench INSERT, and
# the storage one whole session leaves behind in Postgres and Redis.
#
#   scripts/bench.sh            30 s per measurement
#   scripts/bench.sh --quick    5 s per measurement, under a minute once the release build is current
#   scripts/bench.sh --peer DIR also measures a peer service: DIR holds a Node service speaking
#                               the same subset (POST /v1/otp/start, POST /oauth/token with the otp
#                               and refresh_token grants, codes POSTed as {"to", "code"} to a
#                               webhook). DIR is copied to a scratch folder and its packages
#                               installed there (DIR is only read), it gets its own database, and it
#                               takes turns with Sesame at full logins (start + token + one refresh),
#                               driven the same way; see docs/performance.md for the variables it is given
#   scripts/bench.sh --soak     memory under sustained load instead: whole sessions on Postgres +
#                               Redis for 10 minutes with nothing scraping the metrics; fails
#                               when the RSS at the end exceeds the RSS at the start by over 10 %
#   scripts/bench.sh --enumeration
#                               also compares, with SESAME_ALLOW_ANONYMOUS=false, how fast starts
#                               answer for employees and for strangers (median and p90 of each:
#                               the two should match, so timing does not tell who is an employee)
#
# BENCH_DURATION, BENCH_CONCURRENCY (default 32), BENCH_PG_PARAMS (default ?sslmode=disable),
# BENCH_PEER_SLICES (turns at full logins with --peer, default 3) and BENCH_SOAK_DURATION
# (seconds, default 600) override the defaults. SESAME_BIN and LOADGEN_BIN
# run prebuilt binaries instead of building this tree (to compare two builds with one load
# generator). Ports are picked free at run time and the databases are named after this run, so
# runs beside each other do not collide.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: $0 [--quick] [--soak] [--enumeration] [--peer DIR]" >&2; exit 2; }
quick=0
soak=0
enumeration=0
peer_dir=
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --soak) soak=1 ;;
    --enumeration) enumeration=1 ;;
    --peer) [ $# -ge 2 ] || usage; peer_dir=$2; shift ;;
    --peer=*) peer_dir=${1#--peer=} ;;
    *) usage ;;
  esac
  shift
done
if [ -n "$peer_dir" ]; then
  [ -f "$peer_dir/package.json" ] || { echo "bench: --peer $peer_dir: no package.json there" >&2; exit 2; }
  peer_dir=$(cd "$peer_dir" && pwd)
fi
duration=${BENCH_DURATION:-$([ "$quick" = 1 ] && echo 5 || echo 30)}
# Seconds of logins that fill the database before the measured login run.
warmup=2
# Turns Sesame and the peer each take at full logins (--peer).
peer_slices=${BENCH_PEER_SLICES:-3}
concurrency=${BENCH_CONCURRENCY:-32}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
sink=127.0.0.1:$(free_port)
sesame_bin=${SESAME_BIN:-target/release/sesame}
loadgen_bin=${LOADGEN_BIN:-target/release/loadgen}
bench_db=sesame_bench_$$
pgbench_db=sesame_pgbench_$$
soak_db=sesame_soak_$$
enumeration_db=sesame_enumeration_$$
peer_db=sesame_peer_$$
pg_admin=${SESAME_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
pg_base=${pg_admin%/*}
# Sesame and pgbench both talk to Postgres over loopback without TLS: encryption there costs
# both sides CPU (a third of an introspection) and protects nothing. BENCH_PG_PARAMS overrides.
pg_params=${BENCH_PG_PARAMS-?sslmode=disable}
redis_url=${SESAME_TEST_REDIS_URL:-redis://127.0.0.1:6379}
admin_key=bench-admin-key-0123456789
work=$(mktemp -d)
sesame_pid=
peer_pid=

# Stops the peer and the workers it forked.
stop_peer() {
  [ -n "$peer_pid" ] || return 0
  local workers
  workers=$(pgrep -P "$peer_pid" || true)
  kill $workers "$peer_pid" 2>/dev/null || true
  wait "$peer_pid" 2>/dev/null || true
  peer_pid=
}

cleanup() {
  [ -n "$sesame_pid" ] && kill "$sesame_pid" 2>/dev/null && wait "$sesame_pid" 2>/dev/null
  stop_peer
  rm -rf "$work"
  for db in "$bench_db" "$pgbench_db" "$soak_db" "$enumeration_db" "$peer_db"; do
    psql "$pg_admin" -qc "drop database if exists $db" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT

log() { echo "bench: $*" >&2; }
# CPU time the hypervisor gave to other guests ("steal", /proc/stat): on a shared host the
# figures below move with it, so the summary reports it beside them.
cpu_ticks() { awk '/^cpu / { total = 0; for (i = 2; i <= NF; i++) total += $i; print $9, total }' /proc/stat; }
# Resident memory of process $1 in MB: `VmRSS` now, or `VmHWM`, the peak so far (the kernel
# keeps it, so no sampler has to run beside the load and take CPU from it).
rss_mb() { awk -v field="${2:-VmRSS}:" '$1 == field { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# CPU time in microseconds (user + system) the processes $@ have used so far, with their
# children that have exited: a Postgres backend that ended during a run is counted through the
# postmaster. Empty when none of them is visible in /proc (a service on another host).
cpu_us() {
  local pid
  for pid in "$@"; do cat "/proc/$pid/stat" 2>/dev/null || true; done |
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); ticks += $12 + $13 + $14 + $15; seen = 1 }
      END { if (seen) printf "%d", ticks * 1000000 / hz }'
}
children() { pgrep -P "$1" || true; }
# The processes of the Postgres cluster at $pg_admin: its postmaster and every child of it at
# this moment (set once the services answer, below).
postmaster_pid=
redis_pid=
postgres_pids() { [ -z "$postmaster_pid" ] || echo "$postmaster_pid" $(children "$postmaster_pid"); }
# One reading of "sesame postgres redis" CPU microseconds for the app process $1 and its children
# (a peer forks workers), "null" where a process cannot be read.
cpu_reading() {
  local app postgres redis
  app=$(cpu_us "$1" $(children "$1"))
  postgres=$(cpu_us $(postgres_pids))
  redis=$([ -z "$redis_pid" ] || cpu_us "$redis_pid")
  echo "${app:-null} ${postgres:-null} ${redis:-null}"
}

if [ -z "${SESAME_BIN:-}" ] || [ -z "${LOADGEN_BIN:-}" ]; then
  cargo build --release --quiet --bin sesame --bin loadgen
fi
scripts/services.sh >/dev/null
# The postmaster is the checkpointer's parent; Redis names its own pid.
postmaster_pid=$(psql "$pg_admin" -Atc "select pid from pg_stat_activity where backend_type = 'checkpointer'" |
  { read -r pid && awk '{ sub(/^.*\) /, ""); print $2 }' "/proc/$pid/stat" 2>/dev/null; } || true)
redis_pid=$(redis-cli -u "$redis_url" info server | awk -F: '/^process_id:/ { print $2 + 0 }')
[ -n "$postmaster_pid" ] || log "the Postgres processes are not visible here: no Postgres CPU figures"
[ -n "$redis_pid" ] && [ -d "/proc/$redis_pid" ] || { redis_pid=; log "the Redis process is not visible here: no Redis CPU figures"; }
if [ -n "$peer_dir" ]; then
  log "peer: installing the packages of $peer_dir in a copy"
  mkdir "$work/peer"
  (cd "$peer_dir" && tar --exclude=./node_modules -cf - .) | tar -xf - -C "$work/peer"
  if [ -f "$work/peer/package-lock.json" ]; then
    (cd "$work/peer" && npm ci --no-audit --no-fund --loglevel=error >&2)
  else
    (cd "$work/peer" && npm install --no-audit --no-fund --loglevel=error >&2)
  fi
fi

recreate_db() {
  psql "$pg_admin" -qc "drop database if exists $1" -c "create database $1" >/dev/null 2>&1
}

# Between measurements, as pgbench does before its own: vacuum and checkpoint, so that one
# run's dead rows and dirty pages are not cleaned up on the next run's clock.
settle_db() {
  psql "$1" -qc 'vacuum analyze' -c 'checkpoint' >/dev/null
}

# Starts Sesame on $1 (database URL) with Redis $2 (empty: in-process), limits raised so the
# load generator measures speed, not refusals. Sets sesame_pid and startup_ms.
start_sesame() {
  local began
  began=$(date +%s%N)
  redis_prefix=bench$began
  env -i PATH="$PATH" \
    SESAME_LISTEN=127.0.0.1:$port SESAME_METRICS_LISTEN= SESAME_DATABASE_URL="$1" ${2:+SESAME_REDIS_URL="$2"} \
    SESAME_REDIS_KEY_PREFIX="$redis_prefix" \
    SESAME_KEYS_DIR="$work/keys" SESAME_ADMIN_API_KEY=$admin_key \
    SESAME_SMS_PROVIDER=webhook SESAME_SMS_WEBHOOK_URL="http://$sink/" \
    SESAME_SMS_HOURLY_CAP=1000000 SESAME_SMS_DAILY_CAP=1000000 \
    SESAME_IP_HOURLY_CAP=10000000 SESAME_IP_VERIFY_HOURLY_CAP=10000000 \
    SESAME_SMS_COUNTRY_HOURLY_BUDGET=10000000 SESAME_SMS_GLOBAL_HOURLY_BUDGET=10000000 \
    SESAME_OTP_RESEND_AFTER=0 SESAME_SWEEP_INTERVAL=5 \
    ${BENCH_ALLOW_ANONYMOUS:+SESAME_ALLOW_ANONYMOUS=$BENCH_ALLOW_ANONYMOUS} \
    RUST_LOG=warn "$sesame_bin" >"$work/sesame.log" 2>&1 &
  sesame_pid=$!
  until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
    kill -0 "$sesame_pid" 2>/dev/null || { cat "$work/sesame.log" >&2; exit 1; }
    sleep 0.005
  done
  startup_ms=$(( ($(date +%s%N) - began) / 1000000 ))
}

stop_sesame() {
  kill "$sesame_pid" && wait "$sesame_pid" || true
  sesame_pid=
}

loadgen() {
  "$loadgen_bin" --base-url "http://127.0.0.1:${target_port:-$port}" --sink "$sink" \
    --concurrency "$concurrency" --duration "$duration" "$@" | tail -n 1
}

# Runs the load generator ($@) against the app whose process is $1 and prints its summary with
# "cpu_us": the CPU microseconds the app, Postgres and Redis used during the run, read before
# and after it, and the load generator's own (on these two cores, CPU it takes from the
# others): bash's `times`, whose last line is what the subshell's children used.
measured_loadgen() {
  local app=$1 before after run
  shift
  before=$(cpu_reading "$app")
  run=$(loadgen "$@" && times)
  after=$(cpu_reading "$app")
  python3 - "$run" "$before" "$after" <<'PY'
import json, re, sys
lines, before, after = sys.argv[1].splitlines(), sys.argv[2].split(), sys.argv[3].split()
run = json.loads(lines[-3])
run["cpu_us"] = [None if "null" in (b, a) else int(a) - int(b) for b, a in zip(before, after)]
minutes_seconds = re.findall(r"(\d+)m([\d.]+)s", lines[-1])
run["cpu_us"].append(round(sum(int(m) * 60e6 + float(s) * 1e6 for m, s in minutes_seconds)))
print(json.dumps(run))
PY
}

# One summary of several load-generator runs ($@, each a summary from measured_loadgen) of the
# full-login scenario: counts, CPU time and durations added up, rates over the runs' whole
# time, each latency percentile the highest of the runs', and each run's rate in "slices".
merge_runs() {
  python3 - "$@" <<'PY'
import json, sys
runs = [json.loads(arg) for arg in sys.argv[1:]]
seconds = sum(run["duration_s"] for run in runs)
steps = {}
for name in sorted({name for run in runs for name in run["steps"]}):
    mine = [run["steps"][name] for run in runs if name in run["steps"]]
    errors = {}
    for step in mine:
        for outcome, n in step["errors"].items():
            errors[outcome] = errors.get(outcome, 0) + n
    ok = sum(step["ok"] for step in mine)
    steps[name] = {"ok": ok, "per_s": round(ok / seconds, 2), "errors": errors,
                   **{q: max(step[q] for step in mine) for q in ("p50_ms", "p95_ms", "p99_ms")}}
cpu = [None if None in column else sum(column) for column in zip(*(run["cpu_us"] for run in runs))]
full = steps.get("full_login", {"ok": 0})["ok"]
print(json.dumps({
    "scenario": runs[0]["scenario"], "concurrency": runs[0]["concurrency"],
    "duration_s": round(seconds, 2), "steps": steps, "cpu_us": cpu,
    "full_logins_per_s": round(full / seconds, 2),
    "full_login_p99_ms": max(run["full_login_p99_ms"] for run in runs),
    "slices": [run["full_logins_per_s"] for run in runs],
}))
PY
}

# Storage as the stores report it: the bench database's size after a vacuum and checkpoint,
# Redis's used_memory, the number of keys under this Sesame's prefix and the sum of their
# MEMORY USAGE (each key with its value and entry; not the server's hash tables, whose doubling
# as the whole server's key count passes a power of two moves used_memory by megabytes).
storage_reading() {
  settle_db "$pg_base/$bench_db"
  local keys
  keys=$(redis-cli -u "$redis_url" --scan --pattern "$redis_prefix:*")
  echo "$(psql "$pg_base/$bench_db" -Atc "select pg_database_size(current_database())")" \
    "$(redis-cli -u "$redis_url" info memory | awk -F: '/^used_memory:/ { print $2 + 0 }')" \
    "$(printf '%s' "$keys" | grep -c . || true)" \
    "$(printf '%s' "$keys" | sed 's/^/MEMORY USAGE /' | redis-cli -u "$redis_url" | awk '{ s += $1 } END { print s + 0 }')"
}

# The peer runs on two Node workers, as its own package says to run it on two cores.
peer_workers=2

# Starts the copy of the peer service on database $1 (node, its package's main file) with $2
# workers, its codes going to the load generator's sink; limits raised like Sesame's. Sets
# peer_pid.
run_peer() {
  local main
  main=$(cd "$work/peer" && node -p 'require("./package.json").main || "index.js"')
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" NODE_ENV=production \
    PORT="$peer_port" DATABASE_URL="$1" REDIS_URL="$redis_url" WEBHOOK_URL="http://$sink/" \
    ISSUER="http://127.0.0.1:$peer_port" RATE_LIMIT=1000000000 PEER_WORKERS="$2" \
    node "$work/peer/$main" >>"$work/peer.log" 2>&1 &
  peer_pid=$!
  until curl -s -o /dev/null "http://127.0.0.1:$peer_port/healthz"; do
    kill -0 "$peer_pid" 2>/dev/null || { cat "$work/peer.log" >&2; exit 1; }
    sleep 0.05
  done
}

# Starts the peer on database $1 with $peer_workers workers. Each worker creates the peer's
# tables as it starts (`create table if not exists`), and two doing so at once on a new
# database can collide in Postgres's catalog: the loser exits, and the peer serves on one
# worker, half its speed. So a one-worker start creates the tables first.
start_peer() {
  run_peer "$1" 1
  stop_peer
  run_peer "$1" "$peer_workers"
  check_peer_workers
}

# Fails the run unless all of the peer's workers are alive: a ratio to a peer that lost a
# worker would compare Sesame with half the peer.
check_peer_workers() {
  local alive
  alive=$(children "$peer_pid" | wc -l)
  [ "$alive" -eq "$peer_workers" ] && return 0
  cat "$work/peer.log" >&2
  log "peer: $alive of its $peer_workers workers are alive; its figures would not be the peer's"
  exit 1
}

# --- Soak: memory under sustained load, nothing scraping ---------------------------------
# The start is the RSS after a 30 s warm-up of the same load (pools, caches and allocator arenas
# filled: what a loaded node needs), the end the RSS after the soak. Samples the recorder keeps
# until they are drained would show as growth between the two.
if [ "$soak" = 1 ]; then
  soak_duration=${BENCH_SOAK_DURATION:-600}
  recreate_db "$soak_db"
  start_sesame "$pg_base/$soak_db$pg_params" "$redis_url"
  log "soak: 30 s warm-up of whole sessions at ${concurrency} clients"
  duration=30
  loadgen --scenario session --number-offset 50000000 >/dev/null
  start_rss_mb=$(rss_mb "$sesame_pid")
  log "soak: RSS ${start_rss_mb} MB; whole sessions for ${soak_duration}s, metrics never scraped"
  duration=$soak_duration
  soak_run=$(loadgen --scenario session --number-offset 60000000)
  end_rss_mb=$(rss_mb "$sesame_pid")
  stop_sesame
  python3 - "$soak_run" <<PY
import json, sys
run = json.loads(sys.argv[1])
start, end = float("$start_rss_mb"), float("$end_rss_mb")
growth = round((end - start) / start * 100, 1)
print(json.dumps({
    "soak_seconds": int("$soak_duration"),
    "sessions_per_s": run["logins_per_s"],
    "start_rss_mb": start,
    "end_rss_mb": end,
    "growth_percent": growth,
}))
if growth > 10:
    print(f"bench: RSS grew {growth} % under the soak (limit 10 %)", file=sys.stderr)
    sys.exit(1)
PY
  exit $?
fi

# --- Postgres + Redis -------------------------------------------------------------------
read -r steal_before total_before < <(cpu_ticks)
recreate_db "$bench_db"
start_sesame "$pg_base/$bench_db$pg_params" "$redis_url"
pg_startup_ms=$startup_ms
sleep 1
idle_rss_mb=$(rss_mb "$sesame_pid")
# A warm-up of logins first (numbers the measured run does not use), then vacuum, analyze and
# checkpoint: the measured run starts from tables that hold rows and statistics that say so, as
# autovacuum keeps them in a running deployment. Analyzed empty, they would plan every lookup
# (the foreign-key checks among them) as a scan of a table believed empty, and keep those plans
# while the run grows the table (docs/performance.md, "Measuring from a warm database").
log "postgres+redis: warm-up logins for ${warmup}s"
duration=$warmup loadgen --scenario login --number-offset 95000000 >/dev/null
settle_db "$pg_base/$bench_db"
log "postgres+redis: started in ${pg_startup_ms} ms, idle RSS ${idle_rss_mb} MB; logins (start + token) for ${duration}s at ${concurrency} clients"
login=$(measured_loadgen "$sesame_pid" --scenario login --number-offset 0)
loaded_rss_mb=$(rss_mb "$sesame_pid" VmHWM)
log "whole sessions (start, token, me, refresh, logout), with the storage they leave"
read -r pg_bytes_before redis_bytes_before redis_keys_before redis_key_bytes_before < <(storage_reading)
session=$(loadgen --scenario session --number-offset 40000000)
read -r pg_bytes_unswept redis_bytes_after redis_keys_after redis_key_bytes_after < <(storage_reading)
# A refresh keeps its successor pair for the reuse grace (10 s) until the next sweep (every 5 s
# here, SESAME_SWEEP_INTERVAL) deletes it: what a session leaves behind is measured after that.
for _ in $(seq 60); do
  [ "$(psql "$pg_base/$bench_db" -Atc 'select count(*) from refresh_successors')" = 0 ] && break
  sleep 0.5
done
read -r pg_bytes_after _ _ _ < <(storage_reading)
log "refresh rotation"
refresh=$(loadgen --scenario refresh --number-offset 10000000)
introspect_key=$(curl -sf -X POST "http://127.0.0.1:$port/admin/v1/api-keys" \
  -H "authorization: Bearer $admin_key" -H 'content-type: application/json' \
  -d '{"name": "bench", "role": "introspect"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
settle_db "$pg_base/$bench_db"
log "introspection"
introspect=$(loadgen --scenario introspect --api-key "$introspect_key" --number-offset 20000000)
log "JWKS"
jwks=$(loadgen --scenario jwks)

# --- full logins (start, token, one refresh), Sesame and the peer in turn --------------------
# This host's speed drifts by a fifth within a minute, so one run of each side would compare
# two moments as much as two services. Both stay up and take turns, Sesame then the peer, for
# BENCH_PEER_SLICES (3) slices of the run's duration each; each side's figures are its slices
# together, and ratio_to_peer_by_slice shows how far the turns agree.
full=null
peer_full=null
if [ -n "$peer_dir" ]; then
  recreate_db "$peer_db"
  peer_port=$(free_port)
  start_peer "$pg_base/$peer_db$pg_params"
  # Sesame is warm from the runs before; the peer gets one slice's length of full logins first,
  # outside the measurement, to start its workers and compile its hot paths (after 2 s it was
  # still getting faster from one slice to the next).
  log "peer: ${duration}s warm-up"
  target_port=$peer_port loadgen --scenario full-login --number-offset 90000000 >/dev/null 2>&1
  settle_db "$pg_base/$bench_db"
  settle_db "$pg_base/$peer_db"
  full_runs=()
  peer_runs=()
  for slice in $(seq 0 $((peer_slices - 1))); do
    log "full logins (start, token, refresh), slice $((slice + 1)) of $peer_slices: Sesame, then the peer ($peer_dir)"
    full_runs+=("$(measured_loadgen "$sesame_pid" --scenario full-login --number-offset $((70000000 + slice * 100000)))")
    peer_runs+=("$(target_port=$peer_port measured_loadgen "$peer_pid" --scenario full-login --number-offset $((80000000 + slice * 100000)))")
  done
  check_peer_workers
  stop_peer
  full=$(merge_runs "${full_runs[@]}")
  peer_full=$(merge_runs "${peer_runs[@]}")
fi
stop_sesame

# --- enumeration: employees' and strangers' starts with anonymous login off ----------------
enumeration_json=null
if [ "$enumeration" = 1 ]; then
  recreate_db "$enumeration_db"
  BENCH_ALLOW_ANONYMOUS=false start_sesame "$pg_base/$enumeration_db$pg_params" "$redis_url"
  log "enumeration: 40 starts each for employees and strangers, one at a time"
  python3 - "$port" "$sink" "$admin_key" >"$work/enumeration.json" <<'PY'
import http.client, http.server, json, statistics, sys, threading, time
port, sink, admin_key = int(sys.argv[1]), sys.argv[2], sys.argv[3]

class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok":true}')
    def log_message(self, *args):
        pass

host, sink_port = sink.split(":")
threading.Thread(target=http.server.ThreadingHTTPServer((host, int(sink_port)), Sink).serve_forever,
                 daemon=True).start()
conn = http.client.HTTPConnection("127.0.0.1", port)

def call(method, path, body, headers={}):
    started = time.perf_counter()
    conn.request(method, path, json.dumps(body), {"content-type": "application/json", **headers})
    response = conn.getresponse()
    response.read()
    return response.status, (time.perf_counter() - started) * 1000

# Ordinary UK mobile numbers (+44 74…), as the load generator uses: screening refuses
# ranges assigned to no line type.
employees = [f"+4474008{n:05d}" for n in range(40)]
strangers = [f"+4474009{n:05d}" for n in range(40)]
for n, number in enumerate(employees):
    status, _ = call("PUT", f"/admin/v1/employees/BENCH-{n}", {"phone_number": number, "name": "Bench"},
                     {"authorization": f"Bearer {admin_key}"})
    assert status in (200, 201), status
times = {"employee": [], "stranger": []}
# Interleaved, so both paths see the same state of the machine.
for employee, stranger in zip(employees, strangers):
    for kind, number in (("employee", employee), ("stranger", stranger)):
        status, ms = call("POST", "/v1/otp/start", {"phone_number": number})
        assert status == 202, (kind, status)
        times[kind].append(ms)
summary = {}
for kind, samples in times.items():
    deciles = statistics.quantiles(samples, n=10)
    summary[f"{kind}_median_ms"] = round(statistics.median(samples), 2)
    summary[f"{kind}_p90_ms"] = round(deciles[8], 2)
print(json.dumps(summary))
PY
  enumeration_json=$(cat "$work/enumeration.json")
  log "enumeration: $enumeration_json"
  stop_sesame
fi

# --- pgbench: one-row INSERT per transaction at the same concurrency ----------------------
recreate_db "$pgbench_db"
psql "$pg_base/$pgbench_db" -qc 'create table inserts (id bigserial primary key, v text not null)'
echo "insert into inserts (v) values ('x');" >"$work/insert.sql"
settle_db "$pg_base/$pgbench_db"
log "pgbench INSERT ceiling"
pgbench_cpu_before=$(cpu_us $(postgres_pids))
pgbench -n -c "$concurrency" -j 2 -T "$duration" -f "$work/insert.sql" \
  "$pg_base/$pgbench_db$pg_params" >"$work/pgbench.out" 2>/dev/null
# Its backends end after pgbench does: wait for the postmaster to reap them (bounded).
for _ in $(seq 100); do pgrep -f "postgres: .* $pgbench_db " >/dev/null || break; sleep 0.05; done
pgbench_cpu_after=$(cpu_us $(postgres_pids))
pgbench_tps=$(awk '/^tps/ { print $3; exit }' "$work/pgbench.out")
pgbench_inserts=$(awk -F: '/^number of transactions actually processed/ { print $2 + 0; exit }' "$work/pgbench.out")

# --- embedded default ---------------------------------------------------------------------
start_sesame "sqlite://$work/sesame.db" ""
embedded_startup_ms=$startup_ms
log "embedded (SQLite + in-process): started in ${embedded_startup_ms} ms; full logins"
embedded=$(loadgen --scenario login --number-offset 30000000)
stop_sesame

read -r steal_after total_after < <(cpu_ticks)

python3 - "$login" "$session" "$refresh" "$introspect" "$jwks" "$embedded" "$enumeration_json" \
  "$full" "$peer_full" <<PY
import json, sys
login, session, refresh, introspect, jwks, embedded, enumeration, full, peer_full = (
    json.loads(a) for a in sys.argv[1:])
pgbench = float("${pgbench_tps:-0}" or 0)

def count(run, step):
    return run["steps"].get(step, {}).get("ok", 0)

def per(total, n, digits=1):
    return round(total / n, digits) if total is not None and n else None

def cpu_per(run, step, names):
    return dict(zip(names, (per(us, count(run, step)) for us in run["cpu_us"])))

def delta(before, after):
    return None if "" in (before, after) else int(after) - int(before)

cpu_per_login = cpu_per(login, "login", ("sesame", "postgres", "redis", "loadgen"))
pgbench_cpu = delta("$pgbench_cpu_before", "$pgbench_cpu_after")
pgbench_cpu_per_insert = per(pgbench_cpu, int("${pgbench_inserts:-0}" or 0))
sessions, numbers = count(session, "login"), count(session, "start")
runs = [login, session, refresh, introspect, jwks, embedded] + ([full] if full else [])
full_per_s = full["full_logins_per_s"] if full else None
peer_per_s = peer_full["full_logins_per_s"] if peer_full else None
summary = {
    "logins_per_s": login["logins_per_s"],
    "login_p99_ms": login["login_p99_ms"],
    "sessions_per_s": session["logins_per_s"],
    "refresh_per_s": refresh["steps"].get("refresh", {}).get("per_s", 0),
    "refresh_p99_ms": refresh["steps"].get("refresh", {}).get("p99_ms", 0),
    "introspect_per_s": introspect["steps"].get("introspect", {}).get("per_s", 0),
    "jwks_per_s": jwks["steps"].get("jwks", {}).get("per_s", 0),
    "pgbench_insert_tps": round(pgbench, 1),
    "ratio_to_pgbench": round(login["logins_per_s"] / pgbench, 3) if pgbench else None,
    "idle_rss_mb": float("$idle_rss_mb"),
    "loaded_rss_mb": float("$loaded_rss_mb"),
    "startup_ms": int("$pg_startup_ms"),
    "embedded_logins_per_s": embedded["logins_per_s"],
    "embedded_login_p99_ms": embedded["login_p99_ms"],
    "embedded_startup_ms": int("$embedded_startup_ms"),
    "cpu_us_per_login": cpu_per_login,
    "pgbench_postgres_cpu_us_per_insert": pgbench_cpu_per_insert,
    "postgres_cpu_ratio_to_pgbench_insert": per(cpu_per_login["postgres"], pgbench_cpu_per_insert, 2),
    "pg_bytes_per_session": per(delta("$pg_bytes_before", "$pg_bytes_after"), sessions, 0),
    "pg_bytes_per_session_unswept": per(delta("$pg_bytes_before", "$pg_bytes_unswept"), sessions, 0),
    "redis_bytes_per_number": per(delta("$redis_bytes_before", "$redis_bytes_after"), numbers, 0),
    "redis_keys_per_number": per(delta("$redis_keys_before", "$redis_keys_after"), numbers, 2),
    "redis_key_bytes_per_number": per(delta("$redis_key_bytes_before", "$redis_key_bytes_after"), numbers, 0),
    "full_logins_per_s": full_per_s,
    "full_login_p99_ms": full["full_login_p99_ms"] if full else None,
    "cpu_us_per_full_login": cpu_per(full, "full_login", ("sesame", "postgres", "redis", "loadgen")) if full else None,
    "peer_full_logins_per_s": peer_per_s,
    "peer_p99_ms": peer_full["full_login_p99_ms"] if peer_full else None,
    "peer_cpu_us_per_full_login": cpu_per(peer_full, "full_login", ("peer", "postgres", "redis", "loadgen")) if peer_full else None,
    "ratio_to_peer": per(full_per_s, peer_per_s, 2),
    "ratio_to_peer_by_slice": [per(a, b, 2) for a, b in zip(full["slices"], peer_full["slices"])]
                              if peer_full else None,
    "errors": {prefix + name: step["errors"]
               for prefix, run in [("", run) for run in runs] + ([("peer_", peer_full)] if peer_full else [])
               for name, step in run["steps"].items() if step["errors"]},
    "concurrency": $concurrency,
    "duration_s": $duration,
    "enumeration": enumeration,
    "cpu_steal_pct": round(100 * ($steal_after - $steal_before) / max(1, $total_after - $total_before), 1),
}
print(json.dumps(summary))
PY
