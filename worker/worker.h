/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  Declarations shared by the files of inbox-worker, the client daemon
 *	  of the inbox extension (listen, snooze, deliver).
 *
 * Exit codes of every subcommand: 0 done (or stopped by SIGINT/SIGTERM),
 * 1 runtime or connection failure, 2 usage error.
 *
 *-------------------------------------------------------------------------
 */
#ifndef INBOX_WORKER_H
#define INBOX_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <libpqtypes.h>

/* the version of inbox this client was built with (the Makefile passes it) */
#ifndef INBOX_VERSION
#define INBOX_VERSION "unknown"
#endif

#define EXIT_OK			0
#define EXIT_RUNTIME	1
#define EXIT_USAGE		2

/* options common to all subcommands, filled in by main() */
typedef struct WorkerOptions
{
	const char *conninfo;		/* -d; NULL = PG* environment only */
	const char *subcommand;		/* "listen", "snooze" or "deliver" */
	int64_t		space;			/* listen: --space */
	const char *exec;			/* deliver: --exec */
	int			batch;			/* deliver: --batch; snooze: rows per call */
	double		interval;		/* deliver: seconds between polls when idle */
	double		timeout;		/* deliver: seconds CMD may run */
	bool		once;			/* snooze/deliver: stop when nothing is due */
	bool		verbose;		/* log each unit of work on stderr */
} WorkerOptions;

/* what a wait ended with */
typedef enum WaitResult
{
	WAIT_TIMEOUT,				/* the time given passed */
	WAIT_SOCKET,				/* the server sent something */
	WAIT_STOP					/* SIGINT or SIGTERM arrived */
} WaitResult;

/* connection.c */
extern const char *progname;
extern void worker_log(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern void worker_setup_signals(void);
extern bool worker_stop_requested(void);
extern WaitResult worker_wait(int sock, double seconds);
extern PGconn *worker_connect(const WorkerOptions *opts, bool first);
extern PGconn *worker_connect_like(PGconn *model, const char *host, int port,
								   char *error, size_t errorlen);
extern bool worker_connection_lost(PGconn *conn);
extern bool worker_exec_command(PGconn *conn, const char *sql);
extern bool worker_listen(PGconn *conn, const char *channel);
extern PGresult *worker_query(PGconn *conn, PGparam *param, const char *sql);
extern void worker_report_error(const char *what, PGconn *conn);
extern bool worker_error_is_transient(PGconn *conn);

#define BACKOFF_FIRST	0.1		/* seconds before the first reconnect */
#define BACKOFF_MAX		5.0		/* the delay doubles up to this */

/* listen.c, snooze.c, deliver.c */
extern int	worker_listen_main(const WorkerOptions *opts);
extern int	worker_snooze_main(const WorkerOptions *opts);
extern int	worker_deliver_main(const WorkerOptions *opts);

#endif							/* INBOX_WORKER_H */
