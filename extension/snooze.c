/*-------------------------------------------------------------------------
 *
 * snooze.c
 *	  Snoozing contacts (rule 8): the snooze/unsnooze API, the rule on
 *	  contact.snoozed_until, and waking due snoozes.
 *
 * The rule lives in the contact triggers, so it holds for a plain
 * UPDATE inbox.contact SET snoozed_until = ... as well as for the API:
 * - a snooze time that is set or moved must be in the future (22023);
 * - setting or moving it writes contact_snoozed, clearing it writes
 *   contact_unsnoozed, each for the actor of the change (inbox.actor_kind
 *   for plain writes, "user" for snooze()/unsnooze(), "contact" when an
 *   incoming message ends the snooze, "system" when its time comes);
 * - a transaction that set or moved a snooze sends NOTIFY inbox_snooze at
 *   commit (payload: the contact id, or empty when several changed) for
 *   an external inbox-worker, and sets the latch of the database's
 *   background worker (snooze_worker.c), which then re-reads the next due
 *   time instead of polling.
 *
 * Waking (inbox.wake_due_snoozes) claims due contacts with FOR NO KEY
 * UPDATE SKIP LOCKED: rows another caller holds are skipped, and a row
 * that another caller (the background worker, an inbox-worker, an
 * unsnooze, an incoming message) changed meanwhile is re-evaluated on its
 * newest version when it is locked, and dropped if no longer due.  Once
 * locked it cannot change before the UPDATE of the same statement clears
 * it, so each snooze ends exactly once, with one event, however many
 * callers run.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/async.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_snooze);
PG_FUNCTION_INFO_V1(inbox_unsnooze);
PG_FUNCTION_INFO_V1(inbox_wake_due_snoozes);
PG_FUNCTION_INFO_V1(inbox_next_snooze_due);

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

static void
note_change(int64 contact)
{
	if (changed_count == 0 || changed_contact != contact)
		changed_count++;
	changed_contact = contact;
}

static void
check_future(int64 contact, TimestampTz until)
{
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
 * An INSERT may carry any snooze time (a restored dump does), and the
 * worker wakes it when it is due.
 */
void
inbox_check_snooze_write(int64 contact, HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc)
{
	bool		isnull;
	Datum		until = SPI_getbinval(newtuple, desc, SPI_fnumber(desc, "snoozed_until"), &isnull);

	if (isnull)
		return;
	if (oldtuple == NULL || INBOX_MERGING())
	{
		note_change(contact);	/* a restore: the worker wakes what is due */
		return;
	}
	if (inbox_column_changed(oldtuple, newtuple, desc, "snoozed_until"))
		check_future(contact, DatumGetTimestampTz(until));
}

static void
write_snooze_event(int64 contact, const char *kind, const InboxActor *actor, Datum until)
{
	static InboxQuery q = {
		"INSERT INTO inbox.event (contact_id, kind, actor_kind, actor_agent_id, data)"
		" VALUES ($1, $2, $3, $4, jsonb_build_object('until', $5::timestamptz))",
		5, {INT8OID, TEXTOID, TEXTOID, INT8OID, TIMESTAMPTZOID}
	};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	values[0] = Int64GetDatum(contact);
	values[1] = CStringGetTextDatum(kind);
	values[2] = CStringGetTextDatum(actor->kind);
	values[3] = Int64GetDatum(actor->agent);
	nulls[3] = actor->agent ? ' ' : 'n';
	values[4] = until;
	inbox_exec(&q, values, nulls, 0);
}

/*
 * AFTER UPDATE of a contact whose snoozed_until changed: the event, with
 * the snooze time in its data ({"until": ...}: the new time for
 * contact_snoozed, the time the snooze was set to for contact_unsnoozed).
 * The caller is connected to SPI.
 */
void
inbox_record_snooze_change(int64 contact, HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc)
{
	InboxActor	actor = inbox_current_actor();
	int			attnum = SPI_fnumber(desc, "snoozed_until");
	bool		old_null,
				new_null;
	Datum		old_until = SPI_getbinval(oldtuple, desc, attnum, &old_null);
	Datum		new_until = SPI_getbinval(newtuple, desc, attnum, &new_null);

	if (actor.merging)
		return;					/* merge.c ends a merged contact's snooze silently */
	if (new_null)
	{
		if (!old_null && !waking)
			write_snooze_event(contact, "contact_unsnoozed", &actor, old_until);
		return;
	}
	write_snooze_event(contact, "contact_snoozed", &actor, new_until);
	note_change(contact);
}

/* at commit: tell the external worker (NOTIFY) and the background worker (latch) */
static void
snooze_xact_callback(XactEvent event, void *arg)
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
				inbox_snooze_worker_wake();
			changed_count = 0;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PRE_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:

			/*
			 * A prepared transaction cannot notify; its snooze is picked up
			 * at the worker's next wake.
			 */
			changed_count = 0;
			break;
	}
}

void
inbox_register_snooze_callbacks(void)
{
	RegisterXactCallback(snooze_xact_callback, NULL);
}

/*
 * ------------------------------------------------------------------
 * Waking due snoozes: shared by inbox.wake_due_snoozes() and the
 * background worker
 * ------------------------------------------------------------------
 */

/*
 * The worker runs for days while the contact table grows from nothing to
 * millions of rows, and a plan kept from its first minutes (a sequential
 * scan of a small table) would be kept for ever, as nothing invalidates it
 * until an ANALYZE.  Its two queries are therefore planned at each use, for
 * the table as it is and the batch size given; planning costs far less
 * than the batch.
 */
static void
forget_plan(InboxQuery *query)
{
	if (query->plan != NULL)
		SPI_freeplan(query->plan);
	query->plan = NULL;
}

/*
 * Wake at most max contacts whose snooze time has come (snoozed_until <=
 * now(), the transaction's start, so that no event is dated before the
 * time it ends).  Returns how many were woken.  The caller is connected
 * to SPI.
 */
int
inbox_wake_due(int max)
{
	static InboxQuery q = {
		"WITH due AS ("
		"  SELECT id, snoozed_until FROM inbox.contact"
		"  WHERE snoozed_until <= now()"
		"  ORDER BY snoozed_until, id"
		"  LIMIT $1"
		"  FOR NO KEY UPDATE SKIP LOCKED),"
		" woken AS ("
		"  UPDATE inbox.contact c SET snoozed_until = NULL"
		"  WHERE c.id = ANY (ARRAY(SELECT id FROM due))"
		"  RETURNING c.id, c.space_id)"
		" INSERT INTO inbox.event (contact_id, space_id, kind, actor_kind, data)"
		" SELECT w.id, w.space_id, 'contact_unsnoozed', 'system', jsonb_build_object('until', d.snoozed_until)"
		" FROM woken w JOIN due d ON d.id = w.id",
		1, {INT4OID}
	};
	InboxActor	actor;
	Datum		values[1] = {Int32GetDatum(max)};
	int			woken;

	/*
	 * The statement writes the events itself, in one INSERT rather than one
	 * per row from the contact trigger: a mass expiry is then about twice as
	 * fast.  The trigger leaves them out meanwhile (see
	 * inbox_record_snooze_change); AFTER triggers of a query run through SPI
	 * have fired when it returns.
	 */
	memset(&actor, 0, sizeof(actor));
	actor.kind = "system";
	waking = true;
	PG_TRY();
	{
		woken = inbox_exec_as(&actor, &q, values, NULL, 0);
	}
	PG_FINALLY();
	{
		waking = false;
		forget_plan(&q);
	}
	PG_END_TRY();
	return woken;
}

/* the earliest snooze time of any contact; false when none is snoozed */
bool
inbox_next_due(TimestampTz *due)
{
	static InboxQuery q = {"SELECT min(snoozed_until) FROM inbox.contact", 0, {InvalidOid}};
	bool		isnull;
	Datum		value;

	PG_TRY();
	{
		inbox_exec(&q, NULL, NULL, 1);
	}
	PG_FINALLY();
	{
		forget_plan(&q);
	}
	PG_END_TRY();
	value = inbox_value(1, &isnull);
	if (isnull)
		return false;
	*due = DatumGetTimestampTz(value);
	return true;
}

/*
 * ------------------------------------------------------------------
 * SQL API
 * ------------------------------------------------------------------
 */

static void
spi_connect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inbox: SPI_connect failed");
}

/*
 * Lock the contact for a change by an agent, in the locking order of
 * inbox.h (its open conversation first, so that the event lands in the
 * conversation open when it happens), and check the agent.
 */
static void
lock_contact_for_agent(int64 contact, int64 agent)
{
	int64		space;

	(void) inbox_open_conversation_of(contact, true);
	space = inbox_lock_contact(contact);
	inbox_check_agent_in_space(agent, space);
}

/*
 * Run a snooze change for an agent: the caller may act for the agent on
 * this contact, the contact is locked in order, the change runs as the
 * agent (the contact's trigger writes the event).
 */
static void
change_snooze_as_agent(int64 contact, const InboxActor *actor, InboxQuery *q, Datum *values)
{
	spi_connect();
	(void) inbox_contact_access(contact, actor->agent);
	lock_contact_for_agent(contact, actor->agent);
	inbox_exec_as(actor, q, values, NULL, 0);
	SPI_finish();
}

/* snooze(contact, until, agent): leave the contact out of lists until then */
Datum
inbox_snooze(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {
		"UPDATE inbox.contact SET snoozed_until = $2 WHERE id = $1",
		2, {INT8OID, TIMESTAMPTZOID}
	};
	InboxActor	actor;
	Datum		values[2];
	int64		contact;

	INBOX_NOT_NULL(fcinfo, 0, "contact");
	INBOX_NOT_NULL(fcinfo, 1, "until");
	INBOX_NOT_NULL(fcinfo, 2, "agent");
	contact = PG_GETARG_INT64(0);
	check_future(contact, PG_GETARG_TIMESTAMPTZ(1));

	memset(&actor, 0, sizeof(actor));
	actor.kind = "user";
	actor.agent = PG_GETARG_INT64(2);
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);

	change_snooze_as_agent(contact, &actor, &q, values);
	PG_RETURN_VOID();
}

/*
 * unsnooze(contact, agent): end a snooze early.  A contact that is not
 * snoozed is left alone: no change, no event.
 */
Datum
inbox_unsnooze(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {
		"UPDATE inbox.contact SET snoozed_until = NULL WHERE id = $1 AND snoozed_until IS NOT NULL",
		1, {INT8OID}
	};
	InboxActor	actor;
	Datum		values[1];
	int64		contact;

	INBOX_NOT_NULL(fcinfo, 0, "contact");
	INBOX_NOT_NULL(fcinfo, 1, "agent");
	contact = PG_GETARG_INT64(0);

	memset(&actor, 0, sizeof(actor));
	actor.kind = "user";
	actor.agent = PG_GETARG_INT64(1);
	values[0] = PG_GETARG_DATUM(0);

	change_snooze_as_agent(contact, &actor, &q, values);
	PG_RETURN_VOID();
}

/* wake_due_snoozes(max): what the background worker does, for external workers */
Datum
inbox_wake_due_snoozes(PG_FUNCTION_ARGS)
{
	int32		max;
	int			woken;

	INBOX_NOT_NULL(fcinfo, 0, "max");
	max = PG_GETARG_INT32(0);
	if (max <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max must be positive, not %d", max)));

	spi_connect();
	woken = inbox_wake_due(max);
	SPI_finish();
	PG_RETURN_INT32(woken);
}

/* next_snooze_due(): when the next snooze ends; NULL when no contact is snoozed */
Datum
inbox_next_snooze_due(PG_FUNCTION_ARGS)
{
	TimestampTz due;
	bool		found;

	spi_connect();
	found = inbox_next_due(&due);
	SPI_finish();
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(due);
}
