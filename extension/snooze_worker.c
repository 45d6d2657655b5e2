/*-------------------------------------------------------------------------
 *
 * snooze_worker.c
 *	  The background worker that wakes snoozed contacts when their time
 *	  comes (rule 8), in every database where inbox is installed.
 *
 * Design
 * ------
 * A background worker connects to one database for life, so there are
 * two kinds of process, both started only when inbox is loaded through
 * shared_preload_libraries, and only once recovery is finished (nothing
 * runs on a standby):
 *
 * - The launcher, registered in _PG_init, connects to no database (like
 *   PostgreSQL's logical replication launcher) and reads the shared
 *   catalogue pg_database.  For each database that accepts connections
 *   and is not a template it starts a per-database worker, unless that
 *   database is known to have no inbox.  Then it sleeps on its latch: it
 *   is woken when one of its workers starts or stops (bgw_notify_pid),
 *   when a backend commits CREATE EXTENSION, CREATE/ALTER DATABASE or
 *   ends a command that needed a database to itself, on SIGHUP, and when
 *   a worker that failed is due to be restarted (10 s later).
 *
 * - The per-database worker first checks that extension inbox exists; if
 *   not it records so in shared memory and exits, and the launcher leaves
 *   the database alone until a CREATE EXTENSION commits there.  Otherwise
 *   it loops: wake due contacts in batches of inbox.snooze_batch, one
 *   transaction per batch (inbox_wake_due in snooze.c, the code behind
 *   inbox.wake_due_snoozes()), read the next due time, and sleep on its
 *   latch until then, at most an hour.  While nothing is due it runs no
 *   query at all.
 *
 * How the worker learns of a new or earlier snooze without polling:
 * shared memory holds one slot per database with the latch of its
 * worker; a transaction that set or moved a snooze sets that latch when
 * it commits (after the change is visible), and the worker reads the
 * next due time again.  The worker resets its latch before it reads, so a
 * commit is either seen by that read or wakes the following sleep.
 *
 * Commands that need a database without other sessions (DROP DATABASE,
 * ALTER DATABASE RENAME / SET TABLESPACE, CREATE DATABASE ... TEMPLATE)
 * would fail while the worker is connected: PostgreSQL 15 only waits for
 * backends to leave and asks nothing but autovacuum to.  A ProcessUtility
 * hook therefore pauses that database's worker first: it marks the slot
 * paused, asks the worker to exit and waits until it has; the launcher
 * starts no worker for a paused database, and the pause ends with the
 * transaction.  After a DROP DATABASE the launcher no longer finds the
 * database in pg_database and forgets the slot.  DROP EXTENSION (and DROP
 * SCHEMA inbox) pause the worker of their own database the same way, as a
 * batch running meanwhile would deadlock with the drop; when the
 * transaction ends the launcher starts a worker again, which finds no
 * extension, records that and exits.
 *
 * Crashes: a failed per-database worker is restarted by the launcher 10 s
 * later; the launcher itself is restarted by the postmaster
 * (bgw_restart_time); after a server crash both start again and the first
 * thing each worker does is wake what fell due meanwhile.
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
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "port/atomics.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "inbox.h"

/* entry points named in the BackgroundWorker structs */
PGDLLEXPORT void inbox_snooze_launcher_main(Datum main_arg);
PGDLLEXPORT void inbox_snooze_worker_main(Datum main_arg);

/* how many databases the launcher can keep track of */
#define SNOOZE_SLOTS 1024
/* a worker that failed is started again after this long */
#define SNOOZE_RESTART_MS 10000
/* longest sleep of a worker with a snooze due far ahead */
#define SNOOZE_MAX_SLEEP_MS 3600000L
/* how long a busy worker gathers notifications after a commit wakes it */
#define RELAY_GATHER_US 1000L
/* how long a command waits for a worker to leave its database */
#define SNOOZE_PAUSE_WAIT_MS 30000

/* why a per-database worker exited, as the launcher reads it */
typedef enum SnoozeExit
{
	SNOOZE_EXIT_FAILED = 0,		/* error or signal: restart later */
	SNOOZE_EXIT_NO_EXTENSION,	/* no inbox here: restart on CREATE EXTENSION */
	SNOOZE_EXIT_STOPPED,		/* asked to stop: restart when allowed */
	SNOOZE_EXIT_RECHECK			/* the extension appeared while checking */
} SnoozeExit;

typedef struct SnoozeSlot
{
	Oid			database;		/* InvalidOid = free slot */
	int			paused;			/* commands that need the database alone */
	bool		stop;			/* the worker must exit */
	bool		no_extension;	/* the last worker found no inbox here */
	uint32		generation;		/* bumped when CREATE EXTENSION commits */
	SnoozeExit	exit;			/* why the last worker exited */
	pid_t		pid;			/* the worker connected here, 0 if none */
	Latch	   *latch;			/* and its latch */
	bool		serving;		/* the worker takes notifications (notify_relay.c) */
	pg_atomic_uint32 snooze_pending;	/* a snooze was set or moved: look again */
	pg_atomic_uint32 relay_pending; /* notifications to send */
} SnoozeSlot;

typedef struct SnoozeShared
{
	LWLock	   *lock;			/* protects everything below */
	Latch	   *launcher_latch;
	SnoozeSlot	slots[SNOOZE_SLOTS];
} SnoozeShared;

static SnoozeShared *shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static ProcessUtility_hook_type prev_utility_hook = NULL;

/* settings */
static bool worker_enabled = true;
static int	worker_batch = 1000;

/* this process's slot, for the exit callback of a per-database worker */
static int	my_slot = -1;

/* what this backend's transaction must do when it ends (utility hook) */
#define SNOOZE_MAX_PAUSES 8
static struct
{
	int			npaused;
	int			paused[SNOOZE_MAX_PAUSES];	/* slot numbers */
	bool		wake_launcher;
	bool		extension_created;
} pending;

/*
 * ------------------------------------------------------------------
 * Shared memory
 * ------------------------------------------------------------------
 */

static void
snooze_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(SnoozeShared)));
	RequestNamedLWLockTranche("inbox_snooze", 1);
}

static void
snooze_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("inbox snooze", sizeof(SnoozeShared), &found);
	if (!found)
	{
		memset(shared, 0, sizeof(SnoozeShared));
		shared->lock = &(GetNamedLWLockTranche("inbox_snooze"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* the slot of a database, -1 if none; caller holds the lock */
static int
find_slot(Oid database)
{
	for (int i = 0; i < SNOOZE_SLOTS; i++)
		if (shared->slots[i].database == database)
			return i;
	return -1;
}

/* the slot of a database, taking a free one if needed; caller holds the lock exclusively */
static int
find_or_add_slot(Oid database)
{
	int			i = find_slot(database);

	if (i >= 0)
		return i;
	i = find_slot(InvalidOid);
	if (i >= 0)
	{
		memset(&shared->slots[i], 0, sizeof(SnoozeSlot));
		shared->slots[i].database = database;
		pg_atomic_init_u32(&shared->slots[i].snooze_pending, 0);
		pg_atomic_init_u32(&shared->slots[i].relay_pending, 0);
	}
	return i;
}

/*
 * The slot of this backend's database, -1 if none; remembered, since a
 * database keeps its slot while it has inbox.  Caller holds the lock.
 */
static int
my_database_slot(void)
{
	static int	cached = -1;

	if (cached < 0 || shared->slots[cached].database != MyDatabaseId)
		cached = find_slot(MyDatabaseId);
	return cached;
}

/* set a wake flag of this database's worker and its latch */
static void
wake_worker(bool relay)
{
	int			i;

	if (shared == NULL || !OidIsValid(MyDatabaseId))
		return;
	LWLockAcquire(shared->lock, LW_SHARED);
	i = my_database_slot();
	if (i >= 0 && shared->slots[i].latch != NULL)
	{
		pg_atomic_write_u32(relay ? &shared->slots[i].relay_pending : &shared->slots[i].snooze_pending, 1);
		SetLatch(shared->slots[i].latch);
	}
	LWLockRelease(shared->lock);
}

/*
 * Called by snooze.c when a transaction that set or moved a snooze has
 * committed: the worker of this database reads the next due time again.
 */
void
inbox_snooze_worker_wake(void)
{
	wake_worker(false);
}

/*
 * Whether a worker serves this database and takes its notifications
 * (notify_relay.c).  When it does, the lock stays held (shared) until
 * inbox_snooze_worker_unlock(), so that the worker cannot stop serving
 * while the caller hands it notifications: it clears "serving" under the
 * lock held exclusively, then sends what it was handed.  Lock order: this
 * lock before the relay's.
 */
bool
inbox_snooze_worker_lock_serving(void)
{
	int			i;

	if (shared == NULL || !OidIsValid(MyDatabaseId))
		return false;
	LWLockAcquire(shared->lock, LW_SHARED);
	i = my_database_slot();
	if (i >= 0 && shared->slots[i].serving && shared->slots[i].latch != NULL)
		return true;
	LWLockRelease(shared->lock);
	return false;
}

void
inbox_snooze_worker_unlock(void)
{
	LWLockRelease(shared->lock);
}

/* notifications of a committed transaction are in the relay: the worker sends them */
void
inbox_snooze_worker_relay_wake(void)
{
	wake_worker(true);
}

/*
 * ------------------------------------------------------------------
 * Commands that must not be blocked by the worker (ProcessUtility hook)
 * ------------------------------------------------------------------
 */

/*
 * Keep the worker out of a database until the end of the transaction:
 * ask it to leave and wait until it has.
 */
static void
pause_database(Oid database)
{
	int			i;
	Latch	   *latch;
	TimestampTz deadline;

	if (!OidIsValid(database) || pending.npaused >= SNOOZE_MAX_PAUSES)
		return;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	i = find_or_add_slot(database);
	if (i < 0)
	{
		LWLockRelease(shared->lock);
		return;
	}
	shared->slots[i].paused++;
	shared->slots[i].stop = true;
	latch = shared->slots[i].latch;
	if (latch != NULL)
		SetLatch(latch);
	LWLockRelease(shared->lock);
	pending.paused[pending.npaused++] = i;

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), SNOOZE_PAUSE_WAIT_MS);
	for (;;)
	{
		pid_t		pid;

		LWLockAcquire(shared->lock, LW_SHARED);
		pid = shared->slots[i].pid;
		LWLockRelease(shared->lock);
		if (pid == 0 || GetCurrentTimestamp() >= deadline)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

static void
note_utility(Node *parsetree)
{
	ListCell   *lc;

	switch (nodeTag(parsetree))
	{
		case T_DropdbStmt:
			pause_database(get_database_oid(((DropdbStmt *) parsetree)->dbname, true));
			break;
		case T_RenameStmt:
			if (((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
				pause_database(get_database_oid(((RenameStmt *) parsetree)->subname, true));
			break;
		case T_AlterDatabaseStmt:
			foreach(lc, ((AlterDatabaseStmt *) parsetree)->options)
				if (strcmp(((DefElem *) lfirst(lc))->defname, "tablespace") == 0)
					pause_database(get_database_oid(((AlterDatabaseStmt *) parsetree)->dbname, true));
			/* ALLOW_CONNECTIONS / IS_TEMPLATE change what the launcher serves */
			pending.wake_launcher = true;
			break;
		case T_CreatedbStmt:
			foreach(lc, ((CreatedbStmt *) parsetree)->options)
				if (strcmp(((DefElem *) lfirst(lc))->defname, "template") == 0)
					pause_database(get_database_oid(defGetString((DefElem *) lfirst(lc)), true));
			/* a copy of a database with inbox has inbox */
			pending.wake_launcher = true;
			break;
		case T_CreateExtensionStmt:
			/* inbox itself, or an extension that requires it (CASCADE) */
			pending.extension_created = true;
			break;
		case T_DropStmt:

			/*
			 * Dropping inbox while the worker wakes contacts would deadlock
			 * (the drop locks the tables one by one, the batch too), so the
			 * worker leaves first.  When the transaction ends the launcher
			 * starts it again, and it finds the extension gone or still
			 * there.  Any DROP EXTENSION may take inbox along (CASCADE).
			 */
			if (((DropStmt *) parsetree)->removeType == OBJECT_EXTENSION)
				pause_database(MyDatabaseId);
			else if (((DropStmt *) parsetree)->removeType == OBJECT_SCHEMA)
				foreach(lc, ((DropStmt *) parsetree)->objects)
					if (strcmp(strVal(lfirst(lc)), "inbox") == 0)
						pause_database(MyDatabaseId);
			break;
		default:
			break;
	}
}

static void
snooze_utility_hook(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					ProcessUtilityContext context, ParamListInfo params,
					QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (shared != NULL)
		note_utility(pstmt->utilityStmt);

	if (prev_utility_hook)
		prev_utility_hook(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

/* at the end of the transaction: end pauses, pass on what changed */
static void
snooze_worker_xact_callback(XactEvent event, void *arg)
{
	bool		commit;

	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE)
		commit = true;
	else if (event == XACT_EVENT_ABORT)
		commit = false;
	else
		return;
	if (shared == NULL ||
		!(pending.npaused > 0 || pending.wake_launcher || pending.extension_created))
		return;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int p = 0; p < pending.npaused; p++)
		shared->slots[pending.paused[p]].paused--;
	if (commit && pending.extension_created && OidIsValid(MyDatabaseId))
	{
		int			i = find_slot(MyDatabaseId);

		if (i >= 0)
		{
			shared->slots[i].no_extension = false;
			shared->slots[i].generation++;
		}
	}
	if (shared->launcher_latch != NULL &&
		(pending.npaused > 0 || (commit && (pending.wake_launcher || pending.extension_created))))
		SetLatch(shared->launcher_latch);
	LWLockRelease(shared->lock);

	memset(&pending, 0, sizeof(pending));
}

/*
 * ------------------------------------------------------------------
 * The per-database worker
 * ------------------------------------------------------------------
 */

static pg_attribute_noreturn() void
worker_exit(SnoozeExit why)
{
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	shared->slots[my_slot].exit = why;
	shared->slots[my_slot].serving = false;
	LWLockRelease(shared->lock);
	/* no one hands us notifications now: send those we have (NOTIFY needs no inbox) */
	inbox_notify_relay_flush();
	proc_exit(0);
}

/* leave the slot, whatever the way out */
static void
worker_release_slot(int code, Datum arg)
{
	if (my_slot < 0)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	shared->slots[my_slot].pid = 0;
	shared->slots[my_slot].latch = NULL;
	shared->slots[my_slot].serving = false;
	/* a launcher started after this worker gets no exit notice from the postmaster */
	if (shared->launcher_latch != NULL)
		SetLatch(shared->launcher_latch);
	LWLockRelease(shared->lock);
	my_slot = -1;
}

/*
 * No extension here: record it, unless a CREATE EXTENSION committed since
 * we started looking (then the launcher starts a worker again).
 */
static pg_attribute_noreturn() void
worker_found_no_extension(uint32 generation)
{
	SnoozeExit	why = SNOOZE_EXIT_RECHECK;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	if (shared->slots[my_slot].generation == generation)
	{
		shared->slots[my_slot].no_extension = true;
		why = SNOOZE_EXIT_NO_EXTENSION;
	}
	LWLockRelease(shared->lock);
	worker_exit(why);
}

/* asked to leave (a paused database, inbox.snooze_worker off, database gone) */
static void
worker_check_stop(void)
{
	bool		stop;

	LWLockAcquire(shared->lock, LW_SHARED);
	stop = shared->slots[my_slot].stop;
	LWLockRelease(shared->lock);
	if (stop || !worker_enabled)
		worker_exit(SNOOZE_EXIT_STOPPED);
}

/*
 * Wake what is due, batch after batch, one transaction each; returns
 * whether a snooze is pending, with its time in *next, and how many the
 * last batch woke in *woken.
 */
static bool
worker_wake_due(uint32 generation, TimestampTz *next, int *woken)
{
	bool		has_next;

	do
	{
		bool		has_extension;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		has_extension = OidIsValid(get_extension_oid("inbox", true));
		if (has_extension)
		{
			pgstat_report_activity(STATE_RUNNING, "inbox: waking due snoozes");
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "inbox: SPI_connect failed");
			*woken = inbox_wake_due(worker_batch);
			has_next = inbox_next_due(next);
			SPI_finish();
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
		pgstat_report_stat(false);
		pgstat_report_activity(STATE_IDLE, NULL);

		if (!has_extension)
			worker_found_no_extension(generation);
		if (*woken > 0)
			elog(DEBUG1, "inbox snooze worker woke %d contacts", *woken);
		(void) inbox_notify_relay_drain();	/* a long backlog does not hold them back */
		CHECK_FOR_INTERRUPTS();
		worker_check_stop();
	} while (*woken >= worker_batch);

	return has_next;
}

void
inbox_snooze_worker_main(Datum main_arg)
{
	Oid			database = DatumGetObjectId(main_arg);
	uint32		generation = 0;
	bool		go;
	TimestampTz look_at = 0;	/* when to look for due snoozes; 0 = at once, DT_NOEND = none due */
	TimestampTz last_send = 0;	/* when notifications were last sent */

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnectionByOid(database, InvalidOid, 0);

	/*
	 * A wake lost in a crash is done again after the restart (the contact is
	 * still due then), so the worker need not wait for its commits to reach
	 * the disk.
	 */
	SetConfigOption("synchronous_commit", "off", PGC_USERSET, PGC_S_SESSION);

	/* take the slot, unless the database is paused or the launcher changed its mind */
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	my_slot = find_slot(database);
	go = my_slot >= 0 && shared->slots[my_slot].pid == 0 &&
		!shared->slots[my_slot].stop && shared->slots[my_slot].paused == 0;
	if (go)
	{
		shared->slots[my_slot].pid = MyProcPid;
		shared->slots[my_slot].latch = MyLatch;
		shared->slots[my_slot].serving = true;
		shared->slots[my_slot].exit = SNOOZE_EXIT_FAILED;
		generation = shared->slots[my_slot].generation;
	}
	else if (my_slot >= 0 && shared->slots[my_slot].pid == 0)
		shared->slots[my_slot].exit = SNOOZE_EXIT_STOPPED;
	LWLockRelease(shared->lock);
	if (!go)
		proc_exit(0);
	before_shmem_exit(worker_release_slot, (Datum) 0);
	inbox_notify_relay_adopt();

	for (;;)
	{
		TimestampTz next,
					now;
		int			woken = 0;
		bool		relay_wake,
					snooze_wake;
		long		timeout = -1;

		/* reset before reading, so that a commit after the read wakes the sleep */
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		worker_check_stop();

		relay_wake = pg_atomic_exchange_u32(&shared->slots[my_slot].relay_pending, 0) != 0;
		snooze_wake = pg_atomic_exchange_u32(&shared->slots[my_slot].snooze_pending, 0) != 0;

		if (relay_wake)
		{
			/*
			 * Busy (the last send was a moment ago): let the commits of the
			 * next moment join this one's, so that one transaction of ours
			 * sends them all; meanwhile they only set the latch, which costs
			 * them nothing while we do not wait on it.  Quiet: send at once.
			 */
			if (!TimestampDifferenceExceeds(last_send, GetCurrentTimestamp(), RELAY_GATHER_US / 1000))
				pg_usleep(RELAY_GATHER_US);
			(void) inbox_notify_relay_drain();
			last_send = GetCurrentTimestamp();
		}

		/* a wake only to send notifications does not look at snoozes before their time */
		now = GetCurrentTimestamp();
		if (!relay_wake || snooze_wake || look_at == 0 || now >= look_at)
		{
			if (worker_wake_due(generation, &next, &woken))
			{
				now = GetCurrentTimestamp();
				if (next > now)
					look_at = next;
				else if (woken == 0)
					look_at = TimestampTzPlusMilliseconds(now, 50); /* locked by another waker: let it finish */
				else
				{
					look_at = 0;	/* more due: look again at once */
					continue;
				}
			}
			else
				look_at = DT_NOEND;
		}
		if (look_at != DT_NOEND)
			timeout = Min(Max(TimestampDifferenceMilliseconds(now, look_at), 0), SNOOZE_MAX_SLEEP_MS);

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | (timeout >= 0 ? WL_TIMEOUT : 0),
						 timeout, PG_WAIT_EXTENSION);
	}
}

/*
 * ------------------------------------------------------------------
 * The launcher
 * ------------------------------------------------------------------
 */

/* launcher-private state of each slot */
static BackgroundWorkerHandle *handles[SNOOZE_SLOTS];
static TimestampTz retry_at[SNOOZE_SLOTS];

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
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "inbox_snooze_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "inbox snooze worker for database %u", database);
	snprintf(worker.bgw_type, BGW_MAXLEN, "inbox snooze worker");
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
	List	   *databases;
	TimestampTz now;
	long		timeout = -1;
	static TimestampTz warned_at = 0;
	bool		full = false;
	ListCell   *lc;

	MemoryContextReset(context);
	databases = worker_enabled ? database_list(context) : NIL;
	now = GetCurrentTimestamp();

	/* workers that have exited: restart soon, or later after a failure */
	for (int i = 0; i < SNOOZE_SLOTS; i++)
	{
		pid_t		pid;

		if (handles[i] == NULL || GetBackgroundWorkerPid(handles[i], &pid) != BGWH_STOPPED)
			continue;
		pfree(handles[i]);
		handles[i] = NULL;
		LWLockAcquire(shared->lock, LW_SHARED);
		retry_at[i] = shared->slots[i].exit == SNOOZE_EXIT_FAILED
			? TimestampTzPlusMilliseconds(now, SNOOZE_RESTART_MS) : 0;
		LWLockRelease(shared->lock);
	}

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	/*
	 * Databases gone, no longer served, or all of them when
	 * inbox.snooze_worker is off: stop their worker, then forget them.
	 */
	for (int i = 0; i < SNOOZE_SLOTS; i++)
	{
		SnoozeSlot *slot = &shared->slots[i];

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
		if (find_or_add_slot(lfirst_oid(lc)) < 0)
			full = true;
	}
	LWLockRelease(shared->lock);

	if (full && (warned_at == 0 || now >= TimestampTzPlusMilliseconds(warned_at, 3600000)))
	{
		ereport(WARNING,
				(errmsg("inbox snooze launcher can serve at most %d databases", SNOOZE_SLOTS)));
		warned_at = now;
	}

	/* start the missing workers */
	for (int i = 0; i < SNOOZE_SLOTS; i++)
	{
		SnoozeSlot *slot = &shared->slots[i];
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
			slot->exit = SNOOZE_EXIT_FAILED;
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
						(errmsg("inbox snooze launcher could not start a worker for database %u", database),
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
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	shared->launcher_latch = NULL;
	LWLockRelease(shared->lock);
}

void
inbox_snooze_launcher_main(Datum main_arg)
{
	MemoryContext context;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* no database: pg_database is a shared catalogue */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	shared->launcher_latch = MyLatch;
	LWLockRelease(shared->lock);
	before_shmem_exit(launcher_release_latch, (Datum) 0);

	context = AllocSetContextCreate(TopMemoryContext, "inbox snooze launcher",
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

/*
 * ------------------------------------------------------------------
 * Module initialisation (from _PG_init)
 * ------------------------------------------------------------------
 */

void
inbox_snooze_worker_init(void)
{
	BackgroundWorker launcher;

	DefineCustomBoolVariable("inbox.snooze_worker",
							 "Wake snoozed contacts in a background worker.",
							 "Needs inbox in shared_preload_libraries. Turn off when an external inbox-worker does it.",
							 &worker_enabled,
							 true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("inbox.snooze_batch",
							"Contacts the snooze worker wakes per transaction.",
							NULL,
							&worker_batch,
							1000, 1, 100000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	RegisterXactCallback(snooze_worker_xact_callback, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = snooze_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = snooze_shmem_startup;
	prev_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = snooze_utility_hook;

	memset(&launcher, 0, sizeof(launcher));
	launcher.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	launcher.bgw_start_time = BgWorkerStart_RecoveryFinished;
	launcher.bgw_restart_time = 5;
	snprintf(launcher.bgw_library_name, BGW_MAXLEN, "inbox");
	snprintf(launcher.bgw_function_name, BGW_MAXLEN, "inbox_snooze_launcher_main");
	snprintf(launcher.bgw_name, BGW_MAXLEN, "inbox snooze launcher");
	snprintf(launcher.bgw_type, BGW_MAXLEN, "inbox snooze launcher");
	RegisterBackgroundWorker(&launcher);
}
