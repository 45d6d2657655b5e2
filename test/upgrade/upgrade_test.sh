#!/usr/bin/env bash
# test/upgrade/upgrade_test.sh: every earlier version of inbox, installed and
# filled with data, upgraded step by step with ALTER EXTENSION inbox UPDATE TO
# each later version, has the objects of a fresh install of the newest one.
#
#   - the versions are the install scripts extension/inbox--<v>.sql, in
#     version order; the newest is inbox.control's default_version;
#   - for each earlier version: CREATE EXTENSION inbox VERSION '<v>', the
#     demo data, then one ALTER EXTENSION ... UPDATE TO per later version;
#   - compared with a fresh CREATE EXTENSION inbox: tables and columns
#     (type, default, not null, generated), indexes, constraints, table
#     options, functions (definition, security definer, settings), triggers
#     (definition, enabled), policies, grants, comments, the extension's
#     members and its pg_dump configuration;
#   - the upgraded data: every row still there, check_integrity() empty, and
#     the rules still working on it (a message opens a conversation, a reply
#     assigns).
#
# Prints one line per check and finally "N passed, N failed".
# Usage: bash test/upgrade/upgrade_test.sh   (as root or as a user who can run initdb)
set -uo pipefail
source "$(dirname "$(readlink -f "$0")")/../lib/cluster.sh"
cd "$(dirname "$0")/../.." || exit 1

port=${INBOX_UPGRADE_PORT:-5476}
bindir=$(pg_config --bindir)
work=$(mktemp -d /tmp/inbox-upgrade.XXXXXX)
data=$work/data

cleanup() { as_pg "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1; [ -n "${INBOX_TEST_KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

newest=$(sed -n "s/^default_version = '\(.*\)'/\1/p" inbox.control)
mapfile -t versions < <(ls extension/inbox--*.sql | sed -n 's/^extension\/inbox--\([^-]*\)\.sql$/\1/p' | sort -V)
echo "versions: ${versions[*]}; newest: $newest"
check "the newest install script is the default version" "${versions[-1]}" "$newest"

cluster_init "$data" || { echo "0 passed, 1 failed"; exit 1; }
cat >>"$data/postgresql.conf" <<CONF
shared_preload_libraries = 'inbox'
inbox.snooze_worker = off
CONF
as_pg "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w start >/dev/null || { cat "$work/server.log"; echo "0 passed, 1 failed"; exit 1; }

# the objects of schema inbox and of the extension, one line each
objects() {
	psql_in "$1" <<'SQL'
WITH ns AS (SELECT 'inbox'::regnamespace AS oid),
rel AS (SELECT c.oid, c.relname, c.relkind, c.reloptions, c.relacl, c.relrowsecurity FROM pg_class c, ns WHERE c.relnamespace = ns.oid),
fn AS (SELECT p.oid, p.oid::regprocedure::text AS sig, p.prosecdef, p.proconfig, p.proacl FROM pg_proc p, ns WHERE p.pronamespace = ns.oid)
SELECT 'relation ' || relname || ' ' || relkind::text || ' ' || coalesce(reloptions::text, '') || ' rls=' || relrowsecurity
	|| ' acl=' || coalesce(relacl::text, '') || ' comment=' || coalesce(obj_description(oid, 'pg_class'), '') FROM rel
UNION ALL
SELECT 'column ' || r.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull
	|| ' generated=' || a.attgenerated::text || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
	|| ' comment=' || coalesce(col_description(r.oid, a.attnum), '')
FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = r.oid AND d.adnum = a.attnum
WHERE r.relkind IN ('r', 'v')
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN rel r ON r.oid = i.indrelid
UNION ALL
SELECT 'constraint ' || r.relname || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN rel r ON r.oid = c.conrelid
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal
UNION ALL
SELECT 'policy ' || p.tablename || ' ' || p.policyname || ' ' || p.cmd || ' ' || array_to_string(p.roles, ',') || ' '
	|| coalesce(p.qual, '') || ' ' || coalesce(p.with_check, '') FROM pg_policies p WHERE p.schemaname = 'inbox'
UNION ALL
SELECT 'function ' || sig || ' secdef=' || prosecdef || ' config=' || coalesce(proconfig::text, '') || ' acl=' || coalesce(proacl::text, '')
	|| ' md5=' || md5(pg_get_functiondef(oid)) || ' comment=' || coalesce(obj_description(oid, 'pg_proc'), '') FROM fn
UNION ALL
SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid) FROM pg_depend d
WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'inbox') AND d.deptype = 'e'
UNION ALL
SELECT 'dumped ' || c::regclass::text || ' ' || coalesce(w, '')
FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(c, w) WHERE e.extname = 'inbox'
UNION ALL
SELECT 'extension ' || extversion || ' ' || extrelocatable || ' ' || extnamespace::regnamespace FROM pg_extension WHERE extname = 'inbox'
ORDER BY 1;
SQL
}

# what the demo data looks like, and whether the rules work on it
contents() {
	psql_in "$1" <<'SQL'
SELECT format('%s spaces, %s agents, %s channels, %s contacts, %s identities, %s conversations, %s messages, %s events',
	(SELECT count(*) FROM inbox.space), (SELECT count(*) FROM inbox.agent), (SELECT count(*) FROM inbox.channel),
	(SELECT count(*) FROM inbox.contact), (SELECT count(*) FROM inbox.contact_channel), (SELECT count(*) FROM inbox.conversation),
	(SELECT count(*) FROM inbox.message), (SELECT count(*) FROM inbox.event));
SELECT md5(string_agg(m::text, ',' ORDER BY m.id)) FROM inbox.message m;
SQL
}

# contents worth comparing: both lines there, with the demo's messages
contents_ok() {
	[ "$(wc -l <"$1")" = 2 ] && grep -Eq ' [1-9][0-9]* messages, ' "$1" && sed -n 2p "$1" | grep -Eq '^[0-9a-f]{32}$'
}

psql_in postgres -c 'CREATE DATABASE fresh'
psql_in fresh -c 'CREATE EXTENSION inbox CASCADE'
objects fresh >"$work/fresh.objects"
[ "$(wc -l <"$work/fresh.objects")" -gt 100 ] || fail "the objects of a fresh install are listed: $(head -3 "$work/fresh.objects")"
check "a fresh install is version $newest" "$(psql_in fresh -c "SELECT extversion FROM pg_extension WHERE extname = 'inbox'")" "$newest"

for old in "${versions[@]}"; do
	[ "$old" = "$newest" ] && continue
	db="from_${old//./_}"
	psql_in postgres -c "CREATE DATABASE $db"
	psql_in "$db" -c 'CREATE EXTENSION pg_trgm' -c "CREATE EXTENSION inbox VERSION '$old'" &&
		pass "$old installs" || { fail "$old installs"; continue; }
	psql_in "$db" -f test/demo/demo.sql >/dev/null && pass "$old: the demo data loads" || fail "$old: the demo data loads"
	contents "$db" >"$work/$db.before"

	# one step per later version, in order
	steps=""
	for v in "${versions[@]}"; do
		[ "$(printf '%s\n%s\n' "$old" "$v" | sort -V | head -1)" = "$old" ] && [ "$v" != "$old" ] || continue
		if psql_in "$db" -c "ALTER EXTENSION inbox UPDATE TO '$v'" 2>"$work/update.err"; then
			steps="$steps -> $v"
		else
			fail "$old: ALTER EXTENSION inbox UPDATE TO '$v': $(head -2 "$work/update.err")"
		fi
	done
	objects "$db" >"$work/$db.objects"
	if diff "$work/fresh.objects" "$work/$db.objects" >"$work/$db.diff"; then
		pass "$old$steps: the objects of a fresh $newest install ($(wc -l <"$work/fresh.objects") objects compared)"
	else
		fail "$old$steps differs from a fresh install: $(head -8 "$work/$db.diff" | tr '\n' ' ')"
	fi
	contents "$db" >"$work/$db.after"
	if ! contents_ok "$work/$db.before" || ! contents_ok "$work/$db.after"; then
		fail "$old$steps: no rows to compare: before '$(tr '\n' ' ' <"$work/$db.before")', after '$(tr '\n' ' ' <"$work/$db.after")'"
	elif diff -q "$work/$db.before" "$work/$db.after" >/dev/null; then
		pass "$old$steps: every row kept ($(head -1 "$work/$db.after"))"
	else
		fail "$old$steps: rows changed: $(diff "$work/$db.before" "$work/$db.after" | tr '\n' ' ')"
	fi
	check "$old$steps: check_integrity() is empty" "$(psql_in "$db" -c 'SELECT count(*) FROM inbox.check_integrity()')" 0
	check "$old$steps: the rules work on the upgraded data (auto-open, auto-assign, events)" "$(psql_in "$db" <<'SQL'
SELECT id AS ben FROM inbox.agent WHERE name = 'Ben Okafor' \gset
SELECT id AS web FROM inbox.channel WHERE kind = 'webchat' \gset
SELECT inbox.receive_message(:web, 'after-upgrade', 'still there?') AS m \gset
SELECT contact_id AS c FROM inbox.message WHERE id = :m \gset
SELECT inbox.send_message(:c, :web, 'yes', :ben) IS NOT NULL AS sent \gset
SELECT format('%s %s %s', open_conversation_id IS NOT NULL, assignee_id = :ben,
	(SELECT string_agg(kind, ',' ORDER BY id) FROM inbox.event WHERE contact_id = :c)) FROM inbox.contact WHERE id = :c;
SQL
)" "t t conversation_opened,assigned"
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
