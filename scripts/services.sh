#!/usr/bin/env bash
# Makes sure the Postgres and Redis the tests use answer on 127.0.0.1, starting them when they
# are installed but down. A service that cannot be reached is an error, never a skip.
set -euo pipefail

PG_URL="${SESAME_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REDIS_URL="${SESAME_TEST_REDIS_URL:-redis://127.0.0.1:6379}"

wait_for() {
  local what=$1; shift
  for _ in $(seq 1 30); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "error: $what does not answer" >&2
  return 1
}

if ! psql "$PG_URL" -Atc 'select 1' >/dev/null 2>&1; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
  else
    echo "error: PostgreSQL is neither reachable at $PG_URL nor installed" >&2
    exit 1
  fi
  wait_for "PostgreSQL at $PG_URL" psql "$PG_URL" -Atc 'select 1'
fi

if ! redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
  else
    echo "error: Redis is neither reachable at $REDIS_URL nor installed" >&2
    exit 1
  fi
  wait_for "Redis at $REDIS_URL" sh -c "redis-cli -u '$REDIS_URL' ping | grep -q PONG"
fi

echo "PostgreSQL and Redis are up"
