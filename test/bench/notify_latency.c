/*-------------------------------------------------------------------------
 *
 * notify_latency.c
 *	  Benchmark helper for test/bench/notify_bench.sh: commit-to-listener
 *	  latency of inbox's notifications.
 *
 *	  notify_latency CONNINFO RATE SECONDS LISTENERS WRITERS
 *
 * Forks LISTENERS processes that LISTEN on inbox_1 and WRITERS processes
 * that together call inbox.receive_message() RATE times a second for
 * SECONDS seconds (each call its own transaction, for known contacts, so
 * each sends one notification {"op": "message", "contact": c, "message":
 * [id]}).  Writers note, per message id, when the call was sent and when it
 * returned; listeners note when the notification arrived.  All times are
 * CLOCK_MONOTONIC, which Linux shares between processes.  Prints one line
 * with the percentiles of
 *	  call -> listener	 from sending the call (it includes running
 *						 receive_message and the commit's WAL flush)
 *	  commit -> listener from the call's return (the commit is acknowledged;
 *						 PostgreSQL signals listeners at the same moment, so
 *						 this can be below zero)
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

typedef struct Sent
{
	long long	id;
	long long	sent;
	long long	done;
} Sent;

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static PGconn *
connect_or_die(const char *conninfo)
{
	PGconn	   *conn = PQconnectdb(conninfo);

	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "notify_latency: %s", PQerrorMessage(conn));
		exit(1);
	}
	return conn;
}

static void
exec_or_die(PGconn *conn, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "notify_latency: %s: %s", sql, PQerrorMessage(conn));
		exit(1);
	}
	PQclear(res);
}

/* a listener: note (message id, arrival) until {"op": "bench_end"} */
static void
run_listener(const char *conninfo, const char *path, int ready_fd)
{
	PGconn	   *conn = connect_or_die(conninfo);
	FILE	   *out = fopen(path, "w");
	char		c = 1;
	int			sock = PQsocket(conn);

	exec_or_die(conn, "LISTEN inbox_1");
	if (write(ready_fd, &c, 1) != 1)
		exit(1);
	for (;;)
	{
		fd_set		readable;
		PGnotify   *n;

		FD_ZERO(&readable);
		FD_SET(sock, &readable);
		if (select(sock + 1, &readable, NULL, NULL, NULL) < 0 && errno != EINTR)
			exit(1);
		if (!PQconsumeInput(conn))
			exit(1);
		while ((n = PQnotifies(conn)) != NULL)
		{
			long long	t = now_ns();
			const char *p = strstr(n->extra, "\"message\": [");

			if (strstr(n->extra, "bench_end"))
			{
				fclose(out);
				PQfinish(conn);
				exit(0);
			}
			if (p != NULL)
			{
				p += strlen("\"message\": [");
				while (*p >= '0' && *p <= '9')
				{
					char	   *end;

					fprintf(out, "%lld %lld\n", strtoll(p, &end, 10), t);
					p = end;
					while (*p == ',' || *p == ' ')
						p++;
				}
			}
			PQfreemem(n);
		}
	}
}

/* a writer: rate calls a second, evenly spaced, for seconds */
static void
run_writer(const char *conninfo, const char *path, double rate, double seconds, int writer)
{
	PGconn	   *conn = connect_or_die(conninfo);
	FILE	   *out = fopen(path, "w");
	long long	start;
	long long	interval = (long long) (1e9 / rate);
	long		calls = (long) (rate * seconds);
	unsigned int seed = 12345 + writer;

	PQclear(PQprepare(conn, "rm", "SELECT inbox.receive_message(1, 1, $1, 'latency bench')", 1, NULL));
	/* writers start staggered so their calls interleave */
	start = now_ns() + interval * writer / 8;
	for (long i = 0; i < calls; i++)
	{
		long long	when = start + i * interval;
		long long	t = now_ns();
		char		ref[32];
		const char *values[1] = {ref};
		PGresult   *res;
		long long	sent;

		if (when > t)
		{
			struct timespec ts;

			ts.tv_sec = when / 1000000000LL;
			ts.tv_nsec = when % 1000000000LL;
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		snprintf(ref, sizeof(ref), "c%d", 1 + rand_r(&seed) % 1000);
		sent = now_ns();
		res = PQexecPrepared(conn, "rm", 1, values, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			fprintf(stderr, "notify_latency: receive_message: %s", PQerrorMessage(conn));
			exit(1);
		}
		fprintf(out, "%s %lld %lld\n", PQgetvalue(res, 0, 0), sent, now_ns());
		PQclear(res);
	}
	fclose(out);
	PQfinish(conn);
	exit(0);
}

static int
cmp_ll(const void *a, const void *b)
{
	long long	x = *(const long long *) a;
	long long	y = *(const long long *) b;

	return x < y ? -1 : x > y;
}

static double
pct(long long *v, long n, double p)
{
	long		i = (long) (p * (n - 1) + 0.5);

	return n ? v[i] / 1e6 : 0;
}

int
main(int argc, char **argv)
{
	const char *conninfo;
	double		rate,
				seconds;
	int			listeners,
				writers;
	char		dir[] = "/tmp/notify_latency.XXXXXX";
	int			ready[2];
	char		path[256];
	Sent	   *sent = NULL;
	long		nsent = 0,
				cap = 0;
	long long	min_id = -1,
				max_id = 0;
	long	   *index;
	long long  *lat_call,
			   *lat_commit;
	long		nlat = 0,
				missing;
	long long	first_sent = -1,
				last_sent = 0;
	PGconn	   *conn;

	if (argc != 6)
	{
		fprintf(stderr, "usage: notify_latency CONNINFO RATE SECONDS LISTENERS WRITERS\n");
		return 2;
	}
	conninfo = argv[1];
	rate = atof(argv[2]);
	seconds = atof(argv[3]);
	listeners = atoi(argv[4]);
	writers = atoi(argv[5]);
	if (mkdtemp(dir) == NULL || pipe(ready) != 0)
		return 1;

	for (int i = 0; i < listeners; i++)
	{
		snprintf(path, sizeof(path), "%s/l%d", dir, i);
		if (fork() == 0)
			run_listener(conninfo, path, ready[1]);
	}
	for (int i = 0; i < listeners; i++)
	{
		char		c;

		if (read(ready[0], &c, 1) != 1)
			return 1;
	}
	for (int i = 0; i < writers; i++)
	{
		snprintf(path, sizeof(path), "%s/w%d", dir, i);
		if (fork() == 0)
			run_writer(conninfo, path, rate / writers, seconds, i);
	}
	for (int i = 0; i < writers; i++)
	{
		int			status;

		wait(&status);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return 1;
	}
	/* the end marker commits after every message: listeners have them all */
	conn = connect_or_die(conninfo);
	exec_or_die(conn, "NOTIFY inbox_1, '{\"op\": \"bench_end\"}'");
	PQfinish(conn);
	while (wait(NULL) > 0)
		;

	/* what was sent, indexed by message id */
	for (int i = 0; i < writers; i++)
	{
		FILE	   *f;
		Sent		s;

		snprintf(path, sizeof(path), "%s/w%d", dir, i);
		f = fopen(path, "r");
		while (f && fscanf(f, "%lld %lld %lld", &s.id, &s.sent, &s.done) == 3)
		{
			if (nsent == cap)
			{
				cap = cap ? cap * 2 : 1024;
				sent = realloc(sent, cap * sizeof(Sent));
			}
			sent[nsent++] = s;
			if (min_id < 0 || s.id < min_id)
				min_id = s.id;
			if (s.id > max_id)
				max_id = s.id;
			if (first_sent < 0 || s.sent < first_sent)
				first_sent = s.sent;
			if (s.sent > last_sent)
				last_sent = s.sent;
		}
		if (f)
			fclose(f);
		unlink(path);
	}
	if (nsent == 0)
		return 1;
	index = malloc((max_id - min_id + 1) * sizeof(long));
	for (long long i = 0; i <= max_id - min_id; i++)
		index[i] = -1;
	for (long i = 0; i < nsent; i++)
		index[sent[i].id - min_id] = i;

	lat_call = malloc(nsent * listeners * sizeof(long long));
	lat_commit = malloc(nsent * listeners * sizeof(long long));
	for (int i = 0; i < listeners; i++)
	{
		FILE	   *f;
		long long	id,
					t;

		snprintf(path, sizeof(path), "%s/l%d", dir, i);
		f = fopen(path, "r");
		while (f && fscanf(f, "%lld %lld", &id, &t) == 2)
		{
			if (id < min_id || id > max_id || index[id - min_id] < 0)
				continue;
			lat_call[nlat] = t - sent[index[id - min_id]].sent;
			lat_commit[nlat] = t - sent[index[id - min_id]].done;
			nlat++;
		}
		if (f)
			fclose(f);
		unlink(path);
	}
	rmdir(dir);
	missing = nsent * listeners - nlat;
	qsort(lat_call, nlat, sizeof(long long), cmp_ll);
	qsort(lat_commit, nlat, sizeof(long long), cmp_ll);
	printf("rate %.0f/s (achieved %.0f/s) listeners %d messages %ld samples %ld missing %ld "
		   "call->listener ms p50 %.3f p99 %.3f max %.3f "
		   "commit->listener ms p50 %.3f p99 %.3f max %.3f\n",
		   rate, (nsent - 1) / ((last_sent - first_sent) / 1e9), listeners, nsent, nlat, missing,
		   pct(lat_call, nlat, 0.5), pct(lat_call, nlat, 0.99), pct(lat_call, nlat, 1.0),
		   pct(lat_commit, nlat, 0.5), pct(lat_commit, nlat, 0.99), pct(lat_commit, nlat, 1.0));
	return missing == 0 ? 0 : 1;
}
