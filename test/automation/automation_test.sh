#!/usr/bin/env bash
# test/automation/automation_test.sh: the timed parts of automation, done by
# the background worker against a real server that preloads inbox.
#
# Starts its own cluster and proves:
#   - auto-close: a conversation whose newest message is a user's is closed
#     within 1 s of that message's time + auto_close_after, with
#     conversation_closed and unassigned by actor system; where the space
#     keeps assignees on close (unassign_on_close false) the assignee stays
#     and no unassigned is written; an incoming message in the wait cancels
#     it; a message of automation starts none;
#   - a wait made earlier (auto_close_after from 1 h to 1 s) is noticed
#     without polling, and the idle worker runs no query while the next
#     auto-close is an hour away;
#   - 1,000 conversations due at once are all closed, once each;
#   - auto-away: an online agent who has not acted for auto_away_after is set
#     offline within 1 s of that, notifying {"op": "agent", ...}; an agent who
#     acts meanwhile stays online; busy and offline agents are left alone.
# Prints one line per check and finally "N passed, N failed".
#
# Usage: bash test/automation/automation_test.sh   (as root or as a user who can run initdb)
set -uo pipefail
source "$(dirname "$(readlink -f "$0")")/../lib/cluster.sh"

port=${INBOX_AUTOMATION_PORT:-$((${INBOX_PORT_BASE:-5500} + 83))}
bindir=$(pg_config --bindir)
work=$(mktemp -d /tmp/inbox-automation.XXXXXX)
data=$work/data

sql() { psql_in inbox "$@"; }
cleanup() {
	[ -n "${listener:-}" ] && kill "$listener" 2>/dev/null
	as_pg "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
# check_true NAME SQL-RESULT [DETAIL]
check_true() { if [ "$2" = t ]; then pass "$1${3:+ ($3)}"; else fail "$1: got '$2'${3:+ ($3)}"; fi; }
is_true() { [ "$(sql -c "$1" 2>/dev/null)" = t ]; }

cluster_init "$data" || exit 1
cat >>"$data/postgresql.conf" <<CONF
shared_preload_libraries = 'inbox'
track_commit_timestamp = on
CONF
as_pg "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w -t 120 start >/dev/null || { cat "$work/server.log"; exit 1; }
psql_in postgres -c "CREATE DATABASE inbox" || exit 1
sql >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inbox CASCADE;
SELECT inbox.create_space('unassigns');	-- 1
SELECT inbox.create_space('keeps');		-- 2
SELECT inbox.create_space('away');		-- 3
SELECT inbox.create_agent(1, 'Ann');	-- 1
SELECT inbox.create_agent(2, 'Bob');	-- 2
SELECT inbox.create_channel(1, 'webchat', 'web one');	-- 1
SELECT inbox.create_channel(2, 'webchat', 'web two');	-- 2
SELECT inbox.configure_space(1, auto_close_after => '2 seconds');
SELECT inbox.configure_space(2, auto_close_after => '2 seconds', unassign_on_close => false);
SQL

# a new sender $5 of space $1 writes in on channel $2, and agent $3 (or NULL)
# answers, as sender kind $4; prints the contact id
answered() {
	local contact
	sql -c "SELECT inbox.receive_message($1, $2, '$5', 'hello')" >/dev/null
	contact=$(sql -c "SELECT contact_id FROM inbox.contact_channel WHERE space_id = $1 AND channel_id = $2 AND external_id = '$5'")
	sql -c "SELECT inbox.send_message($1, $contact, $2, 'answer', $3, '$4')" >/dev/null
	echo "$contact"
}
# lateness of the close of contact $1's last conversation, in seconds: the
# commit of the worker's close (track_commit_timestamp) after the wait's end
# (the newest user message + the space's auto_close_after, or $2 when later)
late_sql() {
	echo "SELECT round(extract(epoch FROM pg_xact_commit_timestamp(v.xmin)
			- greatest(m.created_at + s.auto_close_after, ${2:-'-infinity'}::timestamptz))::numeric, 3)
		FROM inbox.conversation v JOIN inbox.space s ON s.id = v.space_id
		CROSS JOIN LATERAL (SELECT max(created_at) AS created_at FROM inbox.message
							WHERE conversation_id = v.id AND sender_kind = 'user') m
		WHERE v.contact_id = $1 ORDER BY v.id DESC LIMIT 1"
}
closed() { is_true "SELECT open_conversation_id IS NULL FROM inbox.contact WHERE id = $1"; }

echo "== auto-close"
c1=$(answered 1 1 1 user alice)
wait_until 5 closed "$c1" || fail "contact $c1 was not auto-closed within 5 s"
late=$(sql -c "$(late_sql "$c1")")
check_true "a conversation a user answered is closed within 1 s of auto_close_after (2 s)" \
	"$(sql -c "SELECT $late < 1 AND $late >= 0")" "late by $late s"
check "... with conversation_closed and unassigned, actor system" \
	"$(sql -c "SELECT string_agg(kind || ':' || actor_kind, ' ' ORDER BY id) FROM inbox.event
		WHERE contact_id = $c1 AND kind IN ('conversation_closed', 'unassigned')")" \
	"conversation_closed:system unassigned:system"
check "... and the contact unassigned" "$(sql -c "SELECT assignee_id IS NULL FROM inbox.contact WHERE id = $c1")" t

c2=$(answered 2 2 2 user bea)
wait_until 5 closed "$c2" || fail "contact $c2 was not auto-closed within 5 s"
late=$(sql -c "$(late_sql "$c2")")
check_true "unassign_on_close false: closed in time" "$(sql -c "SELECT $late < 1 AND $late >= 0")" "late by $late s"
check "... the assignee stays, no unassigned event" \
	"$(sql -c "SELECT c.assignee_id, (SELECT count(*) FROM inbox.event WHERE contact_id = c.id AND kind = 'unassigned')
		FROM inbox.contact c WHERE c.id = $c2" | tr '|' ' ')" "2 0"

c3=$(answered 1 1 1 user carl)
sql -c "SELECT inbox.receive_message(1, 1, 'carl', 'still here')" >/dev/null
c4=$(answered 1 1 NULL automation dora)
sleep 3.5
check "an incoming message cancels the wait; an automated message starts none (3.5 s later both open)" \
	"$(sql -c "SELECT count(*) FROM inbox.contact WHERE id IN ($c3, $c4) AND open_conversation_id IS NOT NULL")" 2

echo "== a wait made earlier, and the idle worker"
sql -c "UPDATE inbox.space SET auto_close_after = '1 hour' WHERE id = 1" >/dev/null
c5=$(answered 1 1 1 user emil)
sleep 1
before=$(psql_in postgres -c "SELECT query_start FROM pg_stat_activity WHERE backend_type = 'inbox worker' AND datname = 'inbox'")
sleep 3
after=$(psql_in postgres -c "SELECT query_start FROM pg_stat_activity WHERE backend_type = 'inbox worker' AND datname = 'inbox'")
check "while the next auto-close is an hour away the worker runs no query (3 s)" "$after" "$before"
changed=$(sql -c "SELECT clock_timestamp()" -c "UPDATE inbox.space SET auto_close_after = '1 second' WHERE id = 1" | sed -n 1p)
wait_until 3 closed "$c5" || fail "contact $c5 was not auto-closed within 3 s of the change"
late=$(sql -c "$(late_sql "$c5" "'$changed'")")
check_true "auto_close_after shortened to 1 s: the worker notices at once (no polling) and closes it" \
	"$(sql -c "SELECT $late < 1")" "late by $late s after the change"

echo "== 1,000 due at once"
sql -c "UPDATE inbox.space SET auto_close_after = '1 hour' WHERE id = 1" >/dev/null
sql >/dev/null <<'SQL'
SELECT count(inbox.receive_message(1, 1, 'mass-' || g, 'hello')) FROM generate_series(1, 1000) g;
SELECT count(inbox.send_message(1, cc.contact_id, 1, 'answer', 1))
FROM inbox.contact_channel cc WHERE cc.external_id LIKE 'mass-%';
SQL
due=$(sql -c "SELECT clock_timestamp() + interval '2 s'")
sql -c "UPDATE inbox.space SET auto_close_after = '$due'::timestamptz - (SELECT max(created_at) FROM inbox.message WHERE sender_kind = 'user') WHERE id = 1" >/dev/null
all_closed() { is_true "SELECT count(*) = 0 FROM inbox.contact_channel cc JOIN inbox.contact c ON c.id = cc.contact_id
	WHERE cc.external_id LIKE 'mass-%' AND c.open_conversation_id IS NOT NULL"; }
wait_until 15 all_closed || fail "the 1,000 conversations were not all closed within 15 s"
check_true "1,000 conversations due within a second are all closed, one conversation_closed each" \
	"$(sql -c "SELECT count(*) = 1000 AND count(DISTINCT e.contact_id) = 1000 FROM inbox.event e
		JOIN inbox.contact_channel cc ON cc.contact_id = e.contact_id
		WHERE cc.external_id LIKE 'mass-%' AND e.kind = 'conversation_closed' AND e.actor_kind = 'system'")" \
	"the last closed $(sql -c "SELECT round(extract(epoch FROM max(pg_xact_commit_timestamp(v.xmin)) - '$due'::timestamptz)::numeric, 3)
		FROM inbox.conversation v JOIN inbox.contact_channel cc ON cc.contact_id = v.contact_id
		WHERE cc.external_id LIKE 'mass-%'") s after the first was due"
sql -c "UPDATE inbox.space SET auto_close_after = NULL WHERE id = 1" >/dev/null

echo "== auto-away"
sql >/dev/null <<'SQL'
SELECT inbox.create_agent(3, 'Idle');		-- 3
SELECT inbox.create_agent(3, 'Active');		-- 4
SELECT inbox.create_agent(3, 'Busy');		-- 5
SELECT inbox.set_agent_status(3, 5, 'busy');
SQL
(psql -X -q -h "$work" -p "$port" -U postgres -d inbox -c "LISTEN inbox_3" -c "SELECT pg_sleep(6)" >"$work/listen.out" 2>&1) &
listener=$!
sleep 0.5
set_at=$(sql -c "SELECT clock_timestamp()")
sql -c "SELECT inbox.configure_space(3, auto_away_after => '2 seconds')" >/dev/null
# Active acts every half second (inbox.activity_interval 0: every call records)
for _ in 1 2 3 4 5 6 7 8; do
	PGOPTIONS="-c inbox.activity_interval=0" psql_in inbox -c "SELECT count(*) FROM inbox.contact_list(3, 4)" >/dev/null
	sleep 0.5
done
away() { is_true "SELECT status = 'offline' FROM inbox.agent WHERE id = 3"; }
wait_until 3 away || fail "the idle agent was not set offline"
# due: 2 s after it last acted (when it was added), or when auto-away was
# turned on if that is later
late=$(sql -c "SELECT round(extract(epoch FROM pg_xact_commit_timestamp(a.xmin)
	- greatest(v.active_at + interval '2 s', '$set_at'::timestamptz))::numeric, 3)
	FROM inbox.agent a JOIN inbox.agent_activity v ON v.agent_id = a.id WHERE a.id = 3")
check_true "an agent idle for auto_away_after (2 s) is set offline within 1 s of it" \
	"$(sql -c "SELECT $late < 1 AND $late >= -0.001")" "late by $late s"
check "the agent who acted stays online, the busy one busy" \
	"$(sql -c "SELECT string_agg(name || ':' || status, ' ' ORDER BY id) FROM inbox.agent WHERE id IN (4, 5)")" \
	"Active:online Busy:busy"
wait "$listener"; listener=
check "the change notified the space's listeners: {\"op\": \"agent\", \"agent\": 3}" \
	"$(grep -c '"op": "agent", "agent": 3' "$work/listen.out")" 1

grep -q 'PANIC\|server process .* was terminated' "$work/server.log" && fail "a server process died (server.log)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
