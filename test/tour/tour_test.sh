#!/usr/bin/env bash
# test/tour/tour_test.sh: the README's "A tour in psql" runs as printed right
# after the README's first command (test/demo/start.sh, which loads
# test/demo/demo.sql into a server that preloads inbox).
#
#   - the tour's SQL is taken from README.md (the first ```sql block after the
#     heading "## A tour in psql", then the first after "## An agent's day",
#     which continues it), so README and test cannot drift apart;
#   - on a fresh server with the demo data loaded as start.sh loads it, it runs
#     with psql -v ON_ERROR_STOP=1;
#   - each statement prints what the README's comments say: the comment after
#     the ";" on its last line, or the lines "--  ..." right below it (columns
#     separated by "|", runs of spaces count as one, "(0 rows)" = nothing); a
#     statement that prints rows the README does not show is a failure too;
#   - inbox-worker listen --space 2 (the tour's space on a fresh demo), as the
#     README has it, prints the tour's changes;
#   - the demo's rows are left as they were, check_integrity() is empty, and
#     the tour runs a second time with the same results (a space of its own).
#
# Prints one line per check and finally "N passed, N failed".
# Usage: bash test/tour/tour_test.sh   (as root or as a user who can run initdb)
set -uo pipefail
source "$(dirname "$(readlink -f "$0")")/../lib/cluster.sh"
cd "$(dirname "$0")/../.." || exit 1

port=${INBOX_TOUR_PORT:-5472}
bindir=$(pg_config --bindir)
work=$(mktemp -d /tmp/inbox-tour.XXXXXX)
data=$work/data

cleanup() { as_pg "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1; [ -n "${INBOX_TEST_KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

# the tour, split into statements: $work/tour.sql runs them, each after
# "\echo @@ N"; $work/expected holds "N<TAB>line" for each result line the
# README shows
awk -v sql="$work/tour.sql" -v want="$work/expected" '
	/^## (A tour in psql|An agent.s day)$/ { section = 1; next }
	/^## / { section = 0 }
	section && !inblock && /^```sql$/ { inblock = 1; next }
	inblock && /^```$/ { inblock = 0; section = 0; found++; next }
	!inblock { next }
	# result lines right below a statement
	/^--  / && last > 0 { line = substr($0, 5); print last "\t" line > want; next }
	{ last = 0 }
	/^--/ || /^[ \t]*$/ { print > sql; next }
	{
		if (!open) { n++; print "\\echo @@ " n > sql; open = 1 }
		code = $0; result = ""
		if (match(code, /;[ \t]+-- /)) {
			result = substr(code, RSTART + RLENGTH)
			code = substr(code, 1, RSTART)
		}
		print code > sql
		if (code ~ /;[ \t]*$/ || code ~ /\\gset[ \t]*$/ || code ~ /^\\/) {
			open = 0; last = n
			if (result != "") print n "\t" result > want
		}
	}
	END { if (found < 2) exit 1; print n > (sql ".count") }
' README.md
rc=$?
# the statements that show a result
cut -f1 "$work/expected" 2>/dev/null | sort -un >"$work/shown"
statements=$(cat "$work/tour.sql.count" 2>/dev/null || echo 0)
if [ "$rc" != 0 ] || [ "$statements" -lt 5 ] || [ "$(wc -l <"$work/shown")" -lt 5 ]; then
	fail "README.md has a tour (a \`\`\`sql block after \"## A tour in psql\") of statements with results: $statements statements, $(wc -l <"$work/shown") results"
	echo "$passed passed, $failed failed"
	exit 1
fi
pass "the tour is read from README.md: $statements statements, $(wc -l <"$work/shown") of them with the result shown"

# a server as test/demo/start.sh starts it, with the demo data
cluster_init "$data" || { echo "0 passed, 1 failed"; exit 1; }
echo "shared_preload_libraries = 'inbox'" >>"$data/postgresql.conf"
as_pg "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w start >/dev/null || { cat "$work/server.log"; echo "0 passed, 1 failed"; exit 1; }
psql_in postgres -c 'CREATE DATABASE inbox'
psql_in inbox -c 'CREATE EXTENSION inbox CASCADE' >/dev/null
psql_in inbox -f test/demo/demo.sql >/dev/null && pass "the demo data loads" || fail "the demo data loads"

# the rows of the demo's space ("Acme Support") in every table of schema
# inbox, and every row of the tables without a space: what the tour must
# leave alone
demo_rows() {
	psql_in inbox <<'SQL'
DO $$
DECLARE
	demo bigint := (SELECT id FROM inbox.space WHERE name = 'Acme Support');
	t record;
	digest text;
BEGIN
	CREATE TEMP TABLE fp (rel text, digest text);
	FOR t IN SELECT c.oid::regclass AS rel,
					EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'space_id') AS spaced,
					c.relname = 'space' AS is_space
			 FROM pg_class c WHERE c.relnamespace = 'inbox'::regnamespace AND c.relkind = 'r' ORDER BY c.relname
	LOOP
		EXECUTE format('SELECT count(*) || '' '' || md5(coalesce(string_agg(x::text, '','' ORDER BY x::text), '''')) FROM %s x %s',
					   t.rel, CASE WHEN t.spaced THEN 'WHERE space_id = $1' WHEN t.is_space THEN 'WHERE id = $1' ELSE '' END)
			INTO digest USING demo;
		INSERT INTO fp VALUES (t.rel::text, digest);
	END LOOP;
END $$;
SELECT rel || ': ' || digest FROM fp ORDER BY rel;
SQL
}
demo_rows >"$work/demo.before" 2>&1

# run_tour N: the tour as a user runs it, output of statement K as "K<TAB>line"
run_tour() {
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -F '|' -h "$work" -p "$port" -U postgres -d inbox \
		-v ON_ERROR_STOP=1 -f "$work/tour.sql" >"$work/out.$1" 2>"$work/err.$1"
	local rc=$?
	# (an empty line is the result of a function returning void: shown as nothing)
	awk '/^@@ [0-9]+$/ { n = $2; next } /^$/ { next } { print n "\t" $0 }' "$work/out.$1" >"$work/got.$1"
	return $rc
}
# normalize "K<TAB>line": one space around each "|", runs of spaces as one,
# none at the ends of the line
normalize() {
	awk -F'\t' -v OFS='\t' '{
		line = $2
		gsub(/[ \t]*\|[ \t]*/, " | ", line); gsub(/[ \t]+/, " ", line)
		sub(/^ /, "", line); sub(/ $/, "", line)
		print $1, line
	}' "$@"
}

# the README's listener for the tour's space (2 on a fresh demo), started
# before the tour
"$bindir/inbox-worker" listen --space 2 -d "host=$work port=$port user=postgres dbname=inbox" \
	>"$work/listen.out" 2>"$work/listen.err" &
listener=$!
trap 'kill "$listener" 2>/dev/null; cleanup' EXIT
wait_until 5 grep -q 'listening on inbox_2' "$work/listen.err" || fail "inbox-worker listen --space 2 starts: $(head -2 "$work/listen.err")"

for round in 1 2; do
	if run_tour "$round"; then
		pass "round $round: the tour runs with ON_ERROR_STOP, no error"
	else
		fail "round $round: the tour stops: $(head -3 "$work/err.$round" | tr '\n' ' ')"
		continue
	fi
	# the README's "(0 rows)" is a statement that prints nothing
	grep -v $'\t(0 rows)$' "$work/expected" | normalize >"$work/want"
	normalize "$work/got.$round" >"$work/have"
	bad=0
	for k in $(seq 1 "$statements"); do
		want=$(awk -F'\t' -v k="$k" '$1 == k' "$work/want")
		have=$(awk -F'\t' -v k="$k" '$1 == k' "$work/have")
		if grep -qx "$k" "$work/shown"; then
			[ "$want" = "$have" ] && continue
			fail "round $round: statement $k prints '$(cut -f2 <<<"$have" | tr '\n' ';')', README shows '$(cut -f2 <<<"$want" | tr '\n' ';')'"
			bad=$((bad + 1))
		elif [ -n "$have" ]; then
			fail "round $round: statement $k prints '$(cut -f2 <<<"$have" | tr '\n' ';')', README shows no result"
			bad=$((bad + 1))
		fi
	done
	[ "$bad" = 0 ] && pass "round $round: every statement prints what the README shows ($(wc -l <"$work/shown") results)"
done

# what the listener printed for round 1: one line per change, ids only
tour_ops() { grep -o '"op": *"[a-z_]*"' "$work/listen.out" | sed 's/.*"\([a-z_]*\)"$/\1/' | sort -u | tr '\n' ' '; }
# (its three messages: the first, the reply and the plain INSERT; the retry is none)
messages() { [ "$(grep -c '"op": *"message"' "$work/listen.out")" -ge 3 ]; }
wait_until 5 messages
check "inbox-worker listen --space 2 printed the tour's changes" "$(tour_ops)" \
	"assignment comment contact contact_created conversation_closed conversation_opened event mention message message_status read "
check "... and its three messages" "$(grep -c '"op": *"message"' "$work/listen.out")" 3
kill "$listener" 2>/dev/null

demo_rows >"$work/demo.after" 2>&1
if [ "$(grep -c 'inbox\.message: [1-9]' "$work/demo.before")" = 1 ] && diff -q "$work/demo.before" "$work/demo.after" >/dev/null; then
	pass "the demo space's rows are as the demo left them ($(wc -l <"$work/demo.before") tables)"
else
	fail "the tour changed the demo's rows: $(diff "$work/demo.before" "$work/demo.after" | head -4 | tr '\n' ' ')"
fi
check "the tour made spaces of its own (the demo's and two tours)" "$(psql_in inbox -c 'SELECT count(*) FROM inbox.space')" 3
check "check_integrity() is empty after the tours" "$(psql_in inbox -c 'SELECT count(*) FROM inbox.check_integrity()')" 0

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
