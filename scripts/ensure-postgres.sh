#!/usr/bin/env bash
# Start the machine's PostgreSQL (Debian cluster) and print a URL for tests.
# Prints nothing (and the PostgreSQL tests skip) when there is no server we
# may start: not root, or PostgreSQL not installed.
set -u
# TEST_POSTGRES_DB names the test database (default gatepass_test): parallel checkouts use their own.
db="${TEST_POSTGRES_DB:-gatepass_test}"
[ "$(id -u)" = 0 ] || exit 0
command -v pg_lsclusters >/dev/null || exit 0
ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
[ -n "$ver" ] || exit 0
if ! pg_lsclusters -h | awk '{print $2}' | grep -qx main; then
  pg_createcluster "$ver" main >/dev/null 2>&1 || exit 0
fi
line=$(pg_lsclusters -h | awk '$2 == "main"' | head -1)
cver=$(echo "$line" | awk '{print $1}')
port=$(echo "$line" | awk '{print $3}')
status=$(echo "$line" | awk '{print $4}')
if [ "$status" != online ]; then
  pg_ctlcluster "$cver" main start >/dev/null 2>&1 || { echo "could not start PostgreSQL" >&2; exit 0; }
fi
for _ in $(seq 1 30); do
  runuser -u postgres -- psql -p "$port" -qAtc "select 1" >/dev/null 2>&1 && break
  sleep 0.5
done
# The service's role owns the test databases but is NOT a superuser and may not bypass
# row-level security (a superuser skips every policy: the RLS tests would prove nothing).
# A role left by an older version of this script as a superuser is demoted. Nothing the
# tests do needs more: pg_trgm is a trusted extension, which a database owner may create;
# CREATEDB (the backup test restores into a database of its own) bypasses no policy.
runuser -u postgres -- psql -p "$port" -qAtc \
  "do \$\$ begin if not exists (select from pg_roles where rolname = 'gatepass') then
     create role gatepass login nosuperuser nobypassrls nocreaterole createdb password 'gatepass'; end if; end \$\$;
   alter role gatepass nosuperuser nobypassrls createdb;" >/dev/null 2>&1
runuser -u postgres -- psql -p "$port" -qAtc "select 1 from pg_database where datname = '$db'" \
  | grep -q 1 || runuser -u postgres -- createdb -p "$port" -O gatepass "$db" >/dev/null 2>&1
echo "postgresql+psycopg://gatepass:gatepass@127.0.0.1:${port}/$db"
