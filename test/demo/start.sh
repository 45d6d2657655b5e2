#!/usr/bin/env bash
# test/demo/start.sh: install what inbox needs, build and install it, and start a
# local PostgreSQL 15 with inbox preloaded and a demo space loaded.
#
# Usage (on Debian 12, as root or as a user with sudo):  bash test/demo/start.sh
# Then:   psql -h /tmp/inbox-demo -p 5433 -U postgres inbox
# Stop:   bash test/demo/start.sh stop
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=${INBOX_DEMO_DIR:-/tmp/inbox-demo}
port=${INBOX_DEMO_PORT:-5433}
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
bindir=/usr/lib/postgresql/15/bin

if [ "${1:-}" = stop ]; then
	as_pg "$bindir/pg_ctl" -D "$dir/data" stop
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends \
	build-essential postgresql-15 postgresql-contrib postgresql-common \
	postgresql-server-dev-15 libpq-dev libpqtypes-dev >/dev/null

make -s PG_CONFIG=$bindir/pg_config
$sudo make -s PG_CONFIG=$bindir/pg_config install

if [ -d "$dir/data" ]; then
	as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$dir"
fi
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
as_pg "$bindir/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
cat >>"$dir/data/postgresql.conf" <<CONF
port = $port
unix_socket_directories = '$dir'
listen_addresses = 'localhost'
shared_preload_libraries = 'inbox'
CONF
as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
psql -X -q -h "$dir" -p "$port" -U postgres -d postgres -c 'CREATE DATABASE inbox'
psql -X -q -h "$dir" -p "$port" -U postgres -d inbox -c 'CREATE EXTENSION inbox CASCADE'
psql -X -q -h "$dir" -p "$port" -U postgres -d inbox -f test/demo/demo.sql >/dev/null

cat <<MSG
inbox is running with a demo space (server log: $dir/server.log).
Connect:  psql -h $dir -p $port -U postgres inbox
   e.g.   SELECT id, first_name, unread_count, assignee_id FROM inbox.contact ORDER BY last_message_at DESC;
Stop:     bash test/demo/start.sh stop
MSG
