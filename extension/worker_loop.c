/*-------------------------------------------------------------------------
 *
 * worker_loop.c
 *	  The per-database background worker ("inbox worker"): one process per
 *	  database with inbox, started by the launcher (worker_launcher.c),
 *	  running two tasks in one loop:
 *
 *   the timers               wake snoozed contacts when their time comes
 *                            (rule 8: inbox_wake_due in snooze.c, the code
 *                            behind inbox.wake_due_snoozes()), close the
 *                            conversations whose auto-close time has come
 *                            (auto_close.c) and set idle agents away
 *                            (availability.c), in batches of
 *                            inbox.snooze_batch, one transaction per batch,
 *                            then read the next due time of all three;
 *   the notification relay   sends the notifications that committing
 *                            transactions handed over (notify_relay.c), in
 *                            commit order, many at once.
 *
 * The loop sleeps on its latch until the earlier of what the tasks wait
 * for: the next due timer (at most an hour ahead; a second on a Citus
 * node, whose shards may move), or a wake.  A
 * transaction that set or moved a snooze, set a timer earlier than the
 * worker's next look (which the slot holds), or handed notifications over,
 * sets a flag in the worker's slot and its latch (worker_shmem.c); the
 * loop resets the latch before it reads the flags, so a commit is either
 * seen by that read or wakes the following sleep.  While nothing is due
 * and nothing is sent it runs no query at all (on one server; a Citus
 * node looks at the shards it holds every second).
 *
 * The worker first checks that extension inbox exists; if not it records
 * so in its slot and exits, and the launcher leaves the database alone
 * until a CREATE EXTENSION commits there.  It exits when asked to (a
 * paused database, inbox.snooze_worker off, the database gone), sending
 * what it was handed first.  After a crash it is started again, and the
 * first thing it does is wake what fell due meanwhile.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "inbox.h"
#include "worker.h"

/* the entry point named in the BackgroundWorker struct (worker_launcher.c) */
PGDLLEXPORT void inbox_worker_main(Datum main_arg);

/* longest sleep of a worker with a snooze due far ahead */
#define MAX_SLEEP_MS 3600000L
/*
 * how often the relay looks at prepared transactions whose notifications
 * wait, in case their end did not wake it (COMMIT PREPARED in a backend
 * that does not have inbox loaded)
 */
#define PREPARED_LOOK_MS 1000L
/* how long a busy worker gathers notifications after a commit wakes it */
#define RELAY_GATHER_US 1000L

/* this process's slot, and the generation of CREATE EXTENSION it started in */
static int	my_slot = -1;
static uint32 my_generation = 0;

/*
 * ------------------------------------------------------------------
 * Leaving
 * ------------------------------------------------------------------
 */

static pg_attribute_noreturn() void
worker_exit(WorkerExit why)
{
	WorkerShared *shared = inbox_worker_shared;

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
	WorkerShared *shared = inbox_worker_shared;

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
worker_found_no_extension(void)
{
	WorkerShared *shared = inbox_worker_shared;
	WorkerExit	why = WORKER_EXIT_RECHECK;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	if (shared->slots[my_slot].generation == my_generation)
	{
		shared->slots[my_slot].no_extension = true;
		why = WORKER_EXIT_NO_EXTENSION;
	}
	LWLockRelease(shared->lock);
	worker_exit(why);
}

/* asked to leave (a paused database, inbox.snooze_worker off, database gone) */
static void
worker_check_stop(void)
{
	WorkerShared *shared = inbox_worker_shared;
	bool		stop;

	LWLockAcquire(shared->lock, LW_SHARED);
	stop = shared->slots[my_slot].stop;
	LWLockRelease(shared->lock);
	if (stop || !inbox_worker_enabled)
		worker_exit(WORKER_EXIT_STOPPED);
}

/*
 * ------------------------------------------------------------------
 * The notification relay
 * ------------------------------------------------------------------
 */

static TimestampTz relay_last_send = 0; /* when notifications were last sent */

/*
 * Woken to send: busy (the last send was a moment ago), let the commits of
 * the next moment join this one's, so that one transaction of ours sends
 * them all; meanwhile they only set the latch, which costs them nothing
 * while we do not wait on it.  Quiet: send at once.
 */
static void
relay_task_run(void)
{
	if (!TimestampDifferenceExceeds(relay_last_send, GetCurrentTimestamp(), RELAY_GATHER_US / 1000))
		pg_usleep(RELAY_GATHER_US);
	(void) inbox_notify_relay_drain();
	relay_last_send = GetCurrentTimestamp();
}

/*
 * ------------------------------------------------------------------
 * The snooze timer
 * ------------------------------------------------------------------
 */

/* when to look for due snoozes: 0 = at once, DT_NOEND = none is due */
static TimestampTz snooze_look_at = 0;

/*
 * On a Citus node the worker serves the shards this node holds, and a
 * shard may move to it or away at any time (citus_move_shard_placement)
 * without telling it; on a logical replication subscriber it serves
 * nothing until the subscription goes.  Either looks again at least this
 * often.
 */
#define SHARDS_LOOK_MS 1000L
static bool serving_shards = false;

/*
 * Whether the snooze timer runs on this turn of the loop: unless the loop
 * was woken only to send notifications, whose wake does not look at
 * snoozes before their time.
 */
static bool
snooze_task_due(bool relay_wake, bool snooze_wake, TimestampTz now)
{
	return !relay_wake || snooze_wake || snooze_look_at == 0 || now >= snooze_look_at;
}

/* the earlier of two due times, either of which may be missing */
static bool
earlier_due(bool has_due, TimestampTz *due, bool has_other, TimestampTz other)
{
	if (has_other && (!has_due || other < *due))
		*due = other;
	return has_due || has_other;
}

/*
 * Run what is due, batch after batch, one transaction each: the snoozes
 * that end, the conversations auto-closed, the agents set away.  Returns
 * whether a timer is pending, with the earliest time in *next, and how
 * many the last batch did in *done (with more due at once when it filled a
 * batch).  Between batches the relay sends what came meanwhile: a long
 * backlog does not hold notifications back.
 */
static bool
wake_due_batches(TimestampTz *next, int *done)
{
	bool		has_next = false;
	bool		full;

	do
	{
		bool		has_extension;
		int			woken = 0,
					closed = 0,
					away = 0;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		has_extension = OidIsValid(get_extension_oid("inbox", true));
		if (has_extension)
		{
			TimestampTz due;
			bool		has_due;

			pgstat_report_activity(STATE_RUNNING, "inbox: running due timers");
			inbox_spi_connect();
			if (inbox_is_subscriber())
			{
				/*
				 * A logical replication subscriber: the publisher's worker
				 * runs every timer and its changes come with its rows; look
				 * again in a second whether the subscription is gone.
				 */
				serving_shards = true;
			}
			else
			{
				woken = inbox_wake_due(inbox_worker_batch);
				closed = inbox_close_due(inbox_worker_batch);
				away = inbox_set_idle_agents_away(inbox_worker_batch);
				/*
				 * Each due time is read before it is compared: a call and a
				 * read of what it sets, as arguments of one call, may come
				 * in either order.
				 */
				has_next = inbox_next_due(next);
				has_due = inbox_next_close_due(&due);
				has_next = earlier_due(has_next, next, has_due, due);
				has_due = inbox_next_away_due(&due);
				has_next = earlier_due(has_next, next, has_due, due);
				serving_shards = inbox_is_distributed();
			}
			SPI_finish();
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
		pgstat_report_stat(false);
		pgstat_report_activity(STATE_IDLE, NULL);

		if (!has_extension)
			worker_found_no_extension();
		if (woken > 0 || closed > 0 || away > 0)
			elog(DEBUG1, "inbox worker woke %d contacts, closed %d conversations, set %d agents away",
				 woken, closed, away);
		*done = woken + closed + away;
		full = woken >= inbox_worker_batch || closed >= inbox_worker_batch || away >= inbox_worker_batch;
		(void) inbox_notify_relay_drain();
		CHECK_FOR_INTERRUPTS();
		worker_check_stop();
	} while (full);

	return has_next;
}

/*
 * Run the timer: sets snooze_look_at.  Returns false when more is due at
 * once (the loop then turns again without sleeping).
 */
static bool
snooze_task_run(void)
{
	TimestampTz next,
				now;
	int			woken = 0;

	/* looking: every timer set from now on wakes us (worker_shmem.c) */
	pg_atomic_write_u64(&inbox_worker_shared->slots[my_slot].next_look, 0);
	pg_memory_barrier();
	if (!wake_due_batches(&next, &woken))
	{
		snooze_look_at = serving_shards ?
			TimestampTzPlusMilliseconds(GetCurrentTimestamp(), SHARDS_LOOK_MS) : DT_NOEND;
		return true;
	}
	now = GetCurrentTimestamp();
	if (next > now)
		snooze_look_at = serving_shards ?
			Min(next, TimestampTzPlusMilliseconds(now, SHARDS_LOOK_MS)) : next;
	else if (woken == 0)
		snooze_look_at = TimestampTzPlusMilliseconds(now, 50);	/* locked by another waker: let it finish */
	else
	{
		snooze_look_at = 0;		/* more due: look again at once */
		return false;
	}
	return true;
}

/*
 * ------------------------------------------------------------------
 * The loop
 * ------------------------------------------------------------------
 */

void
inbox_worker_main(Datum main_arg)
{
	WorkerShared *shared = inbox_worker_shared;
	Oid			database = DatumGetObjectId(main_arg);
	bool		go;

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
	my_slot = inbox_worker_find_slot(database);
	go = my_slot >= 0 && shared->slots[my_slot].pid == 0 &&
		!shared->slots[my_slot].stop && shared->slots[my_slot].paused == 0;
	if (go)
	{
		shared->slots[my_slot].pid = MyProcPid;
		shared->slots[my_slot].latch = MyLatch;
		shared->slots[my_slot].serving = true;
		shared->slots[my_slot].exit = WORKER_EXIT_FAILED;
		my_generation = shared->slots[my_slot].generation;
	}
	else if (my_slot >= 0 && shared->slots[my_slot].pid == 0)
		shared->slots[my_slot].exit = WORKER_EXIT_STOPPED;
	LWLockRelease(shared->lock);
	if (!go)
		proc_exit(0);
	before_shmem_exit(worker_release_slot, (Datum) 0);
	inbox_notify_relay_adopt();

	for (;;)
	{
		bool		relay_wake,
					snooze_wake;
		long		timeout = -1;
		TimestampTz now;

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
			relay_task_run();

		now = GetCurrentTimestamp();
		if (snooze_task_due(relay_wake, snooze_wake, now))
		{
			if (!snooze_task_run())
				continue;
			now = GetCurrentTimestamp();
			/* a timer set for before this wakes us (worker_shmem.c) */
			pg_atomic_write_u64(&shared->slots[my_slot].next_look, (uint64) snooze_look_at);
		}

		/* sleep until the next snooze is due (the relay waits for its wake) */
		if (snooze_look_at != DT_NOEND)
			timeout = Min(Max(TimestampDifferenceMilliseconds(now, snooze_look_at), 0), MAX_SLEEP_MS);
		/* notifications of prepared transactions: look again in a while too */
		if (inbox_notify_relay_prepared_waiting())
		{
			timeout = timeout < 0 ? PREPARED_LOOK_MS : Min(timeout, PREPARED_LOOK_MS);
			pg_atomic_write_u32(&shared->slots[my_slot].relay_pending, 1);
		}

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | (timeout >= 0 ? WL_TIMEOUT : 0),
						 timeout, PG_WAIT_EXTENSION);
	}
}
