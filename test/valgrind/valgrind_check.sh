#!/usr/bin/env bash
# test/valgrind/valgrind_check.sh: the regression and isolation suites with the
# server running under valgrind (memcheck).  `make valgrind-check` runs it.
#
# The Debian server is not built with USE_VALGRIND, so memcheck sees memory at
# malloc granularity: palloc chunks inside a memory-context block are not
# separately tracked (an overrun into the next chunk of the same block is not
# seen), but reads of never-written palloc memory (uninitialised values), every
# overrun of a block (and large pallocs are blocks of their own), bad frees,
# overlapping memcpy and bad syscall arguments are.  Backends are forks of the
# postmaster, so valgrind follows them without --trace-children.
#
# (AddressSanitizer was tried first: inbox.so built with -fsanitize=address and
# libasan LD_PRELOADed into the Debian postgres hangs at start-up in
# bindtextdomain -- a deadlock on glibc's _nl_state_lock -- so valgrind it is.)
#
# Starts its own cluster (port 5479) under valgrind with
# shared_preload_libraries = 'inbox', runs `make installcheck` (regress, then
# isolation) against it, stops it, then reads one valgrind log per process:
#   FAIL  any error whose stack passes through inbox.so;
#   FAIL  installcheck failed, or a backend died (server log);
#   info  errors only in the server itself (known false positives are suppressed
#         by test/valgrind/postgres.supp, from PostgreSQL's src/tools/valgrind.supp;
#         anything else is listed, not failed: it is not inbox's code).
# Own suppressions for inbox would go to test/valgrind/inbox.supp (none needed).
#
# Usage: bash test/valgrind/valgrind_check.sh   (as root or a user who can run initdb)
#   INBOX_VALGRIND_BINDIR=<dir>   another server build (default: pg_config --bindir)
#   INBOX_VALGRIND_TESTS=<dir>    run the tests of another source tree (matching that build)
#   INBOX_VALGRIND_KEEP=1         keep the work directory
# Takes several minutes.  Prints one line per check, finally "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
src_tree=$(pwd)
tests_tree=${INBOX_VALGRIND_TESTS:-$src_tree}   # the tree whose sql/, expected/, test/isolation run

port=${INBOX_VALGRIND_PORT:-5479}
bindir=${INBOX_VALGRIND_BINDIR:-$(pg_config --bindir)}
work=$(mktemp -d /tmp/inbox-valgrind.XXXXXX)
data=$work/data
passed=0
failed=0
start_time=$(date +%s)

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAILED: $*"; failed=$((failed + 1)); }
verdict() { echo "valgrind-check took $(( $(date +%s) - start_time )) s"; echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }
cleanup() {
	[ -f "$data/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1
	if [ -n "${INBOX_VALGRIND_KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
command -v valgrind >/dev/null || { fail "valgrind is not installed (apt-get install valgrind)"; verdict; }

chmod 755 "$work"
mkdir -p "$data" "$work/sock" "$work/vg" "$work/src"
chown postgres "$data" "$work/sock" "$work/vg" 2>/dev/null
chmod 700 "$data"
# pg_regress writes results into its input tree: run it in a copy
tar -C "$tests_tree" --exclude=.git --exclude='*.o' --exclude='*.bc' --exclude=results --exclude=output_iso \
	--exclude=test/bench/results -cf - . | tar -C "$work/src" -xf -
chown -R postgres "$work/src" 2>/dev/null

as_pg "$bindir/initdb" -D "$data" -A trust -U postgres >"$work/initdb.log" 2>&1 ||
	{ cat "$work/initdb.log"; fail initdb; verdict; }
cat >>"$data/postgresql.conf" <<CONF
port = $port
unix_socket_directories = '$work/sock'
listen_addresses = ''
shared_preload_libraries = 'inbox'
max_prepared_transactions = 10
fsync = off
max_connections = 30
log_line_prefix = '%m [%p] '
CONF

supp=(--suppressions="$src_tree/test/valgrind/postgres.supp")
[ -f "$src_tree/test/valgrind/inbox.supp" ] && supp+=(--suppressions="$src_tree/test/valgrind/inbox.supp")
as_pg valgrind --tool=memcheck --leak-check=no --track-origins=no --error-limit=no --num-callers=40 \
	--read-var-info=no --trace-children=no "${supp[@]}" --log-file="$work/vg/%p.log" \
	"$bindir/postgres" -D "$data" >"$work/server.log" 2>&1 &
vg_pid=$!
for _ in $(seq 1 240); do
	"$bindir/pg_isready" -q -h "$work/sock" -p "$port" && break
	sleep 0.5
done
if "$bindir/pg_isready" -q -h "$work/sock" -p "$port"; then
	ok "server up under valgrind in $(( $(date +%s) - start_time )) s"
else
	cat "$work/server.log"; fail "server did not start under valgrind"; verdict
fi
pm_pid=$(head -1 "$data/postmaster.pid")

for suite in regress isolation; do
	if [ $suite = regress ]; then args=(ISOLATION=); else args=(REGRESS=); fi
	t0=$(date +%s)
	as_pg env PGHOST="$work/sock" PGPORT="$port" PGUSER=postgres \
		make -s -C "$work/src" installcheck "${args[@]}" >"$work/$suite.log" 2>&1
	rc=$?
	nok=$(grep -Ec '\.\.\. ok|^ok [0-9]' "$work/$suite.log")
	nbad=$(grep -Ec '\.\.\. FAILED|^not ok [0-9]|\.\.\. failed' "$work/$suite.log")
	if [ $rc -eq 0 ] && [ "$nbad" -eq 0 ] && [ "$nok" -gt 0 ]; then
		ok "$suite: $nok tests passed under valgrind ($(( $(date +%s) - t0 )) s)"
	else
		fail "$suite: exit $rc, $nok ok, $nbad failed ($(( $(date +%s) - t0 )) s)"
		tail -30 "$work/$suite.log"
		for d in "$work/src/regression.diffs" "$work/src/output_iso/regression.diffs"; do
			[ -s "$d" ] && head -80 "$d"
		done
	fi
done

if [ "$(head -1 "$data/postmaster.pid" 2>/dev/null)" = "$pm_pid" ]; then
	ok "postmaster $pm_pid ran throughout"
else
	fail "postmaster restarted or gone"
fi
# before the shutdown: at shutdown background workers exit with code 1 by design
if grep -E 'terminated by signal|was terminated by|exited with exit code|PANIC|TRAP:' "$work/server.log" | head -5 | grep .; then
	fail "a backend died (server.log above)"
else
	ok "no backend terminated abnormally"
fi
as_pg "$bindir/pg_ctl" -D "$data" -m fast -t 300 stop >/dev/null 2>&1
wait "$vg_pid" 2>/dev/null

# One valgrind log per process; an error block starts "==pid== <kind>" and its
# stack lines follow ("by 0x...: fn (in /path/lib.so)" / "(file.c:line)").
python3 - "$work/vg" <<'PY' >"$work/vg.summary"
import glob, re, sys
inbox, server, procs = [], [], 0
for path in sorted(glob.glob(sys.argv[1] + "/*.log")):
    procs += 1
    block = []
    def flush():
        if block:
            text = "\n".join(block)
            (inbox if re.search(r"inbox\.so|extension/[a-z_]+\.c", text) else server).append(text)
    for line in open(path, errors="replace"):
        line = re.sub(r"^==\d+== ?", "", line.rstrip("\n"))
        if not line:
            flush(); block = []
            continue
        if re.match(r"(Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|"
                    r"Source and destination overlap|Mismatched free|Argument .* of function|Process terminating)", line):
            flush(); block = [line]
        elif block and re.match(r"\s+(at|by) 0x|\s+Address 0x|\s+Uninitialised", line):
            block.append(line)
        else:
            flush(); block = []
    flush()
print("PROCS %d INBOX %d SERVER %d" % (procs, len(inbox), len(server)))
for kind, rows in (("inbox.so", inbox), ("server only", server)):
    seen = set()
    for b in rows:
        key = "\n".join(b.split("\n")[:6])
        if key in seen:
            continue
        seen.add(key)
        print("---- %s\n%s" % (kind, b))
PY
read -r _ procs _ n_inbox _ n_server < <(head -1 "$work/vg.summary")
if [ "${procs:-0}" -eq 0 ]; then
	fail "no valgrind log written"
elif [ "$n_inbox" -eq 0 ]; then
	ok "valgrind: no error through inbox.so ($procs processes checked)"
else
	fail "valgrind: $n_inbox error(s) through inbox.so"
	grep -A40 -- '^---- inbox.so' "$work/vg.summary" | head -200
fi
if [ "${n_server:-0}" -gt 0 ]; then
	echo "info: $n_server valgrind error(s) in the server alone (not inbox code, not failed):"
	grep -A12 -- '^---- server only' "$work/vg.summary" | head -60
fi
verdict
