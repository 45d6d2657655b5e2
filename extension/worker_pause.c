/*-------------------------------------------------------------------------
 *
 * worker_pause.c
 *	  Commands that must not be blocked by the background worker, and
 *	  news for the launcher (a ProcessUtility hook).
 *
 * Commands that need a database without other sessions (DROP DATABASE,
 * ALTER DATABASE RENAME / SET TABLESPACE, CREATE DATABASE ... TEMPLATE)
 * would fail while the worker is connected: PostgreSQL 15 only waits for
 * backends to leave and asks nothing but autovacuum to.  The hook
 * therefore pauses that database's worker first: it marks the slot
 * paused, asks the worker to exit and waits until it has; the launcher
 * starts no worker for a paused database, and the pause ends with the
 * transaction.  After a DROP DATABASE the launcher no longer finds the
 * database in pg_database and forgets the slot.  DROP EXTENSION (and DROP
 * SCHEMA inbox) pause the worker of their own database the same way, as a
 * batch running meanwhile would deadlock with the drop; when the
 * transaction ends the launcher starts a worker again, which finds no
 * extension, records that and exits.
 *
 * The hook also notes what the launcher must look at again when the
 * transaction commits: CREATE/ALTER DATABASE (the databases it serves),
 * CREATE EXTENSION (a database that had no inbox may have it now).  A
 * CREATE EXTENSION in a transaction that is prepared (Citus propagates it
 * so from the coordinator to the other nodes) is news only once COMMIT
 * PREPARED has made it visible: a worker started at PREPARE would find no
 * inbox, record that and never come back.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "tcop/utility.h"
#include "utils/timestamp.h"

#include "inbox.h"
#include "worker.h"

/* how long a command waits for a worker to leave its database */
#define PAUSE_WAIT_MS 30000

static ProcessUtility_hook_type prev_utility_hook = NULL;

/* what this backend's transaction must do when it ends */
#define MAX_PAUSES 8
static struct
{
	int			npaused;
	int			paused[MAX_PAUSES]; /* slot numbers */
	bool		wake_launcher;
	bool		extension_created;
	bool		ended_prepared; /* COMMIT or ROLLBACK PREPARED */
} pending;

/*
 * Keep the worker out of a database until the end of the transaction:
 * ask it to leave and wait until it has.
 */
static void
pause_database(Oid database)
{
	WorkerShared *shared = inbox_worker_shared;
	int			i;
	Latch	   *latch;
	TimestampTz deadline;

	if (!OidIsValid(database) || pending.npaused >= MAX_PAUSES)
		return;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	i = inbox_worker_find_or_add_slot(database);
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

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), PAUSE_WAIT_MS);
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
		case T_TransactionStmt:
			if (((TransactionStmt *) parsetree)->kind == TRANS_STMT_COMMIT_PREPARED ||
				((TransactionStmt *) parsetree)->kind == TRANS_STMT_ROLLBACK_PREPARED)
				pending.ended_prepared = true;
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
pause_utility_hook(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				   ProcessUtilityContext context, ParamListInfo params,
				   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (inbox_worker_shared != NULL)
		note_utility(pstmt->utilityStmt);

	if (prev_utility_hook)
		prev_utility_hook(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

/* from _PG_init, when preloaded */
void
inbox_worker_pause_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = pause_utility_hook;
}

/*
 * At the end of the transaction (inbox.c calls it): end its pauses, pass
 * on what changed.
 */
void
inbox_worker_pause_xact_event(XactEvent event)
{
	WorkerShared *shared = inbox_worker_shared;
	bool		commit;
	bool		created;
	int			i;

	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE)
		commit = true;
	else if (event == XACT_EVENT_ABORT)
		commit = false;
	else
		return;
	if (shared == NULL ||
		!(pending.npaused > 0 || pending.wake_launcher || pending.extension_created ||
		  pending.ended_prepared))
		return;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int p = 0; p < pending.npaused; p++)
		shared->slots[pending.paused[p]].paused--;
	created = commit && pending.extension_created;
	if (created && event == XACT_EVENT_PREPARE && OidIsValid(MyDatabaseId))
	{
		/* not visible yet: wait for COMMIT PREPARED */
		i = inbox_worker_find_or_add_slot(MyDatabaseId);
		if (i >= 0)
			shared->slots[i].extension_prepared = true;
		created = false;
	}
	else if (commit && pending.ended_prepared && OidIsValid(MyDatabaseId))
	{
		/* a rolled back one makes the launcher look in vain, once */
		i = inbox_worker_find_slot(MyDatabaseId);
		if (i >= 0 && shared->slots[i].extension_prepared)
		{
			shared->slots[i].extension_prepared = false;
			created = true;
		}
	}
	if (created && OidIsValid(MyDatabaseId))
	{
		i = inbox_worker_find_slot(MyDatabaseId);
		if (i >= 0)
		{
			shared->slots[i].no_extension = false;
			shared->slots[i].generation++;
		}
	}
	if (shared->launcher_latch != NULL &&
		(pending.npaused > 0 || created || (commit && pending.wake_launcher)))
		SetLatch(shared->launcher_latch);
	LWLockRelease(shared->lock);

	memset(&pending, 0, sizeof(pending));
}
