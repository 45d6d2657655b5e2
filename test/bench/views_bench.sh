#!/usr/bin/env bash
# test/bench/views_bench.sh: latency of the contact list, view counts, search
# and history at 10k, 100k and 1M contacts (10 messages each, 50 agents), and
# of the smallest space beside the big ones against the same space alone.
#
# Starts its own cluster, generates one space per size in the same database
# "bench" (test/bench/views_generate.sql), and the smallest size once more in
# a database "alone" of its own (its "neighbours" column: the same space with
# no other space in the database), checks inbox.check_integrity(), then runs
# each query with pgbench (1 client, random agent/contact per call), the
# columns of one query one after the other so that the load of the machine
# weighs on them alike, and writes median and p99 per query and column to
# test/bench/results/views.md, then one verdict line per goal:
#   - at every size, p99: a list page of each built-in view, view_counts and
#     a history page <= 5 ms, each search <= 20 ms (SPEC.md asks it at 1M);
#   - growing far slower than the data: each median at 1M at most 3x its
#     median at 10k (when both sizes run);
#   - neighbours: each median of the smallest space beside the big ones at
#     most 1.5x its median alone (issue 25: a small space searches as fast
#     as it would alone);
# and exits non-zero when one is missed.
#
# Usage: bash test/bench/views_bench.sh
#        VIEWS_BENCH_SIZES="10000 100000 1000000" (the spaces of "bench"; the
#          smallest is also generated alone; 1M takes ~15 min on 2 cores)
#        VIEWS_BENCH_CALLS=300 (calls per query and column)
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

small=$(printf '%s\n' $sizes | sort -n | head -1)

sql() { psql -X -q -At -h "$work" -p "$port" -U postgres -d "${db:-bench}" -v ON_ERROR_STOP=1 "$@"; }
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
# a column: "N" = the space of N contacts in "bench", "N alone" = in "alone"
declare -A space_of db_of
generate() {	# generate DB N COLUMN
	local start=$(date +%s)
	db=$1 sql -v space_name="s$2" -v contacts="$2" -v per_contact=$per_contact -v agents=$agents \
		-f test/bench/views_generate.sql >/dev/null
	space_of[$3]=$(db=$1 sql -c "SELECT id FROM inbox.space WHERE name = 's$2'")
	db_of[$3]=$1
	echo "generated $2 contacts, $(($2 * per_contact)) messages in $1 in $(( $(date +%s) - start )) s"
}
for d in bench alone; do
	psql -X -q -h "$work" -p "$port" -U postgres -d postgres -c "CREATE DATABASE $d"
	db=$d sql -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION inbox CASCADE'
done
generate alone "$small" "$small alone"
for n in $sizes; do generate bench "$n" "$n"; done
columns=("$small alone" $sizes)
for d in bench alone; do
	db=$d sql -c 'VACUUM ANALYZE'
	bad=$(db=$d sql -c 'SELECT count(*) FROM inbox.check_integrity()')
	[ "$bad" = 0 ] || { db=$d sql -c 'SELECT * FROM inbox.check_integrity()'; echo "generated data of $d violates invariants"; exit 1; }
done

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

# the pgbench variables of each column: its space, agents and contacts
declare -A vars_of
for col in "${columns[@]}"; do
	space=${space_of[$col]}
	read -r agent_lo agent_hi contact_lo contact_hi < <(db=${db_of[$col]} sql -F ' ' -c "
		SELECT (SELECT min(id) FROM inbox.agent WHERE space_id = $space), (SELECT max(id) FROM inbox.agent WHERE space_id = $space),
			   (SELECT min(id) FROM inbox.contact WHERE space_id = $space), (SELECT max(id) FROM inbox.contact WHERE space_id = $space)")
	vars_of[$col]="-D space=$space -D agent_lo=$agent_lo -D agent_hi=$agent_hi -D contacts=${col% alone}
		-D contact_lo=$contact_lo -D contact_hi=$contact_hi"
done

declare -A p50 p99
for q in $queries; do
	for col in "${columns[@]}"; do
		rm -f "$work"/pgbench_log.*
		# shellcheck disable=SC2086 # vars_of holds several words
		(cd "$work" && "$bindir/pgbench" -n -h "$work" -p "$port" -U postgres -c 1 -t "$calls" -l \
			${vars_of[$col]} -f "scripts/$q.sql" "${db_of[$col]}" >/dev/null)
		# third field of each log line: the call's latency in microseconds
		read -r a b < <(cat "$work"/pgbench_log.* | awk '{print $3}' | sort -n | awk '
			{ v[NR] = $1 } END { m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.99 + 0.999)]; printf "%.2f %.2f\n", m / 1000, p / 1000 }')
		p50[$q,$col]=$a; p99[$q,$col]=$b
		echo "$q at $col contacts: median $a ms, p99 $b ms"
	done
done

{
	echo "# Views benchmark"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, PostgreSQL $(pg_config --version | awk '{print $2}')."
	echo "Database \"bench\": one space per size ($per_contact messages per contact, $agents agents); database \"alone\":"
	echo "the $small-contact space generated the same way, alone (the neighbours column). shared_buffers 2GB;"
	echo "each query $calls times per column with pgbench (1 client, a random agent or contact per call), the columns"
	echo "of a query one after the other. Latency in ms, median / p99."
	echo "Targets at every size: list page, counts and history page <= 5 ms, search <= 20 ms (p99); the $small space"
	echo "beside the big ones within 1.5x of it alone (median)."
	echo
	header="| query |"; rule="|---|"
	for col in "${columns[@]}"; do header="$header $col |"; rule="$rule---|"; done
	echo "$header"; echo "$rule"
	for q in $queries; do
		line="| $q |"
		for col in "${columns[@]}"; do line="$line ${p50[$q,$col]} / ${p99[$q,$col]} |"; done
		echo "$line"
	done
	echo
	echo "list_page_10 includes fetching the 500 rows before it (to get its cursor), so it is an upper bound for page 10"
	echo "and is not judged against the page goal."
} >"$out"
cat "$out"

# the goals at every size (by p99), the growth from 10k to 1M (by median),
# and the smallest space beside the big ones against it alone (by median)
big=1000000
for q in $queries; do
	case $q in
		list_page_10) continue ;;
		search_*) limit=20 ;;
		*) limit=5 ;;
	esac
	for n in $sizes; do
		goal "$q at $n contacts: p99 <= $limit ms" "${p99[$q,$n]} ms" at_most "${p99[$q,$n]}" "$limit"
	done
done
[[ " $sizes " == *" $big "* ]] ||
	goal_not_measured "every query at 1M contacts (SPEC.md)" "1000000 is not among VIEWS_BENCH_SIZES ($sizes)"
if [ -n "${p50[history,$big]:-}" ] && [ -n "${p50[history,10000]:-}" ]; then
	for q in $queries; do
		goal "$q grows far slower than the data: median at 1M <= 3x at 10k (data: 100x)" \
			"${p50[$q,10000]} -> ${p50[$q,$big]} ms" at_most "${p50[$q,$big]}" "$(awk -v m="${p50[$q,10000]}" 'BEGIN { print 3 * m }')"
	done
else
	goal_not_measured "growing far slower than the data (median at 1M <= 3x at 10k)" "needs 10000 and 1000000 among VIEWS_BENCH_SIZES ($sizes)"
fi
if [ "$small" != "$(printf '%s\n' $sizes | sort -n | tail -1)" ]; then
	for q in $queries; do
		goal "$q of the $small space beside the big ones: median <= 1.5x alone" \
			"${p50[$q,$small alone]} alone -> ${p50[$q,$small]} ms beside" \
			at_most "${p50[$q,$small]}" "$(awk -v m="${p50[$q,$small alone]}" 'BEGIN { print 1.5 * m }')"
	done
else
	goal_not_measured "the smallest space beside the big ones within 1.5x of it alone" "VIEWS_BENCH_SIZES ($sizes) has one size"
fi
goals_report "$out"
