/*-------------------------------------------------------------------------
 *
 * worker_shmem.c
 *	  The background worker's settings and shared memory, and the calls a
 *	  backend makes into it: wake the worker of its database, hand it the
 *	  transaction's notifications.
 *
 * The background worker module ("inbox worker") is, from the bottom:
 *   worker_shmem.c     this file: one slot per database, and the wake calls
 *   notify_relay.c     the ring of notifications the worker sends
 *   worker_pause.c     commands that need a database without the worker
 *   worker_loop.c      the per-database worker: its loop and its two tasks,
 *                      the snooze timer and the notification relay
 *   worker_launcher.c  the launcher, which starts a worker per database
 * The rules call the first two; the last two sit above the rules and call
 * them (the worker wakes due snoozes with snooze.c).
 *
 * How the worker learns of work without polling: each slot holds the latch
 * of its database's worker and two flags.  A transaction that set or moved
 * a snooze, or that handed notifications over, sets a flag and that latch
 * when it commits (after the change is visible), and the worker looks
 * again.  The worker resets its latch before it reads the flags, so a
 * commit is either seen by that read or wakes the following sleep.
 *
 * The other timers (auto-close, auto-away) are set by many more
 * transactions (every reply of a user starts a wait), nearly always for
 * later than what the worker waits for: the slot holds the time of the
 * worker's next look, and a transaction that set a timer wakes it at
 * commit only when its earliest one is before that time.  While the worker
 * looks (from before it resets its latch until it has published the time
 * of its next look) the slot holds 0, and every such commit wakes it: a
 * timer set after the worker's query read the timers is not missed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "inbox.h"
#include "worker.h"

WorkerShared *inbox_worker_shared = NULL;

/* settings */
bool		inbox_worker_enabled = true;
int			inbox_worker_batch = 1000;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
worker_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(WorkerShared)));
	RequestNamedLWLockTranche("inbox_worker", 1);
}

static void
worker_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	inbox_worker_shared = ShmemInitStruct("inbox worker", sizeof(WorkerShared), &found);
	if (!found)
	{
		memset(inbox_worker_shared, 0, sizeof(WorkerShared));
		inbox_worker_shared->lock = &(GetNamedLWLockTranche("inbox_worker"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* from _PG_init: the settings always, the shared memory when preloaded */
void
inbox_worker_shmem_init(void)
{
	DefineCustomBoolVariable("inbox.snooze_worker",
							 "Wake snoozed contacts in a background worker.",
							 "Needs inbox in shared_preload_libraries. Turn off when an external inbox-worker does it.",
							 &inbox_worker_enabled,
							 true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("inbox.snooze_batch",
							"Contacts the snooze worker wakes per transaction.",
							NULL,
							&inbox_worker_batch,
							1000, 1, 100000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = worker_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = worker_shmem_startup;
}

/* the slot of a database, -1 if none; caller holds the lock */
int
inbox_worker_find_slot(Oid database)
{
	for (int i = 0; i < WORKER_SLOTS; i++)
		if (inbox_worker_shared->slots[i].database == database)
			return i;
	return -1;
}

/* the slot of a database, taking a free one if needed; caller holds the lock exclusively */
int
inbox_worker_find_or_add_slot(Oid database)
{
	int			i = inbox_worker_find_slot(database);

	if (i >= 0)
		return i;
	i = inbox_worker_find_slot(InvalidOid);
	if (i >= 0)
	{
		WorkerSlot *slot = &inbox_worker_shared->slots[i];

		memset(slot, 0, sizeof(WorkerSlot));
		slot->database = database;
		pg_atomic_init_u32(&slot->snooze_pending, 0);
		pg_atomic_init_u32(&slot->relay_pending, 0);
		pg_atomic_init_u64(&slot->next_look, 0);
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

	if (cached < 0 || inbox_worker_shared->slots[cached].database != MyDatabaseId)
		cached = inbox_worker_find_slot(MyDatabaseId);
	return cached;
}

/* set a wake flag of this database's worker and its latch */
static void
wake_worker(bool relay)
{
	WorkerSlot *slot;
	int			i;

	if (inbox_worker_shared == NULL || !OidIsValid(MyDatabaseId))
		return;
	LWLockAcquire(inbox_worker_shared->lock, LW_SHARED);
	i = my_database_slot();
	if (i >= 0 && inbox_worker_shared->slots[i].latch != NULL)
	{
		slot = &inbox_worker_shared->slots[i];
		pg_atomic_write_u32(relay ? &slot->relay_pending : &slot->snooze_pending, 1);
		SetLatch(slot->latch);
	}
	LWLockRelease(inbox_worker_shared->lock);
}

/*
 * Called by snooze.c when a transaction that set or moved a snooze has
 * committed: the worker of this database reads the next due time again.
 */
void
inbox_worker_wake_snooze(void)
{
	wake_worker(false);
}

/*
 * Just before commit or PREPARE (notify.c; prepared = the transaction's
 * id when it prepares): hand the transaction's notifications to the
 * worker of this database, if one serves it and the ring takes them.
 * False when the transaction must send them itself; then nothing was
 * handed over.  The lock is held, shared, while they go into the ring, so
 * that the worker cannot stop serving meanwhile: it clears "serving" under
 * the lock held exclusively, then sends what it was handed.
 */
bool
inbox_worker_hand_over(int n, char **channels, char **payloads, TransactionId prepared)
{
	bool		handed = false;
	int			i;

	if (inbox_worker_shared == NULL || !OidIsValid(MyDatabaseId))
		return false;
	LWLockAcquire(inbox_worker_shared->lock, LW_SHARED);
	i = my_database_slot();
	if (i >= 0 && inbox_worker_shared->slots[i].serving && inbox_worker_shared->slots[i].latch != NULL)
		handed = inbox_notify_relay_put(n, channels, payloads, prepared);
	LWLockRelease(inbox_worker_shared->lock);
	return handed;
}

/*
 * At commit, PREPARE or abort (notify.c): what the transaction handed over
 * goes to the worker, which is woken to send it, waits for COMMIT
 * PREPARED, or goes away.
 */
void
inbox_worker_relay_end(RelayEnd end)
{
	if (inbox_notify_relay_end(end) && end == RELAY_END_COMMIT)
		wake_worker(true);
}

/*
 * A prepared transaction of this database was committed or rolled back
 * (inbox.c): it may have handed over notifications or moved snoozes,
 * which the worker could not be told of at PREPARE.
 */
void
inbox_worker_wake_all(void)
{
	wake_worker(true);
	wake_worker(false);
}

/* the earliest timer (auto-close, auto-away) the current transaction set; 0 = none */
static TimestampTz earliest_timer = 0;

/*
 * A rule set a timer at "at" (auto_close.c, rules_agent.c): at commit the
 * worker is woken if it would look later than the earliest of them.
 */
void
inbox_worker_note_timer(TimestampTz at)
{
	if (earliest_timer == 0 || at < earliest_timer)
		earliest_timer = at;
}

/*
 * At the end of a transaction (inbox.c): after commit, wake the worker if
 * a timer was set before its next look.  A prepared transaction's timers
 * are told by COMMIT PREPARED (inbox_worker_wake_all).
 */
void
inbox_worker_timers_xact_event(XactEvent event)
{
	WorkerSlot *slot;
	int			i;
	TimestampTz at = earliest_timer;

	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE ||
		event == XACT_EVENT_PARALLEL_PRE_COMMIT)
		return;
	earliest_timer = 0;
	if (event != XACT_EVENT_COMMIT || at == 0 || inbox_worker_shared == NULL || !OidIsValid(MyDatabaseId))
		return;
	LWLockAcquire(inbox_worker_shared->lock, LW_SHARED);
	i = my_database_slot();
	if (i >= 0 && inbox_worker_shared->slots[i].latch != NULL)
	{
		uint64		next_look;

		slot = &inbox_worker_shared->slots[i];
		pg_memory_barrier();	/* our commit is visible before we read the time */
		next_look = pg_atomic_read_u64(&slot->next_look);
		if (next_look == 0 || at < (TimestampTz) next_look)
		{
			pg_atomic_write_u32(&slot->snooze_pending, 1);
			SetLatch(slot->latch);
		}
	}
	LWLockRelease(inbox_worker_shared->lock);
}
