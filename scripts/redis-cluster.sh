#!/usr/bin/env bash
# A throwaway Redis Cluster for the tests: 3 masters + 3 replicas on spare local ports.
#   scripts/redis-cluster.sh start DIR   starts it with its files in DIR and prints its nodes
#                                        as SESAME_REDIS_URL takes them (comma-separated URLs)
#   scripts/redis-cluster.sh stop DIR    stops the nodes started in DIR and removes DIR
set -euo pipefail

command=${1:-}
dir=${2:-}
if [ -z "$dir" ] || { [ "$command" != start ] && [ "$command" != stop ]; }; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi

if [ "$command" = stop ]; then
  pids=()
  for pidfile in "$dir"/*.pid; do
    [ -e "$pidfile" ] || continue
    pids+=("$(cat "$pidfile")")
  done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # A node writes its files as it exits: wait for that before removing them.
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$dir"
  exit 0
fi

command -v redis-server >/dev/null || { echo "error: redis-server is not installed" >&2; exit 1; }
mkdir -p "$dir"

# A port is spare when nothing answers on it nor on its cluster bus port (port + 10000).
closed() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ports=()
while [ "${#ports[@]}" -lt 6 ]; do
  port=$((20000 + RANDOM % 20000))
  if closed "$port" && closed $((port + 10000)) && [[ ! " ${ports[*]} " =~ " $port " ]]; then
    ports+=("$port")
  fi
done

for port in "${ports[@]}"; do
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
    --cluster-config-file "nodes-$port.conf" --cluster-node-timeout 2000 \
    --save "" --appendonly no --dir "$dir" --logfile "$dir/$port.log" \
    --pidfile "$dir/$port.pid" --daemonize yes
done

wait_until() {
  for _ in $(seq 1 100); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}
for port in "${ports[@]}"; do
  wait_until redis-cli -p "$port" ping || { echo "error: redis-server on $port did not start" >&2; exit 1; }
done

nodes=()
for port in "${ports[@]}"; do nodes+=("127.0.0.1:$port"); done
redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 ||
  { cat "$dir/create.log" >&2; exit 1; }
cluster_ok() {
  for port in "${ports[@]}"; do
    redis-cli -p "$port" cluster info | grep -q '^cluster_state:ok' || return 1
  done
}
wait_until cluster_ok || { echo "error: the cluster did not reach cluster_state:ok" >&2; exit 1; }

urls=()
for port in "${ports[@]}"; do urls+=("redis://127.0.0.1:$port"); done
(IFS=,; echo "${urls[*]}")
