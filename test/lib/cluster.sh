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
