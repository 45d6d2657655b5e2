#!/usr/bin/env bash
# test/run.sh: run every test suite of inbox and print one verdict line.
#
#   regress     pg_regress files sql/*.sql against expected/*.out
#   isolation   isolation specs test/isolation/specs/*.spec
#   layers      test/layers.sh: the C files of inbox.so call each other without circles
#   <suites>    scripts under test/ that start their own cluster (crash, snooze, ...)
#
# regress and isolation run against a throwaway cluster made by pg_virtualenv
# (or, with INBOX_TEST_OWN_CLUSTER=1, by test/lib/cluster.sh for the
# PostgreSQL on PATH) with inbox preloaded; each test the Makefile lists (REGRESS, ISOLATION) counts
# once, as failed when it failed or did not run, and a failing make fails the
# suite.  Each script suite prints "N passed, N failed" as its last line (a script
# that exits non-zero or prints no such line counts as failed).  The last line of
# this script is the sum over all suites; it exits non-zero when anything failed,
# and with 2 on a suite name it does not know.  Needs inbox installed (make
# install) and must run as root or as a user who may run initdb.
#
# Usage: bash test/run.sh [suite ...]      (default: every suite)
set -uo pipefail
cd "$(dirname "$0")/.."

# script suites; each prints "N passed, N failed" last (all but layers start their own server)
script_suites=(
	"layers:test/layers.sh"
	"crash:test/crash/crash_test.sh 3"
	"snooze:test/snooze/snooze_test.sh"
	"automation:test/automation/automation_test.sh"
	"notify:test/notify/notify_test.sh"
	"worker:test/worker/worker_cli_test.sh"
	"package:test/package/package_test.sh"
	"dump:test/dump/dump_test.sh"
	"upgrade:test/upgrade/upgrade_test.sh"
	"fuzz:test/fuzz/fuzz_test.sh"
	"logical:test/logical/logical_test.sh"
	"standby:test/standby/standby_test.sh"
	"tour:test/tour/tour_test.sh"
	"citus:test/citus/citus_test.sh"
)

passed=0
failed=0
want=("$@")

# every suite name given must be one this script knows
for w in "${want[@]}"; do
	known=0
	[ "$w" = regress ] || [ "$w" = isolation ] && known=1
	for entry in "${script_suites[@]}"; do [ "${entry%%:*}" = "$w" ] && known=1; done
	if [ "$known" = 0 ]; then
		echo "test/run.sh: unknown suite '$w' (known: regress isolation ${script_suites[*]%%:*})" >&2
		exit 2
	fi
done

wanted() {
	[ ${#want[@]} -eq 0 ] && return 0
	local w
	for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
	return 1
}

# the tests the Makefile lists in variable $1 (REGRESS, ISOLATION)
makefile_list() {
	printf 'inbox-print-list:\n\t@echo $(%s)\n' "$1" |
		make -s --no-print-directory -f Makefile -f - inbox-print-list
}

# pg_regress prints "test name ... ok" / "... FAILED" (15; "     name" inside a
# parallel group) or "ok N - name" / "not ok N - name" (16 on): print "name ok"
# or "name failed" for each test that ran
pg_regress_results() {
	sed -nE \
		-e 's/^(test +| +)?([A-Za-z0-9_]+) +\.\.\. +ok( |$).*/\2 ok/p' \
		-e 's/^(test +| +)?([A-Za-z0-9_]+) +\.\.\. +(FAILED|failed).*/\2 failed/p' \
		-e 's/^ok +[0-9]+ +[-+] +([A-Za-z0-9_]+).*/\1 ok/p' \
		-e 's/^not ok +[0-9]+ +[-+] +([A-Za-z0-9_]+).*/\1 failed/p' "$1"
}

# own_cluster COMMAND...: COMMAND against a throwaway cluster of the
# PostgreSQL whose pg_config is on PATH (test/lib/cluster.sh), with the
# settings pg_virtualenv gets; for a PostgreSQL that is not Debian's
# packaged one (INBOX_TEST_OWN_CLUSTER=1), which pg_virtualenv cannot run
own_cluster() {
	(
		work=$(mktemp -d /tmp/inbox-regress.XXXXXX)
		port=${INBOX_REGRESS_PORT:-5499}
		bindir=$(pg_config --bindir)
		source test/lib/cluster.sh
		trap 'as_pg "$bindir/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1; rm -rf "$work"' EXIT
		cluster_init "$work/data" || exit 1
		printf "shared_preload_libraries = 'inbox'\nmax_prepared_transactions = 10\n" >>"$work/data/postgresql.conf"
		as_pg "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w start >/dev/null || { cat "$work/server.log"; exit 1; }
		PGHOST=$work PGPORT=$port PGUSER=postgres "$@"
	)
}

# run_make_check NAME LIST make-arguments...: make installcheck on a throwaway
# cluster; each test of the Makefile's LIST counts once: passed when its result
# is ok, failed when it failed or never ran; a failing make fails the suite
run_make_check() {
	local name=$1 list=$2; shift 2
	local log rc ok=0 bad=0 t result
	log=$(mktemp)
	echo "== $name"
	if [ -n "${INBOX_TEST_OWN_CLUSTER:-}" ]; then
		own_cluster make -s installcheck "$@" 2>&1 | tee "$log"
	else
		pg_virtualenv -t -o shared_preload_libraries=inbox -o max_prepared_transactions=10 \
			make -s installcheck "$@" 2>&1 | tee "$log"
	fi
	rc=${PIPESTATUS[0]}
	for t in $(makefile_list "$list"); do
		result=$(pg_regress_results "$log" | awk -v t="$t" '$1 == t {print $2}' | tail -1)
		case $result in
			ok) ok=$((ok + 1)) ;;
			failed) bad=$((bad + 1)) ;;
			*) echo "$name: $t did not run"; bad=$((bad + 1)) ;;
		esac
	done
	if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then
		echo "$name: the Makefile lists no test"; bad=1
	fi
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		echo "$name: make installcheck exited $rc"; bad=1
	fi
	for diffs in regression.diffs output_iso/regression.diffs; do
		[ -s "$diffs" ] && { echo "---- $diffs"; cat "$diffs"; }
	done
	echo "$name: $ok passed, $bad failed"
	passed=$((passed + ok)); failed=$((failed + bad))
	rm -f "$log"
}

rm -f regression.diffs output_iso/regression.diffs
wanted regress && run_make_check regress REGRESS ISOLATION=
wanted isolation && run_make_check isolation ISOLATION REGRESS=

for entry in "${script_suites[@]}"; do
	name=${entry%%:*}
	cmd=${entry#*:}
	wanted "$name" || continue
	echo "== $name"
	log=$(mktemp)
	# shellcheck disable=SC2086
	bash $cmd 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
	if [ -z "$line" ]; then
		echo "$name: no verdict (exit $rc)"; ok=0; bad=1
	else
		ok=${line%% passed*}; bad=${line#*, }; bad=${bad%% failed}
		[ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
	fi
	passed=$((passed + ok)); failed=$((failed + bad))
	rm -f "$log"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
