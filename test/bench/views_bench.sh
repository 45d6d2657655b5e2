#!/usr/bin/env bash
# test/bench/views_bench.sh: latency of the contact list, view counts, search
# and history at 10k, 100k and 1M contacts (10 messages each, 50 agents).
#
# Starts its own cluster, generates one space per size in the same database
# (test/bench/views_generate.sql), checks inbox.check_integrity(), then runs
# each query with pgbench (1 client, random agent/contact per call) and
# writes median and p99 per query and size to test/bench/results/views.md,
# then one verdict line per goal of SPEC.md at 1M contacts (p99: a list page
# of each built-in view, view_counts and a history page <= 5 ms, each search
# <= 20 ms; growing far slower than the data: each median at 1M at most 3x
# its median at 10k); exits non-zero when one is missed.
#
# Usage: bash test/bench/views_bench.sh          (sizes: VIEWS_BENCH_SIZES="10000 100000 1000000")
#        VIEWS_BENCH_CALLS=300 (calls per query and size)
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../lib/cluster.sh"
cd "$(dirname "$0")/../.."

sizes=${VIEWS_BENCH_SIZES:-"10000 100000 1000000"}
calls=${VIEWS_BENCH_CALLS:-300}
agents=50
per_contact=10
port=${INBOX_BENCH_PORT:-5460}
bindir=$(pg_config --bindir)
work=$(mktemp -d /tmp/inbox-views-bench.XXXXXX)
out=test/bench/results/views.md

sql() { psql -X -q -At -h "$work" -p "$port" -U postgres -d bench -v ON_ERROR_STOP=1 "$@"; }
cleanup() { as_pg "$bindir/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

cluster_init "$work/data" || exit 1
cat >>"$work/data/postgresql.conf" <<CONF
shared_preload_libraries = 'inbox'
shared_buffers = 2GB
work_mem = 64MB
maintenance_work_mem = 1GB
max_wal_size = 20GB
checkpoint_timeout = 30min
fsync = off
synchronous_commit = off
full_page_writes = off
jit = off
CONF
as_pg "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w start >/dev/null
psql -X -q -h "$work" -p "$port" -U postgres -d postgres -c 'CREATE DATABASE bench'
sql -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION inbox CASCADE'

declare -A space_of
for n in $sizes; do
	start=$(date +%s)
	sql -v space_name="s$n" -v contacts="$n" -v per_contact=$per_contact -v agents=$agents \
		-f test/bench/views_generate.sql >/dev/null
	space_of[$n]=$(sql -c "SELECT id FROM inbox.space WHERE name = 's$n'")
	echo "generated $n contacts, $((n * per_contact)) messages in $(( $(date +%s) - start )) s"
done
sql -c 'VACUUM ANALYZE'
bad=$(sql -c 'SELECT count(*) FROM inbox.check_integrity()')
[ "$bad" = 0 ] || { sql -c 'SELECT * FROM inbox.check_integrity()'; echo "generated data violates invariants"; exit 1; }

# pgbench scripts: one query each, random agent or contact of the space
mkdir -p "$work/scripts"
cat >"$work/scripts/list_all.sql" <<'Q'
\set agent random(:agent_lo, :agent_hi)
SELECT * FROM inbox.contact_list(:space, :agent, 'all');
Q
cat >"$work/scripts/list_mine.sql" <<'Q'
\set agent random(:agent_lo, :agent_hi)
SELECT * FROM inbox.contact_list(:space, :agent, 'mine');
Q
cat >"$work/scripts/list_unassigned.sql" <<'Q'
\set agent random(:agent_lo, :agent_hi)
SELECT * FROM inbox.contact_list(:space, :agent, 'unassigned');
Q
cat >"$work/scripts/list_page_10.sql" <<'Q'
\set agent random(:agent_lo, :agent_hi)
SELECT * FROM inbox.contact_list(:space, :agent, 'all', cursor => (SELECT cursor FROM inbox.contact_list(:space, :agent, 'all', page_size => 500) OFFSET 499)) ;
Q
cat >"$work/scripts/view_counts.sql" <<'Q'
\set agent random(:agent_lo, :agent_hi)
SELECT * FROM inbox.view_counts(:space, :agent);
Q
cat >"$work/scripts/search_name.sql" <<'Q'
\set agent random(:agent_lo, :agent_hi)
SELECT * FROM inbox.contact_list(:space, :agent, 'all', search => 'aisha kowal');
Q
cat >"$work/scripts/search_email.sql" <<'Q'
\set agent random(:agent_lo, :agent_hi)
\set n random(1, :contacts)
SELECT * FROM inbox.contact_list(:space, :agent, 'all', search => 'kowalski' || :n);
Q
cat >"$work/scripts/search_phone.sql" <<'Q'
\set agent random(:agent_lo, :agent_hi)
SELECT * FROM inbox.contact_list(:space, :agent, 'all', search => '+1 (415) 012-3456');
Q
cat >"$work/scripts/search_common.sql" <<'Q'
\set agent random(:agent_lo, :agent_hi)
SELECT * FROM inbox.contact_list(:space, :agent, 'all', search => 'maria');
Q
cat >"$work/scripts/search_in_view.sql" <<'Q'
\set agent random(:agent_lo, :agent_hi)
SELECT * FROM inbox.contact_list(:space, :agent, 'unassigned', search => 'aisha');
Q
cat >"$work/scripts/search_local_phone.sql" <<'Q'
\set agent random(:agent_lo, :agent_hi)
SELECT * FROM inbox.contact_list(:space, :agent, 'all', search => '012-3456');
Q
cat >"$work/scripts/history.sql" <<'Q'
\set contact random(:contact_lo, :contact_hi)
SELECT * FROM inbox.history(:space, :contact);
Q
queries="list_all list_mine list_unassigned list_page_10 view_counts search_name search_common search_in_view search_email search_phone search_local_phone history"

declare -A p50 p99
for n in $sizes; do
	space=${space_of[$n]}
	read -r agent_lo agent_hi contact_lo contact_hi < <(sql -F ' ' -c "
		SELECT (SELECT min(id) FROM inbox.agent WHERE space_id = $space), (SELECT max(id) FROM inbox.agent WHERE space_id = $space),
			   (SELECT min(id) FROM inbox.contact WHERE space_id = $space), (SELECT max(id) FROM inbox.contact WHERE space_id = $space)")
	for q in $queries; do
		rm -f "$work"/pgbench_log.*
		(cd "$work" && "$bindir/pgbench" -n -h "$work" -p "$port" -U postgres -c 1 -t "$calls" -l \
			-D space="$space" -D agent_lo="$agent_lo" -D agent_hi="$agent_hi" -D contacts="$n" \
			-D contact_lo="$contact_lo" -D contact_hi="$contact_hi" -f "scripts/$q.sql" bench >/dev/null)
		# third field of each log line: the call's latency in microseconds
		read -r a b < <(cat "$work"/pgbench_log.* | awk '{print $3}' | sort -n | awk '
			{ v[NR] = $1 } END { m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.99 + 0.999)]; printf "%.2f %.2f\n", m / 1000, p / 1000 }')
		p50[$q,$n]=$a; p99[$q,$n]=$b
		echo "$q at $n contacts: median $a ms, p99 $b ms"
	done
done

{
	echo "# Views benchmark"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, PostgreSQL $(pg_config --version | awk '{print $2}')."
	echo "One database, one space per size ($per_contact messages per contact, $agents agents), shared_buffers 2GB;"
	echo "each query $calls times with pgbench (1 client, a random agent or contact per call). Latency in ms, median / p99."
	echo "Targets at 1M contacts: list page, counts and history page <= 5 ms, search <= 20 ms."
	echo
	header="| query |"; rule="|---|"
	for n in $sizes; do header="$header $n contacts |"; rule="$rule---|"; done
	echo "$header"; echo "$rule"
	for q in $queries; do
		line="| $q |"
		for n in $sizes; do line="$line ${p50[$q,$n]} / ${p99[$q,$n]} |"; done
		echo "$line"
	done
	echo
	echo "list_page_10 includes fetching the 500 rows before it (to get its cursor), so it is an upper bound for page 10"
	echo "and is not judged against the page goal."
} >"$out"
cat "$out"

# the goals at 1M contacts (by p99), and the growth from 10k to 1M (by median)
big=1000000 small=10000
for q in $queries; do
	case $q in
		list_page_10) continue ;;
		search_*) limit=20 ;;
		*) limit=5 ;;
	esac
	if [ -n "${p99[$q,$big]:-}" ]; then
		goal "$q at 1M contacts: p99 <= $limit ms" "${p99[$q,$big]} ms" at_most "${p99[$q,$big]}" "$limit"
	else
		goal_not_measured "$q at 1M contacts: p99 <= $limit ms" "1000000 is not among VIEWS_BENCH_SIZES ($sizes)"
	fi
done
if [ -n "${p50[history,$big]:-}" ] && [ -n "${p50[history,$small]:-}" ]; then
	for q in $queries; do
		goal "$q grows far slower than the data: median at 1M <= 3x at 10k (data: 100x)" \
			"${p50[$q,$small]} -> ${p50[$q,$big]} ms" at_most "${p50[$q,$big]}" "$(awk -v m="${p50[$q,$small]}" 'BEGIN { print 3 * m }')"
	done
else
	goal_not_measured "growing far slower than the data (median at 1M <= 3x at 10k)" "needs 10000 and 1000000 among VIEWS_BENCH_SIZES ($sizes)"
fi
goals_report "$out"
