#!/usr/bin/env bash
# test/run.sh: run every test suite of inbox and print one verdict line.
#
#   regress     pg_regress files sql/*.sql against expected/*.out
#   isolation   isolation specs test/isolation/specs/*.spec
#   layers      test/layers.sh: the C files of inbox.so call each other without circles
#   <suites>    scripts under test/ that start their own cluster (crash, snooze, ...)
#
# regress and isolation run against a throwaway cluster made by pg_virtualenv
# with inbox preloaded.  Each script suite prints "N passed, N failed" as its last
# line.  The last line of this script is the sum over all suites; it exits non-zero
# when anything failed.  Needs inbox installed (make install) and must run as root
# or as a user who may run initdb.
#
# Usage: bash test/run.sh [suite ...]      (default: every suite)
set -uo pipefail
cd "$(dirname "$0")/.."

# script suites; each prints "N passed, N failed" last (all but layers start their own server)
script_suites=(
	"layers:test/layers.sh"
	"crash:test/crash/crash_test.sh 3"
	"snooze:test/snooze/snooze_test.sh"
	"notify:test/notify/notify_test.sh"
	"worker:test/worker/worker_cli_test.sh"
	"package:test/package/package_test.sh"
	"dump:test/dump/dump_test.sh"
	"upgrade:test/upgrade/upgrade_test.sh"
	"fuzz:test/fuzz/fuzz_test.sh"
)

passed=0
failed=0
want=("$@")

wanted() {
	[ ${#want[@]} -eq 0 ] && return 0
	local w
	for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
	return 1
}

# pg_virtualenv runs its command as the invoking user; as root it switches the
# cluster to the postgres user, and pg_regress writes its results into the tree.
count_pg_regress() {
	# pg_regress prints "ok N  - name" / "not ok N - name" (15: "test name ... ok")
	local log=$1 ok bad
	ok=$(grep -Ec '^(ok|test|     ) .*\.\.\. ok|^ok [0-9]' "$log" || true)
	bad=$(grep -Ec '\.\.\. FAILED|^not ok [0-9]|\.\.\. failed' "$log" || true)
	echo "$ok $bad"
}

run_make_check() {
	local name=$1; shift
	local log
	log=$(mktemp)
	echo "== $name"
	pg_virtualenv -t -o shared_preload_libraries=inbox -o max_prepared_transactions=10 \
		make -s installcheck "$@" 2>&1 | tee "$log"
	read -r ok bad < <(count_pg_regress "$log")
	if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then
		echo "$name: no test ran"; bad=1
	fi
	for diffs in regression.diffs output_iso/regression.diffs; do
		[ -s "$diffs" ] && { echo "---- $diffs"; cat "$diffs"; }
	done
	echo "$name: $ok passed, $bad failed"
	passed=$((passed + ok)); failed=$((failed + bad))
	rm -f "$log"
}

rm -f regression.diffs output_iso/regression.diffs
wanted regress && run_make_check regress ISOLATION=
wanted isolation && run_make_check isolation REGRESS=

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
