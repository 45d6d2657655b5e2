#!/usr/bin/env bash
# test/standby/standby_test.sh: a hot standby of a server with inbox
# (streaming replication, pg_basebackup -R; a fast checkpoint, as a spread one
# may take minutes), and its promotion.
#
# Starts a primary that preloads inbox, fills a space, makes a standby and
# proves:
#   - the standby serves the read API: contact_list(), view_counts(),
#     history() and check_integrity() give what the primary gives;
#   - writes are refused there (25006, read-only transaction), and its
#     background worker stays idle: no inbox launcher or worker runs during
#     recovery;
#   - a snooze that falls due while the standby is promoted (the primary
#     stopped just before) is woken by the promoted server's worker within
#     1 s of the later of its time and the end of the promotion, once.
# Prints one line per check and finally "N passed, N failed".
#
# Usage: bash test/standby/standby_test.sh   (as root or as a user who can run initdb)
set -uo pipefail
source "$(dirname "$(readlink -f "$0")")/../lib/cluster.sh"

bindir=$(pg_config --bindir)
root=$(mktemp -d /tmp/inbox-standby.XXXXXX)
primary_port=${INBOX_STANDBY_PORT:-5495}
standby_port=$((primary_port + 1))

cleanup() {
	for side in primary standby; do
		as_pg "$bindir/pg_ctl" -D "$root/$side/data" -m immediate stop >/dev/null 2>&1
	done
	[ -n "${INBOX_TEST_KEEP:-}" ] || rm -rf "$root"
}
trap cleanup EXIT

# on SIDE ARGS...: psql on database inbox of the primary or the standby
on() {
	local side=$1 p
	shift
	if [ "$side" = primary ]; then p=$primary_port; else p=$standby_port; fi
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -h "$root/$side" -p "$p" -U postgres -d inbox \
		-v ON_ERROR_STOP=1 "$@"
}
holds() { [ "$(on "$1" -c "$2" 2>/dev/null)" = t ]; }
# the SQLSTATE of a statement that should fail on SIDE, or "no error"
sqlstate() {
	local out
	out=$(on "$1" -v VERBOSITY=sqlstate -c "$2" 2>&1 >/dev/null)
	if [ -z "$out" ]; then echo "no error"; else echo "$out" | sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\).*/\1/p' | head -1; fi
}

chmod 777 "$root"
mkdir -p "$root/primary" "$root/standby"
chmod 777 "$root/primary" "$root/standby"
work=$root/primary port=$primary_port cluster_init "$root/primary/data" || { echo "0 passed, 1 failed"; exit 1; }
cat >>"$root/primary/data/postgresql.conf" <<CONF
shared_preload_libraries = 'inbox'
wal_level = replica
max_wal_senders = 5
CONF
echo "local replication all trust" >>"$root/primary/data/pg_hba.conf"
if ! as_pg "$bindir/pg_ctl" -D "$root/primary/data" -l "$root/primary/server.log" -w start >/dev/null; then
	cat "$root/primary/server.log"; echo "0 passed, 1 failed"; exit 1
fi
PGOPTIONS="-c client_min_messages=warning" psql -X -q -h "$root/primary" -p "$primary_port" -U postgres -d postgres \
	-c 'CREATE DATABASE inbox'
on primary -c 'CREATE EXTENSION inbox CASCADE' >/dev/null
on primary >/dev/null <<'SQL'
SELECT inbox.create_space('standby') AS space \gset
SELECT inbox.create_agent(:space, 'Ana') AS ana \gset
SELECT inbox.create_channel(:space, 'webchat', 'Web') AS web \gset
SELECT inbox.receive_message(:space, :web, 'v1', 'hello from one') AS m \gset
SELECT contact_id AS one FROM inbox.message WHERE space_id = :space AND id = :m \gset
SELECT inbox.receive_message(:space, :web, 'v2', 'hello from two') AS m \gset
SELECT contact_id AS two FROM inbox.message WHERE space_id = :space AND id = :m \gset
SELECT inbox.send_message(:space, :one, :web, 'hi one', agent => :ana);
SQL

# the standby, from a base backup with its recovery settings (-R)
as_pg "$bindir/pg_basebackup" -h "$root/primary" -p "$primary_port" -U postgres -D "$root/standby/data" -R -X stream -c fast \
	>/dev/null 2>&1 || { echo "FAILED: pg_basebackup"; echo "0 passed, 1 failed"; exit 1; }
cat >>"$root/standby/data/postgresql.conf" <<CONF
port = $standby_port
unix_socket_directories = '$root/standby'
hot_standby = on
CONF
if ! as_pg "$bindir/pg_ctl" -D "$root/standby/data" -l "$root/standby/server.log" -w start >/dev/null; then
	cat "$root/standby/server.log"; echo "0 passed, 1 failed"; exit 1
fi
check "the standby is in recovery" "$(on standby -c 'SELECT pg_is_in_recovery()')" t

# caught up with the primary
lsn=$(on primary -c 'SELECT pg_current_wal_lsn()')
if wait_until 20 holds standby "SELECT pg_last_wal_replay_lsn() >= '$lsn'"; then
	pass "the standby replays the primary's changes"
else
	fail "the standby did not catch up within 20 s"
fi

# the read API, on both sides
reads=(
	"SELECT string_agg(contact_id || ':' || unread_count || ':' || coalesce(assignee_id, 0), ',' ORDER BY contact_id) FROM inbox.contact_list((SELECT id FROM inbox.space WHERE name = 'standby'), NULL)"
	"SELECT string_agg(view || ':' || contacts || ':' || unread_contacts, ',' ORDER BY view) FROM inbox.view_counts((SELECT id FROM inbox.space WHERE name = 'standby'), (SELECT id FROM inbox.agent WHERE name = 'Ana'))"
	"SELECT string_agg(item || ':' || coalesce(body, event_kind), ',') FROM inbox.history((SELECT id FROM inbox.space WHERE name = 'standby'), (SELECT contact_id FROM inbox.message WHERE body = 'hello from one'))"
	"SELECT count(*) FROM inbox.check_integrity()"
)
names=("contact_list()" "view_counts()" "history()" "check_integrity()")
for i in "${!reads[@]}"; do
	p=$(on primary -c "${reads[$i]}" 2>&1)
	s=$(on standby -c "${reads[$i]}" 2>&1)
	if [ -n "$p" ] && [ "$p" = "$s" ]; then
		pass "the standby serves ${names[$i]} as the primary does ($s)"
	else
		fail "${names[$i]}: primary '$p', standby '$s'"
	fi
done
check "a write on the standby is refused (read-only transaction)" \
	"$(sqlstate standby "SELECT inbox.receive_message((SELECT id FROM inbox.space WHERE name = 'standby'), (SELECT id FROM inbox.channel WHERE name = 'Web'), 'v3', 'no')")" 25006
check "no inbox launcher or worker runs on the standby" \
	"$(on standby -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'inbox %'")" 0

# a snooze that falls due during the switchover
on primary -c "SELECT inbox.snooze(s.id, c.contact_id, clock_timestamp() + interval '2 seconds', a.id)
	FROM inbox.space s, inbox.agent a, inbox.message c
	WHERE s.name = 'standby' AND a.space_id = s.id AND c.space_id = s.id AND c.body = 'hello from two'" >/dev/null
lsn=$(on primary -c 'SELECT pg_current_wal_lsn()')
wait_until 20 holds standby "SELECT pg_last_wal_replay_lsn() >= '$lsn'" || fail "the standby did not replay the snooze"
due=$(on standby -c "SELECT extract(epoch FROM snoozed_until) FROM inbox.contact WHERE snoozed_until IS NOT NULL")
as_pg "$bindir/pg_ctl" -D "$root/primary/data" -m fast -w stop >/dev/null
check "the primary's worker had not woken it before it stopped" \
	"$(awk -v d="$due" -v now="$EPOCHREALTIME" 'BEGIN { print (now < d) ? "before due" : "after due" }')" "before due"
as_pg "$bindir/pg_ctl" -D "$root/standby/data" -w promote >/dev/null || fail "promotion"
promoted=$EPOCHREALTIME
check "the standby is promoted" "$(on standby -c 'SELECT pg_is_in_recovery()')" f
if wait_until 10 holds standby "SELECT count(*) = 1 FROM inbox.event WHERE kind = 'contact_unsnoozed' AND actor_kind = 'system'"; then
	pass "the promoted server's worker wakes the snooze that fell due during the switchover"
else
	fail "the promoted server did not wake the snooze within 10 s"
fi
lag=$(on standby -c "SELECT round(extract(epoch FROM pg_xact_commit_timestamp(xmin)) - greatest($due, $promoted), 3)
	FROM inbox.event WHERE kind = 'contact_unsnoozed'" 2>/dev/null)
# without track_commit_timestamp, the event's own time (the waking transaction's start)
[ -n "$lag" ] || lag=$(on standby -c "SELECT round(extract(epoch FROM created_at) - greatest($due, $promoted), 3)
	FROM inbox.event WHERE kind = 'contact_unsnoozed'")
if awk -v l="$lag" 'BEGIN { exit !(l < 1.0) }'; then
	pass "it is woken within 1 s of the later of its time and the promotion (${lag} s)"
else
	fail "woken ${lag} s after the later of its time and the promotion"
fi
check "check_integrity() is empty after the promotion" "$(on standby -c 'SELECT count(*) FROM inbox.check_integrity()')" 0

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
