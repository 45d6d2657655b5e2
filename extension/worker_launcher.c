/*-------------------------------------------------------------------------
 *
 * worker_launcher.c
 *	  The launcher of the background workers ("inbox launcher"): one
 *	  "inbox worker" (worker_loop.c) in every database where inbox is
 *	  installed.
 *
 * A background worker connects to one database for life, so there are
 * two kinds of process, both started only when inbox is loaded through
 * shared_preload_libraries, and only once recovery is finished (nothing
 * runs on a standby):
 *
 * - The launcher, registered in _PG_init, connects to no database (like
 *   PostgreSQL's logical replication launcher) and reads the shared
 *   catalogue pg_database.  For each database that accepts connections
 *   and is not a template it starts a per-database worker, unless that
 *   database is known to have no inbox (the last worker there found none
 *   and no CREATE EXTENSION has committed since) or is paused
 *   (worker_pause.c).  Then it sleeps on its latch: it is woken when one
 *   of its workers starts or stops (bgw_notify_pid), when a backend
 *   commits CREATE EXTENSION, CREATE/ALTER DATABASE or ends a command that
 *   needed a database to itself, on SIGHUP, and when a worker that failed
 *   is due to be restarted.
 *
 * - The per-database worker: worker_loop.c.
 *
 * Crashes: a failed per-database worker is restarted by the launcher 10 s
 * later; the launcher itself is restarted by the postmaster
 * (bgw_restart_time); after a server crash both start again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "inbox.h"
#include "worker.h"

/* the entry point named in the BackgroundWorker struct */
PGDLLEXPORT void inbox_launcher_main(Datum main_arg);

/* a worker that failed is started again after this long */
#define RESTART_MS 10000

/* launcher-private state of each slot */
static BackgroundWorkerHandle *handles[WORKER_SLOTS];
static TimestampTz retry_at[WORKER_SLOTS];

/* the databases a worker should serve: connectable, not templates */
static List *
database_list(MemoryContext context)
{
	List	   *databases = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	(void) GetTransactionSnapshot();

	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database form = (Form_pg_database) GETSTRUCT(tuple);
		MemoryContext old;

		if (!form->datallowconn || form->datistemplate || database_is_invalid_form(form))
			continue;
		old = MemoryContextSwitchTo(context);
		databases = lappend_oid(databases, form->oid);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);

	CommitTransactionCommand();
	return databases;
}

static bool
start_worker(int i, Oid database)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;	/* the launcher restarts it */
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "inbox");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "inbox_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "inbox worker for database %u", database);
	snprintf(worker.bgw_type, BGW_MAXLEN, "inbox worker");
	worker.bgw_main_arg = ObjectIdGetDatum(database);
	worker.bgw_notify_pid = MyProcPid;

	return RegisterDynamicBackgroundWorker(&worker, &handles[i]);
}

/*
 * Bring the workers in line with the databases; returns how long to sleep
 * until a restart is due (-1: until woken).
 */
static long
launcher_scan(MemoryContext context)
{
	WorkerShared *shared = inbox_worker_shared;
	List	   *databases;
	TimestampTz now;
	long		timeout = -1;
	static TimestampTz warned_at = 0;
	bool		full = false;
	ListCell   *lc;

	MemoryContextReset(context);
	databases = inbox_worker_enabled ? database_list(context) : NIL;
	now = GetCurrentTimestamp();

	/* workers that have exited: restart soon, or later after a failure */
	for (int i = 0; i < WORKER_SLOTS; i++)
	{
		pid_t		pid;

		if (handles[i] == NULL || GetBackgroundWorkerPid(handles[i], &pid) != BGWH_STOPPED)
			continue;
		pfree(handles[i]);
		handles[i] = NULL;
		LWLockAcquire(shared->lock, LW_SHARED);
		retry_at[i] = shared->slots[i].exit == WORKER_EXIT_FAILED
			? TimestampTzPlusMilliseconds(now, RESTART_MS) : 0;
		LWLockRelease(shared->lock);
	}

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);

	/*
	 * Databases gone, no longer served, or all of them when
	 * inbox.snooze_worker is off: stop their worker, then forget them.
	 */
	for (int i = 0; i < WORKER_SLOTS; i++)
	{
		WorkerSlot *slot = &shared->slots[i];

		if (!OidIsValid(slot->database) || list_member_oid(databases, slot->database))
			continue;
		if (handles[i] != NULL || slot->pid != 0)
		{
			slot->stop = true;
			if (slot->latch != NULL)
				SetLatch(slot->latch);
		}
		else if (slot->paused == 0 && slot->pid == 0)
		{
			inbox_notify_relay_forget(slot->database);	/* left by a worker that failed */
			slot->database = InvalidOid;
			retry_at[i] = 0;
		}
	}
	/* every database served has a slot */
	foreach(lc, databases)
	{
		if (inbox_worker_find_or_add_slot(lfirst_oid(lc)) < 0)
			full = true;
	}
	LWLockRelease(shared->lock);

	if (full && (warned_at == 0 || now >= TimestampTzPlusMilliseconds(warned_at, 3600000)))
	{
		ereport(WARNING,
				(errmsg("inbox launcher can serve at most %d databases", WORKER_SLOTS)));
		warned_at = now;
	}

	/* start the missing workers */
	for (int i = 0; i < WORKER_SLOTS; i++)
	{
		WorkerSlot *slot = &shared->slots[i];
		Oid			database;
		bool		wanted;

		if (handles[i] != NULL)
			continue;
		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		database = slot->database;
		wanted = OidIsValid(database) && list_member_oid(databases, database) &&
			slot->paused == 0 && !slot->no_extension && slot->pid == 0;
		if (wanted && retry_at[i] <= now)
		{
			slot->stop = false;
			slot->exit = WORKER_EXIT_FAILED;
		}
		LWLockRelease(shared->lock);
		if (!wanted)
			continue;

		if (retry_at[i] > now)
		{
			long		wait = TimestampDifferenceMilliseconds(now, retry_at[i]);

			timeout = timeout < 0 ? wait : Min(timeout, wait);
			continue;
		}
		if (!start_worker(i, database))
		{
			/* no free background worker slot: try again shortly */
			handles[i] = NULL;
			retry_at[i] = TimestampTzPlusMilliseconds(now, 1000);
			timeout = timeout < 0 ? 1000 : Min(timeout, 1000);
			if (warned_at == 0 || now >= TimestampTzPlusMilliseconds(warned_at, 60000))
			{
				ereport(WARNING,
						(errmsg("inbox launcher could not start a worker for database %u", database),
						 errhint("Raise max_worker_processes: inbox needs one background worker per database where it is installed, plus its launcher.")));
				warned_at = now;
			}
		}
	}

	return timeout;
}

static void
launcher_release_latch(int code, Datum arg)
{
	LWLockAcquire(inbox_worker_shared->lock, LW_EXCLUSIVE);
	inbox_worker_shared->launcher_latch = NULL;
	LWLockRelease(inbox_worker_shared->lock);
}

void
inbox_launcher_main(Datum main_arg)
{
	MemoryContext context;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* no database: pg_database is a shared catalogue */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	LWLockAcquire(inbox_worker_shared->lock, LW_EXCLUSIVE);
	inbox_worker_shared->launcher_latch = MyLatch;
	LWLockRelease(inbox_worker_shared->lock);
	before_shmem_exit(launcher_release_latch, (Datum) 0);

	context = AllocSetContextCreate(TopMemoryContext, "inbox launcher",
									ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		long		timeout;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		timeout = launcher_scan(context);

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | (timeout >= 0 ? WL_TIMEOUT : 0),
						 timeout, PG_WAIT_EXTENSION);
	}
}

/* from _PG_init: the launcher, when preloaded */
void
inbox_worker_launcher_init(void)
{
	BackgroundWorker launcher;

	if (!process_shared_preload_libraries_in_progress)
		return;
	memset(&launcher, 0, sizeof(launcher));
	launcher.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	launcher.bgw_start_time = BgWorkerStart_RecoveryFinished;
	launcher.bgw_restart_time = 5;
	snprintf(launcher.bgw_library_name, BGW_MAXLEN, "inbox");
	snprintf(launcher.bgw_function_name, BGW_MAXLEN, "inbox_launcher_main");
	snprintf(launcher.bgw_name, BGW_MAXLEN, "inbox launcher");
	snprintf(launcher.bgw_type, BGW_MAXLEN, "inbox launcher");
	RegisterBackgroundWorker(&launcher);
}
