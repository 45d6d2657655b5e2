/*-------------------------------------------------------------------------
 *
 * connection.c
 *	  What every inbox-worker subcommand shares: connecting (and
 *	  reconnecting with backoff), waiting on the server's socket, running
 *	  a query through libpqtypes, reporting errors, and stopping cleanly on
 *	  SIGINT/SIGTERM.
 *
 * Signals are turned into a byte on a pipe (the "self-pipe"), and every
 * wait select()s on that pipe as well as on the server's socket: a signal
 * that arrives just before select() would otherwise be missed until the
 * next notification, which may never come.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"

const char *progname = "inbox-worker";

static volatile sig_atomic_t stop_requested = 0;
static int	signal_pipe[2] = {-1, -1};

/* the server closed or lost the connection, or it never came up */
#define SQLSTATE_CLASS_IS(state, cls) ((state) != NULL && strncmp((state), (cls), 2) == 0)

static void
chomp(char *s)
{
	size_t		len = strlen(s);

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
		s[--len] = '\0';
}

void
worker_log(const char *fmt,...)
{
	va_list		ap;
	char		stamp[32];
	struct timespec now;
	struct tm	tm;
	char		message[4096];

	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	chomp(message);				/* libpq's messages end in a newline */
	fprintf(stderr, "%s.%03ld %s: %s\n", stamp, now.tv_nsec / 1000000, progname, message);
	fflush(stderr);
}

static void
handle_stop_signal(int signo)
{
	int			save_errno = errno;
	char		c = 1;

	(void) signo;
	stop_requested = 1;
	/* the pipe is non-blocking: a full pipe already says "stop" */
	if (write(signal_pipe[1], &c, 1) < 0)
		(void) 0;
	errno = save_errno;
}

void
worker_setup_signals(void)
{
	struct sigaction sa;

	if (pipe(signal_pipe) != 0)
	{
		fprintf(stderr, "%s: could not create a pipe: %s\n", progname, strerror(errno));
		exit(EXIT_RUNTIME);
	}
	for (int i = 0; i < 2; i++)
	{
		fcntl(signal_pipe[i], F_SETFL, fcntl(signal_pipe[i], F_GETFL) | O_NONBLOCK);
		fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handle_stop_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;			/* no SA_RESTART: a blocked write returns */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* a listener whose reader went away, or a CMD that closed its stdin */
	signal(SIGPIPE, SIG_IGN);
}

bool
worker_stop_requested(void)
{
	return stop_requested != 0;
}

static double
monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Wait until sock (if >= 0) is readable, seconds pass (< 0: no limit), or
 * a stop signal arrives, whichever comes first.
 */
WaitResult
worker_wait(int sock, double seconds)
{
	double		deadline = monotonic_seconds() + seconds;

	for (;;)
	{
		fd_set		readable;
		struct timeval tv;
		struct timeval *timeout = NULL;
		int			maxfd = signal_pipe[0];
		int			rc;

		if (stop_requested)
			return WAIT_STOP;
		FD_ZERO(&readable);
		FD_SET(signal_pipe[0], &readable);
		if (sock >= 0)
		{
			FD_SET(sock, &readable);
			if (sock > maxfd)
				maxfd = sock;
		}
		if (seconds >= 0)
		{
			double		left = deadline - monotonic_seconds();

			if (left <= 0)
				return WAIT_TIMEOUT;
			tv.tv_sec = (time_t) left;
			tv.tv_usec = (suseconds_t) ((left - (double) tv.tv_sec) * 1e6) + 1;
			if (tv.tv_usec >= 1000000)
			{
				tv.tv_sec++;
				tv.tv_usec -= 1000000;
			}
			timeout = &tv;
		}

		rc = select(maxfd + 1, &readable, NULL, NULL, timeout);
		if (rc < 0)
		{
			if (errno == EINTR)
				continue;
			worker_log("select() failed: %s", strerror(errno));
			return WAIT_STOP;
		}
		if (stop_requested || FD_ISSET(signal_pipe[0], &readable))
			return WAIT_STOP;
		if (sock >= 0 && FD_ISSET(sock, &readable))
			return WAIT_SOCKET;
		if (rc == 0 && seconds >= 0 && monotonic_seconds() >= deadline)
			return WAIT_TIMEOUT;
	}
}

/* a connection just made, ready for use; NULL with the reason in *error if not */
static PGconn *
connection_ready(PGconn *conn, char *error, size_t errorlen)
{
	if (conn == NULL)
	{
		snprintf(error, errorlen, "out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK)
	{
		snprintf(error, errorlen, "%s", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	/* libpqtypes needs its type handlers registered on each connection */
	if (!PQinitTypes(conn))
	{
		snprintf(error, errorlen, "could not set up libpqtypes: %s", PQgeterror());
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* one connection attempt; NULL with the reason in *error if it failed */
static PGconn *
connect_once(const WorkerOptions *opts, char *error, size_t errorlen)
{
	const char *keywords[8];
	const char *values[8];
	int			n = 0;

	/*
	 * Defaults that suit a daemon, placed before dbname so that -d and the
	 * PG* variables override them: a dead peer on TCP is noticed within
	 * about a minute rather than the kernel's two hours.
	 */
	if (getenv("PGCONNECT_TIMEOUT") == NULL)
	{
		keywords[n] = "connect_timeout";
		values[n++] = "10";
	}
	keywords[n] = "keepalives_idle";
	values[n++] = "30";
	keywords[n] = "keepalives_interval";
	values[n++] = "10";
	keywords[n] = "keepalives_count";
	values[n++] = "3";
	keywords[n] = "fallback_application_name";
	values[n++] = opts->subcommand && strcmp(opts->subcommand, "listen") == 0 ? "inbox-worker listen" :
		opts->subcommand && strcmp(opts->subcommand, "snooze") == 0 ? "inbox-worker snooze" :
		"inbox-worker deliver";
	keywords[n] = "dbname";
	values[n++] = opts->conninfo;
	keywords[n] = NULL;
	values[n] = NULL;

	return connection_ready(PQconnectdbParams(keywords, values, 1), error, errorlen);
}

/*
 * Connect.  The first connection of a run fails at once (exit 1: the
 * settings are wrong or the server is down, and a supervisor should say
 * so); later ones follow a lost connection and retry with exponential
 * backoff until they succeed or a stop signal arrives (NULL).
 */
PGconn *
worker_connect(const WorkerOptions *opts, bool first)
{
	double		delay = BACKOFF_FIRST;
	char		error[1024];
	char		last_error[1024] = "";

	for (;;)
	{
		PGconn	   *conn;

		if (!first && worker_wait(-1, delay) == WAIT_STOP)
			return NULL;
		conn = connect_once(opts, error, sizeof(error));
		if (conn != NULL)
		{
			if (!first)
				worker_log("reconnected");
			return conn;
		}
		chomp(error);
		if (first)
		{
			fprintf(stderr, "%s: could not connect to the server: %s\n", progname, error);
			return NULL;
		}
		/* say why once, not every few seconds while the server is down */
		if (strcmp(error, last_error) != 0)
		{
			worker_log("could not reconnect, retrying every %.1f s at most: %s", BACKOFF_MAX, error);
			snprintf(last_error, sizeof(last_error), "%s", error);
		}
		delay = delay * 2 > BACKOFF_MAX ? BACKOFF_MAX : delay * 2;
	}
}

/*
 * One attempt to connect to another server (host, port) as model is
 * connected: the same database, user, password, SSL and keepalive
 * settings, only host, hostaddr and port replaced.  NULL with the reason
 * in *error if it failed.
 */
PGconn *
worker_connect_like(PGconn *model, const char *host, int port, char *error, size_t errorlen)
{
	PQconninfoOption *options = PQconninfo(model);
	const char **keywords;
	const char **values;
	char		port_text[16];
	int			n = 0;
	PGconn	   *conn;

	if (options == NULL)
	{
		snprintf(error, errorlen, "out of memory");
		return NULL;
	}
	for (PQconninfoOption *o = options; o->keyword != NULL; o++)
		n++;
	keywords = calloc(n + 3, sizeof(char *));
	values = calloc(n + 3, sizeof(char *));
	if (keywords == NULL || values == NULL)
	{
		free(keywords);
		free(values);
		PQconninfoFree(options);
		snprintf(error, errorlen, "out of memory");
		return NULL;
	}
	n = 0;
	for (PQconninfoOption *o = options; o->keyword != NULL; o++)
	{
		if (o->val == NULL || o->val[0] == '\0' || strcmp(o->keyword, "host") == 0 ||
			strcmp(o->keyword, "hostaddr") == 0 || strcmp(o->keyword, "port") == 0)
			continue;
		keywords[n] = o->keyword;
		values[n++] = o->val;
	}
	snprintf(port_text, sizeof(port_text), "%d", port);
	keywords[n] = "host";
	values[n++] = host;
	keywords[n] = "port";
	values[n++] = port_text;
	keywords[n] = NULL;
	values[n] = NULL;

	/* dbname is a plain name here, not a connection string to expand */
	conn = connection_ready(PQconnectdbParams(keywords, values, 0), error, errorlen);
	if (conn == NULL)
		chomp(error);
	free(keywords);
	free(values);
	PQconninfoFree(options);
	return conn;
}

bool
worker_connection_lost(PGconn *conn)
{
	return conn == NULL || PQstatus(conn) == CONNECTION_BAD;
}

/*
 * Run sql with the parameters put into param (NULL: none) and ask for a
 * binary result, which PQgetf reads without caring for DateStyle.  NULL
 * on error; PQgeterror() and PQgetErrorField() then tell why.
 */
PGresult *
worker_query(PGconn *conn, PGparam *param, const char *sql)
{
	PGparam    *own = NULL;
	PGresult   *res;

	if (param == NULL)
		param = own = PQparamCreate(conn);
	if (param == NULL)
	{
		PQseterror("out of memory");
		return NULL;
	}
	res = PQparamExec(conn, param, sql, 1);
	if (own)
		PQparamClear(own);
	return res;
}

void
worker_report_error(const char *what, PGconn *conn)
{
	char		message[2048];

	snprintf(message, sizeof(message), "%s", PQgeterror());
	chomp(message);
	if (worker_connection_lost(conn))
		worker_log("%s: connection lost: %s", what, message);
	else
		worker_log("%s: %s", what, message);
}

/*
 * Whether the error of the last worker_query is worth a retry after a
 * pause: the connection went, the server is shutting down or short of
 * resources, or the transaction was chosen as a deadlock or serialization
 * victim.  Anything else (no such function, no permission) will not mend
 * itself.
 */
bool
worker_error_is_transient(PGconn *conn)
{
	const char *state = PQgetErrorField(PG_DIAG_SQLSTATE);

	if (worker_connection_lost(conn))
		return true;
	return SQLSTATE_CLASS_IS(state, "08") || SQLSTATE_CLASS_IS(state, "40") ||
		SQLSTATE_CLASS_IS(state, "53") || SQLSTATE_CLASS_IS(state, "57") ||
		(state != NULL && strcmp(state, "55P03") == 0);	/* lock_not_available */
}

/* LISTEN on a channel; the name is quoted as an identifier */
bool
worker_listen(PGconn *conn, const char *channel)
{
	char	   *quoted = PQescapeIdentifier(conn, channel, strlen(channel));
	char		sql[256];
	bool		ok;

	if (quoted == NULL)
	{
		PQseterror("%s", PQerrorMessage(conn));
		return false;
	}
	snprintf(sql, sizeof(sql), "LISTEN %s", quoted);
	PQfreemem(quoted);
	ok = worker_exec_command(conn, sql);
	return ok;
}

/* run a statement that returns no rows; false (PQgeterror set) on error */
bool
worker_exec_command(PGconn *conn, const char *sql)
{
	PGresult   *res = worker_query(conn, NULL, sql);

	if (res == NULL)
		return false;
	PQclear(res);
	return true;
}
