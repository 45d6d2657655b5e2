/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The shared state of the background worker module, for its own files:
 *	  worker_shmem.c (which owns it), worker_pause.c, worker_loop.c and
 *	  worker_launcher.c.  The rest of inbox uses the calls of inbox.h.
 *
 * Shared memory holds one slot per database: the latch of the worker
 * connected there, what it is asked to do, and why the last one exited.
 * Everything in it is read and written under WorkerShared.lock, except the
 * two wake flags, which are atomics that the worker swaps for 0 after it
 * has reset its latch, and the time of its next look, an atomic it alone
 * writes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef INBOX_WORKER_H
#define INBOX_WORKER_H

#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

/* how many databases the launcher can keep track of */
#define WORKER_SLOTS 1024

/* why a per-database worker exited, as the launcher reads it */
typedef enum WorkerExit
{
	WORKER_EXIT_FAILED = 0,		/* error or signal: restart later */
	WORKER_EXIT_NO_EXTENSION,	/* no inbox here: restart on CREATE EXTENSION */
	WORKER_EXIT_STOPPED,		/* asked to stop: restart when allowed */
	WORKER_EXIT_RECHECK			/* the extension appeared while checking */
} WorkerExit;

typedef struct WorkerSlot
{
	Oid			database;		/* InvalidOid = free slot */
	int			paused;			/* commands that need the database alone */
	bool		stop;			/* the worker must exit */
	bool		no_extension;	/* the last worker found no inbox here */
	uint32		generation;		/* bumped when CREATE EXTENSION commits */
	bool		extension_prepared; /* a CREATE EXTENSION is in a prepared
									 * transaction: its COMMIT PREPARED is news */
	WorkerExit	exit;			/* why the last worker exited */
	pid_t		pid;			/* the worker connected here, 0 if none */
	Latch	   *latch;			/* and its latch */
	bool		serving;		/* the worker takes notifications (notify_relay.c) */
	pg_atomic_uint32 snooze_pending;	/* a timer was set or moved: look again */
	pg_atomic_uint32 relay_pending; /* notifications to send */
	pg_atomic_uint64 next_look;		/* when the worker looks at its timers next
									 * (a TimestampTz); 0 while it looks */
} WorkerSlot;

typedef struct WorkerShared
{
	LWLock	   *lock;			/* protects everything below */
	Latch	   *launcher_latch;
	WorkerSlot	slots[WORKER_SLOTS];
} WorkerShared;

/* worker_shmem.c */
extern WorkerShared *inbox_worker_shared;	/* NULL unless inbox is preloaded */
extern bool inbox_worker_enabled;	/* inbox.snooze_worker */
extern int	inbox_worker_batch;		/* inbox.snooze_batch */
extern int	inbox_worker_find_slot(Oid database);
extern int	inbox_worker_find_or_add_slot(Oid database);

#endif							/* INBOX_WORKER_H */
