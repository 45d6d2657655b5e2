/*-------------------------------------------------------------------------
 *
 * deliver.c
 *	  inbox-worker deliver --exec CMD: send pending outgoing messages.
 *
 * Each round claims up to --batch pending messages, oldest first, with
 * FOR UPDATE SKIP LOCKED: several deliver workers never claim the same
 * message, and none waits for another.  For each message CMD runs under
 * /bin/sh -c with the message as one JSON object on its standard input:
 *
 *   {"id": 7, "space_id": 1, "contact_id": 3, "conversation_id": 2,
 *    "channel_id": 1, "channel_kind": "telegram", "contact_external_id":
 *    "tg-123", "sender_kind": "user", "sender_agent_id": 1,
 *    "body": "Hello", "content": null, "created_at": "..."}
 *
 * Exit status 0 records the message sent (inbox.set_message_status of
 * the message's space);
 * anything else, or running longer than --timeout, records it failed with
 * CMD's standard error (or what became of it) as the error.  The status is
 * committed together with the claim, so a worker that dies between CMD
 * and commit leaves the message pending and it is sent again: delivery is
 * at least once, and CMD should pass "id" to the platform as an
 * idempotency key where it can.  A smaller batch narrows that window.
 *
 * The worker LISTENs on inbox_<space> of every space it finds, so a new
 * message is sent at once, and otherwise looks again every --interval
 * seconds (spaces created later are seen at the next reconnect).
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"

#define STDERR_KEPT 4000		/* bytes of CMD's stderr kept as the error */

static const char *claim_sql =
"SELECT m.space_id, m.id, jsonb_build_object("
"  'id', m.id, 'space_id', m.space_id, 'contact_id', m.contact_id,"
"  'conversation_id', m.conversation_id, 'channel_id', m.channel_id,"
"  'channel_kind', ch.kind, 'contact_external_id', cc.external_id,"
"  'sender_kind', m.sender_kind, 'sender_agent_id', m.sender_agent_id,"
"  'body', m.body, 'content', m.content, 'created_at', m.created_at)::text"
" FROM inbox.message m"
" JOIN inbox.channel ch ON ch.space_id = m.space_id AND ch.id = m.channel_id"
" LEFT JOIN LATERAL (SELECT external_id FROM inbox.contact_channel i"
"   WHERE i.space_id = m.space_id AND i.contact_id = m.contact_id AND i.channel_id = m.channel_id"
"   ORDER BY i.last_incoming_at DESC NULLS LAST, i.created_at DESC LIMIT 1) cc ON true"
" WHERE m.status = 'pending' AND m.direction = 'outgoing'"
" ORDER BY m.id LIMIT $1"
" FOR UPDATE OF m SKIP LOCKED";

typedef struct CommandResult
{
	bool		ok;				/* exited with status 0 */
	char		error[STDERR_KEPT + 128];
} CommandResult;

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
trim(char *s)
{
	size_t		len = strlen(s);

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
		s[--len] = '\0';
}

/*
 * Run cmd with input on its stdin, collecting its stderr.  Writing and
 * reading go through one poll() loop: a CMD that writes much to stderr
 * before reading all of a large body would otherwise deadlock with us.
 */
static void
run_command(const char *cmd, const char *input, double timeout, CommandResult *result)
{
	int			in[2];
	int			err[2];
	pid_t		pid;
	size_t		written = 0;
	size_t		input_len = strlen(input);
	char		captured[STDERR_KEPT + 1];
	size_t		captured_len = 0;
	bool		err_open = true;
	bool		timed_out = false;
	double		deadline = now_seconds() + timeout;
	int			status = 0;

	result->ok = false;
	result->error[0] = '\0';
	if (pipe(in) != 0 || pipe(err) != 0)
	{
		snprintf(result->error, sizeof(result->error), "could not create a pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
	{
		snprintf(result->error, sizeof(result->error), "could not fork: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		close(err[0]);
		close(err[1]);
		return;
	}
	if (pid == 0)
	{
		/* the child: its own process group, so a timeout kills all of it */
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		dup2(in[0], STDIN_FILENO);
		dup2(err[1], STDERR_FILENO);
		close(in[0]);
		close(in[1]);
		close(err[0]);
		close(err[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
		fprintf(stderr, "could not run /bin/sh: %s\n", strerror(errno));
		_exit(127);
	}

	/* also here: the kill on timeout must not race the child's setpgid */
	setpgid(pid, pid);
	close(in[0]);
	close(err[1]);
	fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
	if (input_len == 0)
	{
		close(in[1]);
		in[1] = -1;
	}

	while (in[1] >= 0 || err_open)
	{
		struct pollfd fds[2];
		int			nfds = 0;
		int			left_ms = (int) ((deadline - now_seconds()) * 1000);

		if (left_ms <= 0)
		{
			timed_out = true;
			break;
		}
		if (in[1] >= 0)
		{
			fds[nfds].fd = in[1];
			fds[nfds++].events = POLLOUT;
		}
		if (err_open)
		{
			fds[nfds].fd = err[0];
			fds[nfds++].events = POLLIN;
		}
		if (poll(fds, nfds, left_ms) < 0)
		{
			if (errno == EINTR)
				continue;		/* a stop signal: finish this message first */
			break;
		}
		for (int i = 0; i < nfds; i++)
		{
			if (fds[i].revents == 0)
				continue;
			if (fds[i].fd == in[1])
			{
				ssize_t		n = write(in[1], input + written, input_len - written);

				if (n > 0)
					written += n;
				/* done, or CMD closed its stdin (EPIPE): what it read is its business */
				if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input_len)
				{
					close(in[1]);
					in[1] = -1;
				}
			}
			else
			{
				char		buf[4096];
				ssize_t		n = read(err[0], buf, sizeof(buf));

				if (n > 0)
				{
					size_t		keep = STDERR_KEPT - captured_len < (size_t) n ? STDERR_KEPT - captured_len : (size_t) n;

					memcpy(captured + captured_len, buf, keep);
					captured_len += keep;
				}
				else if (n == 0 || (errno != EAGAIN && errno != EINTR))
					err_open = false;
			}
		}
	}
	if (in[1] >= 0)
		close(in[1]);
	close(err[0]);
	captured[captured_len] = '\0';
	trim(captured);

	/* stderr is closed; wait for the exit, still within the deadline */
	for (;;)
	{
		pid_t		r;

		if (timed_out)
			kill(-pid, SIGKILL);
		r = waitpid(pid, &status, timed_out ? 0 : WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
		{
			status = -1;
			break;
		}
		if (now_seconds() >= deadline)
			timed_out = true;
		else
			worker_wait(-1, 0.01);
	}

	if (timed_out)
		snprintf(result->error, sizeof(result->error), "command timed out after %g s%s%s",
				 timeout, captured_len ? ": " : "", captured);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
	{
		result->ok = true;
		if (captured_len > 0)
			worker_log("command wrote on stderr: %s", captured);
	}
	else if (captured_len > 0)
		snprintf(result->error, sizeof(result->error), "%s", captured);
	else if (WIFEXITED(status))
		snprintf(result->error, sizeof(result->error), "command exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(result->error, sizeof(result->error), "command was killed by signal %d", WTERMSIG(status));
	else
		snprintf(result->error, sizeof(result->error), "command ended abnormally");
}

/* the message's status through the API, which takes the space first (2.0) */
static bool
record_status(PGconn *conn, int64_t space, int64_t id, const CommandResult *result)
{
	PGparam    *param = PQparamCreate(conn);
	PGresult   *res;

	if (result->ok)
	{
		PQputf(param, "%int8 %int8", (PGint8) space, (PGint8) id);
		res = worker_query(conn, param, "SELECT inbox.set_message_status($1, $2, 'sent')");
	}
	else
	{
		PQputf(param, "%int8 %int8 %text", (PGint8) space, (PGint8) id, result->error);
		res = worker_query(conn, param, "SELECT inbox.set_message_status($1, $2, 'failed', error => $3)");
	}
	PQparamClear(param);
	if (res == NULL)
		return false;
	PQclear(res);
	return true;
}

/* claim, send and record one batch; *count says how many were claimed */
static bool
deliver_batch(PGconn *conn, const WorkerOptions *opts, int *count)
{
	PGparam    *param;
	PGresult   *res;

	*count = 0;
	if (!worker_exec_command(conn, "BEGIN"))
		return false;
	param = PQparamCreate(conn);
	PQputf(param, "%int4", opts->batch);
	res = worker_query(conn, param, claim_sql);
	PQparamClear(param);
	if (res == NULL)
		goto fail;

	*count = PQntuples(res);
	for (int i = 0; i < *count; i++)
	{
		PGint8		space;
		PGint8		id;
		PGtext		json;
		CommandResult result;

		if (!PQgetf(res, i, "%int8 %int8 %text", 0, &space, 1, &id, 2, &json))
		{
			PQclear(res);
			goto fail;
		}
		run_command(opts->exec, json, opts->timeout, &result);
		if (!record_status(conn, space, id, &result))
		{
			PQclear(res);
			goto fail;
		}
		if (result.ok)
			worker_log("message %" PRId64 " sent", (int64_t) id);
		else
			worker_log("message %" PRId64 " failed: %s", (int64_t) id, result.error);
	}
	PQclear(res);
	return worker_exec_command(conn, "COMMIT");

fail:
	{
		/* keep the error of the failing step, not of the ROLLBACK */
		char		saved[2048];

		snprintf(saved, sizeof(saved), "%s", PQgeterror());
		if (!worker_connection_lost(conn))
		{
			PGresult   *r = PQexec(conn, "ROLLBACK");

			PQclear(r);
		}
		PQseterror("%s", saved);
		return false;
	}
}

/*
 * Drop the notifications libpq has read; say whether one of them told of
 * a new message.  The rest (including the message_status of what this
 * worker just sent) are no reason to look for work.
 */
static bool
new_message_notified(PGconn *conn)
{
	PGnotify   *notify;
	bool		found = false;

	while ((notify = PQnotifies(conn)) != NULL)
	{
		if (strstr(notify->extra, "\"op\": \"message\"") != NULL)
			found = true;
		PQfreemem(notify);
	}
	return found;
}

/*
 * Wait until a new message is notified, interval seconds pass, or a stop
 * signal comes.  Other notifications are read and dropped without running
 * a query.  A lost connection returns WAIT_SOCKET; the caller sees it in
 * PQstatus.
 */
static WaitResult
wait_for_work(PGconn *conn, double interval)
{
	double		deadline = now_seconds() + interval;

	for (;;)
	{
		double		left = deadline - now_seconds();
		WaitResult	w;

		if (left <= 0)
			return WAIT_TIMEOUT;
		w = worker_wait(PQsocket(conn), left);
		if (w != WAIT_SOCKET)
			return w;
		if (!PQconsumeInput(conn) || new_message_notified(conn))
			return WAIT_SOCKET;
	}
}

/* LISTEN on the channel of every space, so new messages are seen at once */
static bool
listen_spaces(PGconn *conn)
{
	PGresult   *res = worker_query(conn, NULL, "SELECT id FROM inbox.space ORDER BY id");

	if (res == NULL)
		return false;
	for (int i = 0; i < PQntuples(res); i++)
	{
		PGint8		space;
		char		channel[64];

		if (!PQgetf(res, i, "%int8", 0, &space))
		{
			PQclear(res);
			return false;
		}
		snprintf(channel, sizeof(channel), "inbox_%" PRId64, (int64_t) space);
		if (!worker_listen(conn, channel))
		{
			PQclear(res);
			return false;
		}
	}
	PQclear(res);
	return true;
}

int
worker_deliver_main(const WorkerOptions *opts)
{
	PGconn	   *conn;
	double		retry_delay = BACKOFF_FIRST;

	conn = worker_connect(opts, true);
	if (conn == NULL)
		return EXIT_RUNTIME;

	for (;;)
	{
		bool		ok = listen_spaces(conn);

		while (ok)
		{
			int			count;

			(void) new_message_notified(conn);
			ok = deliver_batch(conn, opts, &count);
			if (!ok)
				break;
			retry_delay = BACKOFF_FIRST;
			if (worker_stop_requested())
			{
				PQfinish(conn);
				return EXIT_OK;
			}
			if (count == opts->batch)
				continue;		/* there may be more right away */
			if (opts->once)
			{
				PQfinish(conn);
				return EXIT_OK;
			}
			/* one that came while the batch ran sits in libpq's queue */
			if (new_message_notified(conn))
				continue;
			if (wait_for_work(conn, opts->interval) == WAIT_STOP)
			{
				PQfinish(conn);
				return EXIT_OK;
			}
			if (worker_connection_lost(conn))
				ok = false;
		}

		if (!worker_connection_lost(conn))
		{
			worker_report_error("delivery failed", conn);
			if (!worker_error_is_transient(conn))
			{
				PQfinish(conn);
				return EXIT_RUNTIME;
			}
			if (worker_wait(-1, retry_delay) == WAIT_STOP)
			{
				PQfinish(conn);
				return EXIT_OK;
			}
			retry_delay = retry_delay * 2 > BACKOFF_MAX ? BACKOFF_MAX : retry_delay * 2;
			continue;
		}
		worker_log("connection lost: %s", PQerrorMessage(conn));
		PQfinish(conn);
		conn = worker_connect(opts, false);
		if (conn == NULL)
			return worker_stop_requested() ? EXIT_OK : EXIT_RUNTIME;
	}
}
