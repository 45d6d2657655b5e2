/*-------------------------------------------------------------------------
 *
 * snooze.c
 *	  Snoozing contacts (rule 8): the rule on contact.snoozed_until, and
 *	  waking due snoozes.
 *
 * The rule lives in the contact triggers (rules_contact.c calls it), so it
 * holds for a plain UPDATE inbox.contact SET snoozed_until = ... as well
 * as for the API (snooze() and unsnooze() in api.c):
 * - a snooze time that is set or moved must be in the future, and any
 *   snooze time written finite and before the year 10000 (22023);
 * - setting or moving it writes contact_snoozed, clearing it writes
 *   contact_unsnoozed, each for the actor of the change (inbox.actor_kind
 *   for plain writes, "user" for snooze()/unsnooze(), "contact" when an
 *   incoming message ends the snooze, "system" when its time comes);
 * - a transaction that set or moved a snooze sends NOTIFY inbox_snooze at
 *   commit (payload: the contact id, or empty when several changed) for
 *   an external inbox-worker, and sets the latch of the database's
 *   background worker (worker_shmem.c), which then re-reads the next due
 *   time instead of polling.
 *
 * Waking (inbox_wake_due: the worker's snooze timer, worker_loop.c, and
 * inbox.wake_due_snoozes()) finds the due contacts of every space
 * (contact_snoozed_idx), claims them with FOR NO KEY UPDATE
 * SKIP LOCKED: rows another caller holds are skipped, and a row that
 * another caller (the background worker, an inbox-worker, an unsnooze, an
 * incoming message) changed meanwhile is re-evaluated on its newest
 * version when it is locked, and dropped if no longer due.  Once locked it
 * cannot change before the UPDATE of the same statement clears it, so
 * each snooze ends exactly once, with one event, however many callers run.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/async.h"
#include "utils/timestamp.h"

#include "utils/array.h"

#include "inbox.h"

#define INBOX_SNOOZE_CHANNEL "inbox_snooze"

/* snoozes set or moved by the current transaction */
static int	changed_count = 0;
static int64 changed_contact = 0;

/* inbox_wake_due is running and writes the events of the snoozes it ends */
static bool waking = false;

/*
 * ------------------------------------------------------------------
 * The rule, called by the contact triggers (rules_contact.c)
 * ------------------------------------------------------------------
 */

/* an infinite snooze would hide the contact for ever, and clients cannot read it */
static void
check_snooze_time(int64 contact, TimestampTz until)
{
	if (!INBOX_TIME_IN_RANGE(until))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("snooze time of contact %lld must be a finite time before the year 10000",
						(long long) contact),
				 errhint("To end a snooze, use inbox.unsnooze() or set snoozed_until to NULL.")));
}

static void
note_change(int64 contact)
{
	if (changed_count == 0 || changed_contact != contact)
		changed_count++;
	changed_contact = contact;
}

/*
 * A snooze time that is set or moved must lie ahead (api.c checks it
 * first), and be a time: finite and before the year 10000, as every time
 * inbox keeps (inbox.h).
 */
void
inbox_check_snooze_future(int64 contact, TimestampTz until)
{
	check_snooze_time(contact, until);
	/*
	 * Compared with the clock, not with now(): a time that has passed since
	 * the transaction began is not in the future either.
	 */
	if (until <= GetCurrentTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("snooze time %s of contact %lld is not in the future",
						timestamptz_to_str(until), (long long) contact),
				 errhint("To end a snooze, use inbox.unsnooze() or set snoozed_until to NULL.")));
}

/*
 * BEFORE INSERT or UPDATE of a contact (oldtuple NULL for an insert).  An
 * UPDATE that sets or moves snoozed_until must move it into the future.
 * An INSERT may carry any finite snooze time, also a past one, and the
 * worker wakes it when it is due.
 */
void
inbox_check_snooze_write(Relation rel, int64 contact, HeapTuple oldtuple, HeapTuple newtuple)
{
	const AttrNumber *col = inbox_columns(rel, TABLE_CONTACT);
	TupleDesc	desc = RelationGetDescr(rel);
	bool		isnull;
	Datum		until = inbox_get_datum(newtuple, desc, col[CONTACT_SNOOZED_UNTIL], &isnull);

	if (isnull)
		return;
	if (oldtuple == NULL || INBOX_MERGING())
	{
		if (oldtuple == NULL)
			check_snooze_time(contact, DatumGetTimestampTz(until));
		note_change(contact);	/* the worker wakes what is due */
		return;
	}
	if (inbox_column_changed(oldtuple, newtuple, desc, col[CONTACT_SNOOZED_UNTIL]))
		inbox_check_snooze_future(contact, DatumGetTimestampTz(until));
}

static void
write_snooze_event(int64 space, int64 contact, const char *kind, const InboxActor *actor, Datum until)
{
	InboxEvent	event = {
		.space = space,
		.contact = contact,
		.kind = kind,
		.actor = actor,
		.data = inbox_event_data("until", until, TIMESTAMPTZOID),
	};

	(void) inbox_write_event(&event);
}

/*
 * AFTER UPDATE of a contact whose snoozed_until changed: the event, with
 * the snooze time in its data ({"until": ...}: the new time for
 * contact_snoozed, the time the snooze was set to for contact_unsnoozed).
 * The caller is connected to SPI.
 */
void
inbox_record_snooze_change(Relation rel, int64 contact, HeapTuple oldtuple, HeapTuple newtuple)
{
	const AttrNumber *col = inbox_columns(rel, TABLE_CONTACT);
	TupleDesc	desc = RelationGetDescr(rel);
	InboxActor	actor = inbox_current_actor();
	bool		old_null,
				new_null,
				isnull;
	Datum		old_until = inbox_get_datum(oldtuple, desc, col[CONTACT_SNOOZED_UNTIL], &old_null);
	Datum		new_until = inbox_get_datum(newtuple, desc, col[CONTACT_SNOOZED_UNTIL], &new_null);
	int64		space = inbox_get_int8(newtuple, desc, col[CONTACT_SPACE_ID], &isnull);

	if (actor.merging)
		return;					/* merge.c ends a merged contact's snooze silently */

	/*
	 * A conversation waiting for the contact's answer is not closed while
	 * the contact is snoozed: its wait runs from the snooze's end, the time
	 * set, or the time it ended (auto_close.c).
	 */
	inbox_auto_close_snooze_changed(space, inbox_get_int8(newtuple, desc, col[CONTACT_OPEN_CONVERSATION_ID], &isnull),
									new_null ? Min(DatumGetTimestampTz(old_until), GetCurrentTransactionStartTimestamp())
									: DatumGetTimestampTz(new_until));
	if (new_null)
	{
		if (!old_null && !waking)
			write_snooze_event(space, contact, "contact_unsnoozed", &actor, old_until);
		return;
	}
	write_snooze_event(space, contact, "contact_snoozed", &actor, new_until);
	note_change(contact);
}

/*
 * At the end of a transaction (inbox.c calls it): before commit, tell the
 * external worker (NOTIFY); after commit, the background worker (latch).
 */
void
inbox_snooze_xact_event(XactEvent event)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (changed_count > 0)
			{
				char		payload[32] = "";

				if (changed_count == 1)
					snprintf(payload, sizeof(payload), INT64_FORMAT, changed_contact);
				Async_Notify(INBOX_SNOOZE_CHANNEL, payload);
			}
			break;
		case XACT_EVENT_COMMIT:
			if (changed_count > 0)
				inbox_worker_wake_snooze();
			changed_count = 0;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PRE_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:

			/*
			 * A prepared transaction cannot notify (an external worker sees
			 * its snooze at its next look); COMMIT PREPARED wakes the
			 * background worker (inbox.c).
			 */
			changed_count = 0;
			break;
	}
}

/*
 * ------------------------------------------------------------------
 * Waking due snoozes: shared by inbox.wake_due_snoozes() and the
 * background worker
 * ------------------------------------------------------------------
 */

/*
 * The contact_unsnoozed events of the n contacts the last wake query
 * returned (id, space, data), written together, by one statement rather
 * than one per row from the contact trigger: a mass expiry is then about
 * twice as fast.  The trigger leaves them out meanwhile (waking: see
 * inbox_record_snooze_change); AFTER triggers of a query run through SPI
 * have fired when it returns.
 */
static void
write_wake_events(int n, const InboxActor *actor)
{
	SPITupleTable *rows = SPI_tuptable;
	Datum	   *contacts = palloc(n * sizeof(Datum));
	Datum	   *spaces = palloc(n * sizeof(Datum));
	Datum	   *data = palloc(n * sizeof(Datum));

	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		contacts[i] = SPI_getbinval(rows->vals[i], rows->tupdesc, 1, &isnull);
		spaces[i] = SPI_getbinval(rows->vals[i], rows->tupdesc, 2, &isnull);
		data[i] = SPI_getbinval(rows->vals[i], rows->tupdesc, 3, &isnull);
	}
	inbox_write_events(n, contacts, spaces, data, "contact_unsnoozed", actor);
}

/*
 * Wake due contacts on one server (see inbox_wake_due).
 *
 * The worker runs for days while the contact table grows from nothing to
 * millions of rows, and a plan kept from its first minutes (a sequential
 * scan of a small table) would be kept for ever, as nothing invalidates it
 * until an ANALYZE.  Its two queries on the contacts are therefore planned
 * at each use, for the table as it is and the batch size given; planning
 * costs far less than the batch.
 */
static int
wake_due_here(int max)
{
	static InboxQuery q = {
		"WITH due AS ("
		"  SELECT space_id, id, snoozed_until FROM inbox.contact"
		"  WHERE snoozed_until <= now()"
		"  ORDER BY snoozed_until, id"
		"  LIMIT $1"
		"  FOR NO KEY UPDATE SKIP LOCKED),"
		" woken AS ("
		"  UPDATE inbox.contact c SET snoozed_until = NULL"
		"  FROM due d WHERE c.space_id = d.space_id AND c.id = d.id"
		"  RETURNING c.id, c.space_id, d.snoozed_until)"
		" SELECT id, space_id, jsonb_build_object('until', snoozed_until) FROM woken",
		1, {INT4OID}
	};
	InboxActor	actor;
	Datum		values[1] = {Int32GetDatum(max)};
	int			woken;

	memset(&actor, 0, sizeof(actor));
	actor.kind = "system";
	waking = true;
	PG_TRY();
	{
		woken = inbox_exec_as(&actor, &q, values, NULL, 0);
		if (woken > 0)
			write_wake_events(woken, &actor);
	}
	PG_FINALLY();
	{
		waking = false;
		inbox_forget_plan(&q);
	}
	PG_END_TRY();
	return woken;
}


/*
 * The same on a Citus node: the due contacts of each shard of inbox.contact
 * this node holds, woken space by space through inbox.contact
 * (inbox_act_on_shards in cluster.c); the wake of a contact woken
 * meanwhile finds it no longer due.
 */
static int
wake_space_due(int64 space, Datum ids, void *arg)
{
	static InboxQuery q = {
		"WITH due AS ("
		"  SELECT space_id, id, snoozed_until FROM inbox.contact"
		"  WHERE space_id = $1 AND id = ANY ($2) AND snoozed_until <= now()"
		"  FOR NO KEY UPDATE SKIP LOCKED),"
		" woken AS ("
		"  UPDATE inbox.contact c SET snoozed_until = NULL"
		"  FROM due d WHERE c.space_id = $1 AND c.space_id = d.space_id AND c.id = d.id"
		"  RETURNING c.id, c.space_id, d.snoozed_until)"
		" SELECT id, space_id, jsonb_build_object('until', snoozed_until) FROM woken",
		2, {INT8OID, INT8ARRAYOID}
	};
	InboxActor	actor;
	Datum		values[2] = {Int64GetDatum(space), ids};
	int			count;

	memset(&actor, 0, sizeof(actor));
	actor.kind = "system";
	waking = true;
	PG_TRY();
	{
		count = inbox_exec_as(&actor, &q, values, NULL, 0);
		if (count > 0)
			write_wake_events(count, &actor);
	}
	PG_FINALLY();
	{
		waking = false;
	}
	PG_END_TRY();
	return count;
}

/*
 * Wake at most max contacts whose snooze time has come (snoozed_until <=
 * now(), the transaction's start, so that no event is dated before the
 * time it ends): of every space on one server, of the spaces this node
 * holds on a Citus cluster, none on a logical replication subscriber of
 * inbox's tables.  Returns how many were woken.  The caller is
 * connected to SPI.
 */
int
inbox_wake_due(int max)
{
	List	   *shards;

	if (inbox_is_subscriber())
		return 0;				/* the publisher wakes them; the change comes with its rows */
	shards = inbox_local_shards("contact");
	if (shards != NIL)
		return inbox_act_on_shards(shards,
								   "SELECT space_id, id FROM %s WHERE snoozed_until <= now()"
								   " ORDER BY space_id, snoozed_until, id LIMIT $1",
								   max, wake_space_due, NULL);
	if (inbox_is_distributed())
		return 0;				/* distributed, and no shard of contacts here */
	return wake_due_here(max);
}

/*
 * The earliest snooze time of any contact (of this node's shards on a
 * Citus cluster); false when none is snoozed, or on a subscriber.
 */
bool
inbox_next_due(TimestampTz *due)
{
	static InboxQuery q = {"SELECT min(snoozed_until) FROM inbox.contact", 0, {InvalidOid}};
	List	   *shards;
	bool		isnull;
	Datum		value;

	if (inbox_is_subscriber())
		return false;
	shards = inbox_local_shards("contact");
	if (shards == NIL)
	{
		if (inbox_is_distributed())
			return false;
		PG_TRY();
		{
			inbox_exec(&q, NULL, NULL, 1);
		}
		PG_FINALLY();
		{
			inbox_forget_plan(&q);
		}
		PG_END_TRY();
		value = inbox_value(1, &isnull);
		if (isnull)
			return false;
		*due = DatumGetTimestampTz(value);
		return true;
	}

	return inbox_min_on_shards(shards, "SELECT min(snoozed_until) FROM %s", due);
}
