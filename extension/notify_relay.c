/*-------------------------------------------------------------------------
 *
 * notify_relay.c
 *	  Notifications sent by the database's background worker, in commit
 *	  order, instead of by each committing backend: the ring in shared
 *	  memory they pass through.
 *
 * PostgreSQL serializes every commit that sends a notification: the
 * committing backend holds one lock from before its commit record until
 * the commit is done (and, with synchronous_commit on, durable).  With
 * many writers, all of which notify, commits queue behind each other and
 * group commit is lost.  So a backend does not NOTIFY itself: just before
 * commit it copies its payloads into a ring in shared memory (pending),
 * at commit marks them committed with the next commit number and wakes
 * the worker of its database, which sends them in commit-number order in
 * a transaction of its own, many transactions' notifications at once.
 * An aborted transaction's entries are dropped.
 *
 * Listeners see the same notifications on the same channels, in commit
 * order, a few milliseconds later (the worker gathers the commits of a
 * moment before it sends: worker_loop.c); the sending process is the
 * worker.  When the ring is full, the relay is off (inbox.notify_relay)
 * or no worker serves the database (inbox not preloaded, the worker
 * stopped), the backend notifies itself as before.
 *
 * A prepared transaction (PREPARE TRANSACTION; Citus commits a
 * transaction that wrote on several nodes so) cannot notify at all in
 * PostgreSQL.  Its entries go into the ring at PREPARE as prepared, with
 * its transaction id, and the worker sends them once that transaction has
 * committed (COMMIT PREPARED, from any session, wakes it: inbox.c) or drops
 * them when it was rolled back.  They do not survive a restart of the
 * server; nor does a listener's connection, which then resyncs.
 *
 * Nothing is lost on the way: a backend hands over its entries only while
 * the worker is "serving" (worker_shmem.c checks it, and puts them here,
 * under the lock of the worker's slots, which the worker takes
 * exclusively to stop serving); a worker that stops sends what it was
 * handed first; an entry leaves the ring only after the worker's
 * transaction that sent it has committed; a worker that failed while
 * sending leaves its entries to the next one (sent again, so a listener
 * may see such a notification twice); and the entries of a database that
 * is no longer served are dropped.
 *
 * This file knows nothing of the worker's slots: worker_shmem.c calls
 * inbox_notify_relay_put() and wakes the worker, the worker's loop
 * (worker_loop.c) drains the ring.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/async.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "access/transam.h"
#include "storage/shmem.h"
#include "utils/backend_status.h"
#include "utils/timestamp.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "inbox.h"

/* bytes of the ring; entries take a multiple of RELAY_ALIGN bytes */
#define RELAY_BYTES (1024 * 1024)
#define RELAY_ALIGN 64
/* notifications per transaction of the worker */
#define RELAY_BATCH 256

typedef enum RelayState
{
	RELAY_SKIP = 0,				/* sent, dropped, or the filler before a wrap */
	RELAY_PENDING,				/* its transaction is committing or preparing */
	RELAY_PREPARED,				/* its transaction is prepared (xid), not yet committed */
	RELAY_COMMITTED,			/* to be sent, in seq order */
	RELAY_SENDING				/* taken by the worker, not yet committed by it */
} RelayState;

typedef struct RelayEntry
{
	uint32		len;			/* bytes, header included, a multiple of RELAY_ALIGN */
	uint32		state;			/* RelayState */
	Oid			database;
	uint32		channel_len;	/* the channel, then the payload, each '\0'-terminated */
	uint64		seq;			/* commit order */
	TransactionId xid;			/* of a prepared transaction, else invalid */
	char		text[FLEXIBLE_ARRAY_MEMBER];
} RelayEntry;

typedef struct RelayShared
{
	LWLock	   *lock;
	uint64		head;			/* position of the oldest entry not yet skipped */
	uint64		tail;			/* position of the next entry */
	uint64		next_seq;
	char		ring[RELAY_BYTES];
} RelayShared;

static RelayShared *relay = NULL;
static bool relay_enabled = true;

/* prepared transactions of this worker's database with notifications waiting, at the last drain */
static int	prepared_waiting = 0;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* this backend's entries in the committing transaction */
static uint64 *reserved = NULL;
static int	nreserved = 0;

static RelayEntry *
entry_at(uint64 position)
{
	return (RelayEntry *) (relay->ring + position % RELAY_BYTES);
}

static void
relay_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(RelayShared)));
	RequestNamedLWLockTranche("inbox_notify_relay", 1);
}

static void
relay_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	relay = ShmemInitStruct("inbox notify relay", sizeof(RelayShared), &found);
	if (!found)
	{
		relay->lock = &(GetNamedLWLockTranche("inbox_notify_relay"))->lock;
		relay->head = relay->tail = 0;
		relay->next_seq = 1;
	}
	LWLockRelease(AddinShmemInitLock);
}

void
inbox_notify_relay_init(void)
{
	DefineCustomBoolVariable("inbox.notify_relay",
							 "Send notifications through the background worker of the database.",
							 "Off: each committing transaction sends its own (PostgreSQL then serializes such commits).",
							 &relay_enabled,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = relay_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = relay_shmem_startup;
}

/* bytes an entry for a channel and payload takes in the ring */
static Size
entry_size(size_t channel_len, size_t payload_len)
{
	return TYPEALIGN(RELAY_ALIGN, offsetof(RelayEntry, text) + channel_len + payload_len + 2);
}

/* skip the entries at the head that are done with; caller holds the lock exclusively */
static void
advance_head(void)
{
	while (relay->head < relay->tail && entry_at(relay->head)->state == RELAY_SKIP)
		relay->head += entry_at(relay->head)->len;
}

/*
 * Just before commit, or before PREPARE of the transaction "prepared":
 * copy the transaction's notifications into the ring.  False when they
 * must be sent the usual way (no room, relay off); then nothing was
 * copied.  The caller (worker_shmem.c) holds the lock of the
 * worker's slots, shared, and has seen that a worker serves the database:
 * it cannot stop serving before the entries are in.  Lock order: the
 * slots' lock before the ring's.
 */
bool
inbox_notify_relay_put(int n, char **channels, char **payloads, TransactionId prepared)
{
	Size		needed = 0;
	uint64		position;
	Size		room;

	if (relay == NULL || !relay_enabled || n == 0)
		return false;
	for (int i = 0; i < n; i++)
		needed += entry_size(strlen(channels[i]), strlen(payloads[i]));
	if (needed > RELAY_BYTES / 4)
		return false;			/* a bulk change: leave room for the others */
	reserved = MemoryContextAlloc(TopTransactionContext, n * sizeof(uint64));
	nreserved = 0;

	LWLockAcquire(relay->lock, LW_EXCLUSIVE);
	position = relay->tail;
	/* entries do not wrap: a filler takes what is left before the end */
	room = RELAY_BYTES - position % RELAY_BYTES;
	if (relay->tail - relay->head + needed + (room < needed ? room : 0) > RELAY_BYTES)
	{
		LWLockRelease(relay->lock);
		ereport(DEBUG1,
				(errmsg("inbox: the notification relay is full; the transaction notifies itself")));
		return false;
	}
	if (room < needed)
	{
		RelayEntry *filler = entry_at(position);

		filler->len = room;
		filler->state = RELAY_SKIP;
		position += room;
	}
	for (int i = 0; i < n; i++)
	{
		RelayEntry *entry = entry_at(position);
		size_t		channel_len = strlen(channels[i]);
		size_t		payload_len = strlen(payloads[i]);

		entry->len = entry_size(channel_len, payload_len);
		entry->state = RELAY_PENDING;
		entry->database = MyDatabaseId;
		entry->channel_len = channel_len;
		entry->seq = 0;
		entry->xid = prepared;
		memcpy(entry->text, channels[i], channel_len + 1);
		memcpy(entry->text + channel_len + 1, payloads[i], payload_len + 1);
		reserved[nreserved++] = position;
		position += entry->len;
	}
	relay->tail = position;
	LWLockRelease(relay->lock);
	return true;
}

/*
 * At commit, PREPARE or abort: the transaction's entries go to the worker,
 * wait for the prepared transaction's end, or go away.  Returns whether
 * the transaction had any (the caller then wakes the worker, after a
 * commit).
 */
bool
inbox_notify_relay_end(RelayEnd end)
{
	if (nreserved == 0)
		return false;
	LWLockAcquire(relay->lock, LW_EXCLUSIVE);
	for (int i = 0; i < nreserved; i++)
	{
		RelayEntry *entry = entry_at(reserved[i]);

		entry->state = end == RELAY_END_COMMIT ? RELAY_COMMITTED :
			end == RELAY_END_PREPARE ? RELAY_PREPARED : RELAY_SKIP;
		entry->seq = relay->next_seq;
	}
	relay->next_seq++;
	advance_head();
	LWLockRelease(relay->lock);
	nreserved = 0;
	reserved = NULL;			/* freed with TopTransactionContext */
	return true;
}

typedef struct RelayCopy
{
	uint64		seq;
	uint64		position;
	char	   *channel;
	char	   *payload;
} RelayCopy;

static int
copy_cmp(const void *a, const void *b)
{
	const RelayCopy *ca = a;
	const RelayCopy *cb = b;

	if (ca->seq != cb->seq)
		return ca->seq < cb->seq ? -1 : 1;
	return ca->position < cb->position ? -1 : ca->position > cb->position ? 1 : 0;
}

/* whether a notification is already in the current transaction (NOTIFY would fold it) */
static bool
in_batch(RelayCopy *copies, int from, int to)
{
	for (int i = from; i < to; i++)
		if (strcmp(copies[i].channel, copies[to].channel) == 0 &&
			strcmp(copies[i].payload, copies[to].payload) == 0)
			return true;
	return false;
}

static void
send_batch(RelayCopy *copies, int from, int to)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, "inbox: sending notifications");
	for (int i = from; i < to; i++)
		Async_Notify(copies[i].channel, copies[i].payload);
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* entries from..to-1 of copies go to state; caller does not hold the lock */
static void
set_state(RelayCopy *copies, int from, int to, RelayState state)
{
	LWLockAcquire(relay->lock, LW_EXCLUSIVE);
	for (int i = from; i < to; i++)
		entry_at(copies[i].position)->state = state;
	advance_head();
	LWLockRelease(relay->lock);
}

/*
 * The prepared transactions whose notifications wait in the ring: those
 * that committed meanwhile become committed, in the order they are found
 * (after every transaction already committed), those rolled back go.
 * Returns how many still wait.  The status is read without the ring's lock
 * (it takes the lock of the process array); an entry keeps its state until
 * then, as only this worker changes prepared entries of its database.
 */
static int
resolve_prepared(void)
{
	TransactionId xids[RELAY_BATCH];
	uint64		positions[RELAY_BATCH];
	RelayState	outcome[RELAY_BATCH];
	int			n = 0,
				waiting = 0;

	LWLockAcquire(relay->lock, LW_SHARED);
	for (uint64 position = relay->head; position < relay->tail; position += entry_at(position)->len)
	{
		RelayEntry *entry = entry_at(position);

		if (entry->state != RELAY_PREPARED || entry->database != MyDatabaseId)
			continue;
		if (n == RELAY_BATCH)
		{
			waiting++;			/* the rest at the next turn */
			continue;
		}
		xids[n] = entry->xid;
		positions[n++] = position;
	}
	LWLockRelease(relay->lock);

	for (int i = 0; i < n; i++)
	{
		if (TransactionIdIsInProgress(xids[i]))
		{
			outcome[i] = RELAY_PREPARED;
			waiting++;
		}
		else
			outcome[i] = TransactionIdDidCommit(xids[i]) ? RELAY_COMMITTED : RELAY_SKIP;
	}

	LWLockAcquire(relay->lock, LW_EXCLUSIVE);
	for (int i = 0; i < n; i++)
	{
		RelayEntry *entry = entry_at(positions[i]);

		if (outcome[i] == RELAY_PREPARED)
			continue;
		/* the entries of one transaction share its commit number */
		if (i == 0 || xids[i] != xids[i - 1])
			relay->next_seq++;
		entry->seq = relay->next_seq;
		entry->state = outcome[i];
	}
	advance_head();
	LWLockRelease(relay->lock);
	return waiting;
}

/*
 * In the worker of a database: send its committed notifications, in
 * commit order, in transactions of its own; an entry leaves the ring once
 * the transaction that sent it has committed.  A failure to send (the
 * NOTIFY queue full, say) is reported and the rest is tried again at the
 * next wake.  Returns how many were sent.
 */
int
inbox_notify_relay_drain(void)
{
	MemoryContext context,
				old;
	RelayCopy  *copies;
	int			n = 0,
				allocated = 64,
				from = 0,
				sent = 0;

	if (relay == NULL)
		return 0;
	prepared_waiting = resolve_prepared();
	context = AllocSetContextCreate(TopMemoryContext, "inbox notify relay", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(context);
	copies = palloc(allocated * sizeof(RelayCopy));

	/* take them (SENDING: nobody else changes them, the head stays behind them) */
	LWLockAcquire(relay->lock, LW_EXCLUSIVE);
	for (uint64 position = relay->head; position < relay->tail; position += entry_at(position)->len)
	{
		RelayEntry *entry = entry_at(position);

		if (entry->state != RELAY_COMMITTED || entry->database != MyDatabaseId)
			continue;
		if (n == allocated)
		{
			allocated *= 2;
			copies = repalloc(copies, allocated * sizeof(RelayCopy));
		}
		copies[n].seq = entry->seq;
		copies[n].position = position;
		n++;
		entry->state = RELAY_SENDING;
	}
	LWLockRelease(relay->lock);

	for (int i = 0; i < n; i++)
	{
		RelayEntry *entry = entry_at(copies[i].position);

		copies[i].channel = pstrdup(entry->text);
		copies[i].payload = pstrdup(entry->text + entry->channel_len + 1);
	}
	MemoryContextSwitchTo(old);
	qsort(copies, n, sizeof(RelayCopy), copy_cmp);

	while (from < n)
	{
		int			to = from + 1;
		bool		failed = false;

		/* one transaction would fold equal notifications of two transactions into one */
		while (to < n && to - from < RELAY_BATCH && !in_batch(copies, from, to))
			to++;
		PG_TRY();
		{
			send_batch(copies, from, to);
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(old);
			EmitErrorReport();
			FlushErrorState();
			AbortCurrentTransaction();
			pgstat_report_activity(STATE_IDLE, NULL);
			failed = true;
		}
		PG_END_TRY();
		if (failed)
		{
			set_state(copies, from, n, RELAY_COMMITTED);
			break;
		}
		set_state(copies, from, to, RELAY_SKIP);
		sent += to - from;
		from = to;
	}

	MemoryContextDelete(context);
	return sent;
}

/*
 * Whether notifications of prepared transactions still wait: the worker
 * then looks again now and then, in case their COMMIT PREPARED came from a
 * backend without inbox loaded (which does not wake it).
 */
bool
inbox_notify_relay_prepared_waiting(void)
{
	return prepared_waiting > 0;
}

/*
 * notifications of this database in the ring, committing, committed or
 * being sent; of a prepared transaction once COMMIT PREPARED is done, while
 * the worker has not yet seen it (before, they may wait long: not counted).
 * The status of a prepared transaction is read without the ring's lock, as
 * resolve_prepared() does; past RELAY_BATCH of them the rest is not looked
 * at.
 */
static int64
waiting(void)
{
	int64		count = 0;
	TransactionId prepared[RELAY_BATCH];
	int			nprepared = 0;

	LWLockAcquire(relay->lock, LW_SHARED);
	for (uint64 position = relay->head; position < relay->tail; position += entry_at(position)->len)
	{
		RelayEntry *entry = entry_at(position);

		if (entry->state == RELAY_SKIP || entry->database != MyDatabaseId)
			continue;
		if (entry->state != RELAY_PREPARED)
			count++;
		else if (nprepared < RELAY_BATCH)
			prepared[nprepared++] = entry->xid;
	}
	LWLockRelease(relay->lock);
	for (int i = 0; i < nprepared; i++)
		if (!TransactionIdIsInProgress(prepared[i]) && TransactionIdDidCommit(prepared[i]))
			count++;
	return count;
}

/*
 * A worker leaving (no longer serving, so nothing new comes): send what
 * it was handed, waiting a little for transactions still committing.
 */
void
inbox_notify_relay_flush(void)
{
	TimestampTz give_up = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 5000);

	if (relay == NULL)
		return;
	for (;;)
	{
		(void) inbox_notify_relay_drain();
		if (waiting() == 0 || GetCurrentTimestamp() >= give_up)
			break;
		pg_usleep(1000L);
	}
}

/*
 * A database no longer served (dropped, or the workers are off): what a
 * failed worker left of its notifications goes, so that the ring does not
 * fill up behind it.  The caller (the launcher) may hold the lock of the
 * worker's slots (lock order).
 */
void
inbox_notify_relay_forget(Oid database)
{
	if (relay == NULL)
		return;
	LWLockAcquire(relay->lock, LW_EXCLUSIVE);
	for (uint64 position = relay->head; position < relay->tail; position += entry_at(position)->len)
		if (entry_at(position)->database == database && entry_at(position)->state != RELAY_PENDING)
			entry_at(position)->state = RELAY_SKIP;
	advance_head();
	LWLockRelease(relay->lock);
}

/*
 * A worker starting for its database takes over what a worker that
 * failed while sending left behind: sent again (a listener may see such
 * a notification twice, never not at all).
 */
void
inbox_notify_relay_adopt(void)
{
	if (relay == NULL)
		return;
	LWLockAcquire(relay->lock, LW_EXCLUSIVE);
	for (uint64 position = relay->head; position < relay->tail; position += entry_at(position)->len)
		if (entry_at(position)->state == RELAY_SENDING && entry_at(position)->database == MyDatabaseId)
			entry_at(position)->state = RELAY_COMMITTED;
	LWLockRelease(relay->lock);
}

PG_FUNCTION_INFO_V1(inbox_notify_relay_queue);

/*
 * inbox.notify_relay_queue(): notifications of this database not yet sent
 * by the worker (of transactions committing, committed, or being sent,
 * prepared ones included once COMMIT PREPARED is done)
 */
Datum
inbox_notify_relay_queue(PG_FUNCTION_ARGS)
{
	if (relay == NULL)
		PG_RETURN_INT64(0);
	PG_RETURN_INT64(waiting());
}
