/*-------------------------------------------------------------------------
 *
 * snooze.c
 *	  inbox-worker snooze: wake snoozed contacts when their time comes, for
 *	  servers that cannot load inbox's background worker (managed
 *	  PostgreSQL, where shared_preload_libraries is not ours to set).
 *
 * It does what the background worker does, from outside: call
 * inbox.wake_due_snoozes() until it wakes nothing, ask
 * inbox.next_snooze_due() when the next snooze ends, and sleep until then
 * or until a NOTIFY on inbox_snooze says a snooze was set or changed.
 * While nothing is due it runs no query at all.  Several of these may run
 * at once, and beside the background worker: wake_due_snoozes claims
 * contacts with SKIP LOCKED, so each is woken once.
 *
 * The wait is measured against the server's clock (clock_timestamp()
 * next to the due time), so a client whose clock is off does not wake
 * early or late.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "worker.h"

#define SNOOZE_CHANNEL "inbox_snooze"

/* seconds from a to b */
static double
timestamp_diff(const PGtimestamp *a, const PGtimestamp *b)
{
	return (double) (b->epoch - a->epoch) + (b->time.usec - a->time.usec) / 1e6;
}

typedef enum StepResult
{
	STEP_OK,
	STEP_RETRY,					/* transient error: pause, maybe reconnect */
	STEP_FAIL					/* give up: exit 1 */
} StepResult;

static StepResult
query_failed(const char *what, PGconn *conn)
{
	const char *state = PQgetErrorField(PG_DIAG_SQLSTATE);

	worker_report_error(what, conn);
	if (state != NULL && strcmp(state, "42883") == 0)
		fprintf(stderr, "%s: hint: install or update the inbox extension in this database (ALTER EXTENSION inbox UPDATE)\n",
				progname);
	return worker_error_is_transient(conn) ? STEP_RETRY : STEP_FAIL;
}

/* wake every contact that is due now; *woken says how many */
static StepResult
wake_due(PGconn *conn, int batch, long *woken)
{
	int			n;

	*woken = 0;
	do
	{
		PGparam    *param = PQparamCreate(conn);
		PGresult   *res;

		PQputf(param, "%int4", batch);
		res = worker_query(conn, param, "SELECT inbox.wake_due_snoozes($1)");
		PQparamClear(param);
		if (res == NULL)
			return query_failed("inbox.wake_due_snoozes() failed", conn);
		if (!PQgetf(res, 0, "%int4", 0, &n))
		{
			worker_log("unexpected result of inbox.wake_due_snoozes(): %s", PQgeterror());
			PQclear(res);
			return STEP_FAIL;
		}
		PQclear(res);
		*woken += n;
	} while (n > 0 && !worker_stop_requested());
	return STEP_OK;
}

/* seconds until the next snooze ends, or -1 if none is set */
static StepResult
next_due(PGconn *conn, double *seconds)
{
	PGresult   *res;
	PGtimestamp due;
	PGtimestamp now;

	res = worker_query(conn, NULL, "SELECT inbox.next_snooze_due(), clock_timestamp()");
	if (res == NULL)
		return query_failed("inbox.next_snooze_due() failed", conn);
	if (PQgetisnull(res, 0, 0))
		*seconds = -1;
	else if (!PQgetf(res, 0, "%timestamptz %timestamptz", 0, &due, 1, &now))
	{
		worker_log("unexpected result of inbox.next_snooze_due(): %s", PQgeterror());
		PQclear(res);
		return STEP_FAIL;
	}
	else
	{
		*seconds = timestamp_diff(&now, &due);
		if (*seconds < 0)
			*seconds = 0;
	}
	PQclear(res);
	return STEP_OK;
}

int
worker_snooze_main(const WorkerOptions *opts)
{
	PGconn	   *conn;
	double		retry_delay = BACKOFF_FIRST;
	double		spin_delay = 0.01;

	conn = worker_connect(opts, true);
	if (conn == NULL)
		return EXIT_RUNTIME;

	for (;;)
	{
		StepResult	step = STEP_OK;

		if (!worker_listen(conn, SNOOZE_CHANNEL))
			step = query_failed("LISTEN " SNOOZE_CHANNEL " failed", conn);
		else if (opts->verbose)
			worker_log("listening on %s", SNOOZE_CHANNEL);

		while (step == STEP_OK)
		{
			PGnotify   *notify;
			long		woken;
			double		wait = -1;
			WaitResult	w;

			/* a notification only means "look again": drop them all */
			while ((notify = PQnotifies(conn)) != NULL)
				PQfreemem(notify);

			step = wake_due(conn, opts->batch, &woken);
			if (step != STEP_OK)
				break;
			if (woken > 0 || opts->verbose)
				worker_log("woke %ld snoozed contact%s", woken, woken == 1 ? "" : "s");
			if (opts->once || worker_stop_requested())
			{
				PQfinish(conn);
				return EXIT_OK;
			}

			step = next_due(conn, &wait);
			if (step != STEP_OK)
				break;
			retry_delay = BACKOFF_FIRST;

			/*
			 * libpq reads a notification that arrives while a query runs into
			 * its queue, where select() cannot see it: if a snooze was set
			 * meanwhile, look again now rather than at the old due time.
			 */
			if ((notify = PQnotifies(conn)) != NULL)
			{
				PQfreemem(notify);
				continue;
			}

			/*
			 * A due time that is already past although nothing was woken is a
			 * contact another session holds locked (it is being woken or
			 * changed right now): look again shortly rather than spin.
			 */
			if (wait == 0 && woken == 0)
			{
				wait = spin_delay;
				spin_delay = spin_delay * 2 > 1.0 ? 1.0 : spin_delay * 2;
			}
			else
				spin_delay = 0.01;
			if (opts->verbose)
			{
				if (wait < 0)
					worker_log("no snooze set; waiting for a notification");
				else
					worker_log("next snooze ends in %.3f s", wait);
			}

			/* wake a millisecond late rather than a microsecond early */
			w = worker_wait(PQsocket(conn), wait < 0 ? -1 : wait + 0.001);
			if (w == WAIT_STOP)
			{
				PQfinish(conn);
				return EXIT_OK;
			}
			if (w == WAIT_SOCKET && !PQconsumeInput(conn))
			{
				worker_log("connection lost: %s", PQerrorMessage(conn));
				step = STEP_RETRY;
			}
		}

		if (step == STEP_FAIL)
		{
			PQfinish(conn);
			return EXIT_RUNTIME;
		}

		/* STEP_RETRY: on the same connection if it is still up */
		if (!worker_connection_lost(conn))
		{
			if (worker_wait(-1, retry_delay) == WAIT_STOP)
			{
				PQfinish(conn);
				return EXIT_OK;
			}
			retry_delay = retry_delay * 2 > BACKOFF_MAX ? BACKOFF_MAX : retry_delay * 2;
			/* LISTEN again below is harmless on a live connection */
			continue;
		}
		PQfinish(conn);
		conn = worker_connect(opts, false);
		if (conn == NULL)
			return worker_stop_requested() ? EXIT_OK : EXIT_RUNTIME;
	}
}
