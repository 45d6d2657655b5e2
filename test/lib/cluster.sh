# test/lib/cluster.sh: what every scripted test and benchmark needs to run its
# own throwaway cluster.  Source it, then set work (a temporary directory for
# the socket and data), port and bindir before calling cluster_init.

# run a server command as the postgres user when root (PostgreSQL refuses root)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# cluster_init DATA: initdb, reachable only through the socket in $work on $port;
# the caller appends its own settings to DATA/postgresql.conf
cluster_init() {
	local data=$1
	chmod 777 "$work"
	as_pg "$bindir/initdb" -D "$data" -A trust -U postgres >/dev/null || return 1
	cat >>"$data/postgresql.conf" <<CONF
port = $port
unix_socket_directories = '$work'
listen_addresses = ''
CONF
}

# psql_in DB ARGS...: psql on database DB of the cluster, quiet, unaligned, stop on error
psql_in() { local db=$1; shift; PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" psql -X -q -At -h "$work" -p "$port" -U postgres -d "$db" -v ON_ERROR_STOP=1 "$@"; }

# one line per check, counted; the caller ends with: echo "$passed passed, $failed failed"
passed=0
failed=0
pass() { echo "ok: $1"; passed=$((passed + 1)); }
fail() { echo "FAILED: $1"; failed=$((failed + 1)); }
# check NAME GOT WANTED
check() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', wanted '$3'"; fi; }

# wait_until SECONDS COMMAND...: run COMMAND every 50 ms until it succeeds
# (returns 0), or until SECONDS (may be fractional) have passed (returns 1);
# the caller says what timed out
wait_until() {
	local end
	end=$(awk -v now="$EPOCHREALTIME" -v s="$1" 'BEGIN { printf "%.0f", (now + s) * 1000000 }')
	shift
	while :; do
		"$@" && return 0
		[ "${EPOCHREALTIME/./}" -ge "$end" ] && return 1
		sleep 0.05
	done
}

# Benchmark goals: one verdict line each, printed at the end and written into
# the results file; the benchmark exits non-zero when one is missed.
#   goal "NAME" "FIGURE" COMMAND...   met when COMMAND succeeds (e.g. at_most 4.2 5)
#   goal_not_measured "NAME" "WHY"    a goal the benchmark does not measure yet
#   goals_report FILE                 prints the lines, appends them to FILE under
#                                     "## Verdicts"; returns 1 when a goal was missed
goal_lines=()
goals_missed=0
goal() {
	local name=$1 figure=$2
	shift 2
	if "$@"; then
		goal_lines+=("met: $name: $figure")
	else
		goal_lines+=("MISSED: $name: $figure")
		goals_missed=$((goals_missed + 1))
	fi
}
goal_not_measured() { goal_lines+=("not measured yet: $1: $2"); }
# at_most VALUE LIMIT, at_least VALUE LIMIT: numeric tests for goal (a value
# that is not a number misses)
at_most() { awk -v v="$1" -v l="$2" 'BEGIN { exit !(v ~ /^-?[0-9.]+$/ && v + 0 <= l + 0) }'; }
at_least() { awk -v v="$1" -v l="$2" 'BEGIN { exit !(v ~ /^-?[0-9.]+$/ && v + 0 >= l + 0) }'; }
goals_report() {
	local file=$1
	{
		echo
		echo "## Verdicts"
		echo
		printf -- '- %s\n' "${goal_lines[@]}"
	} >>"$file"
	echo "== verdicts ($goals_missed missed)"
	printf '%s\n' "${goal_lines[@]}"
	[ "$goals_missed" = 0 ]
}
