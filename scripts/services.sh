#!/usr/bin/env bash
# Make sure the services the tests talk to are up: PostgreSQL on 127.0.0.1:5432 (trust auth,
# database `test`) and Redis on 127.0.0.1:6379. Machines that run them already are left alone.
# A service that is missing or will not start is an error here (scripts/setup.sh installs them),
# so a CI run never goes on with those tests skipped.
set -euo pipefail

fail() { echo "services: $*" >&2; exit 1; }

if ! command -v pg_isready >/dev/null; then
  fail "PostgreSQL is not installed (scripts/setup.sh installs it)"
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)"
  [ -n "$version" ] || fail "no Debian PostgreSQL cluster under /etc/postgresql (apt-get install postgresql)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || fail "PostgreSQL $version did not start"
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -q -h 127.0.0.1 -p 5432 || fail "PostgreSQL does not answer on 127.0.0.1:5432"
  # the tests connect as postgres without a password, to the database `test`
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! grep -q "omnisense-tests" "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust # omnisense-tests' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  fi
fi
if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" postgres | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" postgres >/dev/null || fail "cannot create the database test"
fi

if ! command -v redis-server >/dev/null; then
  fail "Redis is not installed (scripts/setup.sh installs it)"
fi
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || fail "redis-server did not start"
  for _ in $(seq 1 10); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
  redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || fail "Redis does not answer on 127.0.0.1:6379"
fi
echo "services: PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 are up"
