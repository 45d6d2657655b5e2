# test/citus/cluster.sh: a throwaway Citus cluster on localhost for the citus
# suite and for experiments: a coordinator and two workers, each its own
# PostgreSQL 15 server with citus and inbox preloaded. Source it (it sources
# test/lib/cluster.sh), then set
#   work        a temporary directory: each node's data, socket and log go there
#   bindir      PostgreSQL's bindir (pg_config --bindir)
#   citus_port  the coordinator's port; the workers take the next two
#   citus_db    the database (default inbox)
#   citus_preload  shared_preload_libraries (default 'citus,inbox'; 'citus' for
#               experiments that need no inbox, and so no install lock)
# and call citus_start; call citus_cleanup when done (e.g. from trap EXIT).
#
# Nodes talk to each other over TCP on localhost (Citus keeps host and port of
# each node in pg_dist_node, and inbox-worker listen --space finds a space's
# node there), clients may use the socket in $work/NODE or TCP. Citus needs
# wal_level = logical for citus_move_shard_placement and prepared transactions
# for its two-phase commit of a transaction that writes on several nodes.
# synchronous_commit stays on: a logical shard move (force_logical) waits for
# the target to reach pg_current_wal_lsn() of the source, which does not yet
# cover commits that synchronous_commit = off left in the WAL buffers, so
# such transactions committed just before the cut-over are lost with the old
# shard (seen: 5 of 400 messages, and with Citus alone, plain INSERTs).
#
#   citus_start [EXTENSIONS]  initdb and start the three nodes, create citus_db,
#                             CREATE EXTENSION citus and then each of EXTENSIONS
#                             (default: inbox; "" for none) on every node, and register the
#                             coordinator and the workers with the coordinator
#   citus_sql NODE ARGS...    psql (quiet, unaligned, stop on error) on NODE
#                             (coordinator, worker1, worker2) of citus_db
#   citus_node_port NODE      the node's port
#   citus_restart NODE        restart one node (e.g. after a configuration change)
#   citus_stop                stop every node
#   citus_cleanup             stop every node and remove $work
#
# The extra settings of every node can be extended with citus_conf (lines
# appended to postgresql.conf before the first start).

# shellcheck shell=bash disable=SC2154,SC2030,SC2031
# (work, bindir, citus_port are set by the caller; _citus_init sets work and port
# for cluster_init in a subshell on purpose)
_citus_dir=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=test/lib/cluster.sh
source "$_citus_dir/../lib/cluster.sh"

citus_nodes=(coordinator worker1 worker2)
citus_db=${citus_db:-inbox}
citus_conf=${citus_conf:-}
citus_preload=${citus_preload:-citus,inbox}

citus_node_port() {
	case $1 in
	coordinator) echo "$citus_port" ;;
	worker1) echo $((citus_port + 1)) ;;
	worker2) echo $((citus_port + 2)) ;;
	*) echo "citus_node_port: unknown node $1" >&2; return 1 ;;
	esac
}

citus_sql() {
	local node=$1 p
	shift
	p=$(citus_node_port "$node") || return 1
	PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" psql -X -q -At -h "$work/$node" -p "$p" -U postgres -d "$citus_db" -v ON_ERROR_STOP=1 "$@"
}

# _citus_pg_ctl NODE ARGS...: pg_ctl on the node's data directory, as postgres
_citus_pg_ctl() {
	local node=$1
	shift
	as_pg "$bindir/pg_ctl" -D "$work/$node/data" -l "$work/$node/server.log" -w "$@" >/dev/null
}

# _citus_init NODE: initdb, settings, start
_citus_init() {
	local node=$1 node_port node_dir=$work/$1
	node_port=$(citus_node_port "$node") || return 1
	mkdir -p "$node_dir"
	chmod 777 "$work" "$node_dir"
	# cluster_init reads $work (the socket's directory) and $port: set them for
	# this node only
	(work=$node_dir port=$node_port && cluster_init "$node_dir/data") || return 1
	cat >>"$work/$node/data/postgresql.conf" <<CONF
listen_addresses = 'localhost'
shared_preload_libraries = '$citus_preload'
wal_level = logical
max_prepared_transactions = 50
max_replication_slots = 10
max_wal_senders = 10
max_worker_processes = 32
fsync = off
full_page_writes = off
log_line_prefix = '%m [%p] %b '
citus.node_conninfo = 'sslmode=prefer'
$citus_conf
CONF
	as_pg touch "$work/$node/server.log"
	_citus_pg_ctl "$node" start
}

citus_start() {
	local exts=${1-inbox} node e
	for node in "${citus_nodes[@]}"; do
		_citus_init "$node" || { echo "citus_start: $node did not start (see $work/$node/server.log)" >&2; return 1; }
		PGOPTIONS="-c client_min_messages=warning" psql -X -q -h "$work/$node" -p "$(citus_node_port "$node")" -U postgres -d postgres \
			-v ON_ERROR_STOP=1 -c "CREATE DATABASE $citus_db" || return 1
		citus_sql "$node" -c "CREATE EXTENSION citus" || return 1
		for e in $exts; do
			citus_sql "$node" -c "CREATE EXTENSION IF NOT EXISTS $e CASCADE" || return 1
		done
	done
	citus_sql coordinator >/dev/null <<SQL || return 1
SELECT citus_set_coordinator_host('localhost', $(citus_node_port coordinator));
SELECT citus_add_node('localhost', $(citus_node_port worker1));
SELECT citus_add_node('localhost', $(citus_node_port worker2));
SQL
}

citus_restart() { _citus_pg_ctl "$1" restart; }

citus_stop() {
	local node
	for node in "${citus_nodes[@]}"; do
		[ -f "$work/$node/data/postmaster.pid" ] && _citus_pg_ctl "$node" -m fast stop
	done
	return 0
}

citus_cleanup() {
	citus_stop
	[ -n "${work:-}" ] && rm -rf "$work"
}
