#!/usr/bin/env bash
# test/notify/notify_test.sh: LISTEN/NOTIFY of inbox (rule 13), through a real
# libpq listener, `inbox-worker listen --space 1`.
#
# Starts its own cluster (inbox preloaded), runs each API call and asserts
# the exact set of notifications it sends (op, contact and ids; compared as
# sorted canonical lines; every call names its space first, 2.0):
#   - receive_message from a new and a known sender, mark_read, send_message,
#     set_message_status, assign, close_conversation, open_conversation,
#     record_event, a direct UPDATE of a contact (and a no-op UPDATE: nothing),
#     snooze and unsnooze, direct UPDATEs of a conversation and a message,
#     DELETE of a message, a conversation and a contact (with what they take
#     along), merge_contacts and unmerge_contacts (every moved row, to the
#     contact it left and the one it joined);
#   - more than 1,000 notifications of one transaction on a space: one bulk
#     (1,000: each sent; space 2's: not on inbox_1);
#   - a multi-statement transaction: one notification per contact and op;
#   - nothing after ROLLBACK, nothing from a rolled-back savepoint (nested,
#     and a PL/pgSQL exception block), nothing with inbox.notify = off,
#     on a connection shared as a transaction pooler shares it a SET LOCAL
#     inbox.notify = off stays in its transaction while a SET leaks,
#     nothing on inbox_1 from space 2;
#   - a prepared transaction (PREPARE TRANSACTION): nothing until COMMIT
#     PREPARED (other commits' notifications go on meanwhile), then all of
#     it; nothing ever after ROLLBACK PREPARED;
#   - per contact, notifications arrive in commit order (two sessions);
#   - a step whose marker does not come back (a dead listener) fails;
#   - they are sent by the database's background worker (inbox.notify_relay),
#     by the committing backend itself with the relay off or no worker;
#     none is lost while the worker stops and starts under load; a contact
#     snoozed while writers keep the worker busy comes back on time, and the
#     last notifications of a burst go out with no later commit;
#   - a bulk INSERT ... SELECT of 100,000 events, and one of 20,000 messages,
#     for 25 contacts send a few notifications per contact, each under 8000
#     bytes, whose ids and "more" counts account for every row;
#   - no payload carries a body, name, URL or any text but op: ids only;
#   - after a server restart the listener prints {"op":"resync"} and keeps
#     receiving; SIGTERM stops it with exit status 0.
# Each step ends with a marker notification ({"op":"marker","n":K}) sent in a
# later transaction: everything before it in the listener's output belongs to
# the steps before (PostgreSQL delivers notifications in commit order).
#
# Prints one line per check and finally "N passed, N failed".
# Usage: bash test/notify/notify_test.sh   (as root or as a user who can run initdb)
set -uo pipefail
source "$(dirname "$(readlink -f "$0")")/../lib/cluster.sh"
cd "$(dirname "$0")/../.." || exit 1

port=${INBOX_NOTIFY_PORT:-5470}
bindir=$(pg_config --bindir)
worker=./worker/inbox-worker
[ -x "$worker" ] || worker=$bindir/inbox-worker
work=$(mktemp -d /tmp/inbox-notify.XXXXXX)
data=$work/data
out=$work/listen.out
listener=
session_pids=()

sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -h "$work" -p "$port" -U postgres -d inbox -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
	[ -n "$listener" ] && kill "$listener" 2>/dev/null
	for p in "${session_pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	as_pg "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

# check NAME EXPECTED ACTUAL: both are lines; equal as sets (sorted) unless
# ORDERED=1
check() {
	local name=$1 expected=$2 actual=$3
	if [ "${ORDERED:-0}" != 1 ]; then
		expected=$(printf '%s\n' "$expected" | sed '/^$/d' | sort)
		actual=$(printf '%s\n' "$actual" | sed '/^$/d' | sort)
	fi
	if [ "$expected" = "$actual" ]; then
		pass "$name"
	else
		fail "$name"
		echo "    expected:"; printf '%s\n' "$expected" | sed 's/^/      /'
		echo "    got:"; printf '%s\n' "$actual" | sed 's/^/      /'
	fi
}

# canonical form of the lines between marker A and marker B of the output:
#   op c=<contact> <id key>=<ids, ascending> [more=<n>]
cat >"$work/between.py" <<'PY'
import json, sys
path, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
raw = len(sys.argv) > 4 and sys.argv[4] == "raw"
inside = a < 0
for line in open(path):
    line = line.rstrip("\n")
    try:
        obj = json.loads(line)
    except ValueError:
        print("NOT JSON: " + line)
        continue
    if obj.get("op") == "marker":
        if obj.get("n") == a:
            inside = True
        elif obj.get("n") == b:
            break
        continue
    if not inside:
        continue
    if raw:
        print(line)
        continue
    words = [str(obj.get("op"))]
    if "contact" in obj:
        words.append("c=%s" % obj["contact"])
    for key in sorted(obj):
        if key in ("op", "contact"):
            continue
        v = obj[key]
        if isinstance(v, list):
            words.append("%s=%s" % (key, ",".join(str(i) for i in sorted(v))))
        else:
            words.append("%s=%s" % (key, v))
    print(" ".join(words))
PY

# step [raw]: send the next marker, wait for the listener to print it, and
# print the canonical lines of what came since the previous marker.  The
# marker count lives in a file: step runs in $(...) subshells.  When the
# relay does not empty or the marker does not arrive in time (the listener
# died, say), step says so in its output (the step's check fails, also one
# that expects no notification) and in $work/step.failed (counted at the end,
# also for steps whose output is thrown away).
relay_empty() { [ "$(sql -c 'SELECT inbox.notify_relay_queue()')" = 0 ]; }
step_failed() {
	echo "STEP FAILED: $1 (listener $(kill -0 "$listener" 2>/dev/null && echo running || echo gone))" |
		tee -a "$work/step.failed" >&2
	echo "STEP FAILED: $1"
}
step() {
	local marker n
	marker=$(cat "$work/marker")
	n=$((marker + 1))
	echo "$n" >"$work/marker"
	# the background worker sends inbox's notifications: the marker goes after them
	wait_until 5 relay_empty || step_failed "marker $n: the relay still holds notifications after 5 s"
	sql -c "NOTIFY inbox_1, '{\"op\": \"marker\", \"n\": $n}'"
	if ! wait_until 10 grep -q "\"op\": \"marker\", \"n\": $n}" "$out"; then
		step_failed "marker $n not received within 10 s"
		return 1
	fi
	python3 "$work/between.py" "$out" "$marker" "$n" "$@"
}

# -------------------------------------------------------------------------
# cluster, schema, listener

cluster_init "$data" || exit 1
cat >>"$data/postgresql.conf" <<CONF
shared_preload_libraries = 'inbox'
max_connections = 20
max_prepared_transactions = 4
CONF
start() { as_pg "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w -t 60 start >/dev/null; }
start || { cat "$work/server.log"; exit 1; }
psql -X -q -h "$work" -p "$port" -U postgres -d postgres -c "CREATE DATABASE inbox" || exit 1
sql <<'SQL' >/dev/null || exit 1
CREATE EXTENSION inbox CASCADE;
SELECT inbox.create_space('notify');                    -- 1
SELECT inbox.create_space('other');                     -- 2
SELECT inbox.create_agent(1, 'Agent One');              -- 1
SELECT inbox.create_agent(1, 'Agent Two');              -- 2
SELECT inbox.create_channel(1, 'telegram', 'tg');       -- 1
SELECT inbox.create_channel(2, 'telegram', 'tg other'); -- 2
SQL

"$worker" listen --space 1 -d "host=$work port=$port dbname=inbox user=postgres" >"$out" 2>"$work/listen.err" &
listener=$!
if ! wait_until 5 grep -q 'listening on inbox_1' "$work/listen.err"; then
	fail "listener started"; cat "$work/listen.err"; echo "$passed passed, $failed failed"; exit 1
fi
echo -1 >"$work/marker"
step >/dev/null				# marker 0: the listener is live

max_id() { sql -c "SELECT coalesce(max(id), 0) FROM inbox.$1"; }
# first_message REF: a new sender's first message on channel 1; sets fm (the
# message), fc (the contact), fv (its conversation), fe (the conversation's event)
first_message() {
	fm=$(sql -c "SELECT inbox.receive_message(1, 1, '$1', 'SECRETBODY from $1')")
	read -r fc fv < <(sql -F ' ' -c "SELECT contact_id, conversation_id FROM inbox.message WHERE id = $fm")
	fe=$(sql -c "SELECT id FROM inbox.event WHERE contact_id = $fc AND kind = 'conversation_opened'")
}
# events written since event id $1, as the canonical line of one contact
events_since() { sql -c "SELECT 'event c=' || contact_id || ' event=' || string_agg(id::text, ',' ORDER BY id) FROM inbox.event WHERE id > $1 GROUP BY contact_id"; }

# -------------------------------------------------------------------------
# one API call at a time

m1=$(sql -c "SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY hello', profile => '{\"first_name\": \"Secretname\"}')")
c=$(sql -c "SELECT contact_id FROM inbox.message WHERE id = $m1")
conv=$(sql -c "SELECT conversation_id FROM inbox.message WHERE id = $m1")
e=$(sql -c "SELECT id FROM inbox.event WHERE contact_id = $c AND kind = 'conversation_opened'")
check "receive_message, new sender: contact, conversation, message and event" \
	"contact_created c=$c
conversation_opened c=$c conversation=$conv
message c=$c message=$m1
event c=$c event=$e" "$(step)"

m2=$(sql -c "SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY again')")
check "receive_message, known sender: the message only" "message c=$c message=$m2" "$(step)"

sql -c "SELECT inbox.mark_read(1, $c, 1)" >/dev/null
check "mark_read: read" "read c=$c" "$(step)"

ev=$(max_id event)
m3=$(sql -c "SELECT inbox.send_message(1, $c, 1, 'SECRETBODY reply', 1)")
check "send_message by a user to an unassigned contact: message, assignment and its event" \
	"message c=$c message=$m3
assignment c=$c
$(events_since "$ev")" "$(step)"

sql -c "SELECT inbox.set_message_status(1, $m3, 'sent')" >/dev/null
check "set_message_status: message_status" "message_status c=$c message=$m3" "$(step)"

ev=$(max_id event)
sql -c "SELECT inbox.assign(1, $c, 2)" >/dev/null
check "assign to another agent: assignment and its event" \
	"assignment c=$c
$(events_since "$ev")" "$(step)"

ev=$(max_id event)
sql -c "SELECT inbox.close_conversation(1, $c, 'user', 1)" >/dev/null
check "close_conversation: conversation_closed, assignment, both events in one notification" \
	"conversation_closed c=$c conversation=$conv
assignment c=$c
$(events_since "$ev")" "$(step)"
[ "$(sql -c "SELECT count(*) FROM inbox.event WHERE id > $ev")" = 2 ] || fail "close_conversation wrote 2 events"

ev=$(max_id event)
conv2=$(sql -c "SELECT inbox.open_conversation(1, $c, 'user', 1)")
check "open_conversation: conversation_opened and its event" \
	"conversation_opened c=$c conversation=$conv2
$(events_since "$ev")" "$(step)"

e=$(sql -c "SELECT inbox.record_event(1, $c, 'page_change', 'contact', source_url => 'https://example.com/SECRETURL')")
check "record_event: event" "event c=$c event=$e" "$(step)"

sql -c "UPDATE inbox.contact SET first_name = 'Secretrenamed', tags = '{vip}' WHERE id = $c" >/dev/null
check "direct UPDATE of a contact: contact" "contact c=$c" "$(step)"

sql -c "UPDATE inbox.contact SET first_name = first_name WHERE id = $c" >/dev/null
check "UPDATE that changes nothing: no notification" "" "$(step)"

ev=$(max_id event)
sql -c "SELECT inbox.snooze(1, $c, now() + interval '1 hour', 1)" >/dev/null
check "snooze: snooze and its event" "snooze c=$c
$(events_since "$ev")" "$(step)"
ev=$(max_id event)
sql -c "SELECT inbox.unsnooze(1, $c, 1)" >/dev/null
check "unsnooze: snooze and its event" "snooze c=$c
$(events_since "$ev")" "$(step)"

sql -c "UPDATE inbox.conversation SET reference = 'ad-7', source_url = 'https://example.com/SECRETURL' WHERE id = $conv2" >/dev/null
check "direct UPDATE of a conversation's reference and source_url: conversation" "conversation c=$c conversation=$conv2" "$(step)"

sql -c "UPDATE inbox.message SET body = 'SECRETBODY edited' WHERE id = $m2" >/dev/null
check "direct UPDATE of a message's body: message_updated" "message_updated c=$c message=$m2" "$(step)"
sql -c "DELETE FROM inbox.message WHERE id = $m2" >/dev/null
check "DELETE of a message: message_deleted" "message_deleted c=$c message=$m2" "$(step)"

# a contact made by hand with a conversation opened for it: deleting the
# conversation takes its event along
x=$(sql -c "INSERT INTO inbox.contact (space_id, first_name) VALUES (1, 'Secretxavier') RETURNING id")
ev=$(max_id event)
xconv=$(sql -c "SELECT inbox.open_conversation(1, $x, 'user', 1)")
xev=$(sql -c "SELECT id FROM inbox.event WHERE contact_id = $x")
step >/dev/null
sql -c "DELETE FROM inbox.conversation WHERE id = $xconv" >/dev/null
check "DELETE of a conversation: conversation_deleted, event_deleted of its event" \
	"conversation_deleted c=$x conversation=$xconv
event_deleted c=$x event=$xev" "$(step)"

# deleting a contact deletes its identity, conversation, messages and events
first_message yara
ym=$fm y=$fc yconv=$fv yev=$fe
step >/dev/null
sql -c "DELETE FROM inbox.contact WHERE id = $y" >/dev/null
check "DELETE of a contact: contact_deleted, and the deletes of its conversation, message and event" \
	"contact_deleted c=$y
conversation_deleted c=$y conversation=$yconv
message_deleted c=$y message=$ym
event_deleted c=$y event=$yev" "$(step)"

# merge: Walt keeps, Zoe is merged into him.  Both have an open conversation:
# Zoe's (the newer) absorbs Walt's, and goes to Walt with her message and
# event; each moved row is told to the contact it left and the one it joined
first_message walt
wm=$fm w=$fc wconv=$fv wev=$fe
first_message zoe
zm=$fm z=$fc zconv=$fv zev=$fe
step >/dev/null
sql -c "SELECT inbox.merge_contacts(1, $w, $z, 'user', 1)" >/dev/null
merged_ev=$(sql -c "SELECT id FROM inbox.event WHERE contact_id = $w AND kind = 'contact_merged'")
check "merge_contacts: the merged contact, every moved row (to both contacts), the absorbed conversation, the event" \
	"contact c=$z
read c=$z
conversation c=$w conversation=$zconv
conversation c=$z conversation=$zconv
conversation_deleted c=$w conversation=$wconv
message_updated c=$w message=$wm,$zm
message_updated c=$z message=$zm
event_updated c=$w event=$wev,$zev
event_updated c=$z event=$zev
event c=$w event=$merged_ev" "$(step)"
sql -c "SELECT inbox.unmerge_contacts(1, $w, $z, 'user', 1)" >/dev/null
unmerged_ev=$(sql -c "SELECT id FROM inbox.event WHERE contact_id = $w AND kind = 'contact_unmerged'")
check "unmerge_contacts: both contacts, every row moved back, the restored conversation, the event" \
	"contact c=$z
read c=$w
conversation c=$w conversation=$zconv
conversation c=$z conversation=$zconv
conversation_opened c=$w conversation=$wconv
message_updated c=$w message=$wm,$zm
message_updated c=$z message=$zm
event_updated c=$w event=$wev,$zev,$merged_ev
event_updated c=$z event=$zev
event c=$w event=$unmerged_ev" "$(step)"

# -------------------------------------------------------------------------
# transactions

mb=$(max_id message); ev=$(max_id event)
sql >/dev/null <<SQL
BEGIN;
SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY t1');
SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY t2');
SELECT inbox.receive_message(1, 1, 'bob', 'SECRETBODY t3');
SELECT inbox.receive_message(1, 1, 'bob', 'SECRETBODY t4');
SELECT inbox.mark_read(1, $c, 1);
SELECT inbox.record_event(1, $c, 'page_change', 'contact');
SELECT inbox.record_event(1, $c, 'page_change', 'contact');
COMMIT;
SQL
b=$(sql -c "SELECT contact_id FROM inbox.contact_channel WHERE external_id = 'bob'")
bconv=$(sql -c "SELECT id FROM inbox.conversation WHERE contact_id = $b")
check "multi-statement transaction: one notification per contact and op" \
	"$(sql -c "SELECT 'message c=' || contact_id || ' message=' || string_agg(id::text, ',' ORDER BY id) FROM inbox.message WHERE id > $mb GROUP BY contact_id")
read c=$c
contact_created c=$b
conversation_opened c=$b conversation=$bconv
$(events_since "$ev")" "$(step)"

sql >/dev/null <<SQL
BEGIN;
SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY rolled back');
SELECT inbox.receive_message(1, 1, 'carol', 'SECRETBODY rolled back');
SELECT inbox.assign(1, $c, 1);
ROLLBACK;
SQL
check "ROLLBACK: no notification" "" "$(step)"

ma=$(sql -At <<SQL | grep -E '^[0-9]+$' | tr '\n' ' '
BEGIN;
SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY kept 1');
SAVEPOINT s;
SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY dropped');
SELECT inbox.receive_message(1, 1, 'dave', 'SECRETBODY dropped');
SELECT inbox.record_event(1, $c, 'page_change', 'contact');
ROLLBACK TO s;
SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY kept 2');
COMMIT;
SQL
)
read -r ka _ _ _ kb <<<"$ma"
check "ROLLBACK TO SAVEPOINT: only what the savepoint did not undo" "message c=$c message=$ka,$kb" "$(step)"

md=$(sql -At <<SQL | grep -E '^[0-9]+$' | tail -1
BEGIN;
SAVEPOINT s1;
SAVEPOINT s2;
SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY dropped');
RELEASE s2;
SELECT inbox.close_conversation(1, $c, 'user', 1);
ROLLBACK TO s1;
DO \$\$ BEGIN
	PERFORM inbox.receive_message(1, 1, 'alice', 'SECRETBODY dropped');
	RAISE EXCEPTION 'undo';
EXCEPTION WHEN raise_exception THEN NULL;
END \$\$;
SELECT inbox.receive_message(1, 1, 'bob', 'SECRETBODY kept');
COMMIT;
SQL
)
check "nested savepoints and a PL/pgSQL exception block: nothing they undid" "message c=$b message=$md" "$(step)"

sql >/dev/null <<SQL
SET inbox.notify = off;
SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY quiet');
SQL
check "inbox.notify = off: no notification" "" "$(step)"

# one server connection serving two clients one after the other, as a
# transaction-pooling proxy (PgBouncer pool_mode = transaction) uses it: a
# SET LOCAL of the first client ends with its transaction, a SET leaks into
# the second client's
pooled=$(sql <<SQL
BEGIN;
SET LOCAL inbox.notify = off;
SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY client A, quiet');
COMMIT;
SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY client B');
SQL
)
check "SET LOCAL inbox.notify = off: that transaction is quiet, the next one on the connection notifies" \
	"message c=$c message=$(tail -1 <<<"$pooled")" "$(step)"
sql >/dev/null <<SQL
BEGIN;
SET inbox.notify = off;
SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY client A, quiet');
COMMIT;
SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY client B, silenced');
SQL
check "SET inbox.notify = off (not LOCAL) silences the next transaction on the connection too" "" "$(step)"

sql -c "SELECT inbox.receive_message(2, 2, 'zed', 'SECRETBODY other space')" >/dev/null
check "a change in space 2: nothing on inbox_1" "" "$(step)"

# a prepared transaction (two-phase commit, as Citus commits a transaction
# that wrote on several nodes): nothing at PREPARE, while other transactions'
# notifications go on; everything at COMMIT PREPARED (from another session);
# nothing at all after ROLLBACK PREPARED
mp=$(sql -At <<SQL | grep -E '^[0-9]+$'
BEGIN;
SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY prepared');
SELECT inbox.record_event(1, $c, 'page_change', 'contact');
PREPARE TRANSACTION 'inbox_notify_p1';
SQL
)
read -r mp pe <<<"$(echo $mp)"
check "PREPARE TRANSACTION of a transaction that wrote a message and an event: prepared" \
	"1 message event" "$(sql -c "SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'inbox_notify_p1'") ${mp:+message} ${pe:+event}"
mo=$(sql -c "SELECT inbox.receive_message(1, 1, 'bob', 'SECRETBODY while prepared')")
check "prepared, not committed: nothing of it; a later commit's notifications are sent" "message c=$b message=$mo" "$(step)"
sql -c "COMMIT PREPARED 'inbox_notify_p1'" >/dev/null
check "COMMIT PREPARED: the prepared transaction's notifications" \
	"message c=$c message=$mp
event c=$c event=$pe" "$(step)"
mb=$(max_id message)
sql >/dev/null <<SQL
BEGIN;
SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY prepared then rolled back');
SELECT inbox.receive_message(1, 1, 'erin', 'SECRETBODY prepared then rolled back');
PREPARE TRANSACTION 'inbox_notify_p2';
SQL
check "a second prepared transaction: nothing before its end" "" "$(step)"
sql -c "ROLLBACK PREPARED 'inbox_notify_p2'" >/dev/null
check "ROLLBACK PREPARED: no notification" "" "$(step)"
check "ROLLBACK PREPARED: no message kept" 0 "$(sql -c "SELECT count(*) FROM inbox.message WHERE id > $mb")"
check "... and none later either" "" "$(step)"

# more than 1,000 notifications on a space in one transaction: one bulk
# instead; 1,000 are sent one by one; a bulk of space 2 is not on inbox_1
sql -c "INSERT INTO inbox.contact (space_id, first_name) SELECT 1, 'many' FROM generate_series(1, 1001)" >/dev/null
check "1,001 contacts inserted in one statement: one bulk notification" "bulk changes=1001" "$(step)"
first_contact=$(max_id contact)
sql -c "INSERT INTO inbox.contact (space_id, first_name) SELECT 1, 'many' FROM generate_series(1, 1000)" >/dev/null
check "1,000 contacts inserted in one statement: 1,000 contact_created" \
	"$(sql -c "SELECT 'contact_created c=' || id FROM inbox.contact WHERE id > $first_contact")" "$(step)"
sql -c "INSERT INTO inbox.contact (space_id, first_name) SELECT 2, 'many' FROM generate_series(1, 1001)" >/dev/null
check "a bulk of space 2: nothing on inbox_1" "" "$(step)"

# -------------------------------------------------------------------------
# commit order, two sessions (psql reading from FIFOs)

session() {
	mkfifo "$work/s$1.in"
	psql -X -q -At -h "$work" -p "$port" -U postgres -d inbox <"$work/s$1.in" >"$work/s$1.out" 2>&1 &
	session_pids+=($!)
}
# say N SQL: run SQL in session N and wait until it is done
say() {
	local n=$1 i tag="done-$RANDOM$RANDOM"
	printf '%s\n\\echo %s\n' "$2" "$tag" >&"$((n + 6))"
	for i in $(seq 1 200); do grep -q "$tag" "$work/s$n.out" && return 0; sleep 0.05; done
	echo "    session $n did not finish: $2"; return 1
}
session 1; exec 7>"$work/s1.in"
session 2; exec 8>"$work/s2.in"

say 1 "BEGIN; SELECT inbox.record_event(1, $c, 'page_change', 'contact');"
say 2 "BEGIN; SELECT inbox.record_event(1, $c, 'page_change', 'contact');"
e1=$(grep -E '^[0-9]+$' "$work/s1.out" | tail -1)
e2=$(grep -E '^[0-9]+$' "$work/s2.out" | tail -1)
say 2 "COMMIT;"
say 1 "COMMIT;"
ORDERED=1 check "same contact, two sessions, the later one commits first: commit order" \
	"event c=$c event=$e2
event c=$c event=$e1" "$(step)"

say 1 "BEGIN; SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY first');"
say 2 "BEGIN; SELECT inbox.receive_message(1, 1, 'bob', 'SECRETBODY second');"
say 2 "COMMIT;"
say 1 "COMMIT;"
m1=$(grep -E '^[0-9]+$' "$work/s1.out" | tail -1)
m2=$(grep -E '^[0-9]+$' "$work/s2.out" | tail -1)
ORDERED=1 check "two contacts, two sessions: commit order, not id order" \
	"message c=$b message=$m2
message c=$c message=$m1" "$(step)"
exec 7>&- 8>&-

# -------------------------------------------------------------------------
# bulk: one INSERT ... SELECT of 100,000 events, and one of 20,000 messages
# (INBOX_NOTIFY_BULK_MESSAGES), for 25 contacts.  Messages are fewer because
# inserting N messages in one transaction takes time in N squared, whatever
# inbox.notify says (each row's trigger updates its contact row again; 10,000
# take 4 s, 100,000 more than 8 minutes).

for i in $(seq 1 25); do sql -c "SELECT inbox.receive_message(1, 1, 'bulk$i', 'SECRETBODY')" >/dev/null; done
step >/dev/null

# bulk_check NAME TABLE OP ROWS SQL
bulk_check() {
	local name=$1 table=$2 op=$3 rows=$4 insert=$5 before t0 t1 inserted verdict nlines maxlen total ncontacts
	before=$(max_id "$table")
	t0=$(date +%s.%N)
	sql -c "$insert" >/dev/null
	t1=$(date +%s.%N)
	step raw >"$work/bulk.out"
	inserted=$(sql -c "SELECT count(*) FROM inbox.$table WHERE id > $before")
	verdict=$(python3 - "$work/bulk.out" "$op" <<'PY'
import json, sys
lines = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip()]
op = sys.argv[2]
total = 0
contacts = set()
for l in lines:
    o = json.loads(l)
    if o["op"] == op:
        total += len(o[op]) + o.get("more", 0)
        contacts.add(o["contact"])
print(len(lines), max((len(l.encode()) for l in lines), default=0), total, len(contacts))
PY
)
	read -r nlines maxlen total ncontacts <<<"$verdict"
	# bounded: a few ops per contact (the message, unread count, ...), never per row
	if [ "$inserted" = "$rows" ] && [ "$nlines" -ge 25 ] && [ "$nlines" -le 100 ] && [ "$maxlen" -lt 8000 ] &&
		[ "$total" = "$rows" ] && [ "$ncontacts" = 25 ]; then
		pass "$name ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s): $nlines notifications, longest $maxlen bytes, ids + \"more\" = $total"
	else
		fail "$name: inserted=$inserted notifications=$nlines longest=$maxlen bytes ids+more=$total contacts=$ncontacts"
	fi
}

bulk_check "bulk INSERT ... SELECT of 100,000 events (25 contacts)" event event 100000 "
INSERT INTO inbox.event (space_id, contact_id, kind, actor_kind, source_url)
SELECT 1, cc.contact_id, 'page_change', 'contact', 'https://example.com/SECRETURL'
FROM generate_series(1, 100000) g
JOIN inbox.contact_channel cc ON cc.channel_id = 1 AND cc.external_id = 'bulk' || (1 + g % 25)"

bulk_messages=${INBOX_NOTIFY_BULK_MESSAGES:-20000}
bulk_check "bulk INSERT ... SELECT of $bulk_messages messages (25 contacts)" message message "$bulk_messages" "
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_kind, body, status)
SELECT 1, cc.contact_id, 1, 'incoming', 'contact', 'SECRETBODY bulk ' || g, 'received'
FROM generate_series(1, $bulk_messages) g
JOIN inbox.contact_channel cc ON cc.channel_id = 1 AND cc.external_id = 'bulk' || (1 + g % 25)"

# -------------------------------------------------------------------------
# every payload so far: a JSON object of op, contact and ids only

bad=$(python3 - "$out" <<'PY'
import json, sys
bad = []
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    o = json.loads(line)
    if o.get("op") == "marker":
        continue
    # every payload names its contact, but bulk, which stands for many
    ok = isinstance(o.get("op"), str) and len(line.encode()) < 8000 and (
        isinstance(o.get("contact"), int) or (o.get("op") == "bulk" and "contact" not in o))
    for k, v in o.items():
        if k in ("op", "contact"):
            continue
        if not (isinstance(v, int) or (isinstance(v, list) and all(isinstance(i, int) for i in v))):
            ok = False
    for word in ("SECRET", "Secret", "example.com", "Agent"):
        if word in line:
            ok = False
    if not ok:
        bad.append(line)
print(len(bad))
for b in bad[:5]:
    print("    " + b)
PY
)
total_lines=$(grep -vc '"marker"' "$out")
if [ "$(head -1 <<<"$bad")" = 0 ]; then
	pass "all $total_lines payloads: op, contact and ids only (no body, name or URL), each < 8000 bytes"
else
	fail "payloads with more than ids: $bad"
fi

# -------------------------------------------------------------------------
# who sends: the database's background worker (inbox.notify_relay, the
# default), else the committing backend itself

# senders PGOPTIONS: the PIDs that sent the notifications of one
# receive_message run with those options, and the caller's PID
senders() {
	PGAPPNAME=senders psql -X -q -h "$work" -p "$port" -U postgres -d inbox -c "LISTEN inbox_1" -c "SELECT pg_sleep(1.5)" \
		>"$work/senders.out" 2>&1 &
	local lp=$!
	# it listens once it sleeps
	listening() { [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'senders' AND query LIKE '%pg_sleep%'")" = 1 ]; }
	wait_until 5 listening || echo "    the senders' listener did not start within 5 s"
	caller=$(PGOPTIONS="-c client_min_messages=warning $1" psql -X -q -At -h "$work" -p "$port" -U postgres -d inbox \
		-c "SELECT pg_backend_pid() FROM inbox.receive_message(1, 1, 'alice', 'SECRETBODY who sends') m")
	wait "$lp"
	sent_by=$(grep -o 'server process with PID [0-9]*' "$work/senders.out" | awk '{print $NF}' | sort -u | tr '\n' ' ')
}
worker_pid() { sql -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'inbox worker' AND datname = 'inbox'"; }

wpid=$(worker_pid)
senders ""
if [ -n "$wpid" ] && [ "$sent_by" = "$wpid " ]; then
	pass "inbox.notify_relay on: the background worker sends the notifications (PID $wpid)"
else
	fail "inbox.notify_relay on: sent by '$sent_by', worker '$wpid', caller '$caller'"
fi
check "inbox.notify_relay_queue() is 0 once they are sent" 0 "$(sql -c 'SELECT inbox.notify_relay_queue()')"
senders "-c inbox.notify_relay=off"
check "inbox.notify_relay off: the committing backend sends them itself" "$caller " "$sent_by"

no_worker() { [ -z "$(worker_pid)" ]; }
a_worker() { [ -n "$(worker_pid)" ]; }
sql -c "ALTER SYSTEM SET inbox.snooze_worker = off" -c "SELECT pg_reload_conf()" >/dev/null
wait_until 5 no_worker
senders ""
check "no worker (inbox.snooze_worker off): the committing backend sends them itself" "$caller " "$sent_by"
sql -c "ALTER SYSTEM RESET inbox.snooze_worker" -c "SELECT pg_reload_conf()" >/dev/null
wait_until 10 a_worker
senders ""
wpid=$(worker_pid)
check "the worker back: it sends them again" "$wpid " "$sent_by"
step >/dev/null				# the messages of this part are not the next step's

# none lost: 4 writers x 1,000 calls while the worker is stopped and started
# again; every committed message is announced, none is left in the relay
first=$(max_id message)
for w in 1 2 3 4; do
	(for g in $(seq 1 1000); do echo "SELECT inbox.receive_message(1, 1, 'load$w-$((g % 7))', 'SECRETBODY load');"; done) |
		PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -h "$work" -p "$port" -U postgres -d inbox >/dev/null 2>&1 &
	session_pids+=($!)
done
writers_running() { local p k=0; for p in "${session_pids[@]: -4}"; do kill -0 "$p" 2>/dev/null && k=$((k + 1)); done; echo "$k"; }
# loaded N: more than N load messages are committed
loaded() { [ "$(sql -c "SELECT count(*) FROM inbox.message WHERE id > $first")" -gt "$1" ]; }
wait_until 10 loaded 100 || echo "    the writers committed nothing within 10 s"
sql -c "ALTER SYSTEM SET inbox.snooze_worker = off" -c "SELECT pg_reload_conf()" >/dev/null
wait_until 5 no_worker
off_at=$(sql -c "SELECT count(*) FROM inbox.message WHERE id > $first")
# the writers go on committing while no worker runs
wait_until 10 loaded $((off_at + 100))
while_off="$(no_worker && echo no-worker) $(writers_running) writers, $( loaded $((off_at + 100)) && echo committing)"
sql -c "ALTER SYSTEM RESET inbox.snooze_worker" -c "SELECT pg_reload_conf()" >/dev/null
check "the 4 writers committed while the worker was stopped" "no-worker 4 writers, committing" "$while_off"
wait "${session_pids[@]: -4}" 2>/dev/null
relay_done() { a_worker && relay_empty; }
wait_until 10 relay_done
check "the relay is empty after the load" 0 "$(sql -c 'SELECT inbox.notify_relay_queue()')"
committed=$(sql -c "SELECT string_agg(id::text, ' ' ORDER BY id) FROM inbox.message WHERE id > $first")
announced=$(step | awk '$1 == "message" { sub("message=", "", $3); gsub(",", " ", $3); print $3 }' | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')
check "every one of the $(wc -w <<<"$committed") messages committed under load (worker stopped and started meanwhile) was announced once" \
	"$committed" "$announced"

# while writers keep committing, the worker is busy sending their
# notifications; a snooze set meanwhile still wakes it, and the contact comes
# back on time; when the writers stop, their last notifications go out with
# no later commit to wake the worker
for w in 1 2; do
	(for g in $(seq 1 100000); do echo "SELECT inbox.receive_message(1, 1, 'poll$w', 'SECRETBODY poll');"; done) |
		PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -h "$work" -p "$port" -U postgres -d inbox >/dev/null 2>&1 &
	session_pids+=($!)
done
polled() { [ "$(sql -c "SELECT count(*) FROM inbox.message WHERE body = 'SECRETBODY poll'")" -gt 100 ]; }
wait_until 10 polled || echo "    the 2 writers committed nothing within 10 s"
snoozed=$(sql -c "SELECT contact_id FROM inbox.contact_channel WHERE channel_id = 1 AND external_id = 'alice'")
sql -c "SELECT inbox.snooze(1, $snoozed, now() + interval '1 s', 1)" >/dev/null
back=no
for i in $(seq 1 25); do
	sleep 0.1
	[ "$(sql -c "SELECT snoozed_until IS NULL FROM inbox.contact WHERE id = $snoozed")" = t ] && { back=yes; break; }
done
running=0
for p in "${session_pids[@]: -2}"; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
check "a contact snoozed for 1 s while 2 writers keep committing is back within 2.5 s (writers running, back)" \
	"2 yes" "$running $back"
# the writers' psql processes and their backends stop (the pipeline's subshell goes with them)
for p in "${session_pids[@]: -2}"; do kill "$p" 2>/dev/null; done
wait "${session_pids[@]: -2}" 2>/dev/null
sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%''poll%' AND pid <> pg_backend_pid()" >/dev/null
left=-1
for i in $(seq 1 20); do
	sleep 0.1
	left=$(sql -c 'SELECT inbox.notify_relay_queue()')
	[ "$left" = 0 ] && break
done
check "the writers stopped: their last notifications are sent within 2 s, with no later commit" 0 "$left"
step >/dev/null

# -------------------------------------------------------------------------
# the server goes away and comes back

as_pg "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null
# the listener has seen the server go and retries with backoff meanwhile
wait_until 10 grep -q 'connection lost' "$work/listen.err"
start || { cat "$work/server.log"; exit 1; }
wait_until 10 grep -q '"op":"resync"' "$out"
if grep -q '^{"op":"resync"}$' "$out" && kill -0 "$listener" 2>/dev/null; then
	pass "server restart: the listener reconnected and printed {\"op\":\"resync\"}"
else
	fail "server restart: no {\"op\":\"resync\"} (listener stderr: $(tail -3 "$work/listen.err" | tr '\n' ' '))"
fi
m=$(sql -c "SELECT inbox.receive_message(1, 1, 'alice', 'SECRETBODY after restart')")
check "after the restart the listener keeps receiving" "message c=$c message=$m" "$(step | grep -v '^resync')"

kill -TERM "$listener"
gone() { ! kill -0 "$1" 2>/dev/null; }
wait_until 5 gone "$listener" || kill -KILL "$listener"
wait "$listener"; rc=$?
listener=
if [ "$rc" = 0 ]; then pass "SIGTERM: the listener exits with status 0"; else fail "SIGTERM: exit status $rc"; fi

[ -s "$work/step.failed" ] && fail "$(wc -l <"$work/step.failed") steps did not complete (see STEP FAILED above)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
