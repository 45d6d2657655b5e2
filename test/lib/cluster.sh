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
