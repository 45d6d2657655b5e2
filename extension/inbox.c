/*-------------------------------------------------------------------------
 *
 * inbox.c
 *	  Module entry point of the inbox extension: settings, shared memory,
 *	  the background worker, and the one transaction callback.
 *
 * The files and their layers are listed in inbox.h.  What happens when a
 * contact writes in: rules_message.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/guc.h"

#include "inbox.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Every module's work at the end of a transaction, in this order:
 *
 *   1. worker_pause.c  at COMMIT, PREPARE or ABORT: the pauses the
 *                      transaction took end, news go to the launcher;
 *   2. snooze.c        before commit, NOTIFY inbox_snooze; after commit,
 *                      wake the database's worker for its snooze timer;
 *   3. worker_shmem.c  after commit, wake the worker if the transaction
 *                      set a timer (auto-close, auto-away) before its next
 *                      look; at abort, forget them;
 *   4. notify.c        before commit, the transaction's notifications go
 *                      to the worker (or are queued by the transaction
 *                      itself), before PREPARE to the worker; at commit
 *                      or abort, what went to the worker is marked to be
 *                      sent, or dropped; at PREPARE, to wait for COMMIT
 *                      PREPARED;
 *   5. availability.c  at abort, the activity the transaction recorded is
 *                      forgotten (the next call records it again), at
 *                      commit or PREPARE kept;
 *   6. actor.c         at abort, the actor is forgotten.
 *
 * Why: before commit, snooze.c queues its NOTIFY inbox_snooze before
 * notify.c hands the spaces' notifications over or queues them itself, so
 * that a listener of both learns of a snooze first (a change recorded for
 * the listeners after notify.c's turn would never be sent, so no module
 * after it records one).  At commit and
 * abort each module only wakes a process or forgets its own state, and
 * none reads another's: the worker is woken for its timers before it is
 * woken to send, and the modules that only forget come last.  The four
 * of 1.1 keep the order in which their callbacks, registered in four
 * files, ran (PostgreSQL calls the last registered first); the timers'
 * wake joins the snooze's, the forgetting of activity actor.c's.
 */
static void
xact_callback(XactEvent event, void *arg)
{
	inbox_worker_pause_xact_event(event);
	inbox_snooze_xact_event(event);
	inbox_worker_timers_xact_event(event);
	inbox_notify_xact_event(event);
	inbox_availability_xact_event(event);
	inbox_actor_xact_event(event);
}

/*
 * A rolled-back subtransaction takes its notifications with it (notify.c),
 * and the activity it recorded (availability.c)
 */
static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		inbox_notify_subxact_abort(mySubid);
		inbox_availability_subxact_abort(mySubid);
	}
}

static ProcessUtility_hook_type prev_process_utility = NULL;

/*
 * COMMIT PREPARED and ROLLBACK PREPARED end a transaction that was
 * prepared in this database, maybe by another session (Citus commits a
 * transaction that wrote on several nodes so): its notifications waited
 * in the worker's ring and its snoozes were not told to the worker.  Once
 * the statement is done, the worker is woken to look.
 */
static void
process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				ProcessUtilityContext context, ParamListInfo params,
				QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	bool		ends_prepared = IsA(parsetree, TransactionStmt) &&
		(((TransactionStmt *) parsetree)->kind == TRANS_STMT_COMMIT_PREPARED ||
		 ((TransactionStmt *) parsetree)->kind == TRANS_STMT_ROLLBACK_PREPARED);

	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	if (ends_prepared)
		inbox_worker_wake_all();
}

void
_PG_init(void)
{
	inbox_define_actor_gucs();
	inbox_define_notify_gucs();
	inbox_define_availability_gucs();
	inbox_notify_relay_init();
	inbox_worker_shmem_init();
	inbox_worker_pause_init();
	inbox_worker_launcher_init();
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = process_utility;
	MarkGUCPrefixReserved("inbox");
}
