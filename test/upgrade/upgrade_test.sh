#!/usr/bin/env bash
# test/upgrade/upgrade_test.sh: every earlier version of inbox, installed and
# filled with data by the library it shipped with, then served by the current
# library and upgraded step by step with ALTER EXTENSION inbox UPDATE TO each
# later version, has the objects of a fresh install of the newest one.
#
#   - the versions are the install scripts extension/inbox--<v>.sql, in
#     version order; the newest is inbox.control's default_version;
#   - for each earlier version V: the library V shipped with is built from
#     the newest commit whose inbox.control has default_version = V (git
#     archive of it, so the repository's history must be there: a clone,
#     not a shallow one), and installed into a private copy of the
#     PostgreSQL tree of pg_config (bindir, sharedir with the current
#     inbox--*.sql and inbox.control, pkglibdir with the old inbox.so);
#   - a cluster of that copy gets CREATE EXTENSION inbox VERSION 'V' and the
#     demo data of V's own test/demo/demo.sql (V's API); it stops, and the
#     same data directory starts with the current PostgreSQL tree (the
#     current inbox.so): before the update the 1.x API is refused (0A000)
#     and the background worker leaves the old schema alone; then one ALTER
#     EXTENSION ... UPDATE TO per later version;
#   - compared with a fresh CREATE EXTENSION inbox in the same cluster:
#     tables and columns (type, default, not null, generated), indexes,
#     constraints, table options, functions (definition, security definer,
#     settings), triggers (definition, enabled), policies, grants, comments,
#     the extension's members and its pg_dump configuration;
#   - the upgraded data: every row of every table still there (in the
#     columns both versions have; no data row added), check_integrity()
#     empty, and the rules of the newest version working on it with its API
#     (space first: a message opens a conversation, a reply assigns).
#
# Prints one line per check and finally "N passed, N failed".
# Usage: bash test/upgrade/upgrade_test.sh   (as root or as a user who can run initdb)
#        INBOX_TEST_KEEP=1 keeps the work directory.
set -uo pipefail
source "$(dirname "$(readlink -f "$0")")/../lib/cluster.sh"
cd "$(dirname "$0")/../.." || exit 1

port=${INBOX_UPGRADE_PORT:-5476}
pg_config=$(command -v pg_config)
bindir=$("$pg_config" --bindir)
work=$(mktemp -d /tmp/inbox-upgrade.XXXXXX)
data=

cleanup() {
	[ -n "$data" ] && as_pg "$server_bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1
	[ -n "${INBOX_TEST_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

newest=$(sed -n "s/^default_version = '\(.*\)'/\1/p" inbox.control)
mapfile -t versions < <(ls extension/inbox--*.sql | sed -n 's/^extension\/inbox--\([^-]*\)\.sql$/\1/p' | sort -V)
echo "versions: ${versions[*]}; newest: $newest"
check "the newest install script is the default version" "${versions[-1]}" "$newest"

# version_at COMMIT: the default_version of inbox.control at COMMIT
version_at() { git show "$1:inbox.control" 2>/dev/null | sed -n "s/^default_version = '\(.*\)'/\1/p"; }
# shipped_commit V: the newest commit whose inbox.control has default_version
# = V: the parent of the commit that moved it from V on (git log of
# inbox.control, newest first)
shipped_commit() {
	local v=$1 c
	for c in $(git rev-list HEAD -- inbox.control 2>/dev/null); do
		if [ "$(version_at "$c")" != "$v" ] && [ "$(version_at "$c^")" = "$v" ]; then
			git rev-parse --short "$c^"
			return 0
		fi
	done
	return 1
}

# a copy of the PostgreSQL tree of pg_config under $1, keeping the three
# directories where they are relative to each other (PostgreSQL finds its
# share and lib directories from where its binaries are): the binaries
# copied, share and lib as links to the originals (inbox.so aside)
copy_tree() {
	local root=$1 d src
	for d in bindir sharedir pkglibdir; do
		src=$("$pg_config" --"$d")
		mkdir -p "$root$(dirname "$src")"
		if [ "$d" = bindir ]; then cp -a "$src" "$root$src"; else cp -as "$src" "$root$src"; fi
	done
	rm -f "$root$("$pg_config" --pkglibdir)/inbox.so"
	chmod -R a+rX "$root"
}

# start / stop DATA with the server binaries of BINDIR
start_with() {
	server_bindir=$1 data=$2
	as_pg "$server_bindir/pg_ctl" -D "$data" -l "$work/server.log" -w -t 60 start >/dev/null
}
# the inbox.so the running postmaster loaded (shared_preload_libraries)
loaded_library() { grep -o '/[^ ]*/inbox\.so$' "/proc/$(head -1 "$data/postmaster.pid")/maps" | sort -u; }
stop_server() { as_pg "$server_bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null && data=; }

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
SELECT 'requires ' || r.extname FROM pg_depend d JOIN pg_extension r ON r.oid = d.refobjid
WHERE d.classid = 'pg_extension'::regclass AND d.objid = (SELECT oid FROM pg_extension WHERE extname = 'inbox')
  AND d.refclassid = 'pg_extension'::regclass
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

# every row of every table of schema inbox: "<table> <has space_id> <row as JSON>"
rows() {
	psql_in "$1" <<'SQL'
SELECT format('SELECT %L || '' '' || %L || '' '' || to_jsonb(x)::text FROM %s x', c.relname,
	EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'space_id' AND NOT a.attisdropped), c.oid::regclass)
FROM pg_class c WHERE c.relnamespace = 'inbox'::regnamespace AND c.relkind = 'r' ORDER BY c.relname
\gexec
SQL
}

# compare_rows BEFORE AFTER: every row before is there after, in the columns
# of its table that both versions have; a table with space_id (a data table)
# has no row more (catalogues may gain rows); prints "ok: <summary>" or the
# differences
cat >"$work/compare_rows.py" <<'PY'
import collections, json, sys

def load(path):
    tables = collections.defaultdict(list)
    data = {}
    for line in open(path):
        table, has_space, row = line.rstrip("\n").split(" ", 2)
        tables[table].append(json.loads(row))
        data[table] = has_space == "t"
    return tables, data

before, _ = load(sys.argv[1])
after, data_after = load(sys.argv[2])
problems, kept, notes = [], 0, []
for table, rows in sorted(before.items()):
    if table not in after and rows:
        problems.append("%s: %d rows, the table is gone or empty" % (table, len(rows)))
        continue
    common = set(rows[0]) & set(after[table][0])
    gone = set(rows[0]) - common
    if gone:
        notes.append("%s without %s" % (table, ",".join(sorted(gone))))
    key = lambda r: json.dumps({k: r[k] for k in sorted(common)}, sort_keys=True)
    have = collections.Counter(key(r) for r in after[table])
    want = collections.Counter(key(r) for r in rows)
    missing = want - have
    for r in list(missing)[:3]:
        problems.append("%s: row gone or changed: %s" % (table, r[:300]))
    extra = len(after[table]) - len(rows)
    if data_after.get(table) and extra > 0:
        problems.append("%s: %d rows more than before" % (table, extra))
    kept += sum((want & have).values())
if problems:
    print("\n".join(problems))
else:
    print("ok: %d rows of %d tables kept%s" % (kept, len(before), "; " + "; ".join(notes) if notes else ""))
PY

# build_library V COMMIT: inbox.so of COMMIT, built in $work/build-V
build_library() {
	local dir=$work/build-$1
	mkdir -p "$dir"
	git archive "$2" | tar -x -C "$dir" &&
		make -s -C "$dir" PG_CONFIG="$pg_config" inbox.so >"$dir/build.log" 2>&1 &&
		[ -f "$dir/inbox.so" ]
}

cluster_conf() {
	cat >>"$1/postgresql.conf" <<CONF
shared_preload_libraries = 'inbox'
CONF
}

if ! git rev-parse --git-dir >/dev/null 2>&1; then
	fail "the repository's history is there (git): not a git clone"
	echo "$passed passed, $failed failed"; exit 1
fi
old_tree=$work/oldpg
copy_tree "$old_tree"
old_bindir=$old_tree$bindir
old_pkglibdir=$old_tree$("$pg_config" --pkglibdir)

for old in "${versions[@]}"; do
	[ "$old" = "$newest" ] && continue
	commit=$(shipped_commit "$old") || { fail "$old: no commit has inbox.control at default_version $old (shallow clone?)"; continue; }
	if build_library "$old" "$commit"; then
		pass "$old: the library it shipped with builds (commit $commit)"
	else
		fail "$old: the library of commit $commit does not build: $(tail -3 "$work/build-$old/build.log" 2>/dev/null | tr '\n' ' ')"
		continue
	fi
	cp "$work/build-$old/inbox.so" "$old_pkglibdir/inbox.so" && chmod a+r "$old_pkglibdir/inbox.so"

	db="from_${old//./_}"
	cdata=$work/data-$old
	cluster_init "$cdata" || { fail "$old: initdb"; continue; }
	cluster_conf "$cdata"
	if ! start_with "$old_bindir" "$cdata"; then
		fail "$old: the server with the $old library starts: $(tail -3 "$work/server.log" | tr '\n' ' ')"
		continue
	fi
	check "$old: the server runs the $old library" "$(loaded_library)" "$old_pkglibdir/inbox.so"
	psql_in postgres -c "CREATE DATABASE $db"
	psql_in "$db" -c 'CREATE EXTENSION pg_trgm' -c "CREATE EXTENSION inbox VERSION '$old'" &&
		pass "$old installs" || { fail "$old installs"; stop_server; continue; }
	git show "$commit:test/demo/demo.sql" >"$work/demo-$old.sql"
	psql_in "$db" -f "$work/demo-$old.sql" >/dev/null 2>"$work/demo.err" &&
		pass "$old: the demo data of $old loads with the $old library and API" ||
		fail "$old: the demo data loads: $(head -3 "$work/demo.err" | tr '\n' ' ')"
	rows "$db" >"$work/$db.before"
	stop_server || fail "$old: the server stops"

	# the same data directory, served by the current tree and library
	if ! start_with "$bindir" "$cdata"; then
		fail "$old: the data directory starts with the current library: $(tail -3 "$work/server.log" | tr '\n' ' ')"
		continue
	fi
	check "$old: the server now runs the current library" "$(loaded_library)" "$("$pg_config" --pkglibdir)/inbox.so"
	err=$(psql_in "$db" -v VERBOSITY=sqlstate -c "SELECT inbox.mark_read(c.id, NULL) FROM inbox.contact c LIMIT 1" 2>&1)
	check "$old: before the update the current library refuses the $old API (0A000)" "$err" "ERROR:  0A000"
	check "$old: ... and the database is still at $old" \
		"$(psql_in "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'inbox'")" "$old"

	# one step per later version, in order
	steps=""
	for v in "${versions[@]}"; do
		[ "$(printf '%s\n%s\n' "$old" "$v" | sort -V | head -1)" = "$old" ] && [ "$v" != "$old" ] || continue
		if [ "$v" = 2.0 ]; then
			# 2.0 requires btree_gin (the search index leads with the space):
			# without it the update is refused, with a message naming it
			err=$(psql_in "$db" -c "ALTER EXTENSION inbox UPDATE TO '$v'" 2>&1 | head -1)
			check "$old: the update to 2.0 without btree_gin is refused, naming it" \
				"$err" 'ERROR:  required extension "btree_gin" is not installed'
			psql_in "$db" -c 'CREATE EXTENSION btree_gin'
		fi
		if psql_in "$db" -c "ALTER EXTENSION inbox UPDATE TO '$v'" 2>"$work/update.err"; then
			steps="$steps -> $v"
		else
			fail "$old: ALTER EXTENSION inbox UPDATE TO '$v': $(head -2 "$work/update.err" | tr '\n' ' ')"
		fi
	done

	psql_in postgres -c 'CREATE DATABASE fresh'
	psql_in fresh -c 'CREATE EXTENSION inbox CASCADE'
	objects fresh >"$work/fresh.objects"
	[ "$(wc -l <"$work/fresh.objects")" -gt 100 ] || fail "the objects of a fresh install are listed: $(head -3 "$work/fresh.objects")"
	check "$old: a fresh install next to it is version $newest" \
		"$(psql_in fresh -c "SELECT extversion FROM pg_extension WHERE extname = 'inbox'")" "$newest"
	objects "$db" >"$work/$db.objects"
	if diff "$work/fresh.objects" "$work/$db.objects" >"$work/$db.diff"; then
		pass "$old$steps: the objects of a fresh $newest install ($(wc -l <"$work/fresh.objects") objects compared)"
	else
		fail "$old$steps differs from a fresh install: $(head -8 "$work/$db.diff" | tr '\n' ' ')"
	fi

	rows "$db" >"$work/$db.after"
	if ! grep -q '^message t ' "$work/$db.before"; then
		fail "$old: no messages to compare: $(head -3 "$work/$db.before" | tr '\n' ' ')"
	else
		got=$(python3 "$work/compare_rows.py" "$work/$db.before" "$work/$db.after" 2>&1)
		case $got in
			ok:*) pass "$old$steps: every row kept (${got#ok: })" ;;
			*) fail "$old$steps: rows changed: $(head -6 <<<"$got" | tr '\n' ' ')" ;;
		esac
	fi
	check "$old$steps: check_integrity() is empty" "$(psql_in "$db" -c 'SELECT count(*) FROM inbox.check_integrity()')" 0
	check "$old$steps: the $newest rules and API work on the upgraded data (auto-open, auto-assign, events)" "$(psql_in "$db" <<'SQL'
SELECT id AS space FROM inbox.space \gset
SELECT id AS ben FROM inbox.agent WHERE name = 'Ben Okafor' \gset
SELECT id AS web FROM inbox.channel WHERE kind = 'webchat' \gset
SELECT inbox.receive_message(:space, :web, 'after-upgrade', 'still there?') AS m \gset
SELECT contact_id AS c FROM inbox.message WHERE id = :m \gset
SELECT inbox.send_message(:space, :c, :web, 'yes', :ben) IS NOT NULL AS sent \gset
SELECT format('%s %s %s', open_conversation_id IS NOT NULL, assignee_id = :ben,
	(SELECT string_agg(kind, ',' ORDER BY id) FROM inbox.event WHERE contact_id = :c)) FROM inbox.contact WHERE id = :c;
SQL
)" "t t conversation_opened,assigned"
	check "$old$steps: a known contact of the $old data writes again into its open conversation" "$(psql_in "$db" <<'SQL'
SELECT id AS space FROM inbox.space \gset
SELECT cc.contact_id AS c, cc.channel_id AS ch, cc.external_id AS ref, k.open_conversation_id AS conv
FROM inbox.contact_channel cc JOIN inbox.contact k ON k.id = cc.contact_id
WHERE cc.external_id = '14155550111' \gset
SELECT inbox.receive_message(:space, :ch, :'ref', 'one more thing') AS m \gset
SELECT format('%s %s', contact_id = :c, conversation_id = :'conv') FROM inbox.message WHERE id = :m;
SQL
)" "t t"
	if grep -E 'terminated by signal|PANIC|TRAP:' "$work/server.log" | head -3 | grep .; then
		fail "$old: a server process died (server log above)"
	else
		pass "$old: no server process died, before or after the update"
	fi
	stop_server || fail "$old: the server stops"
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
