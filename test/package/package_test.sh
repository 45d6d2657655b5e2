#!/usr/bin/env bash
# test/package/package_test.sh: the Debian package postgresql-15-inbox.
#
# Copies the source tree to a temporary directory (dpkg-buildpackage writes
# ../*.deb and build files), builds the binary package there with
# dpkg-buildpackage -us -uc -b (debian/, pg_buildext), checks its contents and
# dependencies, installs it with apt-get, and smoke-tests it on a fresh
# cluster (port 5477) that preloads inbox: CREATE EXTENSION, a few API calls,
# check_integrity(), the snooze background worker, inbox-worker --help.
# The package stays installed; the cluster and the temporary directory are
# removed.
#
# Needs root (apt-get install) and the build tools: dpkg-dev, debhelper,
# fakeroot, build-essential, postgresql-server-dev-all, libpq-dev,
# libpqtypes-dev (.ci/run installs them).
# Prints one line per check and finally "N passed, N failed".
# Usage: bash test/package/package_test.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
src=$PWD

pgversion=15
package=postgresql-$pgversion-inbox
port=${INBOX_PACKAGE_PORT:-5477}
pgbin=/usr/lib/postgresql/$pgversion/bin
work=$(mktemp -d /tmp/inbox-package.XXXXXX)
data=$work/data
passed=0
failed=0

as_pg() { runuser -u postgres -- "$@"; }
sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -h "$work" -p "$port" -U postgres -d "${db:-inbox}" -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
	[ -f "$data/postmaster.pid" ] && as_pg "$pgbin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

check() { # check NAME GOT WANT
	if [ "$2" = "$3" ]; then
		echo "ok: $1"; passed=$((passed + 1))
	else
		echo "FAILED: $1: got '$2', want '$3'"; failed=$((failed + 1))
	fi
}
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit
}

if [ "$(id -u)" != 0 ]; then
	echo "FAILED: must run as root (apt-get install)"; failed=1; finish
fi

# ---- build ------------------------------------------------------------
mkdir "$work/build" "$work/build/inbox"
tar -C "$src" --exclude=./.git -cf - . | tar -C "$work/build/inbox" -xf -
(cd "$work/build/inbox" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1
rc=$?
deb=$(ls "$work"/build/"${package}"_*.deb 2>/dev/null | head -1)
check "dpkg-buildpackage -us -uc -b builds ${deb##*/}" "$rc $([ -n "$deb" ] && echo deb)" "0 deb"
if [ "$rc" != 0 ] || [ -z "$deb" ]; then
	tail -40 "$work/build.log"; finish
fi

check "README's install commands name the file the build makes" \
	"$(grep -o "${package}_[^ ]*\.deb" "$src/README.md" | sort -u | tr '\n' ' ')" "${deb##*/} "
check "the package's version is inbox.control's default_version (debian/changelog)" \
	"$(dpkg-deb -f "$deb" Version | sed 's/-[^-]*$//')" "$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$src/inbox.control")"
contents=$(dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|')
for f in lib/postgresql/$pgversion/lib/inbox.so \
	share/postgresql/$pgversion/extension/inbox.control \
	lib/postgresql/$pgversion/bin/inbox-worker; do
	check "the package ships /usr/$f" "$(grep -cx "/usr/$f" <<<"$contents")" 1
done
check "the package ships the install script(s) inbox--*.sql" \
	"$(grep -c "^/usr/share/postgresql/$pgversion/extension/inbox--.*\.sql$" <<<"$contents")" \
	"$(ls "$src"/extension/inbox--*.sql | wc -l)"

depends=$(dpkg-deb -f "$deb" Depends)
for d in "postgresql-$pgversion" libpq5 libpqtypes0; do
	check "Depends names $d" "$(tr ',' '\n' <<<"$depends" | grep -cE "^ *$d( |$)")" 1
done

# ---- install ----------------------------------------------------------
# --reinstall: the same version may be installed already (an earlier run)
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall --no-install-recommends "$deb" \
	>"$work/apt.log" 2>&1
rc=$?
check "apt-get install ./${deb##*/}" "$rc $(dpkg-query -W -f '${db:Status-Status} ${Version}' "$package" 2>/dev/null)" \
	"0 installed $(dpkg-deb -f "$deb" Version)"
[ "$rc" = 0 ] || { tail -20 "$work/apt.log"; finish; }
check "dpkg --verify $package: installed files match the package" "$(dpkg --verify "$package" 2>&1)" ""
check "inbox.so belongs to $package" \
	"$(dpkg -S "/usr/lib/postgresql/$pgversion/lib/inbox.so" 2>/dev/null | cut -d: -f1)" "$package"

# ---- a fresh cluster --------------------------------------------------
chmod 777 "$work"
as_pg "$pgbin/initdb" -D "$data" -A trust -U postgres >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log"; failed=$((failed + 1)); finish; }
cat >>"$data/postgresql.conf" <<CONF
port = $port
unix_socket_directories = '$work'
listen_addresses = ''
shared_preload_libraries = 'inbox'
CONF
as_pg "$pgbin/pg_ctl" -D "$data" -l "$work/server.log" -w -t 60 start >/dev/null
rc=$?
check "a fresh cluster with shared_preload_libraries = 'inbox' starts" "$rc" 0
[ "$rc" = 0 ] || { cat "$work/server.log"; finish; }
psql -X -q -h "$work" -p "$port" -U postgres -d postgres -c "CREATE DATABASE inbox" || { failed=$((failed + 1)); finish; }

check "CREATE EXTENSION inbox CASCADE" \
	"$(sql -c "CREATE EXTENSION inbox CASCADE" -c "SELECT extname || ' ' || extversion FROM pg_extension WHERE extname = 'inbox'" \
		-c "SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'" 2>&1 | tr '\n' ' ')" \
	"inbox $(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$src/inbox.control") pg_trgm "

check "create_space, create_agent, create_channel" \
	"$(sql -c "SELECT inbox.create_space('Acme Support')" \
		-c "SELECT inbox.create_agent(1, 'Ana Lima', 'ana@acme.test')" \
		-c "SELECT inbox.create_channel(1, 'whatsapp_cloud', 'WhatsApp main')" 2>&1 | tr '\n' ' ')" "1 1 1 "
check "receive_message opens a conversation for a new contact" \
	"$(sql -c "SELECT inbox.receive_message(1, 1, '14155550111', 'Hi, where is my order?', external_id => 'wamid.1')" \
		-c "SELECT unread_count || '|' || coalesce(assignee_id::text, 'none') FROM inbox.contact WHERE space_id = 1 AND id = 1" \
		-c "SELECT count(*) FROM inbox.conversation WHERE space_id = 1 AND contact_id = 1 AND closed_at IS NULL" 2>&1 | tr '\n' ' ')" \
	"1 1|none 1 "
check "send_message by an agent assigns the contact" \
	"$(sql -c "SELECT inbox.send_message(1, 1, 1, 'Let me check that for you.', agent => 1)" \
		-c "SELECT unread_count || '|' || assignee_id FROM inbox.contact WHERE space_id = 1 AND id = 1" 2>&1 | tr '\n' ' ')" \
	"2 0|1 "
check "check_integrity() is empty" "$(sql -c "SELECT count(*) FROM inbox.check_integrity()" 2>&1)" 0

# the launcher starts a snooze worker for each database with inbox installed
running=
for ((i = 0; i < 100; i++)); do
	running=$(db=postgres sql -c "SELECT string_agg(backend_type || coalesce(' ' || datname, ''), ', ' ORDER BY backend_type)
		FROM pg_stat_activity WHERE backend_type LIKE 'inbox %'" 2>&1)
	[ "$running" = "inbox launcher, inbox worker inbox" ] && break
	sleep 0.1
done
check "the background workers run (pg_stat_activity)" "$running" "inbox launcher, inbox worker inbox"
check "ps shows the snooze worker among the postmaster's children" \
	"$(ps --ppid "$(head -1 "$data/postmaster.pid")" -o args= | grep -c '^postgres: inbox worker')" 1

help=$("$pgbin/inbox-worker" --help 2>&1)
rc=$?
check "$pgbin/inbox-worker --help exits 0 and prints usage" \
	"$rc $(grep -c -- '--help' <<<"$help")" "0 1"

finish
