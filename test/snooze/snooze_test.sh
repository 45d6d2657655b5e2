#!/usr/bin/env bash
# test/snooze/snooze_test.sh: snoozing contacts and the background worker that
# wakes them (rule 8), against a real server that preloads inbox.
#
# Starts its own cluster and proves:
#   - the API (2.0: the space first) and the rule: errors (22023, P0002, also
#     for a contact of another space), events and their actors for
#     snooze / unsnooze / a plain UPDATE / an incoming message, unsnooze of a
#     contact not snoozed is a no-op, NOTIFY inbox_snooze at commit;
#   - a contact snoozed for 2 s is back within 1 s of its time (actor system);
#     a snooze moved earlier is noticed without polling; the idle worker runs
#     no query;
#   - 10,000 contacts due at once all come back, one event each;
#   - concurrent callers of inbox.wake_due_snoozes() and the worker wake each
#     contact exactly once;
#   - snoozes that fell due while the server was down are woken within 1 s of
#     start;
#   - a database given the extension after start is served without restart;
#     DROP EXTENSION, ALTER DATABASE RENAME and DROP DATABASE work while its
#     worker runs;
#   - inbox.snooze_worker = off stops the workers, on brings them back; a
#     terminated worker is restarted, and so is everything after a crash.
# Prints one line per check and finally "N passed, N failed".
#
# Usage: bash test/snooze/snooze_test.sh   (as root or as a user who can run initdb)
set -uo pipefail
source "$(dirname "$(readlink -f "$0")")/../lib/cluster.sh"

port=${INBOX_SNOOZE_PORT:-5481}
bindir=$(pg_config --bindir)
work=$(mktemp -d /tmp/inbox-snooze.XXXXXX)
data=$work/data
passed=0
failed=0

# sql DB [psql args]: one value per line, errors on stderr
sql() {
	local db=$1; shift
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -h "$work" -p "$port" -U postgres -d "$db" "$@"
}
# the SQLSTATE of a statement that should fail, or "no error"
sqlstate() {
	local out
	out=$(PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -h "$work" -p "$port" -U postgres -d inbox \
		-v VERBOSITY=sqlstate -c "$1" 2>&1 >/dev/null)
	if [ -z "$out" ]; then echo "no error"; else echo "$out" | sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\).*/\1/p' | head -1; fi
}
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "FAILED - $1"; failed=$((failed + 1)); }
# check "description" actual expected
check() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want '$3')"; fi; }
# check_true "description" sql-boolean-result [detail]
check_true() { if [ "$2" = t ]; then ok "$1${3:+ ($3)}"; else not_ok "$1 (got '$2')${3:+ ($3)}"; fi; }

start() { as_pg "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w -t 120 start >/dev/null; }
stop() { as_pg "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null; }
cleanup() {
	as_pg "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

# wait_for DB "sql returning t when done" seconds: polls every 0.1 s
wait_for() {
	local db=$1 cond=$2 limit=$3 i
	for ((i = 0; i < limit * 10; i++)); do
		[ "$(sql "$db" -c "$cond" 2>/dev/null)" = t ] && return 0
		sleep 0.1
	done
	return 1
}
workers_in() { sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'inbox worker' AND datname = '$1'"; }
worker_pid() { sql postgres -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'inbox worker' AND datname = 'inbox'"; }
# the worker of database inbox is asleep again after having looked at the
# snoozes since time $1, taken before the change it must notice (it reports
# running, then idle, at each look)
worker_slept_since() {
	wait_for postgres "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'inbox worker'
		AND datname = 'inbox' AND state = 'idle' AND wait_event = 'Extension' AND state_change > '$1'" 5
}

cluster_init "$data" || exit 1
cat >>"$data/postgresql.conf" <<CONF
shared_preload_libraries = 'inbox'
max_worker_processes = 16
max_connections = 40
track_commit_timestamp = on
restart_after_crash = on
CONF
start || { cat "$work/server.log"; exit 1; }
sql postgres -c "CREATE DATABASE inbox" || exit 1
sql inbox >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inbox CASCADE;
SELECT inbox.create_space('one');
SELECT inbox.create_space('two');
SELECT inbox.create_agent(1, 'Ann');
SELECT inbox.create_agent(2, 'Bob');
SELECT inbox.create_channel(1, 'telegram', 'tg');
SELECT inbox.receive_message(1, 1, 'alice', 'hello');
SQL

# lag of a system wake in seconds: from the time the snooze ended to the commit
# of the worker's transaction that wrote the event (track_commit_timestamp)
lag_sql="SELECT round(extract(epoch FROM max(pg_xact_commit_timestamp(e.xmin) - (e.data->>'until')::timestamptz))::numeric, 3)
	FROM inbox.event e WHERE e.kind = 'contact_unsnoozed' AND e.actor_kind = 'system'"

echo "== API and rule"
check "snooze to a time in the past is 22023" \
	"$(sqlstate "SELECT inbox.snooze(1, 1, now() - interval '1 minute', 1)")" 22023
check "snooze to now() is 22023" "$(sqlstate "SELECT inbox.snooze(1, 1, now(), 1)")" 22023
check "snooze of an unknown contact is P0002" \
	"$(sqlstate "SELECT inbox.snooze(1, 424242, now() + interval '1 hour', 1)")" P0002
check "unsnooze of an unknown contact is P0002" "$(sqlstate "SELECT inbox.unsnooze(1, 424242, 1)")" P0002
check "snooze of a contact of another space is P0002" \
	"$(sqlstate "SELECT inbox.snooze(2, 1, now() + interval '1 hour', 2)")" P0002
check "unsnooze of a contact of another space is P0002" "$(sqlstate "SELECT inbox.unsnooze(2, 1, 2)")" P0002
check "snooze until NULL is 22023" "$(sqlstate "SELECT inbox.snooze(1, 1, NULL, 1)")" 22023
check "snooze without an agent is 22023" \
	"$(sqlstate "SELECT inbox.snooze(1, 1, now() + interval '1 hour', NULL)")" 22023
check "snooze by an unknown agent is P0002" \
	"$(sqlstate "SELECT inbox.snooze(1, 1, now() + interval '1 hour', 999)")" P0002
check "snooze by an agent of another space is P0002" \
	"$(sqlstate "SELECT inbox.snooze(1, 1, now() + interval '1 hour', 2)")" P0002
check "a plain UPDATE to a past snooze time is 22023" \
	"$(sqlstate "UPDATE inbox.contact SET snoozed_until = now() - interval '1 s' WHERE id = 1")" 22023
check "wake_due_snoozes(0) is 22023" "$(sqlstate "SELECT inbox.wake_due_snoozes(0)")" 22023
check "the failed calls wrote nothing" \
	"$(sql inbox -c "SELECT count(*) FROM inbox.event WHERE kind LIKE 'contact_%snoozed'")|$(sql inbox -c "SELECT snoozed_until IS NULL FROM inbox.contact WHERE id = 1")" "0|t"

sql inbox -c "SELECT inbox.unsnooze(1, 1, 1)" >/dev/null
check "unsnooze of a contact not snoozed writes nothing" \
	"$(sql inbox -c "SELECT count(*) FROM inbox.event WHERE kind LIKE 'contact_%snoozed'")" 0

sql inbox -c "SELECT inbox.snooze(1, 1, now() + interval '1 hour', 1)" >/dev/null
check "snooze sets snoozed_until and writes contact_snoozed by the user" \
	"$(sql inbox -c "SELECT c.snoozed_until > now() + interval '59 minutes', e.actor_kind, e.actor_agent_id, e.conversation_id IS NOT NULL
		FROM inbox.contact c JOIN inbox.event e ON e.contact_id = c.id AND e.kind = 'contact_snoozed' WHERE c.id = 1" | tr '|' ' ')" "t user 1 t"
check "next_snooze_due() is that time" \
	"$(sql inbox -c "SELECT inbox.next_snooze_due() = (SELECT snoozed_until FROM inbox.contact WHERE id = 1)")" t
sql inbox -c "SELECT inbox.unsnooze(1, 1, 1)" >/dev/null
check "unsnooze clears it and writes contact_unsnoozed by the user" \
	"$(sql inbox -c "SELECT c.snoozed_until IS NULL, e.actor_kind, e.actor_agent_id
		FROM inbox.contact c JOIN inbox.event e ON e.contact_id = c.id AND e.kind = 'contact_unsnoozed' WHERE c.id = 1" | tr '|' ' ')" "t user 1"
check "next_snooze_due() is NULL when nothing is snoozed" "$(sql inbox -c "SELECT inbox.next_snooze_due() IS NULL")" t

sql inbox >/dev/null <<'SQL'
BEGIN;
SET LOCAL inbox.actor_agent = '1';
UPDATE inbox.contact SET snoozed_until = now() + interval '1 hour' WHERE id = 1;
COMMIT;
SQL
check "a plain UPDATE of snoozed_until writes contact_snoozed for inbox.actor_kind" \
	"$(sql inbox -c "SELECT actor_kind || ' ' || actor_agent_id FROM inbox.event WHERE kind = 'contact_snoozed' ORDER BY id DESC LIMIT 1")" "user 1"
check "an automation cannot snooze (the event kind allows users only)" \
	"$(sqlstate "BEGIN; SET LOCAL inbox.actor_kind = 'automation'; UPDATE inbox.contact SET snoozed_until = now() + interval '2 hours' WHERE id = 1; COMMIT")" 22023
sql inbox -c "SELECT inbox.receive_message(1, 1, 'alice', 'I am back')" >/dev/null
check "an incoming message ends the snooze, actor contact" \
	"$(sql inbox -c "SELECT (SELECT snoozed_until IS NULL FROM inbox.contact WHERE id = 1) || ' ' || actor_kind
		FROM inbox.event WHERE kind = 'contact_unsnoozed' ORDER BY id DESC LIMIT 1")" "true contact"

notified=$(sql inbox 2>&1 <<'SQL'
LISTEN inbox_snooze;
SELECT inbox.snooze(1, 1, now() + interval '1 hour', 1);
SELECT 1;
SQL
)
check "a snooze sends NOTIFY inbox_snooze with the contact id at commit" \
	"$(echo "$notified" | grep -c 'notification "inbox_snooze" with payload "1"')" 1
notified=$(sql inbox 2>&1 <<'SQL'
LISTEN inbox_snooze;
BEGIN;
SELECT inbox.snooze(1, 1, now() + interval '2 hours', 1);
ROLLBACK;
SELECT 1;
SQL
)
check "a rolled-back snooze sends nothing" "$(echo "$notified" | grep -c 'inbox_snooze')" 0
sql inbox -c "SELECT inbox.unsnooze(1, 1, 1)" >/dev/null

echo "== the background worker"
check "one launcher runs" \
	"$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'inbox launcher'")" 1
check "one worker serves database inbox, none the others" \
	"$(workers_in inbox) $(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'inbox worker'")" "1 1"

sql inbox -c "SELECT inbox.snooze(1, 1, clock_timestamp() + interval '2 s', 1)" >/dev/null
wait_for inbox "SELECT snoozed_until IS NULL FROM inbox.contact WHERE id = 1" 5
check_true "a contact snoozed for 2 s is back within 1 s of its time, actor system" \
	"$(sql inbox -c "SELECT count(*) = 1 AND max(pg_xact_commit_timestamp(xmin) - (data->>'until')::timestamptz) < interval '1 s'
		FROM inbox.event WHERE contact_id = 1 AND kind = 'contact_unsnoozed' AND actor_kind = 'system'")" \
	"lag $(sql inbox -c "$lag_sql") s"

t=$(sql inbox -c "SELECT clock_timestamp()" -c "SELECT inbox.snooze(1, 1, now() + interval '1 hour', 1)" | sed -n 1p)
worker_slept_since "$t" || not_ok "the worker went back to sleep after a snooze of 1 h"
sql inbox -c "SELECT inbox.snooze(1, 1, clock_timestamp() + interval '1 s', 1)" >/dev/null
wait_for inbox "SELECT snoozed_until IS NULL FROM inbox.contact WHERE id = 1" 4
check_true "a snooze moved from 1 h to 1 s ahead is woken on time" \
	"$(sql inbox -c "SELECT max(pg_xact_commit_timestamp(xmin) - (data->>'until')::timestamptz) < interval '1 s'
		FROM inbox.event WHERE contact_id = 1 AND kind = 'contact_unsnoozed' AND actor_kind = 'system'")"

t=$(sql inbox -c "SELECT clock_timestamp()" -c "SELECT inbox.snooze(1, 1, now() + interval '1 hour', 1)" | sed -n 1p)
worker_slept_since "$t" || not_ok "the worker went back to sleep after a snooze of 1 h"
before=$(sql postgres -c "SELECT query_start FROM pg_stat_activity WHERE backend_type = 'inbox worker' AND datname = 'inbox'")
sleep 3
after=$(sql postgres -c "SELECT query_start FROM pg_stat_activity WHERE backend_type = 'inbox worker' AND datname = 'inbox'")
check "while nothing is due the worker runs no query (3 s)" "$after" "$before"
sql inbox -c "SELECT inbox.unsnooze(1, 1, 1)" >/dev/null

# 10,000 contacts, inserted already snoozed to the same instant
sql inbox -c "INSERT INTO inbox.contact (space_id, first_name, snoozed_until)
	SELECT 1, 'mass ' || g, date_trunc('second', clock_timestamp()) + interval '3 s' FROM generate_series(1, 10000) g" >/dev/null
wait_for inbox "SELECT count(*) = 0 FROM inbox.contact WHERE first_name LIKE 'mass %' AND snoozed_until IS NOT NULL" 30
check_true "10,000 contacts due at once all come back, one event each" \
	"$(sql inbox -c "SELECT count(*) = 10000 AND count(DISTINCT e.contact_id) = 10000
		FROM inbox.event e JOIN inbox.contact c ON c.id = e.contact_id
		WHERE c.first_name LIKE 'mass %' AND e.kind = 'contact_unsnoozed' AND e.actor_kind = 'system'")" \
	"all back $(sql inbox -c "SELECT round(extract(epoch FROM max(pg_xact_commit_timestamp(e.xmin) - (e.data->>'until')::timestamptz))::numeric, 3)
		FROM inbox.event e JOIN inbox.contact c ON c.id = e.contact_id WHERE c.first_name LIKE 'mass %' AND e.kind = 'contact_unsnoozed'") s after their time"

# concurrent callers: four clients call wake_due_snoozes(50) in a loop while the worker runs
sql inbox -c "INSERT INTO inbox.contact (space_id, first_name, snoozed_until)
	SELECT 1, 'race ' || g, clock_timestamp() + interval '2 s' + g * interval '100 microseconds' FROM generate_series(1, 5000) g" >/dev/null
for c in 1 2 3 4; do
	awk 'BEGIN { for (i = 0; i < 2500; i++) print "SELECT inbox.wake_due_snoozes(50), pg_sleep(0.002);" }' |
		sql inbox >"$work/wake.$c" 2>&1 &
done
wait
check "the concurrent callers ran without errors" "$(cat "$work"/wake.* | grep -c ERROR)" 0
by_callers=$(cat "$work"/wake.* | awk -F'|' '{ s += $1 } END { print s + 0 }')
check_true "concurrent callers and the worker give exactly one event per contact" \
	"$(sql inbox -c "SELECT count(*) = 5000 AND count(DISTINCT e.contact_id) = 5000
		AND (SELECT count(*) FROM inbox.contact WHERE first_name LIKE 'race %' AND snoozed_until IS NOT NULL) = 0
		FROM inbox.event e JOIN inbox.contact c ON c.id = e.contact_id
		WHERE c.first_name LIKE 'race %' AND e.kind = 'contact_unsnoozed'")" \
	"$(sql inbox -c "SELECT count(*) FROM inbox.event e JOIN inbox.contact c ON c.id = e.contact_id WHERE c.first_name LIKE 'race %' AND e.kind = 'contact_unsnoozed'") events; $by_callers woken by the 4 callers, the rest by the worker"
check "no integrity violations" "$(sql inbox -c "SELECT count(*) FROM inbox.check_integrity()")" 0

echo "== restart"
sql inbox -c "INSERT INTO inbox.contact (space_id, first_name, snoozed_until)
	SELECT 1, 'down ' || g, clock_timestamp() + interval '1 s' FROM generate_series(1, 500) g" >/dev/null
due=$(sql inbox -c "SELECT extract(epoch FROM max(snoozed_until)) FROM inbox.contact WHERE first_name LIKE 'down %'")
stop
# down until they all are due, and a little longer
wait_until 10 awk -v due="$due" -v now="$EPOCHREALTIME" 'BEGIN { exit !(now > due + 0.3) }'
start || { not_ok "server restarts"; cat "$work/server.log"; }
wait_for inbox "SELECT count(*) = 0 FROM inbox.contact WHERE first_name LIKE 'down %' AND snoozed_until IS NOT NULL" 10
check_true "snoozes that fell due while the server was down are woken within 1 s of start" \
	"$(sql inbox -c "SELECT count(*) = 500 AND max(pg_xact_commit_timestamp(e.xmin)) - pg_postmaster_start_time() < interval '1 s'
		FROM inbox.event e JOIN inbox.contact c ON c.id = e.contact_id
		WHERE c.first_name LIKE 'down %' AND e.kind = 'contact_unsnoozed' AND e.actor_kind = 'system'")" \
	"$(sql inbox -c "SELECT round(extract(epoch FROM max(pg_xact_commit_timestamp(e.xmin)) - pg_postmaster_start_time())::numeric, 3)
		FROM inbox.event e JOIN inbox.contact c ON c.id = e.contact_id WHERE c.first_name LIKE 'down %' AND e.kind = 'contact_unsnoozed'") s after start"

echo "== more databases"
sql postgres -c "CREATE DATABASE second" >/dev/null
# the launcher starts a worker that looks, finds no inbox (a transaction in
# the database, counted by pg_stat_database) and leaves
looked=$(wait_for postgres "SELECT xact_commit + xact_rollback > 0 FROM pg_stat_database WHERE datname = 'second'" 5 && echo t || echo f)
wait_for postgres "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'inbox worker' AND datname = 'second'" 5
check "a new database without inbox is looked at, and gets no worker" "$looked $(workers_in second)" "t 0"
sql second >/dev/null <<'SQL'
CREATE EXTENSION inbox CASCADE;
SELECT inbox.create_space('s');
SELECT inbox.create_agent(1, 'Cy');
SELECT inbox.create_channel(1, 'webchat', 'web');
SELECT inbox.receive_message(1, 1, 'visitor', 'hi');
SQL
wait_for postgres "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'inbox worker' AND datname = 'second'" 5
check "CREATE EXTENSION after start gets the database a worker" "$(workers_in second)" 1
sql second -c "SELECT inbox.snooze(1, 1, clock_timestamp() + interval '1 s', 1)" >/dev/null
wait_for second "SELECT snoozed_until IS NULL FROM inbox.contact WHERE id = 1" 4
check_true "its snoozes are woken within 1 s" \
	"$(sql second -c "SELECT count(*) = 1 AND max(pg_xact_commit_timestamp(xmin) - (data->>'until')::timestamptz) < interval '1 s'
		FROM inbox.event WHERE kind = 'contact_unsnoozed' AND actor_kind = 'system'")"

# drop while the worker is busy with a backlog (a batch would deadlock with the drop)
sql second -c "INSERT INTO inbox.contact (space_id, first_name, snoozed_until)
	SELECT 1, 'busy ' || g, clock_timestamp() + interval '300 ms' FROM generate_series(1, 20000) g" >/dev/null
# busy: some of them woken, some still due
busy="SELECT count(*) FILTER (WHERE snoozed_until IS NULL) > 0 AND count(*) FILTER (WHERE snoozed_until IS NOT NULL) > 0
	FROM inbox.contact WHERE first_name LIKE 'busy %'"
wait_for second "$busy" 5
busy_at_drop=$(sql second -c "$busy")
sql second -c "DROP EXTENSION inbox" 2>"$work/dropext.err"
check "DROP EXTENSION works while the worker wakes a backlog" "$busy_at_drop $(cat "$work/dropext.err")" "t "
wait_for postgres "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'inbox worker' AND datname = 'second'" 5
check "... and the worker leaves for good" "$(workers_in second)" 0
sql second -c "CREATE EXTENSION inbox" >/dev/null
wait_for postgres "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'inbox worker' AND datname = 'second'" 5
check "CREATE EXTENSION again brings it back" "$(workers_in second)" 1

t0=$(date +%s.%N)
sql postgres -c "ALTER DATABASE second RENAME TO third" 2>"$work/rename.err"
check "ALTER DATABASE RENAME works while the worker runs" "$(cat "$work/rename.err")" ""
wait_for postgres "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'inbox worker' AND datname = 'third'" 5
check "the renamed database is served again" "$(workers_in third)" 1

t0=$(date +%s.%N)
sql postgres -c "DROP DATABASE third" 2>"$work/drop.err"
t1=$(date +%s.%N)
check "DROP DATABASE works while the worker runs" "$(cat "$work/drop.err")" ""
check_true "... without waiting for it" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a < 2) ? "t" : "f" }')" \
	"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f s", b - a }')"
sleep 1
check "no worker is started for the dropped database" \
	"$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'inbox worker'")|$(grep -c 'database .* does not exist' "$work/server.log")" "1|0"

echo "== settings, signals, crashes"
sql postgres -c "ALTER SYSTEM SET inbox.snooze_worker = off" -c "SELECT pg_reload_conf()" >/dev/null
wait_for postgres "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'inbox worker'" 5
check "inbox.snooze_worker = off stops the workers" "$(workers_in inbox)" 0
sql inbox -c "SELECT inbox.snooze(1, 1, clock_timestamp() + interval '500 ms', 1)" >/dev/null
sleep 1.5
check "... and snoozes stay due (an external worker's job)" \
	"$(sql inbox -c "SELECT snoozed_until <= now() FROM inbox.contact WHERE id = 1")" t
sql postgres -c "ALTER SYSTEM RESET inbox.snooze_worker" -c "SELECT pg_reload_conf()" >/dev/null
wait_for inbox "SELECT snoozed_until IS NULL FROM inbox.contact WHERE id = 1" 5
check "inbox.snooze_worker = on brings them back and they catch up" \
	"$(workers_in inbox) $(sql inbox -c "SELECT snoozed_until IS NULL FROM inbox.contact WHERE id = 1")" "1 t"

old_pid=$(worker_pid)
terminated=$(sql postgres -c "SELECT pg_terminate_backend($old_pid)")
wait_for postgres "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'inbox worker'
	AND datname = 'inbox' AND pid <> $old_pid" 15
new_pid=$(worker_pid)
check "a terminated worker is restarted by the launcher" \
	"$terminated $(workers_in inbox) $([ -n "$new_pid" ] && [ "$new_pid" != "$old_pid" ] && echo new-pid)" "t 1 new-pid"

sql inbox -c "SELECT inbox.snooze(1, 1, clock_timestamp() + interval '3 s', 1)" >/dev/null
old_pid=$(worker_pid)
restarts=$(grep -c 'all server processes terminated; reinitializing' "$work/server.log")
kill -9 "$old_pid"
# the postmaster saw its worker die and reinitialized everything
crashed() { [ "$(grep -c 'all server processes terminated; reinitializing' "$work/server.log")" -gt "$restarts" ]; }
wait_until 20 crashed
crash=$(crashed && echo crashed || echo "no crash")
wait_for inbox "SELECT snoozed_until IS NULL FROM inbox.contact WHERE id = 1" 20
new_pid=$(worker_pid)
check "after a crash (kill -9 of the worker) the server restarts and the snooze is woken" \
	"$crash $(sql inbox -c "SELECT snoozed_until IS NULL FROM inbox.contact WHERE id = 1") $([ -n "$new_pid" ] && [ "$new_pid" != "$old_pid" ] && echo new-pid)" \
	"crashed t new-pid"
check "no integrity violations at the end" "$(sql inbox -c "SELECT count(*) FROM inbox.check_integrity()")" 0

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
