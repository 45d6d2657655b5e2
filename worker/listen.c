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
		/* (re)connected: subscribe */
		if (!worker_listen(conn, channel))
		{
			if (!worker_connection_lost(conn))
			{
				worker_report_error("LISTEN failed", conn);
				PQfinish(conn);
				return EXIT_RUNTIME;
			}
			worker_report_error("LISTEN failed", conn);
		}
		else
		{
			if (first)
				worker_log("listening on %s", channel);
			else if (!print_line("{\"op\":\"resync\"}"))
			{
				PQfinish(conn);
				return EXIT_RUNTIME;
			}
			first = false;

			/* wait for notifications until the connection goes */
			for (;;)
			{
				if (!print_notifications(conn))
				{
					PQfinish(conn);
					return EXIT_RUNTIME;
				}
				if (worker_wait(PQsocket(conn), -1) == WAIT_STOP)
				{
					PQfinish(conn);
					return EXIT_OK;
				}
				if (!PQconsumeInput(conn))
				{
					/* what was read before the loss still counts */
					print_notifications(conn);
					worker_log("connection lost: %s", PQerrorMessage(conn));
					break;
				}
			}
		}

		PQfinish(conn);
		conn = worker_connect(opts, false);
		if (conn == NULL)
			return worker_stop_requested() ? EXIT_OK : EXIT_RUNTIME;
	}
}
