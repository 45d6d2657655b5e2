/*-------------------------------------------------------------------------
 *
 * listen.c
 *	  inbox-worker listen --space N: LISTEN on channel inbox_N and print
 *	  each notification's payload as one JSON line on stdout.
 *
 * The extension sends, at each commit, one notification per contact and
 * kind of change ({"op": "message", "contact": 12, "message": [345]}).
 * Notifications sent while the connection is down are lost for good, so
 * after reconnecting the listener prints {"op":"resync"}: a client must
 * then fetch the state it shows again.  Nothing is printed on the first
 * connection; a client fetches its state when it starts anyway.
 *
 * On a Citus cluster a space's notifications are sent by the node that
 * holds its rows, not by the coordinator the listener connects to.  So
 * the listener first asks the server for that node (inbox.space_node(N)):
 * no row (one server, or tables not distributed) and it listens on the
 * connection it has, as it always did.  A row: it connects to that node
 * with the same settings, listens there, and asks the first server again
 * every second.  When the space's shards have moved to another node it
 * listens there before it lets the old node go, then prints
 * {"op":"resync"}: what the new node sent before it listened is lost.
 * Losing either connection is a reconnect, also followed by a resync.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

/* print one line and flush, so that a pipe reader sees it at once */
static bool
print_line(const char *line)
{
	if (fputs(line, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) == EOF)
	{
		fprintf(stderr, "%s: could not write to standard output: %s\n", progname, strerror(errno));
		return false;
	}
	return true;
}

/*
 * Any role may NOTIFY on any channel, so a payload need not come from
 * inbox.  One that is not a JSON object on one line is passed on wrapped
 * as {"op": "raw", "payload": "..."}, so that every line stays one JSON
 * object with an "op".
 */
static bool
looks_like_object(const char *payload)
{
	size_t		len = strlen(payload);

	if (len < 2 || payload[0] != '{' || payload[len - 1] != '}')
		return false;
	for (const char *p = payload; *p; p++)
		if ((unsigned char) *p < 0x20)
			return false;
	return true;
}

static bool
print_raw(const char *payload)
{
	size_t		cap = strlen(payload) * 6 + 64;
	char	   *line = malloc(cap);
	char	   *out = line;
	bool		ok;

	if (line == NULL)
	{
		fprintf(stderr, "%s: out of memory\n", progname);
		return false;
	}
	out += sprintf(out, "{\"op\": \"raw\", \"payload\": \"");
	for (const unsigned char *p = (const unsigned char *) payload; *p; p++)
	{
		if (*p == '"' || *p == '\\')
		{
			*out++ = '\\';
			*out++ = (char) *p;
		}
		else if (*p < 0x20)
			out += sprintf(out, "\\u%04x", *p);
		else
			*out++ = (char) *p;
	}
	strcpy(out, "\"}");
	ok = print_line(line);
	free(line);
	return ok;
}

/* print every notification libpq has read; false if stdout failed */
static bool
print_notifications(PGconn *conn)
{
	PGnotify   *notify;

	while ((notify = PQnotifies(conn)) != NULL)
	{
		bool		ok;

		ok = looks_like_object(notify->extra) ? print_line(notify->extra) : print_raw(notify->extra);
		PQfreemem(notify);
		if (!ok)
			return false;
	}
	return true;
}

/*
 * The node of the space, as the first server says; host[0] == '\0' when it
 * has none (every notification comes from the first server).
 */
typedef struct SpaceNode
{
	char		host[256];
	int			port;
} SpaceNode;

/* how a connection to the space's notifications ended */
typedef enum SessionEnd
{
	SESSION_LOST,				/* a connection went: connect again */
	SESSION_STOP,				/* SIGINT or SIGTERM */
	SESSION_FAIL				/* an error that a retry will not mend */
} SessionEnd;

#define NODE_CHECK_SECONDS 1.0	/* how often the first server is asked again */

/*
 * Ask the first server which node holds the space.  False when the
 * connection failed or the error is transient; an error that is not (no
 * inbox.space_node: a server without inbox 2.0) counts as no node, so
 * that the listener listens on the first server as before.
 */
static bool
ask_space_node(PGconn *conn, int64_t space, SpaceNode *node)
{
	PGparam    *param = PQparamCreate(conn);
	PGresult   *res;
	PGtext		host;
	PGint4		port;
	bool		ok = true;

	node->host[0] = '\0';
	node->port = 0;
	if (param == NULL)
		return false;
	PQputf(param, "%int8", (PGint8) space);
	res = worker_query(conn, param, "SELECT host, port FROM inbox.space_node($1)");
	PQparamClear(param);
	if (res == NULL)
	{
		if (worker_error_is_transient(conn))
		{
			worker_report_error("inbox.space_node() failed", conn);
			return false;
		}
		worker_report_error("inbox.space_node() failed, listening on this server", conn);
		return true;
	}
	if (PQntuples(res) > 0)
	{
		if (PQgetf(res, 0, "%text %int4", 0, &host, 1, &port) && host != NULL &&
			strlen(host) < sizeof(node->host))
		{
			strcpy(node->host, host);
			node->port = port;
		}
		else
		{
			worker_log("unexpected result of inbox.space_node(): %s", PQgeterror());
			ok = false;
		}
	}
	PQclear(res);
	return ok;
}

static bool
same_node(const SpaceNode *a, const SpaceNode *b)
{
	return strcmp(a->host, b->host) == 0 && a->port == b->port;
}

/* LISTEN on conn; on failure say why and how it ends */
static bool
subscribe(PGconn *conn, const char *channel, SessionEnd *end)
{
	if (worker_listen(conn, channel))
		return true;
	worker_report_error("LISTEN failed", conn);
	*end = worker_connection_lost(conn) ? SESSION_LOST : SESSION_FAIL;
	return false;
}

/* connect to the node and LISTEN there; NULL (with *end) if that failed */
static PGconn *
listen_at_node(PGconn *first_conn, const SpaceNode *node, const char *channel, bool first,
			   SessionEnd *end)
{
	char		error[1024];
	PGconn	   *conn = worker_connect_like(first_conn, node->host, node->port, error, sizeof(error));

	if (conn == NULL)
	{
		/* like the first connection of a run, the first node's is not retried */
		if (first)
			fprintf(stderr, "%s: could not connect to %s:%d, the node of the space: %s\n",
					progname, node->host, node->port, error);
		else
			worker_log("could not connect to %s:%d, the node of the space: %s", node->host, node->port, error);
		*end = first ? SESSION_FAIL : SESSION_LOST;
		return NULL;
	}
	if (!subscribe(conn, channel, end))
	{
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* what was read before a connection goes still counts */
static bool
drain(PGconn *conn)
{
	(void) PQconsumeInput(conn);
	return print_notifications(conn);
}

/*
 * Wait for notifications on conn until it goes, asking the first server
 * for the space's node every NODE_CHECK_SECONDS when listen_conn is not
 * the first server's connection, and following the space when it moves.
 * Takes listen_conn over (finishes it, or the node's that replaced it).
 */
static SessionEnd
follow_space(const WorkerOptions *opts, PGconn *first_conn, PGconn *listen_conn, SpaceNode *node,
			 const char *channel)
{
	bool		check = listen_conn != first_conn;
	SessionEnd	end = SESSION_LOST;

	for (;;)
	{
		SpaceNode	now;
		PGconn	   *moved;

		if (!print_notifications(listen_conn))
		{
			end = SESSION_FAIL;
			break;
		}
		switch (worker_wait(PQsocket(listen_conn), check ? NODE_CHECK_SECONDS : -1))
		{
			case WAIT_STOP:
				end = SESSION_STOP;
				break;
			case WAIT_SOCKET:
				if (PQconsumeInput(listen_conn))
					continue;
				print_notifications(listen_conn);
				worker_log("connection lost: %s", PQerrorMessage(listen_conn));
				end = SESSION_LOST;
				break;
			case WAIT_TIMEOUT:
				if (!ask_space_node(first_conn, opts->space, &now))
				{
					(void) drain(listen_conn);
					end = SESSION_LOST;
					break;
				}
				if (same_node(&now, node))
					continue;
				if (now.host[0] == '\0')
				{
					/* no longer distributed: start again on the first server */
					worker_log("space %" PRId64 " has no node any more", opts->space);
					(void) drain(listen_conn);
					end = SESSION_LOST;
					break;
				}
				/* listen at the new node before the old one goes */
				moved = listen_at_node(first_conn, &now, channel, false, &end);
				if (moved == NULL)
				{
					(void) drain(listen_conn);
					break;
				}
				worker_log("space %" PRId64 " moved from %s:%d to %s:%d", opts->space,
						   node->host, node->port, now.host, now.port);
				if (!drain(listen_conn))
				{
					PQfinish(moved);
					end = SESSION_FAIL;
					break;
				}
				PQfinish(listen_conn);
				listen_conn = moved;
				*node = now;
				if (!print_line("{\"op\":\"resync\"}"))
				{
					end = SESSION_FAIL;
					break;
				}
				continue;
		}
		break;
	}
	if (listen_conn != first_conn)
		PQfinish(listen_conn);
	return end;
}

/*
 * One connection to the first server: find the space's node, LISTEN
 * there (or on this connection), print resync unless it is the first,
 * and follow the space until something ends it.
 */
static SessionEnd
listen_session(const WorkerOptions *opts, PGconn *first_conn, const char *channel, bool *first)
{
	SpaceNode	node;
	PGconn	   *listen_conn = first_conn;
	SessionEnd	end;

	if (!ask_space_node(first_conn, opts->space, &node))
		return SESSION_LOST;
	if (node.host[0] == '\0')
	{
		if (!subscribe(first_conn, channel, &end))
			return end;
	}
	else
	{
		listen_conn = listen_at_node(first_conn, &node, channel, *first, &end);
		if (listen_conn == NULL)
			return end;
	}

	if (*first)
	{
		if (node.host[0] == '\0')
			worker_log("listening on %s", channel);
		else
			worker_log("listening on %s at %s:%d, the node of space %" PRId64,
					   channel, node.host, node.port, opts->space);
	}
	else if (!print_line("{\"op\":\"resync\"}"))
	{
		if (listen_conn != first_conn)
			PQfinish(listen_conn);
		return SESSION_FAIL;
	}
	*first = false;
	return follow_space(opts, first_conn, listen_conn, &node, channel);
}

int
worker_listen_main(const WorkerOptions *opts)
{
	char		channel[64];
	PGconn	   *conn;
	bool		first = true;

	snprintf(channel, sizeof(channel), "inbox_%" PRId64, opts->space);

	conn = worker_connect(opts, true);
	if (conn == NULL)
		return EXIT_RUNTIME;

	for (;;)
	{
		SessionEnd	end = listen_session(opts, conn, channel, &first);

		PQfinish(conn);
		if (end == SESSION_STOP)
			return EXIT_OK;
		if (end == SESSION_FAIL)
			return EXIT_RUNTIME;
		conn = worker_connect(opts, false);
		if (conn == NULL)
			return worker_stop_requested() ? EXIT_OK : EXIT_RUNTIME;
	}
}
