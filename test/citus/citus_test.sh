#!/usr/bin/env bash
# test/citus/citus_test.sh: inbox 2.0 on a Citus cluster, through the
# coordinator, as on one server.
#
# Builds and installs Citus from CITUS_SRC (build.sh), starts a coordinator and
# two workers on localhost (cluster.sh), CREATE EXTENSION inbox on the
# coordinator only and SELECT inbox.distribute(), then proves, with spaces on
# both workers:
#   - Citus gave every node inbox 2.0, and each node runs its background worker;
#   - the rules: auto-open, user reply opens and assigns, close unassigns (with
#     its events and actor), unread, last_message, reply-to, the messaging
#     window (55000 and the template that passes it);
#   - ids are unique across the cluster: each node draws from its own range;
#   - the races of test/isolation, staged step by step with psql sessions (the
#     second one waits for the first's lock on the space's node) and run free
#     by two sessions at once over many contacts: two agents replying to an
#     unassigned contact (one assignee, one assigned event), the same first
#     message twice (one contact, one conversation), close against an
#     incoming message (no message lands in a closed conversation);
#     check_integrity() empty after each;
#   - a transaction writing spaces on both workers commits (two-phase) and
#     both spaces' listeners get its notifications; a rolled back one leaves
#     no row and no notification;
#   - inbox-worker listen --space N through the coordinator listens on the
#     space's node; while citus_move_shard_placement moves the space to the
#     other worker and messages keep arriving, it follows the space, prints
#     {"op":"resync"}, then the notifications of messages received after the
#     move; no message is lost; nothing of another space is printed;
#   - contacts snoozed for ~1.5 s in spaces on both workers are woken once
#     each (actor system, within 2 s of their time), and so is one whose
#     space moves to the other worker before its time;
#   - a role bound to an agent of one space sees that space's rows only, gets
#     P0002 for an id of another space from the API and 42501 for direct
#     writes;
#   - check_integrity() from the coordinator answers for every node: empty
#     when healthy, reports a violation made on purpose on each worker, and is
#     empty again once they are repaired.
# Without CITUS_SRC it prints "citus: skipped (no CITUS_SRC)" and counts
# nothing.  Prints one line per check and finally "N passed, N failed".
#
# Usage: CITUS_SRC=/path/to/citus bash test/citus/citus_test.sh
#        (as root or as a user who can run initdb; needs inbox installed)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

if [ -z "${CITUS_SRC:-}" ]; then
	echo "citus: skipped (no CITUS_SRC)"
	echo "0 passed, 0 failed"
	exit 0
fi

source test/citus/cluster.sh

bindir=$(pg_config --bindir)
citus_port=${INBOX_CITUS_PORT:-$((${INBOX_PORT_BASE:-5500} + 90))}
work=$(mktemp -d /tmp/inbox-citus.XXXXXX)
worker=./worker/inbox-worker
[ -x "$worker" ] || worker=$bindir/inbox-worker
background=()
declare -A session_fd session_steps

cleanup() {
	local p
	for p in "${background[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${session_fd[@]}"; do eval "exec $p>&-"; done
	wait 2>/dev/null
	citus_cleanup >/dev/null 2>&1
}
trap cleanup EXIT

verdict() { echo "$passed passed, $failed failed"; [ "$failed" = 0 ]; }
# give up: the rest cannot run
abort() { fail "$1"; verdict; exit 1; }

# sql ARGS...: psql on the coordinator, one value per line, stop on error
sql() { citus_sql coordinator "$@"; }
# on NODE ARGS...: the same on one node
on() { citus_sql "$@"; }
# as_role ROLE ARGS...: psql on the coordinator as a login role
as_role() {
	local role=$1
	shift
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -h "$work/coordinator" -p "$citus_port" -U "$role" \
		-d "$citus_db" -v ON_ERROR_STOP=1 "$@"
}
# sqlstate [ROLE] SQL: the SQLSTATE the statement fails with, or "no error"
sqlstate() {
	local role=postgres out
	[ $# = 2 ] && { role=$1; shift; }
	out=$(as_role "$role" -v VERBOSITY=sqlstate -c "$1" 2>&1 >/dev/null)
	if [ -z "$out" ]; then echo "no error"; else echo "$out" | sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\).*/\1/p' | head -1; fi
}
# the node (worker1, worker2) that holds a space
node_of() {
	local p
	p=$(sql -c "SELECT port FROM inbox.space_node($1)")
	case $p in
	"$(citus_node_port worker1)") echo worker1 ;;
	"$(citus_node_port worker2)") echo worker2 ;;
	*) echo "none($p)" ;;
	esac
}
other_worker() { if [ "$1" = worker1 ]; then echo worker2; else echo worker1; fi; }
# receive_contact SPACE CHANNEL REF BODY [ARGUMENTS]: receive_message, print
# the sender's contact (an API call runs on its own: inside a query of a
# distributed table Citus would run it on a shard, where it may not query
# other tables)
receive_contact() {
	local m
	m=$(sql -c "SELECT inbox.receive_message($1, $2, '$3', '$4'${5:+, $5})") || return 1
	sql -c "SELECT contact_id FROM inbox.message WHERE space_id = $1 AND id = $m"
}
integrity() { sql -c "SELECT string_agg(invariant || ': ' || violations || ' (' || example || ')', '; ') FROM inbox.check_integrity()"; }

# ---------------------------------------------------------------------------
# sessions: a psql on the coordinator that runs steps sent to it one by one,
# for races staged step by step (as test/isolation does on one server)

# session_open NAME
session_open() {
	local fd
	mkfifo "$work/$1.in"
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -h "$work/coordinator" -p "$citus_port" -U postgres \
		-d "$citus_db" -v VERBOSITY=sqlstate <"$work/$1.in" >"$work/$1.out" 2>&1 &
	background+=($!)
	exec {fd}>"$work/$1.in"
	session_fd[$1]=$fd
	session_steps[$1]=0
}
# session_send NAME SQL: send a step, do not wait for it
session_send() {
	local n=$((session_steps[$1] + 1))
	session_steps[$1]=$n
	printf '%s\n\\echo @@step %s\n' "$2" "$n" >&"${session_fd[$1]}"
}
# session_done NAME: its last step has finished
session_done() { grep -qx "@@step ${session_steps[$1]}" "$work/$1.out"; }
# session_run NAME SQL: a step that must finish within 10 s
session_run() {
	session_send "$1" "$2"
	wait_until 10 session_done "$1" || { echo "  session $1 did not finish: $2"; return 1; }
}
# session_errors NAME: the errors its steps met
session_errors() { grep '^ERROR' "$work/$1.out" | tr '\n' ' '; }
session_close() {
	eval "exec ${session_fd[$1]}>&-"
	unset "session_fd[$1]"
}
# waiting_on NODE: a backend of the node waits for a lock
waiting_on() {
	[ "$(on "$1" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")" -ge 1 ]
}

# staged WHAT NODE FIRST SECOND [tx|single]: alice runs FIRST in a
# transaction; bob then runs SECOND (in a transaction of its own, or alone
# with "single"), which must wait for a lock on NODE until alice commits;
# then bob commits
staged() {
	local what=$1 node=$2 mode=${5:-tx}
	session_run alice "BEGIN; $3"
	[ "$mode" = tx ] && session_run bob "BEGIN;"
	session_send bob "$4"
	if wait_until 5 waiting_on "$node" && ! session_done bob; then pass "$what: the second waits for the first's transaction"
	else fail "$what: the second waits for the first's transaction"; fi
	session_run alice "COMMIT;"
	wait_until 10 session_done bob
	[ "$mode" = tx ] && session_run bob "COMMIT;"
	return 0
}

# race_free NAME FILE1 FILE2: two psql run the two scripts at the same moment
# (both wait on an advisory lock that the gate session then releases); true
# when both ran without an error
race_free() {
	local name=$1 p1 p2 rc1 rc2 f
	session_run gate "SELECT pg_advisory_lock(4711);" || return 1
	for f in "$2" "$3"; do
		sed -i '1i SELECT pg_advisory_lock_shared(4711); SELECT pg_advisory_unlock_shared(4711);' "$f"
	done
	sql -f "$2" >"$work/$name.1.out" 2>&1 &
	p1=$!
	sql -f "$3" >"$work/$name.2.out" 2>&1 &
	p2=$!
	both_wait() { [ "$(sql -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4711 AND NOT granted")" = 2 ]; }
	wait_until 10 both_wait || echo "  $name: the two sessions did not both wait at the gate"
	session_run gate "SELECT pg_advisory_unlock(4711);"
	wait "$p1"; rc1=$?
	wait "$p2"; rc2=$?
	if [ "$rc1" != 0 ] || [ "$rc2" != 0 ]; then
		echo "  $name: exit $rc1/$rc2: $(grep -h ERROR "$work/$name".[12].out | head -3 | tr '\n' ' ')"
		return 1
	fi
}

# race_check NAME WHAT SQL WANTED: race_free NAME with $work/NAME.1.sql and
# $work/NAME.2.sql, then check WHAT: SQL answers WANTED
race_check() {
	if race_free "$1" "$work/$1.1.sql" "$work/$1.2.sql"; then
		check "$2" "$(sql -c "$3")" "$4"
	else
		fail "$2: both sessions ran"
	fi
}

# ---------------------------------------------------------------------------
# listeners: inbox-worker listen --space N -d <the coordinator>

coordinator_conninfo="host=$work/coordinator port=$citus_port dbname=$citus_db user=postgres"
# listener_start NAME SPACE
listener_start() {
	PGAPPNAME="listen $1" "$worker" listen --space "$2" -d "$coordinator_conninfo" >"$work/$1.listen" 2>"$work/$1.listen.err" &
	background+=($!)
	eval "listener_pid_$1=$!"
	wait_until 10 grep -q 'listening on' "$work/$1.listen.err"
}
# heard NAME MESSAGE [FROM-LINE]: the listener printed a message notification
# naming MESSAGE (after line FROM-LINE)
heard() { tail -n +"${3:-1}" "$work/$1.listen" | grep -qE "\"message\": \[([0-9]+, )*$2(, [0-9]+)*\]"; }
heard_all() {
	local name=$1 from=$2 m
	shift 2
	for m in "$@"; do heard "$name" "$m" "$from" || return 1; done
}
resync_line() { grep -nx '{"op":"resync"}' "$work/$1.listen" | head -1 | cut -d: -f1; }
resyncs() { grep -cx '{"op":"resync"}' "$work/$1.listen"; }
# cut_listener NAME NODE: end the listener's connection to NODE
cut_listener() { on "$2" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'listen $1'"; }

# ---------------------------------------------------------------------------
# the cluster

if ! CITUS_SRC=$CITUS_SRC bash test/citus/build.sh; then
	abort "Citus built and installed from $CITUS_SRC"
fi
started=$EPOCHREALTIME
citus_start "" || abort "the cluster started (logs: $work/*/server.log)"
# on the coordinator only: Citus creates the extension on the workers
sql -c "CREATE EXTENSION inbox CASCADE" || abort "CREATE EXTENSION inbox on the coordinator"
check "every node has inbox 2.0 (Citus created it on the workers)" \
	"$(for n in coordinator worker1 worker2; do on $n -c "SELECT extversion FROM pg_extension WHERE extname = 'inbox'"; done | tr '\n' ' ')" \
	"2.0 2.0 2.0 "
workers_up() {
	local n
	for n in coordinator worker1 worker2; do
		[ "$(on $n -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'inbox worker' AND datname = current_database()")" = 1 ] || return 1
	done
}
if wait_until 10 workers_up; then pass "every node runs one inbox background worker for the database"; else
	fail "every node runs one inbox background worker for the database"
fi
sql -c "SELECT inbox.distribute()" >/dev/null || abort "SELECT inbox.distribute()"
check "inbox.distribute(): the tables of inbox.space_tables() distributed by space_id, 7 reference tables" \
	"$(sql -c "SELECT count(*) FILTER (WHERE partmethod = 'h' AND logicalrelid = ANY (inbox.space_tables())),
		count(*) FILTER (WHERE partmethod = 'h'), count(*) FILTER (WHERE partmethod = 'n')
		FROM pg_dist_partition WHERE logicalrelid::text LIKE 'inbox.%'")" \
	"$(sql -c "SELECT cardinality(inbox.space_tables())")|$(sql -c "SELECT cardinality(inbox.space_tables())")|7"
echo "  (cluster up and distributed in $(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s)"

# spaces: make spaces until there are two on each worker, each space of
# its own shard (moving one space's shards moves no other of these)
declare -A per_node seen_shard
spaces=()
for i in $(seq 1 40); do
	s=$(sql -c "SELECT inbox.create_space('space $i')")
	shard=$(sql -c "SELECT get_shard_id_for_distribution_column('inbox.contact', $s)")
	[ -n "${seen_shard[$shard]:-}" ] && continue
	seen_shard[$shard]=1
	n=$(node_of "$s")
	[ "${per_node[$n]:-0}" -ge 2 ] && continue
	per_node[$n]=$((${per_node[$n]:-0} + 1))
	spaces+=("$s:$n")
	[ "${per_node[worker1]:-0}" = 2 ] && [ "${per_node[worker2]:-0}" = 2 ] && break
done
sA='' sB='' sM='' sX=''
for e in "${spaces[@]}"; do
	s=${e%%:*} n=${e#*:}
	if [ "$n" = worker1 ] && [ -z "$sA" ]; then sA=$s
	elif [ "$n" = worker2 ] && [ -z "$sB" ]; then sB=$s
	elif [ "$n" = worker1 ]; then sM=$s
	else sX=$s
	fi
done
if [ -z "$sA" ] || [ -z "$sB" ] || [ -z "$sM" ] || [ -z "$sX" ]; then abort "spaces on both workers (got ${spaces[*]})"; fi
echo "  (spaces $sA and $sM on worker1, $sB and $sX on worker2)"
declare -A tg wa agent1 agent2
for s in $sA $sB $sM $sX; do
	tg[$s]=$(sql -c "SELECT inbox.create_channel($s, 'telegram', 'tg $s')")
	wa[$s]=$(sql -c "SELECT inbox.create_channel($s, 'whatsapp_cloud', 'wa $s')")
	agent1[$s]=$(sql -c "SELECT inbox.create_agent($s, 'Ann $s')")
	agent2[$s]=$(sql -c "SELECT inbox.create_agent($s, 'Bob $s')")
done

# ---------------------------------------------------------------------------
# the rules, in a space on each worker

for s in $sA $sB; do
	where="space $s on $(node_of "$s")"
	ch=${tg[$s]} a1=${agent1[$s]} a2=${agent2[$s]}
	m1=$(sql -c "SELECT inbox.receive_message($s, $ch, 'rules-1', 'hello', external_id => 'ext-1')")
	c=$(sql -c "SELECT contact_id FROM inbox.message WHERE space_id = $s AND id = $m1")
	check "auto-open ($where): one open conversation, opened by the contact, holding the message" \
		"$(sql -c "SELECT (SELECT count(*) FROM inbox.conversation WHERE space_id = $s AND contact_id = $c AND closed_at IS NULL),
			(SELECT string_agg(kind || '/' || actor_kind, ',' ORDER BY id) FROM inbox.event WHERE space_id = $s AND contact_id = $c),
			(SELECT m.conversation_id = ct.open_conversation_id FROM inbox.message m
			 JOIN inbox.contact ct ON ct.space_id = m.space_id AND ct.id = m.contact_id WHERE m.space_id = $s AND m.id = $m1)")" \
		"1|conversation_opened/contact|t"
	m2=$(sql -c "SELECT inbox.receive_message($s, $ch, 'rules-1', 'about that', external_id => 'ext-2', reply_to => 'ext-1')")
	check "unread and last_message ($where): two incoming, the newest described" \
		"$(sql -c "SELECT unread_count, last_message_id = $m2, last_message_direction FROM inbox.contact WHERE space_id = $s AND id = $c")" \
		"2|t|incoming"
	check "reply-to ($where): the quoted external id resolves to its message" \
		"$(sql -c "SELECT reply_to_id = $m1 FROM inbox.message WHERE space_id = $s AND id = $m2")" "t"
	m3=$(sql -c "SELECT inbox.send_message($s, $c, $ch, 'hi, Ann here', agent => $a1)")
	check "user reply assigns ($where): assignee, event assigned by the user, unread 0, last message outgoing" \
		"$(sql -c "SELECT assignee_id = $a1, unread_count, last_message_id = $m3, last_message_direction,
			(SELECT string_agg(kind || '/' || actor_kind || '/' || (actor_agent_id = $a1)::int || '/' || (target_agent_id = $a1)::int, ',')
			 FROM inbox.event WHERE space_id = $s AND contact_id = $c AND kind = 'assigned')
			FROM inbox.contact WHERE space_id = $s AND id = $c")" \
		"t|0|t|outgoing|assigned/user/1/1"
	sql -c "SELECT inbox.close_conversation($s, $c, 'user', $a1)" >/dev/null
	check "close unassigns ($where): no assignee, no open conversation, closed and unassigned events by the user" \
		"$(sql -c "SELECT assignee_id IS NULL, open_conversation_id IS NULL,
			(SELECT string_agg(kind || '/' || actor_kind || '/' || (actor_agent_id = $a1)::int, ',' ORDER BY id)
			 FROM (SELECT * FROM inbox.event WHERE space_id = $s AND contact_id = $c ORDER BY id DESC LIMIT 2) e)
			FROM inbox.contact WHERE space_id = $s AND id = $c")" \
		"t|t|conversation_closed/user/1,unassigned/user/1"
	m4=$(sql -c "SELECT inbox.send_message($s, $c, $ch, 'Bob again', agent => $a2)")
	check "user reply opens ($where): a new conversation opened by the user, assigned to the replier" \
		"$(sql -c "SELECT cv.opened_by_kind, cv.opened_by_agent = $a2, ct.assignee_id = $a2, m.conversation_id = cv.id,
			(SELECT count(*) FROM inbox.conversation WHERE space_id = $s AND contact_id = $c)
			FROM inbox.contact ct JOIN inbox.conversation cv ON cv.space_id = ct.space_id AND cv.id = ct.open_conversation_id
			JOIN inbox.message m ON m.space_id = ct.space_id AND m.id = $m4
			WHERE ct.space_id = $s AND ct.id = $c")" \
		"user|t|t|t|2"
	w=$(receive_contact "$s" "${wa[$s]}" rules-wa 'old news' "at => now() - interval '2 days'")
	check "messaging window ($where): a user message 2 days after the last incoming is refused" \
		"$(sqlstate "SELECT inbox.send_message($s, $w, ${wa[$s]}, 'too late', agent => $a1)")" "55000"
	check "messaging window ($where): a template passes" \
		"$(sqlstate "SELECT inbox.send_message($s, $w, ${wa[$s]}, 'welcome back', agent => $a1, content => '{\"template\": \"welcome\"}')")" \
		"no error"
done
check "check_integrity() after the rules: empty" "$(integrity)" ""

# ---------------------------------------------------------------------------
# ids: unique across the cluster, drawn from each node's own range

check "each node draws ids from its own range (group g: g * 2^48 + 1 ...)" \
	"$(for n in coordinator worker1 worker2; do on $n -c "SELECT min_value FROM pg_sequences WHERE schemaname = 'inbox' AND sequencename = 'message_id_seq'"; done | tr '\n' ' ')" \
	"1 281474976710657 562949953421313 "
idA=$(sql -c "SELECT inbox.receive_message($sA, ${tg[$sA]}, 'ids', 'id please')")
idB=$(sql -c "SELECT inbox.receive_message($sB, ${tg[$sB]}, 'ids', 'id please')")
check "a message of a space on worker1 has an id of worker1's range, on worker2 of worker2's" \
	"$((idA >> 48)) $((idB >> 48))" "1 2"
check "message, contact and event ids are unique across the cluster" \
	"$(sql -c "SELECT (SELECT count(*) = count(DISTINCT id) FROM inbox.message), (SELECT count(*) = count(DISTINCT id) FROM inbox.contact),
		(SELECT count(*) = count(DISTINCT id) FROM inbox.event)")" "t|t|t"

# ---------------------------------------------------------------------------
# races, through the coordinator

session_open alice
session_open bob
session_open gate

# two agents reply at once to an unassigned contact: staged (the second
# waits on the space's node for the first's lock) and run free over 30
# contacts by two sessions at once
for s in $sA $sB; do
	node=$(node_of "$s")
	c=$(receive_contact "$s" "${tg[$s]}" race-2a 'help')
	staged "two agents (space $s on $node)" "$node" \
		"SELECT inbox.send_message($s, $c, ${tg[$s]}, 'Ann here', agent => ${agent1[$s]});" \
		"SELECT inbox.send_message($s, $c, ${tg[$s]}, 'Bob here', agent => ${agent2[$s]});"
	check "two agents (space $s on $node): one assignee (the first), one assigned event, one open conversation, no error" \
		"$(sql -c "SELECT assignee_id = ${agent1[$s]},
			(SELECT count(*) FROM inbox.event WHERE space_id = $s AND contact_id = $c AND kind = 'assigned'),
			(SELECT count(*) FROM inbox.conversation WHERE space_id = $s AND contact_id = $c AND closed_at IS NULL),
			(SELECT count(*) FROM inbox.message WHERE space_id = $s AND contact_id = $c AND direction = 'outgoing')
			FROM inbox.contact WHERE space_id = $s AND id = $c")|$(session_errors alice)$(session_errors bob)" "t|1|1|2|"
done
s=$sA
for i in $(seq 1 30); do echo "SELECT inbox.receive_message($s, ${tg[$s]}, 'free-2a-$i', 'help');"; done | sql >/dev/null
contacts=$(sql -c "SELECT string_agg(id::text, ' ' ORDER BY id) FROM inbox.contact WHERE space_id = $s AND id IN
	(SELECT contact_id FROM inbox.contact_channel WHERE space_id = $s AND external_id LIKE 'free-2a-%')")
for a in 1 2; do
	: >"$work/free-2a.$a.sql"
	ag=${agent1[$s]}
	[ "$a" = 2 ] && ag=${agent2[$s]}
	for c in $contacts; do
		echo "SELECT inbox.send_message($s, $c, ${tg[$s]}, 'reply of agent $a', agent => $ag);" >>"$work/free-2a.$a.sql"
	done
done
race_check free-2a "two agents at once over 30 contacts (space $s): each has one assignee = the target of its one assigned event" \
	"SELECT count(*) FILTER (WHERE e.n = 1 AND e.target = ct.assignee_id) FROM inbox.contact ct
		JOIN (SELECT contact_id, count(*) AS n, min(target_agent_id) AS target FROM inbox.event
			  WHERE space_id = $s AND kind = 'assigned' GROUP BY contact_id) e ON e.contact_id = ct.id
		WHERE ct.space_id = $s AND ct.id IN ($(echo "$contacts" | tr ' ' ','))" "30"
echo "  (first replies won: $(sql -c "SELECT string_agg(n || ' by agent ' || a, ', ') FROM (SELECT CASE assignee_id WHEN ${agent1[$s]} THEN 1 ELSE 2 END AS a, count(*) AS n
	FROM inbox.contact WHERE space_id = $s AND id IN ($(echo "$contacts" | tr ' ' ',')) GROUP BY 1 ORDER BY 1) x"))"
check "check_integrity() after two agents replying at once: empty" "$(integrity)" ""

# the same first message twice: one contact, one conversation
for s in $sA $sB; do
	node=$(node_of "$s")
	staged "same first message (space $s on $node)" "$node" \
		"SELECT inbox.receive_message($s, ${tg[$s]}, 'race-first', 'hi from one');" \
		"SELECT inbox.receive_message($s, ${tg[$s]}, 'race-first', 'hi from two');"
	check "same first message twice (space $s on $node): one identity, one contact, one conversation, two messages, unread 2, no error" \
		"$(sql -c "SELECT count(DISTINCT cc.contact_id), count(DISTINCT cv.id), count(DISTINCT m.id), max(ct.unread_count)
			FROM inbox.contact_channel cc JOIN inbox.contact ct ON ct.space_id = cc.space_id AND ct.id = cc.contact_id
			JOIN inbox.message m ON m.space_id = cc.space_id AND m.contact_id = cc.contact_id
			JOIN inbox.conversation cv ON cv.space_id = cc.space_id AND cv.contact_id = cc.contact_id
			WHERE cc.space_id = $s AND cc.external_id = 'race-first'")|$(sql -c "SELECT count(*) FROM inbox.contact_channel WHERE space_id = $s AND external_id = 'race-first'")|$(session_errors alice)$(session_errors bob)" \
		"1|1|2|2|1|"
done
s=$sB
for a in 1 2; do
	: >"$work/free-first.$a.sql"
	for i in $(seq 1 30); do echo "SELECT inbox.receive_message($s, ${tg[$s]}, 'free-first-$i', 'first of session $a');" >>"$work/free-first.$a.sql"; done
done
race_check free-first "the same 30 first messages from two sessions at once (space $s): 30 contacts, 30 conversations, 60 messages" \
	"SELECT count(DISTINCT cc.contact_id), count(DISTINCT cv.id), count(DISTINCT m.id)
		FROM inbox.contact_channel cc
		JOIN inbox.message m ON m.space_id = cc.space_id AND m.contact_id = cc.contact_id
		JOIN inbox.conversation cv ON cv.space_id = cc.space_id AND cv.contact_id = cc.contact_id
		WHERE cc.space_id = $s AND cc.external_id LIKE 'free-first-%'" "30|30|60"
check "check_integrity() after the same first message twice: empty" "$(integrity)" ""

# close against an incoming message: the message never lands in the closed conversation
for s in $sA $sB; do
	node=$(node_of "$s")
	c=$(receive_contact "$s" "${tg[$s]}" race-close 'first')
	sql -c "SELECT inbox.assign($s, $c, ${agent1[$s]}, 'user', ${agent1[$s]})" >/dev/null
	staged "close vs incoming (space $s on $node)" "$node" \
		"SELECT inbox.close_conversation($s, $c, 'user', ${agent1[$s]});" \
		"SELECT inbox.receive_message($s, ${tg[$s]}, 'race-close', 'wait, one more thing');" single
	check "close vs incoming (space $s on $node): the message opens a new conversation, the contact stays unassigned, no error" \
		"$(sql -c "SELECT cv.closed_at IS NULL, ct.assignee_id IS NULL,
			(SELECT count(*) FROM inbox.conversation WHERE space_id = $s AND contact_id = $c)
			FROM inbox.contact ct JOIN inbox.message m ON m.space_id = ct.space_id AND m.id = ct.last_message_id
			JOIN inbox.conversation cv ON cv.space_id = m.space_id AND cv.id = m.conversation_id
			WHERE ct.space_id = $s AND ct.id = $c")|$(session_errors alice)$(session_errors bob)" "t|t|2|"
done
s=$sA
for i in $(seq 1 30); do echo "SELECT inbox.receive_message($s, ${tg[$s]}, 'free-close-$i', 'open');"; done | sql >/dev/null
: >"$work/free-close.1.sql"
: >"$work/free-close.2.sql"
for i in $(seq 1 30); do
	c=$(sql -c "SELECT contact_id FROM inbox.contact_channel WHERE space_id = $s AND external_id = 'free-close-$i'")
	echo "SELECT inbox.close_conversation($s, $c, 'user', ${agent1[$s]});" >>"$work/free-close.1.sql"
	echo "SELECT inbox.receive_message($s, ${tg[$s]}, 'free-close-$i', 'one more');" >>"$work/free-close.2.sql"
done
race_check free-close "close vs incoming over 30 contacts at once (space $s): no message created after its conversation closed, 60 messages" \
	"SELECT count(*) FILTER (WHERE cv.closed_at IS NOT NULL AND m.created_at > cv.closed_at), count(*)
		FROM inbox.contact_channel cc
		JOIN inbox.message m ON m.space_id = cc.space_id AND m.contact_id = cc.contact_id
		JOIN inbox.conversation cv ON cv.space_id = m.space_id AND cv.id = m.conversation_id
		WHERE cc.space_id = $s AND cc.external_id LIKE 'free-close-%'" "0|60"
check "check_integrity() after close vs incoming: empty" "$(integrity)" ""
session_close alice
session_close bob

# ---------------------------------------------------------------------------
# a transaction writing spaces on both workers: two-phase commit, and both
# spaces' listeners get its notifications

listener_start A "$sA" || fail "a listener of space $sA started"
listener_start B "$sB" || fail "a listener of space $sB started"
check "the listeners listen on their space's node (through the coordinator)" \
	"$(grep -o 'at localhost:[0-9]*' "$work/A.listen.err") $(grep -o 'at localhost:[0-9]*' "$work/B.listen.err")" \
	"at localhost:$(citus_node_port worker1) at localhost:$(citus_node_port worker2)"
# two_nodes REF END: in one transaction a message from REF to space A (on
# worker1) and to space B (on worker2), ended by END; prints both ids
two_nodes() {
	sql <<SQL | tr '\n' ' '
BEGIN;
SELECT inbox.receive_message($sA, ${tg[$sA]}, '$1', 'a message to space $sA');
SELECT inbox.receive_message($sB, ${tg[$sB]}, '$1', 'a message to space $sB');
$2;
SQL
}
read -r tA tB <<<"$(two_nodes two-nodes COMMIT)"
check "BEGIN; receive_message in a space on each worker; COMMIT: both messages committed" \
	"$(sql -c "SELECT count(*) FROM inbox.message WHERE (space_id, id) IN (($sA, ${tA:-0}), ($sB, ${tB:-0}))")" "2"
check "no prepared transaction is left on any node" \
	"$(for n in coordinator worker1 worker2; do on $n -c "SELECT count(*) FROM pg_prepared_xacts"; done | tr '\n' ' ')" "0 0 0 "
if wait_until 5 heard A "${tA:-x}" && wait_until 5 heard B "${tB:-x}"; then
	pass "the two-node transaction's notifications reach the listeners of both spaces"
else
	fail "the two-node transaction's notifications reach the listeners of both spaces (A: $(tail -2 "$work/A.listen" | tr '\n' ' '), B: $(tail -2 "$work/B.listen" | tr '\n' ' '))"
fi
read -r rA rB <<<"$(two_nodes rolled-back ROLLBACK)"
check "the same rolled back: no message, no identity" \
	"$(sql -c "SELECT (SELECT count(*) FROM inbox.message WHERE (space_id, id) IN (($sA, ${rA:-0}), ($sB, ${rB:-0}))),
		(SELECT count(*) FROM inbox.contact_channel WHERE external_id = 'rolled-back')")" "0|0"
# a later message of each space arrives; the rolled back ones never did
kA=$(sql -c "SELECT inbox.receive_message($sA, ${tg[$sA]}, 'after-rollback', 'marker')")
kB=$(sql -c "SELECT inbox.receive_message($sB, ${tg[$sB]}, 'after-rollback', 'marker')")
if wait_until 5 heard A "$kA" && wait_until 5 heard B "$kB" && ! heard A "${rA:-x}" && ! heard B "${rB:-x}"; then
	pass "no notification of the rolled back messages (a later message's came)"
else
	fail "no notification of the rolled back messages (a later message's came)"
fi

# ---------------------------------------------------------------------------
# notifications while the space moves to the other worker

from=$(node_of "$sM")
to=$(other_worker "$from")
listener_start M "$sM" || fail "a listener of space $sM started"
m0=$(sql -c "SELECT inbox.receive_message($sM, ${tg[$sM]}, 'move-0', 'before the move')")
if wait_until 5 heard M "$m0" && grep -q "at localhost:$(citus_node_port "$from")" "$work/M.listen.err"; then
	pass "listen --space $sM through the coordinator prints its notifications, from $from"
else
	fail "listen --space $sM through the coordinator prints its notifications, from $from ($(cat "$work/M.listen.err"))"
fi
# messages keep arriving during the move, one every ~20 ms, and now and then
# one to a space on each worker (which the listener must not print)
for i in $(seq 1 400); do
	echo "SELECT inbox.receive_message($sM, ${tg[$sM]}, 'move-$((i % 7))', 'during the move $i');"
	echo "SELECT pg_sleep(0.02);"
	if [ $((i % 20)) = 0 ]; then
		echo "SELECT inbox.receive_message($sA, ${tg[$sA]}, 'neighbour', 'next door $i') AS neighbour \\gset"
		echo "SELECT inbox.receive_message($sX, ${tg[$sX]}, 'neighbour', 'next door $i') AS neighbour \\gset"
	fi
done >"$work/writer.sql"
sql -f "$work/writer.sql" >"$work/writer.out" 2>&1 &
writer=$!
background+=("$writer")
writing() { [ "$(grep -c . "$work/writer.out")" -ge 20 ]; }
wait_until 5 writing
shard=$(sql -c "SELECT get_shard_id_for_distribution_column('inbox.contact', $sM)")
t0=$EPOCHREALTIME
move_began=$(sql -c "SELECT clock_timestamp()")
moved=$(sql -c "SELECT citus_move_shard_placement($shard, 'localhost', $(citus_node_port "$from"), 'localhost', $(citus_node_port "$to"), shard_transfer_mode => 'force_logical')" 2>&1)
move_ended=$(sql -c "SELECT clock_timestamp()")
move_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
check "citus_move_shard_placement (force_logical) moved space $sM to $to while messages arrived (${move_s} s)" \
	"$moved|$(node_of "$sM")|$(kill -0 "$writer" 2>/dev/null && echo writing)" "|$to|writing"
resynced() { [ -n "$(resync_line M)" ]; }
if wait_until 5 resynced; then
	pass "the listener followed the space and printed {\"op\":\"resync\"}"
else
	fail "the listener followed the space and printed {\"op\":\"resync\"} ($(tail -3 "$work/M.listen.err" | tr '\n' ' '))"
fi
check "the listener says it moved from $from to $to" \
	"$(grep -c "moved from localhost:$(citus_node_port "$from") to localhost:$(citus_node_port "$to")" "$work/M.listen.err")" "1"
after=()
for i in 1 2 3 4 5; do after+=("$(sql -c "SELECT inbox.receive_message($sM, ${tg[$sM]}, 'move-after', 'after the move $i')")"); done
line=$(resync_line M)
if wait_until 5 heard_all M "${line:-1}" "${after[@]}"; then
	pass "after the resync the listener prints the notifications of the 5 messages received after the move"
else
	fail "after the resync the listener prints the notifications of the 5 messages received after the move"
fi
wait "$writer"; rc=$?
written=$(grep -c '^[0-9][0-9]*$' "$work/writer.out")
check "every message written during the move was committed, none failed (exit $rc)" \
	"$rc|$written|$(sql -c "SELECT count(*) FROM inbox.message WHERE space_id = $sM AND body LIKE 'during the move %'")" "0|400|400"
# what is missing, and whether the old shard on $from still has it
grep -E '^[0-9]+$' "$work/writer.out" | sort >"$work/written.ids"
sql -c "SELECT id FROM inbox.message WHERE space_id = $sM" | sort >"$work/stored.ids"
missing=$(comm -23 "$work/written.ids" "$work/stored.ids" | paste -sd, -)
if [ -n "$missing" ]; then
	old_shard=$(sql -c "SELECT shard_name('inbox.message'::regclass, get_shard_id_for_distribution_column('inbox.message', $sM))")
	echo "  missing: $missing; the move ran from $move_began to $move_ended; on $from in $old_shard (the old shard, until Citus drops it):" \
		"$(on "$from" -c "SELECT string_agg(id || ' at ' || created_at, ', ') FROM $old_shard WHERE id IN ($missing)" 2>&1)"
fi
echo "  (the listener printed $(grep -c '"op": "message"' "$work/M.listen") message notifications for $((written + 6)) messages; those the new node sent before it listened there are what resync stands for)"
# every contact and message the listener named is of its space
heard_contacts=$(grep -oE '"contact": [0-9]+' "$work/M.listen" | grep -oE '[0-9]+' | sort -u | paste -sd, -)
heard_messages=$(grep -oE '"message": \[[0-9, ]+\]' "$work/M.listen" | grep -oE '[0-9]+' | sort -u | paste -sd, -)
check "the listener of space $sM printed nothing of another space (contacts, messages; 40 came to spaces $sA and $sX meanwhile)" \
	"$(sql -c "SELECT (SELECT count(*) FILTER (WHERE space_id <> $sM) || '/' || count(*) FROM inbox.contact WHERE id IN (${heard_contacts:-0})),
		(SELECT count(*) FILTER (WHERE space_id <> $sM) || '/' || count(*) FROM inbox.message WHERE id IN (${heard_messages:-0}))")" \
	"0/$(tr ',' '\n' <<<"$heard_contacts" | grep -c .)|0/$(tr ',' '\n' <<<"$heard_messages" | grep -c .)"

# a lost connection, to the space's node or to the coordinator: reconnect,
# resync, go on
for n in "$to" coordinator; do
	before=$(resyncs M)
	lines=$(wc -l <"$work/M.listen")
	gone=$(cut_listener M "$n")
	more_resyncs() { [ "$(resyncs M)" -gt "$before" ]; }
	wait_until 10 more_resyncs
	m=$(sql -c "SELECT inbox.receive_message($sM, ${tg[$sM]}, 'move-after', 'after a cut')")
	if [ "$gone" = 1 ] && wait_until 5 heard M "$m" "$lines" && [ "$(resyncs M)" = $((before + 1)) ]; then
		pass "the listener's connection to the $n cut: it reconnects, prints one resync, and goes on"
	else
		fail "the listener's connection to the $n cut: it reconnects, prints one resync, and goes on ($gone cut; $(tail -2 "$work/M.listen.err" | tr '\n' ' '))"
	fi
done

# ---------------------------------------------------------------------------
# snoozes, woken on the worker nodes, once; one of them across a move

snoozed=()
for s in $sA $sB; do
	for i in 1 2 3; do snoozed+=("$s:$(receive_contact "$s" "${tg[$s]}" "snooze-$i" 'later')"); done
done
# all six snoozed to the same time, 1.5 s after the call (one call each)
due=$(sql <<SQL | grep .
SELECT now() + interval '1.5 s' AS due \gset
$(for e in "${snoozed[@]}"; do echo "SELECT inbox.snooze(${e%%:*}, ${e#*:}, :'due', ${agent1[${e%%:*}]});"; done)
\echo :due
SQL
)
woken() {
	local e
	for e in "$@"; do
		[ "$(sql -c "SELECT snoozed_until IS NULL FROM inbox.contact WHERE space_id = ${e%%:*} AND id = ${e#*:}")" = t ] || return 1
	done
}
wait_until 6 woken "${snoozed[@]}"
sleep 1.5 # a second wake would come now
for s in $sA $sB; do
	list=$(for e in "${snoozed[@]}"; do [ "${e%%:*}" = "$s" ] && echo -n "${e#*:},"; done | sed 's/,$//')
	check "3 contacts snoozed in space $s on $(node_of "$s") woken once each, by the system, within 2 s of their time" \
		"$(sql -c "SELECT count(*) FILTER (WHERE n = 1 AND system = 1 AND lag >= 0 AND lag <= 2), sum(n)
			FROM (SELECT ct.id, count(e.id) AS n, count(e.id) FILTER (WHERE e.actor_kind = 'system') AS system,
						 extract(epoch FROM max(e.created_at) - '$due'::timestamptz) AS lag
				  FROM inbox.contact ct LEFT JOIN inbox.event e ON e.space_id = ct.space_id AND e.contact_id = ct.id AND e.kind = 'contact_unsnoozed'
				  WHERE ct.space_id = $s AND ct.id IN ($list) AND ct.snoozed_until IS NULL GROUP BY ct.id) x")" "3|3"
done
# a snooze whose space moves back to the other worker before its time
from=$(node_of "$sM")
to=$(other_worker "$from")
c=$(receive_contact "$sM" "${tg[$sM]}" snooze-move 'later')
# (the move copies every colocated shard of the space: the time leaves it room)
due=$(sql -c "SELECT now() + interval '20 s'")
sql -c "SELECT inbox.snooze($sM, $c, '$due', ${agent1[$sM]})" >/dev/null
moved=$(sql -c "SELECT citus_move_shard_placement($shard, 'localhost', $(citus_node_port "$from"), 'localhost', $(citus_node_port "$to"), shard_transfer_mode => 'block_writes')" 2>&1)
check "space $sM moved back to $to (block_writes) before the snooze's time" \
	"$moved|$(node_of "$sM")|$(sql -c "SELECT now() < '$due'")" "|$to|t"
wait_until 25 woken "$sM:$c"
sleep 1.5
check "the snooze in the moved space woken once, by the system, within 2 s of its time" \
	"$(sql -c "SELECT count(*), count(*) FILTER (WHERE actor_kind = 'system'),
		bool_and(created_at >= '$due' AND created_at <= '$due'::timestamptz + interval '2 s')
		FROM inbox.event WHERE space_id = $sM AND contact_id = $c AND kind = 'contact_unsnoozed'")" "1|1|t"

# ---------------------------------------------------------------------------
# agent-role security, with row-level security on the distributed tables

cB=$(sql -c "SELECT contact_id FROM inbox.contact_channel WHERE space_id = $sB AND external_id = 'rules-1'")
cA=$(sql -c "SELECT contact_id FROM inbox.contact_channel WHERE space_id = $sA AND external_id = 'rules-1'")
sql <<SQL >/dev/null
CREATE ROLE inbox_test_ann LOGIN IN ROLE inbox_agent;
UPDATE inbox.agent SET db_role = 'inbox_test_ann' WHERE space_id = $sA AND id = ${agent1[$sA]};
SQL
check "a role bound to an agent of space $sA sees only that space's rows (contacts, messages, events, spaces)" \
	"$(as_role inbox_test_ann -c "SELECT (SELECT array_agg(DISTINCT space_id) FROM inbox.contact), (SELECT array_agg(DISTINCT space_id) FROM inbox.message),
		(SELECT array_agg(DISTINCT space_id) FROM inbox.event), (SELECT array_agg(id) FROM inbox.space),
		(SELECT count(*) > 0 FROM inbox.message)" 2>&1)" "{$sA}|{$sA}|{$sA}|{$sA}|t"
check "the role gets P0002 for a contact of space $sB from the API (send_message, history, mark_read)" \
	"$(sqlstate inbox_test_ann "SELECT inbox.send_message($sA, $cB, ${tg[$sA]}, 'x', agent => ${agent1[$sA]})") $(sqlstate inbox_test_ann "SELECT count(*) FROM inbox.history($sA, $cB)") $(sqlstate inbox_test_ann "SELECT inbox.mark_read($sA, $cB, ${agent1[$sA]})")" \
	"P0002 P0002 P0002"
check "the role's own space works through the API (history of a contact of space $sA)" \
	"$(sqlstate inbox_test_ann "SELECT count(*) FROM inbox.history($sA, $cA)")" "no error"
check "the role cannot write tables directly (42501): INSERT message, UPDATE contact, DELETE event" \
	"$(sqlstate inbox_test_ann "INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_kind, body) VALUES ($sA, $cA, ${tg[$sA]}, 'incoming', 'contact', 'forged')") $(sqlstate inbox_test_ann "UPDATE inbox.contact SET unread_count = 0 WHERE space_id = $sA") $(sqlstate inbox_test_ann "DELETE FROM inbox.event WHERE space_id = $sA")" \
	"42501 42501 42501"

# ---------------------------------------------------------------------------
# check_integrity() answers for the whole cluster from the coordinator

check "check_integrity() from the coordinator: empty" "$(integrity)" ""
# a wrong unread count written on each worker's shard, past the rules
# (session_replication_role = replica: no trigger fires), of a contact
# with an unread message (so that its views do not change)
# shift_unread BY: add BY to the unread count of that contact of A and B
shift_unread() {
	local s n c t
	for s in $sA $sB; do
		n=$(node_of "$s")
		c=$(sql -c "SELECT contact_id FROM inbox.contact_channel WHERE space_id = $s AND external_id = 'ids'")
		t=$(on "$n" -c "SELECT shard_name('inbox.contact'::regclass, get_shard_id_for_distribution_column('inbox.contact', $s))")
		on "$n" -c "SET session_replication_role = replica" \
			-c "UPDATE $t SET unread_count = unread_count + ($1) WHERE space_id = $s AND id = $c" >/dev/null
	done
}
shift_unread 7
check "check_integrity() reports the broken unread counts of both workers' spaces" \
	"$(sql -c "SELECT invariant, violations FROM inbox.check_integrity()")" "unread_count equals the unread incoming messages|2"
shift_unread -7
check "check_integrity() after the repair: empty" "$(integrity)" ""

echo "  (the suite ran $(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s after the Citus build)"
verdict
