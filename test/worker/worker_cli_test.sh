#!/usr/bin/env bash
# test/worker/worker_cli_test.sh: the command line of inbox-worker and its
# snooze and deliver subcommands.
#
#   - --help and --version exit 0; every usage error exits 2 and says why;
#     after make install, inbox-worker runs from PATH (the link in the
#     Makefile's WORKER_LINK_DIR, /usr/local/bin) and prints inbox's version;
#   - an unreachable server exits 1 with a clear message (listen, snooze,
#     deliver); SIGINT and SIGTERM stop a running worker with exit 0;
#   - snooze (when inbox.wake_due_snoozes exists): on a server that does NOT
#     preload inbox (as on managed PostgreSQL, so no background worker), two
#     `inbox-worker snooze` processes wake each due contact exactly once and
#     within 1 s of its time, run no query while nothing is due, and wake
#     again after a server restart;
#   - deliver: CMD gets the message as JSON on stdin; exit 0 records sent
#     (through set_message_status of the message's space, also of space 2),
#     a failure records failed with CMD's stderr, a CMD that runs too long
#     is killed and recorded failed; two workers deliver 20 messages exactly
#     once each (SKIP LOCKED).
#
# Prints one line per check and finally "N passed, N failed".
# Usage: bash test/worker/worker_cli_test.sh   (as root or as a user who can run initdb)
set -uo pipefail
source "$(dirname "$(readlink -f "$0")")/../lib/cluster.sh"
cd "$(dirname "$0")/../.." || exit 1

port=${INBOX_WORKER_PORT:-5471}
bindir=$(pg_config --bindir)
worker=$PWD/worker/inbox-worker
[ -x "$worker" ] || worker=$bindir/inbox-worker
work=$(mktemp -d /tmp/inbox-worker.XXXXXX)
data=$work/data
conn="host=$work port=$port dbname=inbox user=postgres"
children=()

sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -h "$work" -p "$port" -U postgres -d inbox -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
	for p in "${children[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	as_pg "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

# expect_exit NAME CODE PATTERN ARGS...: run inbox-worker, check its exit
# status and that stdout+stderr match PATTERN
expect_exit() {
	local name=$1 want=$2 pattern=$3 rc output
	shift 3
	output=$(timeout 20 "$worker" "$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && grep -qE -- "$pattern" <<<"$output"; then
		pass "$name (exit $rc)"
	else
		fail "$name: exit $rc, wanted $want; output: $(head -3 <<<"$output" | tr '\n' ' ')"
	fi
}

# -------------------------------------------------------------------------
# command line

expect_exit "--help" 0 'Usage:' --help
expect_exit "-h after a subcommand" 0 'inbox-worker listen --space N' listen -h
expect_exit "--version" 0 '^inbox-worker \(inbox\) [0-9]' --version

# make install links inbox-worker into the Makefile's WORKER_LINK_DIR
# (/usr/local/bin, on the default PATH): there it is the installed program
# and prints inbox's version
link_dir=$(printf 'inbox-print-link-dir:\n\t@echo $(WORKER_LINK_DIR)\n' |
	make -s --no-print-directory -f Makefile -f - inbox-print-link-dir 2>/dev/null)
if [ -z "$link_dir" ]; then
	echo "(WORKER_LINK_DIR is empty: make install links inbox-worker nowhere, nothing to check)"
else
	on_path=$(PATH="$link_dir:/usr/sbin:/usr/bin:/sbin:/bin" command -v inbox-worker)
	check "after make install, inbox-worker on PATH ($link_dir) is the installed $bindir/inbox-worker" \
		"$(readlink -f "${on_path:-none}")" "$(readlink -f "$bindir/inbox-worker")"
	check "inbox-worker --version from PATH prints inbox's version (inbox.control)" \
		"$(PATH="$link_dir:/usr/sbin:/usr/bin:/sbin:/bin" inbox-worker --version 2>&1)" \
		"inbox-worker (inbox) $(sed -n "s/^default_version = '\(.*\)'/\1/p" inbox.control)"
fi
expect_exit "no subcommand: usage error" 2 'no subcommand given'
expect_exit "unknown subcommand: usage error" 2 'unknown subcommand "frobnicate"' frobnicate
expect_exit "listen without --space: usage error" 2 'listen needs --space' listen
expect_exit "listen --space abc: usage error" 2 'invalid space id "abc"' listen --space abc
expect_exit "listen --space 0: usage error" 2 'invalid space id "0"' listen --space 0
expect_exit "unknown option: usage error" 2 "unrecognized option '--bogus'" listen --space 1 --bogus
expect_exit "option of another subcommand: usage error" 2 '--exec applies to deliver only' listen --space 1 --exec cat
expect_exit "deliver without --exec: usage error" 2 'deliver needs --exec' deliver
expect_exit "deliver --timeout -1: usage error" 2 'invalid timeout' deliver --exec cat --timeout -1
expect_exit "two subcommands: usage error" 2 'too many arguments' listen snooze --space 1

# -------------------------------------------------------------------------
# no server

for sub in "listen --space 1" "snooze" "deliver --exec cat"; do
	# shellcheck disable=SC2086
	expect_exit "$sub, server unreachable: exit 1 with the reason" 1 \
		'could not connect to the server: .*(No such file|Connection refused)' $sub -d "host=$work port=$port dbname=inbox"
done
PGHOST=$work PGPORT=$port expect_exit "connection from PG* variables is used" 1 \
	"could not connect to the server: .*$work/.s.PGSQL.$port" listen --space 1

# -------------------------------------------------------------------------
# a server that does not preload inbox (no background worker)

cluster_init "$data" || exit 1
cat >>"$data/postgresql.conf" <<CONF
max_connections = 30
track_commit_timestamp = on
CONF
start() { as_pg "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w -t 60 start >/dev/null; }
start || { cat "$work/server.log"; exit 1; }
psql -X -q -h "$work" -p "$port" -U postgres -d postgres -c "CREATE DATABASE inbox" || exit 1
sql <<'SQL' >/dev/null || exit 1
CREATE EXTENSION inbox CASCADE;
SELECT inbox.create_space('worker');
SELECT inbox.create_agent(1, 'Agent One');
SELECT inbox.create_channel(1, 'telegram', 'tg');
SQL

for sig in INT TERM; do
	"$worker" listen --space 1 -d "$conn" >/dev/null 2>"$work/sig.err" &
	pid=$!
	wait_until 10 grep -q 'listening' "$work/sig.err"
	kill -"$sig" "$pid"
	wait "$pid"; rc=$?
	if [ "$rc" = 0 ]; then pass "SIG$sig stops a listening worker with exit 0"; else fail "SIG$sig: exit $rc"; fi
done

expect_exit "snooze without the snooze functions or on a wrong database: exit 1" 1 \
	'(does not exist|wake_due_snoozes)' snooze --once -d "host=$work port=$port dbname=postgres user=postgres"

# -------------------------------------------------------------------------
# snooze

if [ "$(sql -c "SELECT count(*) FROM pg_proc WHERE proname IN ('wake_due_snoozes', 'next_snooze_due', 'snooze') AND pronamespace = 'inbox'::regnamespace")" -lt 3 ]; then
	echo "skipped: snooze (inbox.wake_due_snoozes, inbox.next_snooze_due or inbox.snooze do not exist yet)"
else
	for i in 1 2; do
		"$worker" snooze -v -d "$conn" >/dev/null 2>"$work/snooze$i.err" &
		children+=($!)
	done
	snooze_pids=("${children[@]}")
	# listening_n N: both workers have said N times that they listen
	listening_n() { [ "$(grep -c 'listening on' "$work/snooze1.err")" -ge "$1" ] && [ "$(grep -c 'listening on' "$work/snooze2.err")" -ge "$1" ]; }
	wait_until 10 listening_n 1 || fail "the snooze workers did not start listening within 10 s"
	for i in 1 2 3; do sql -c "SELECT inbox.receive_message(1, 1, 'sleeper$i', 'hi')" >/dev/null; done
	sql -c "SELECT inbox.snooze(1, contact_id, now() + interval '1.5 s', 1) FROM inbox.contact_channel WHERE external_id LIKE 'sleeper%'" >/dev/null
	none_snoozed() { [ "$(sql -c "SELECT count(*) FROM inbox.contact WHERE snoozed_until IS NOT NULL")" = 0 ]; }
	wait_until 5 none_snoozed
	# exactly one contact_unsnoozed by system each, committed within 1 s of the time
	got=$(sql -c "SELECT count(DISTINCT e.contact_id) || ' ' || count(*) || ' ' ||
			coalesce(max(extract(epoch FROM pg_xact_commit_timestamp(e.xmin) - (e.data->>'until')::timestamptz))::numeric(6,3), -1)
		FROM inbox.event e
		WHERE e.kind = 'contact_unsnoozed' AND e.actor_kind = 'system'")
	still=$(sql -c "SELECT count(*) FROM inbox.contact WHERE snoozed_until IS NOT NULL")
	read -r contacts events late <<<"$got"
	if [ "$contacts" = 3 ] && [ "$events" = 3 ] && [ "$still" = 0 ] && awk -v l="$late" 'BEGIN { exit !(l >= -0.01 && l <= 1.0) }'; then
		pass "two snooze workers: 3 due contacts woken exactly once each, at most $late s late"
	else
		fail "snooze: contacts=$contacts events=$events still snoozed=$still latest=$late s"
		tail -5 "$work"/snooze*.err
	fi

	# nothing is due now: the workers wait on their sockets and run no query
	activity="SELECT string_agg(pid || ':' || query_start, ',' ORDER BY pid) FROM pg_stat_activity WHERE application_name = 'inbox-worker snooze'"
	before=$(sql -c "$activity")
	sleep 2
	after=$(sql -c "$activity")
	if [ -n "$before" ] && [ "$before" = "$after" ] && [ "$(tr ',' '\n' <<<"$before" | wc -l)" = 2 ]; then
		pass "while nothing is due the snooze workers run no query (2 s)"
	else
		fail "snooze workers ran queries while idle: $before -> $after"
	fi

	as_pg "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null
	start || { cat "$work/server.log"; exit 1; }
	# back within their backoff (at most 5 s between tries), listening again
	wait_until 15 listening_n 2 || fail "the snooze workers did not listen again within 15 s of the restart"
	sql -c "SELECT inbox.snooze(1, contact_id, now() + interval '1 s', 1) FROM inbox.contact_channel WHERE external_id = 'sleeper1'" >/dev/null
	wait_until 5 none_snoozed
	n=$(sql -c "SELECT count(*) FROM inbox.event e JOIN inbox.contact_channel c USING (contact_id) WHERE c.external_id = 'sleeper1' AND e.kind = 'contact_unsnoozed'")
	if [ "$n" = 2 ] && kill -0 "${snooze_pids[0]}" 2>/dev/null && kill -0 "${snooze_pids[1]}" 2>/dev/null; then
		pass "after a server restart the snooze workers reconnect and wake again (once)"
	else
		fail "snooze after restart: $n contact_unsnoozed events for sleeper1 (want 2)"
		tail -5 "$work"/snooze*.err
	fi
	for p in "${snooze_pids[@]}"; do kill -TERM "$p"; done
	rcs=""
	for p in "${snooze_pids[@]}"; do wait "$p"; rcs="$rcs$?"; done
	children=()
	if [ "$rcs" = 00 ]; then pass "SIGTERM stops the snooze workers with exit 0"; else fail "snooze exit statuses: $rcs"; fi

	sql -c "SELECT inbox.snooze(1, contact_id, now() + interval '0.3 s', 1) FROM inbox.contact_channel WHERE external_id = 'sleeper2'" >/dev/null
	sleeper2_due() { [ "$(sql -c "SELECT snoozed_until <= now() FROM inbox.contact_channel c JOIN inbox.contact t ON t.id = c.contact_id WHERE c.external_id = 'sleeper2'")" = t ]; }
	wait_until 5 sleeper2_due
	"$worker" snooze --once -d "$conn" 2>"$work/once.err"; rc=$?
	if [ "$rc" = 0 ] && [ "$(sql -c "SELECT count(*) FROM inbox.contact WHERE snoozed_until IS NOT NULL")" = 0 ]; then
		pass "snooze --once wakes what is due and exits 0"
	else
		fail "snooze --once: exit $rc; $(cat "$work/once.err")"
	fi
fi

# -------------------------------------------------------------------------
# deliver

m=$(sql -c "SELECT inbox.receive_message(1, 1, 'customer-42', 'hello')")
c=$(sql -c "SELECT contact_id FROM inbox.message WHERE id = $m")
m=$(sql -c "SELECT inbox.send_message(1, $c, 1, 'Your order \"7\" shipped', 1)")
"$worker" deliver --once -d "$conn" --exec "cat > $work/delivered.json" 2>"$work/deliver.err"; rc=$?
status=$(sql -c "SELECT status FROM inbox.message WHERE id = $m")
json=$(python3 -c 'import json,sys; o = json.load(open(sys.argv[1])); print(o["id"], o["contact_external_id"], o["body"], o["channel_kind"], o["contact_id"])' "$work/delivered.json" 2>&1)
if [ "$rc" = 0 ] && [ "$status" = sent ] && [ "$json" = "$m customer-42 Your order \"7\" shipped telegram $c" ]; then
	pass "deliver: CMD gets the message as JSON on stdin, exit 0 records sent"
else
	fail "deliver: exit $rc, status $status, JSON: $json; $(tail -2 "$work/deliver.err")"
fi

# a message of another space: recorded through the API with its own space
sql >/dev/null <<'SQL'
SELECT inbox.create_space('other');                 -- 2
SELECT inbox.create_agent(2, 'Agent Two');          -- 2
SELECT inbox.create_channel(2, 'webchat', 'web');   -- 2
SQL
m=$(sql -c "SELECT inbox.receive_message(2, 2, 'visitor-9', 'hi')")
c2=$(sql -c "SELECT contact_id FROM inbox.message WHERE id = $m")
m=$(sql -c "SELECT inbox.send_message(2, $c2, 2, 'hello from space 2', 2)")
"$worker" deliver --once -d "$conn" --exec "cat > $work/delivered2.json" 2>"$work/deliver.err"; rc=$?
got=$(sql -c "SELECT status FROM inbox.message WHERE id = $m")
json=$(python3 -c 'import json,sys; o = json.load(open(sys.argv[1])); print(o["id"], o["space_id"], o["contact_external_id"], o["channel_kind"])' "$work/delivered2.json" 2>&1)
if [ "$rc" = 0 ] && [ "$got" = sent ] && [ "$json" = "$m 2 visitor-9 webchat" ]; then
	pass "deliver: a message of space 2 is sent and recorded sent in its space"
else
	fail "deliver in space 2: exit $rc, status $got, JSON: $json; $(tail -2 "$work/deliver.err")"
fi

m=$(sql -c "SELECT inbox.send_message(1, $c, 1, 'second', 1)")
"$worker" deliver --once -d "$conn" --exec 'cat >/dev/null; echo "platform said: no such user" >&2; exit 3' 2>"$work/deliver.err"
got=$(sql -c "SELECT status || '|' || error FROM inbox.message WHERE id = $m")
if [ "$got" = "failed|platform said: no such user" ]; then
	pass "deliver: a failing CMD records failed with its stderr as the error"
else
	fail "deliver failure: got $got"
fi

m=$(sql -c "SELECT inbox.send_message(1, $c, 1, 'third', 1)")
t0=$(date +%s)
"$worker" deliver --once --timeout 0.5 -d "$conn" --exec 'sleep 10' 2>"$work/deliver.err"
t1=$(date +%s)
got=$(sql -c "SELECT status || '|' || error FROM inbox.message WHERE id = $m")
if [[ "$got" == "failed|command timed out after 0.5 s"* ]] && [ $((t1 - t0)) -le 3 ]; then
	pass "deliver: a CMD that runs past --timeout is killed and recorded failed"
else
	fail "deliver timeout: got $got after $((t1 - t0)) s"
fi

sql -c "SELECT inbox.send_message(1, $c, 1, 'bulk ' || g, 1) FROM generate_series(1, 20) g" >/dev/null
for i in 1 2; do
	"$worker" deliver --once -d "$conn" --exec "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"id\"])' >> $work/ids.$i; sleep 0.05" 2>/dev/null &
	children+=($!)
done
for p in "${children[@]}"; do wait "$p"; done
children=()
got=$(cat "$work"/ids.* | sort | uniq -c | awk '$1 != 1 { dup++ } END { print NR, dup + 0 }')
pending=$(sql -c "SELECT count(*) FROM inbox.message WHERE status = 'pending'")
share=$(wc -l <"$work/ids.1")/$(wc -l <"$work/ids.2")
if [ "$got" = "20 0" ] && [ "$pending" = 0 ]; then
	pass "deliver: two workers send 20 messages exactly once each (split $share)"
else
	fail "deliver with two workers: delivered/duplicates = $got, still pending $pending"
fi

m=$(sql -c "SELECT inbox.send_message(1, $c, 1, 'live', 1)")
"$worker" deliver -d "$conn" --interval 30 --exec 'cat >/dev/null' 2>"$work/live.err" &
pid=$!
# it has connected, listens, and sent what was pending
sent() { [ "$(sql -c "SELECT status FROM inbox.message WHERE id = $1")" = sent ]; }
wait_until 10 sent "$m" || fail "deliver live: the worker did not send the pending message within 10 s"
m2=$(sql -c "SELECT inbox.send_message(1, $c, 1, 'while running', 1)")
wait_until 2 sent "$m2"
got=$(sql -c "SELECT string_agg(status, ',' ORDER BY id) FROM inbox.message WHERE id IN ($m, $m2)")
kill -TERM "$pid"; wait "$pid"; rc=$?
if [ "$got" = "sent,sent" ] && [ "$rc" = 0 ]; then
	pass "deliver: a running worker sends a new message at once (notification, not the 30 s poll) and stops on SIGTERM"
else
	fail "deliver live: statuses $got, exit $rc; $(tail -2 "$work/live.err")"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
