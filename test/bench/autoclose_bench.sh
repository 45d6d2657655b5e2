#!/usr/bin/env bash
# test/bench/autoclose_bench.sh: how fast the background worker auto-closes
# conversations (the space's auto_close_after; SPEC.md "Automation").
#
# Starts its own cluster with inbox preloaded and measures
#   - close lag: 200 conversations whose user replies are 25 ms apart, so
#     that their waits end 25 ms apart; lag = the commit of the worker's
#     transaction that closed the conversation (track_commit_timestamp)
#     minus the end of its wait (the reply's time + auto_close_after); p50,
#     p99 and max;
#   - mass close: N conversations (default 100,000) whose waits end at the
#     same instant; the time from that instant until the commit that closed
#     the last one;
#   - idleness: whether the worker ran a query during 5 s with the next
#     close an hour away.
# Writes test/bench/results/autoclose.md and prints the figures, then one
# verdict line per goal (lag p99 <= 1 s, mass close <= 10 s, no idle query,
# every conversation closed once, check_integrity() empty); exits non-zero
# when one is missed.
#
# Usage: bash test/bench/autoclose_bench.sh   (AUTOCLOSE_BENCH_MASS=100000, AUTOCLOSE_BENCH_BATCH=1000,
#                                             INBOX_AUTOCLOSE_BENCH_PORT=5484)
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../lib/cluster.sh"
cd "$(dirname "$0")/../.."
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

mass=${AUTOCLOSE_BENCH_MASS:-100000}
batch=${AUTOCLOSE_BENCH_BATCH:-1000}
port=${INBOX_AUTOCLOSE_BENCH_PORT:-5484}
bindir=$(pg_config --bindir)
work=$(mktemp -d /tmp/inbox-autoclose-bench.XXXXXX)
out=test/bench/results/autoclose.md

sql() { psql -X -q -At -h "$work" -p "$port" -U postgres -d bench -v ON_ERROR_STOP=1 "$@"; }
cleanup() { as_pg "$bindir/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

cluster_init "$work/data" || exit 1
cat >>"$work/data/postgresql.conf" <<CONF
shared_preload_libraries = 'inbox'
shared_buffers = 512MB
max_wal_size = 4GB
inbox.snooze_batch = $batch
track_commit_timestamp = on
CONF
as_pg "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w start >/dev/null
psql -X -q -h "$work" -p "$port" -U postgres -d postgres -c "CREATE DATABASE bench"
# space 1 for the lag, space 2 for the mass close; incoming messages open the
# conversations, then the replies start the waits
sql >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION inbox CASCADE;
SELECT inbox.create_space('lag');
SELECT inbox.create_space('mass');
SELECT inbox.create_agent(1, 'agent');
SELECT inbox.create_agent(2, 'agent');
SELECT inbox.create_channel(1, 'webchat', 'web');
SELECT inbox.create_channel(2, 'webchat', 'web');
SELECT inbox.configure_space(1, auto_close_after => '3 seconds');
SELECT inbox.configure_space(2, auto_close_after => '1 hour');
SELECT inbox.receive_message(1, 1, 'visitor ' || g, 'hello') FROM generate_series(1, 200) g;
SQL

# --- close lag --------------------------------------------------------------
echo "lag: 200 conversations whose waits end 25 ms apart"
sql -c "INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_kind, sender_agent_id, body, created_at)
	SELECT 1, c.id, 1, 'outgoing', 'user', 1, 'answer', clock_timestamp() + (row_number() OVER (ORDER BY c.id)) * interval '25 ms'
	FROM inbox.contact c WHERE c.space_id = 1" >/dev/null
lag_open() { [ "$(sql -c "SELECT count(*) FROM inbox.contact WHERE space_id = 1 AND open_conversation_id IS NOT NULL")" = 0 ]; }
for _ in $(seq 1 200); do lag_open && break; sleep 0.1; done
lag_sql="SELECT pg_xact_commit_timestamp(v.xmin) - (m.created_at + interval '3 s') AS lag
	FROM inbox.conversation v JOIN inbox.message m ON m.space_id = v.space_id AND m.conversation_id = v.id
	WHERE v.space_id = 1 AND v.closed_at IS NOT NULL AND m.sender_kind = 'user'"
read -r lag_n lag_p50 lag_p99 lag_max < <(sql -F ' ' -c "
	SELECT count(*),
		round(1000 * extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY lag))::numeric, 1),
		round(1000 * extract(epoch FROM percentile_cont(0.99) WITHIN GROUP (ORDER BY lag))::numeric, 1),
		round(1000 * extract(epoch FROM max(lag))::numeric, 1)
	FROM ($lag_sql) l")
echo "  closed $lag_n, lag p50 ${lag_p50} ms, p99 ${lag_p99} ms, max ${lag_max} ms"

# --- the mass: N conversations, each answered at the same instant -------------
echo "mass: $mass conversations"
t0=$(date +%s.%N)
sql >/dev/null <<SQL
SET inbox.notify = off;
INSERT INTO inbox.contact (space_id, first_name, last_name)
SELECT 2, 'Mass', 'Contact ' || g FROM generate_series(1, $mass) g;
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id)
SELECT 2, id, 2, 'mass-' || id FROM inbox.contact WHERE space_id = 2;
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_kind, body)
SELECT 2, id, 2, 'incoming', 'contact', 'hello' FROM inbox.contact WHERE space_id = 2;
BEGIN;
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_kind, sender_agent_id, body)
SELECT 2, id, 2, 'outgoing', 'user', 2, 'answer' FROM inbox.contact WHERE space_id = 2;
COMMIT;
SQL
t1=$(date +%s.%N)
echo "  made in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

# --- idleness ---------------------------------------------------------------
t=$(sql -c "SELECT clock_timestamp()" -c "UPDATE inbox.space SET auto_close_after = '1 hour' WHERE id = 1" | sed -n 1p)
for _ in $(seq 1 100); do
	[ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'inbox worker'
		AND state = 'idle' AND wait_event = 'Extension' AND state_change > '$t'")" = 1 ] && break
	sleep 0.05
done
q0=$(sql -c "SELECT query_start FROM pg_stat_activity WHERE backend_type = 'inbox worker'")
sleep 5
q1=$(sql -c "SELECT query_start FROM pg_stat_activity WHERE backend_type = 'inbox worker'")
if [ "$q0" = "$q1" ]; then idle="no query"; else idle="ran a query"; fi
echo "idle: with the next close 1 h ahead, the worker $idle in 5 s"

# --- mass close: every wait ends at one instant, 5 s from now ----------------
due=$(sql -c "SELECT date_trunc('second', clock_timestamp()) + interval '5 s'")
sql -c "UPDATE inbox.space SET auto_close_after = '$due'::timestamptz
	- (SELECT max(created_at) FROM inbox.message WHERE space_id = 2 AND sender_kind = 'user') WHERE id = 2" >/dev/null
ready=$(sql -c "SELECT clock_timestamp() < '$due'::timestamptz")
[ "$ready" = t ] || { echo "moving the waits took longer than the 5 s margin"; exit 1; }
echo "  all due at $due"
while [ "$(sql -c "SELECT clock_timestamp() > '$due'::timestamptz + interval '120 s'
		OR NOT EXISTS (SELECT 1 FROM inbox.contact WHERE space_id = 2 AND open_conversation_id IS NOT NULL)")" != t ]; do
	sleep 0.2
done
read -r mass_n mass_s mass_first < <(sql -F ' ' -c "
	SELECT count(*), round(extract(epoch FROM max(pg_xact_commit_timestamp(xmin)) - '$due'::timestamptz)::numeric, 2),
		round(1000 * extract(epoch FROM min(pg_xact_commit_timestamp(xmin)) - '$due'::timestamptz)::numeric, 1)
	FROM inbox.event WHERE space_id = 2 AND kind = 'conversation_closed' AND actor_kind = 'system'")
rate=$(awk -v n="$mass_n" -v s="$mass_s" 'BEGIN { if (s > 0) printf "%d", n / s; else print "-" }')
echo "  closed $mass_n, first after ${mass_first} ms, all after ${mass_s} s ($rate conversations/s)"
integrity=$(sql -c "SELECT count(*) FROM inbox.check_integrity()")

goal "a conversation is closed within 1 s of the end of its wait (p99, to the commit)" "p99 ${lag_p99} ms" at_most "$lag_p99" 1000
if [ "$mass" -ge 100000 ]; then
	goal "$mass conversations due at once are all closed within 10 s" "${mass_s} s" at_most "$mass_s" 10
else
	goal_not_measured "100000 conversations due at once are all closed within 10 s" \
		"this run had $mass (AUTOCLOSE_BENCH_MASS), all closed in ${mass_s} s; at that rate 100000 would take $(awk -v r="$rate" 'BEGIN { if (r > 0) printf "%d", 100000 / r; else print "?" }') s"
fi
goal "while the next close is an hour away the worker runs no query" "$idle in 5 s" [ "$idle" = "no query" ]
goal "every conversation due is closed, once" "$lag_n of 200, $mass_n of $mass" [ "$lag_n/$mass_n" = "200/$mass" ]
goal "check_integrity() is empty afterwards" "$integrity violations" [ "$integrity" = 0 ]

mkdir -p "$(dirname "$out")"
cat >"$out" <<MD
# Auto-close benchmark

\`bash test/bench/autoclose_bench.sh\` on $(date -u +%Y-%m-%d), PostgreSQL $(sql -c "SHOW server_version"),
$(nproc) CPUs (load average $load_before at start: other work on the machine slows the mass close), shared_buffers 512MB, background worker with inbox.snooze_batch = $batch.
Lag is the commit of the worker's transaction that closed the conversation (pg_xact_commit_timestamp) minus the end of its wait (the user's reply + auto_close_after).

| measure | result | goal |
|---|---|---|
| close lag p50 (200 conversations, 25 ms apart) | ${lag_p50} ms | |
| close lag p99 | ${lag_p99} ms | <= 1000 ms |
| close lag max | ${lag_max} ms | |
| $mass conversations due at once: first closed | ${mass_first} ms | |
| $mass conversations due at once: all closed | ${mass_s} s ($rate conversations/s) | <= 10 s |
| queries by the worker in 5 s with the next close 1 h away | $idle | no query |
| check_integrity() violations afterwards | $integrity | 0 |
MD
goals_report "$out" && status=0 || status=1
echo "wrote $out"
exit $status
