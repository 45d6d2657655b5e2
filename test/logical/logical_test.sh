#!/usr/bin/env bash
# test/logical/logical_test.sh: logical replication of schema inbox, as the
# README's "Logical replication" has it: a subscriber that ran CREATE
# EXTENSION inbox (with session_replication_role = replica, so that its
# catalogues come from the publisher) subscribes to a publication FOR TABLES
# IN SCHEMA inbox.
#
# Starts a publisher and a subscriber (both preload inbox) and proves:
#   - the initial copy of every table, the catalogues among them, succeeds
#     (no duplicate key of channel_kind, event_kind, sender_kind);
#   - messages, a reply, a close and a snooze that falls due, written on the
#     publisher, arrive on the subscriber; the snooze is woken once (by the
#     publisher's worker): one contact_unsnoozed event on both sides, and the
#     subscriber's worker writes nothing (no error in its log);
#   - every table of inbox has the same rows on both sides, and
#     check_integrity() is empty on both;
#   - once the subscription is dropped (the subscriber takes over) and its
#     sequences are set past the replicated ids, its own worker wakes its
#     snoozes again.
# Prints one line per check and finally "N passed, N failed".
#
# Usage: bash test/logical/logical_test.sh   (as root or as a user who can run initdb)
set -uo pipefail
source "$(dirname "$(readlink -f "$0")")/../lib/cluster.sh"

bindir=$(pg_config --bindir)
root=$(mktemp -d /tmp/inbox-logical.XXXXXX)
pub_port=${INBOX_LOGICAL_PORT:-5491}
sub_port=$((pub_port + 1))

cleanup() {
	for side in pub sub; do
		as_pg "$bindir/pg_ctl" -D "$root/$side/data" -m immediate stop >/dev/null 2>&1
	done
	[ -n "${INBOX_TEST_KEEP:-}" ] || rm -rf "$root"
}
trap cleanup EXIT

# on SIDE ARGS...: psql on database inbox of the publisher or the subscriber
on() {
	local side=$1 p
	shift
	if [ "$side" = pub ]; then p=$pub_port; else p=$sub_port; fi
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -h "$root/$side" -p "$p" -U postgres -d inbox \
		-v ON_ERROR_STOP=1 "$@"
}
# true when SQL (a boolean) is true on SIDE
holds() { [ "$(on "$1" -c "$2" 2>/dev/null)" = t ]; }

start_side() {
	local side=$1 p=$2
	mkdir -p "$root/$side"
	work=$root/$side port=$p cluster_init "$root/$side/data" || return 1
	cat >>"$root/$side/data/postgresql.conf" <<CONF
shared_preload_libraries = 'inbox'
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
CONF
	as_pg "$bindir/pg_ctl" -D "$root/$side/data" -l "$root/$side/server.log" -w start >/dev/null || return 1
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -h "$root/$side" -p "$p" -U postgres -d postgres \
		-c 'CREATE DATABASE inbox'
}

chmod 777 "$root"
if ! start_side pub "$pub_port" || ! start_side sub "$sub_port"; then
	cat "$root"/*/server.log 2>/dev/null
	echo "0 passed, 1 failed"
	exit 1
fi

on pub -c 'CREATE EXTENSION inbox CASCADE' >/dev/null
# the subscriber's catalogues come from the publisher (its own would collide)
on sub -c 'SET session_replication_role = replica' -c 'CREATE EXTENSION inbox CASCADE' >/dev/null
check "a subscriber's CREATE EXTENSION with session_replication_role = replica leaves the catalogues to the copy" \
	"$(on sub -c "SELECT (SELECT count(*) FROM inbox.channel_kind) + (SELECT count(*) FROM inbox.event_kind) + (SELECT count(*) FROM inbox.sender_kind)")" 0

# data before the subscription: the initial copy takes it
on pub >/dev/null <<'SQL'
SELECT inbox.create_space('replicated') AS space \gset
SELECT inbox.create_agent(:space, 'Ana', 'ana@example.com') AS ana \gset
SELECT inbox.create_channel(:space, 'whatsapp_cloud', 'WhatsApp') AS wa \gset
SELECT inbox.receive_message(:space, :wa, '+491701', 'first, before the subscription');
UPDATE inbox.channel_kind SET label = 'WhatsApp (edited)' WHERE kind = 'whatsapp_cloud';
CREATE PUBLICATION inbox_pub FOR TABLES IN SCHEMA inbox;
SQL
on sub -c "CREATE SUBSCRIPTION inbox_sub CONNECTION 'host=$root/pub port=$pub_port user=postgres dbname=inbox' PUBLICATION inbox_pub" >/dev/null
synced="SELECT count(*) > 0 AND bool_and(srsubstate = 'r') FROM pg_subscription_rel"
if wait_until 30 holds sub "$synced"; then
	pass "the initial copy of every table of schema inbox succeeds, the catalogues among them"
else
	fail "the initial copy did not finish within 30 s: $(on sub -c "SELECT string_agg(srrelid::regclass || '=' || srsubstate, ' ') FROM pg_subscription_rel")"
fi
check "no duplicate key in the subscriber's log" "$(grep -c 'duplicate key' "$root/sub/server.log")" 0
check "the catalogues came as the publisher edited them" \
	"$(on sub -c "SELECT label FROM inbox.channel_kind WHERE kind = 'whatsapp_cloud'")" "WhatsApp (edited)"

# changes after the subscription: messages, a reply, a close, a snooze falling due
on pub >/dev/null <<'SQL'
SELECT id AS space FROM inbox.space WHERE name = 'replicated' \gset
SELECT id AS ana FROM inbox.agent WHERE space_id = :space \gset
SELECT id AS wa FROM inbox.channel WHERE space_id = :space \gset
SELECT inbox.receive_message(:space, :wa, '+491702', 'second contact') AS m \gset
SELECT contact_id AS bea FROM inbox.message WHERE space_id = :space AND id = :m \gset
SELECT inbox.send_message(:space, :bea, :wa, 'a reply', agent => :ana);
SELECT inbox.receive_message(:space, :wa, '+491701', 'the first again') AS m \gset
SELECT contact_id AS cem FROM inbox.message WHERE space_id = :space AND id = :m \gset
SELECT inbox.close_conversation(:space, :bea, 'user', :ana);
SELECT inbox.snooze(:space, :cem, clock_timestamp() + interval '1 second', :ana);
SQL
if wait_until 10 holds pub "SELECT count(*) = 1 FROM inbox.event WHERE kind = 'contact_unsnoozed'"; then
	pass "the publisher's worker wakes the snooze"
else
	fail "the publisher's worker did not wake the snooze within 10 s"
fi
# the subscriber has caught up with the publisher's WAL of now
lsn=$(on pub -c "SELECT pg_current_wal_lsn()")
if wait_until 20 holds sub "SELECT bool_and(latest_end_lsn >= '$lsn') FROM pg_stat_subscription WHERE subname = 'inbox_sub'"; then
	pass "the subscriber catches up"
else
	fail "the subscriber did not catch up within 20 s"
fi
sleep 1.5		# a second wake by the subscriber's worker would have happened by now
check "the snooze is woken once on the subscriber too (one contact_unsnoozed, by system)" \
	"$(on sub -c "SELECT count(*) || ' ' || string_agg(actor_kind, ',') FROM inbox.event WHERE kind = 'contact_unsnoozed'")" "1 system"
check "the subscriber's worker wrote nothing (no error in its log)" \
	"$(grep -c 'inbox worker ERROR' "$root/sub/server.log")" 0

# every table, row by row, on both sides
tables=$(on pub -c "SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class
	WHERE relnamespace = 'inbox'::regnamespace AND relkind = 'r'")
differ=
for t in $tables; do
	q="SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) FROM inbox.$t r"
	[ "$(on pub -c "$q")" = "$(on sub -c "$q")" ] || differ="$differ $t"
done
check "every table of inbox has the same rows on both sides ($(wc -w <<<"$tables") tables)" "${differ:-none differ}" "none differ"
check "the replicated data is not empty (messages on the subscriber)" \
	"$(on sub -c "SELECT count(*) >= 4 FROM inbox.message")" t
check "check_integrity() is empty on the publisher" "$(on pub -c "SELECT count(*) FROM inbox.check_integrity()" 2>&1)" 0
check "check_integrity() is empty on the subscriber" "$(on sub -c "SELECT count(*) FROM inbox.check_integrity()" 2>&1)" 0

# the subscriber takes over (README, "Logical replication"): its own worker
# serves its snoozes again
on sub -c "ALTER SUBSCRIPTION inbox_sub DISABLE" -c "ALTER SUBSCRIPTION inbox_sub SET (slot_name = NONE)" \
	-c "DROP SUBSCRIPTION inbox_sub" >/dev/null
# sequences are not replicated: each id sequence past the largest id of its
# table, with the statement README gives ("Logical replication")
on sub >/dev/null <<'SQL'
SELECT format('SELECT setval(%L, coalesce(max(%I), 0) + 1, false) FROM %s', s.oid::regclass, a.attname, t.oid::regclass)
FROM pg_class s
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.deptype = 'a'
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
WHERE s.relkind = 'S' AND s.relnamespace = 'inbox'::regnamespace
\gexec
SQL
check "the id sequences of contact, conversation, message and event are past their largest ids" \
	"$(on sub -c "SELECT (SELECT last_value FROM inbox.contact_id_seq) > (SELECT max(id) FROM inbox.contact)
		AND (SELECT last_value FROM inbox.conversation_id_seq) > (SELECT max(id) FROM inbox.conversation)
		AND (SELECT last_value FROM inbox.message_id_seq) > (SELECT max(id) FROM inbox.message)
		AND (SELECT last_value FROM inbox.event_id_seq) > (SELECT max(id) FROM inbox.event)")" t
on sub >/dev/null <<'SQL'
SELECT id AS space FROM inbox.space WHERE name = 'replicated' \gset
SELECT id AS ana FROM inbox.agent WHERE space_id = :space \gset
SELECT contact_id AS bea FROM inbox.message WHERE space_id = :space AND body = 'second contact' \gset
SELECT inbox.snooze(:space, :bea, clock_timestamp() + interval '1 second', :ana);
SQL
if wait_until 10 holds sub "SELECT count(*) = 2 FROM inbox.event WHERE kind = 'contact_unsnoozed'"; then
	pass "after DROP SUBSCRIPTION the subscriber's worker wakes its own snoozes"
else
	fail "the former subscriber's worker did not wake its snooze within 10 s"
fi
check "check_integrity() is empty on the former subscriber" "$(on sub -c "SELECT count(*) FROM inbox.check_integrity()" 2>&1)" 0

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
