#!/usr/bin/env bash
# test/crash/crash_test.sh: durability under kill -9.
#
# Starts its own cluster, runs a mixed workload of API calls (2.0: the space
# first) from 8 clients (incoming messages from new and known senders,
# replies, status reports, assignments, closes, reads), kills every server
# process with SIGKILL at a different moment in each round (once round N's
# clients have had 150 x N message calls return, all clients still running),
# restarts, and checks that
#   - every client was mid-workload: it lost its connection (psql exit 2),
#   - inbox.check_integrity() runs and is empty,
#   - every message id whose call had returned to its client is present,
#   - no client saw a deadlock.
# Prints one line per round and finally "N passed, N failed".
#
# Usage: bash test/crash/crash_test.sh [rounds]   (as root or as a user who can run initdb)
set -uo pipefail
source "$(dirname "$(readlink -f "$0")")/../lib/cluster.sh"

rounds=${1:-3}
clients=8
statements=4000
port=${INBOX_CRASH_PORT:-5488}
bindir=$(pg_config --bindir)
work=$(mktemp -d /tmp/inbox-crash.XXXXXX)
data=$work/data
passed=0
failed=0

sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -h "$work" -p "$port" -U postgres -d inbox -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
	as_pg "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

cluster_init "$data" || exit 1
cat >>"$data/postgresql.conf" <<CONF
shared_preload_libraries = 'inbox'
fsync = on
synchronous_commit = on
max_connections = 30
deadlock_timeout = 100ms
CONF
start() { as_pg "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w -t 120 start >/dev/null; }
start || { cat "$work/server.log"; exit 1; }
psql -X -q -h "$work" -p "$port" -U postgres -d postgres -c "CREATE DATABASE inbox" || exit 1
sql <<'SQL' >/dev/null
CREATE EXTENSION inbox CASCADE;
SELECT inbox.create_space('crash');
SELECT inbox.create_agent(1, 'agent ' || g) FROM generate_series(1, 4) g;
SELECT inbox.create_channel(1, 'telegram', 'tg');
SELECT inbox.create_channel(1, 'webchat', 'web');
SQL

# One client's workload: a random mix of API calls.  Each call that returns a
# message id prints "m|<id>", so the output file lists the calls that returned.
workload() {
	local client=$1 round=$2
	awk -v client="$client" -v round="$round" -v n="$statements" 'BEGIN {
		srand(client * 7919 + round * 104729);
		for (i = 0; i < n; i++) {
			# contacts: some private to this client, some shared by all clients
			if (rand() < 0.3) ref = "shared-" int(rand() * 20); else ref = "c" client "-" int(rand() * 40);
			ch = 1 + int(rand() * 2);
			agent = 1 + int(rand() * 4);
			who = "(SELECT contact_id FROM inbox.contact_channel WHERE channel_id = " ch " AND external_id = '\''" ref "'\'')";
			r = rand();
			if (r < 0.45)
				printf "SELECT '\''m'\'', inbox.receive_message(1, %d, '\''%s'\'', '\''hello %d'\'');\n", ch, ref, i;
			else if (r < 0.65)
				printf "SELECT '\''m'\'', inbox.send_message(1, %s, %d, '\''reply %d'\'', %d);\n", who, ch, i, agent;
			else if (r < 0.75)
				printf "SELECT inbox.set_message_status(1, id, '\''sent'\'') FROM inbox.message WHERE space_id = 1 AND contact_id = %s AND status = '\''pending'\'' ORDER BY id DESC LIMIT 1;\n", who;
			else if (r < 0.83)
				printf "SELECT inbox.close_conversation(1, c.contact_id, '\''user'\'', %d) FROM inbox.contact_channel c JOIN inbox.conversation v ON v.contact_id = c.contact_id AND v.closed_at IS NULL WHERE c.channel_id = %d AND c.external_id = '\''%s'\'';\n", agent, ch, ref;
			else if (r < 0.92)
				printf "SELECT inbox.assign(1, contact_id, %d) FROM inbox.contact_channel WHERE channel_id = %d AND external_id = '\''%s'\'';\n", agent, ch, ref;
			else
				printf "SELECT inbox.mark_read(1, contact_id, %d) FROM inbox.contact_channel WHERE channel_id = %d AND external_id = '\''%s'\'';\n", agent, ch, ref;
		}
	}'
}

postmaster_pid() { head -1 "$data/postmaster.pid" 2>/dev/null; }

for round in $(seq 1 "$rounds"); do
	pids=()
	for c in $(seq 1 "$clients"); do
		workload "$c" "$round" | psql -X -q -At -h "$work" -p "$port" -U postgres -d inbox \
			>"$work/out.$round.$c" 2>"$work/err.$round.$c" &
		pids+=($!)
	done

	# kill at a different moment each round: once 150 x round message calls
	# have returned, with every client still at work
	target=$((150 * round))
	returned_so_far() { [ "$(cat "$work"/out."$round".* | grep -c '^m|[0-9]')" -ge "$target" ]; }
	wait_until 60 returned_so_far || echo "round $round: fewer than $target message calls returned within 60 s"
	at_kill=$(cat "$work"/out."$round".* | grep -c '^m|[0-9]')
	running=0
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
	pm=$(postmaster_pid)
	victims="$pm $(pgrep -P "$pm" | tr '\n' ' ')"
	kill -9 $victims 2>/dev/null
	# psql exits 2 when the connection goes away in the middle of a script
	lost=0
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; [ $? = 2 ] && lost=$((lost + 1)); done
	# wait until none of them runs any more (zombies may linger where
	# nothing reaps them; they hold no resources), then drop the lock
	# files that name the dead postmaster
	for v in $victims; do
		while ps -o stat= -p "$v" 2>/dev/null | grep -qv '^Z'; do sleep 0.1; done
	done
	rm -f "$data/postmaster.pid" "$work/.s.PGSQL.$port.lock"

	start || { echo "round $round: server did not restart"; tail -20 "$work/server.log"; failed=$((failed + 1)); break; }

	returned=$(cat "$work"/out."$round".* | grep -c '^m|[0-9]')
	cat "$work"/out."$round".* | sed -n 's/^m|\([0-9][0-9]*\)$/\1/p' >"$work/ids.$round"
	missing=$(sql -c "CREATE TEMP TABLE returned (id bigint);" \
		-c "\\copy returned FROM '$work/ids.$round'" \
		-c "SELECT count(*) FROM returned r WHERE NOT EXISTS (SELECT 1 FROM inbox.message m WHERE m.id = r.id)" 2>&1)
	# the check must run and say so: an error is not "clean"
	violations=$(sql -c "SELECT coalesce(string_agg(invariant || ' (' || violations || ', e.g. ' || example || ')', '; '), 'clean') FROM inbox.check_integrity()" 2>&1) ||
		violations="check_integrity() failed: $violations"
	deadlocks=$(cat "$work"/err."$round".* | grep -c 'deadlock detected')
	messages=$(sql -c "SELECT count(*) FROM inbox.message")

	if [ "$missing" = 0 ] && [ "$violations" = clean ] && [ "$deadlocks" = 0 ] && [ "$returned" -gt 0 ] &&
		[ "$running" = "$clients" ] && [ "$lost" = "$clients" ]; then
		echo "ok: round $round: killed after $at_kill returned message calls, all $clients clients mid-workload; $returned returned message calls all present ($messages messages in all), integrity clean"
		passed=$((passed + 1))
	else
		echo "FAILED: round $round: clients running at the kill=$running, lost their connection=$lost (of $clients); returned=$returned missing=$missing deadlocks=$deadlocks integrity: $violations"
		grep -h 'ERROR' "$work"/err."$round".* | sort | uniq -c | sort -rn | head -10
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
