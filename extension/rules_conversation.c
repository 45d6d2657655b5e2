/*-------------------------------------------------------------------------
 *
 * rules_conversation.c
 *	  Opening and closing conversations.
 *
 * - A contact has at most one open conversation (also a unique index);
 *   a conversation is inserted open and, once closed, stays closed.
 *   inbox_insert_conversation() below is the one place in the C code that
 *   opens one (for a message, an assignment, the API, an unmerge).
 * - Opening writes `conversation_opened` with the opening actor and the
 *   reference and source URL (rule 12).
 * - Closing, by close_conversation() or a plain UPDATE of closed_at,
 *   writes `conversation_closed` and unassigns the contact (`unassigned`),
 *   both for the closing actor and in the closed conversation (rule 4),
 *   unless the space keeps assignees (unassign_on_close false).  The
 *   background worker closes as actor system (auto_close.c).
 * - Deleting an open conversation (a plain DELETE; only an empty one can
 *   go, messages keep theirs) unassigns the contact as a close does
 *   (`unassigned`, in no conversation).
 * - In a space that assigns automatically, a conversation that opens for
 *   an unassigned contact is assigned to an available agent, or the
 *   contact waits (assignment_policy.c).
 * - auto_close_from and auto_close_at, the wait for the contact's answer,
 *   are the rules' (auto_close.c): never written by others, cleared on
 *   close.
 *
 * - contact.open_conversation_id follows: set on open, cleared on close
 *   or when an open conversation is deleted (the unassigned view and the
 *   contact list read it instead of probing conversations per row).
 *
 * - Its times (opened_at, closed_at, first_response_at) are finite and
 *   before the year 10000, as a message's: the close's event carries
 *   closed_at, history shows it.  While it is open it names no closer
 *   (closed_by_kind, closed_by_agent come with closed_at).
 * - The agents who opened and closed it are of its space (their keys name
 *   the agent alone, to be cleared when the agent is deleted).
 *
 * A close locks the conversation row (the UPDATE does) before the contact
 * row (the unassignment does), the locking order of inbox.h.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_conversation_before_write);
PG_FUNCTION_INFO_V1(inbox_conversation_after_write);

/* the columns no UPDATE may change */
static const ConversationColumn fixed_columns[] = {
	CONVERSATION_ID, CONVERSATION_SPACE_ID, CONVERSATION_CONTACT_ID, CONVERSATION_OPENED_AT,
	CONVERSATION_OPENED_BY_KIND, CONVERSATION_OPENED_BY_AGENT
};

/*
 * Open a conversation for a contact of a space, as opener (its kind and
 * agent are the conversation's opened_by_*), at *opened_at (NULL: now),
 * with an optional reference and source URL.  Returns its id.  The rules
 * of the insert check and lock the contact; the caller has locked it
 * already where it must not wait.
 */
int64
inbox_insert_conversation(int64 space, int64 contact, const TimestampTz *opened_at,
						  const InboxActor *opener, const char *reference, const char *source_url)
{
	static InboxQuery q = {
		"INSERT INTO inbox.conversation (space_id, contact_id, opened_at, opened_by_kind, opened_by_agent,"
		" reference, source_url)"
		" VALUES ($1, $2, coalesce($3, now()), $4, $5, $6, $7) RETURNING id",
		7, {INT8OID, INT8OID, TIMESTAMPTZOID, TEXTOID, INT8OID, TEXTOID, TEXTOID}
	};
	Datum		values[7];
	char		nulls[7];
	int64		id = 0;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(space);
	values[1] = Int64GetDatum(contact);
	values[2] = opened_at ? TimestampTzGetDatum(*opened_at) : (Datum) 0;
	nulls[2] = opened_at ? ' ' : 'n';
	values[3] = CStringGetTextDatum(opener->kind);
	values[4] = Int64GetDatum(opener->agent);
	nulls[4] = opener->agent ? ' ' : 'n';
	values[5] = reference ? CStringGetTextDatum(reference) : (Datum) 0;
	nulls[5] = reference ? ' ' : 'n';
	values[6] = source_url ? CStringGetTextDatum(source_url) : (Datum) 0;
	nulls[6] = source_url ? ' ' : 'n';

	inbox_exec_as(opener, &q, values, nulls, 1);
	(void) inbox_int8(1, &id);
	return id;
}

/*
 * The actor of an opening or closing: filled from the current actor when
 * the row names none; its agent, given or filled, is one of the space.
 */
static void
default_actor(int64 space, HeapTuple tuple, TupleDesc desc, InboxTupleEdit *edit,
			  AttrNumber kind_column, AttrNumber agent_column)
{
	char	   *kind = inbox_get_text(tuple, desc, kind_column);
	bool		isnull;
	int64		agent = inbox_get_int8(tuple, desc, agent_column, &isnull);

	if (kind == NULL)
	{
		InboxActor	actor = inbox_current_actor();

		kind = pstrdup(actor.kind);
		inbox_edit_set(edit, desc, kind_column, CStringGetTextDatum(kind), false);
		if (isnull && actor.agent != 0)
		{
			agent = actor.agent;
			isnull = false;
			inbox_edit_set(edit, desc, agent_column, Int64GetDatum(agent), false);
		}
	}
	inbox_check_actor_kind(kind);
	if (!isnull)
		inbox_check_agent_in_space(space, agent);
}

/*
 * An open conversation names no closer (oldtuple NULL: an insert; else an
 * UPDATE that leaves it open): closed_by_kind and closed_by_agent come
 * with closed_at, when the actor and its agent are checked.
 */
static void
check_no_closer(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc, const AttrNumber *col, int64 id)
{
	static const ConversationColumn closer[] = {CONVERSATION_CLOSED_BY_KIND, CONVERSATION_CLOSED_BY_AGENT};

	for (int i = 0; i < lengthof(closer); i++)
		if (oldtuple != NULL
			? inbox_column_changed(oldtuple, newtuple, desc, col[closer[i]])
			: !inbox_is_null(newtuple, desc, col[closer[i]]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("conversation %lld is open: closed_by_kind and closed_by_agent are written by its close",
							(long long) id),
					 errhint("Give them with closed_at in the UPDATE that closes it, or close it with inbox.close_conversation().")));
}

/*
 * The wait for the contact's answer (auto_close.c) is the rules' to write:
 * a new conversation has none (a merge restores one with its own), an
 * UPDATE that is not the rules' leaves it.
 */
static void
check_wait_not_written(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc, const AttrNumber *col)
{
	const ConversationColumn wait_columns[] = {CONVERSATION_AUTO_CLOSE_FROM, CONVERSATION_AUTO_CLOSE_AT};

	if (inbox_current_actor().maintaining)
		return;
	for (int i = 0; i < lengthof(wait_columns); i++)
	{
		AttrNumber	attnum = col[wait_columns[i]];

		if (oldtuple == NULL ? !inbox_is_null(newtuple, desc, attnum)
			: inbox_column_changed(oldtuple, newtuple, desc, attnum))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" of a conversation is maintained by inbox",
							NameStr(TupleDescAttr(desc, attnum - 1)->attname)),
					 errhint("It follows the conversation's messages and its space's auto_close_after.")));
	}
}

static HeapTuple
before_insert(HeapTuple tuple, TupleDesc desc, const AttrNumber *col, InboxTupleEdit *edit)
{
	bool		isnull;
	int64		id,
				contact,
				space,
				open;

	contact = inbox_get_int8(tuple, desc, col[CONVERSATION_CONTACT_ID], &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a conversation needs a contact")));

	if (!inbox_is_null(tuple, desc, col[CONVERSATION_CLOSED_AT]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a conversation is inserted open"),
				 errhint("Close it afterwards with inbox.close_conversation() or an UPDATE of closed_at.")));
	if (!INBOX_MERGING())
		check_wait_not_written(NULL, tuple, desc, col);

	/* what a plain INSERT gives (unmerge restores a conversation as it was) */
	if (!INBOX_MERGING())
	{
		id = inbox_get_int8(tuple, desc, col[CONVERSATION_ID], &isnull);
		check_no_closer(NULL, tuple, desc, col, id);
		inbox_check_time_written(NULL, tuple, desc, col[CONVERSATION_OPENED_AT], "conversation", id);
		inbox_check_time_written(NULL, tuple, desc, col[CONVERSATION_FIRST_RESPONSE_AT], "conversation", id);
	}

	space = inbox_row_space(tuple, desc, col[CONVERSATION_SPACE_ID], "conversation");
	default_actor(space, tuple, desc, edit, col[CONVERSATION_OPENED_BY_KIND], col[CONVERSATION_OPENED_BY_AGENT]);

	/* serialize with every other rule that opens a conversation for this contact */
	inbox_lock_contact(space, contact);

	open = inbox_open_conversation_of(space, contact, false);
	if (open != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("contact %lld already has an open conversation (%lld)",
						(long long) contact, (long long) open)));
	return tuple;
}

/*
 * A close takes its time when its statement starts, but it may have waited
 * for the conversation row while a message was being added: the message
 * is then in the conversation, and the close is recorded after it, so
 * that history shows what happened in that order.
 */
static void
close_after_last_message(int64 space, int64 conversation, TimestampTz closed_at, TupleDesc desc,
						 AttrNumber closed_at_column, InboxTupleEdit *edit)
{
	static InboxQuery q = {
		"SELECT max(created_at) FROM inbox.message WHERE space_id = $1 AND conversation_id = $2",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(space), Int64GetDatum(conversation)};
	bool		isnull;
	TimestampTz last;

	inbox_exec(&q, values, NULL, 1);
	last = DatumGetTimestampTz(inbox_value(1, &isnull));
	if (!isnull && last > closed_at)
		inbox_edit_set(edit, desc, closed_at_column, TimestampTzGetDatum(last), false);
}

static HeapTuple
before_update(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc, const AttrNumber *col,
			  InboxTupleEdit *edit)
{
	bool		was_closed,
				is_closed,
				isnull;
	int64		id = inbox_get_int8(oldtuple, desc, col[CONVERSATION_ID], &isnull);
	int64		space = inbox_get_int8(oldtuple, desc, col[CONVERSATION_SPACE_ID], &isnull);
	AttrNumber	agent_columns[2] = {col[CONVERSATION_OPENED_BY_AGENT], col[CONVERSATION_CLOSED_BY_AGENT]};
	Datum		opened_at,
				closed_at;

	if (INBOX_MERGING())
		return newtuple;		/* merge.c moves conversations, state unchanged */
	if (inbox_only_agents_cleared(space, oldtuple, newtuple, desc, agent_columns, lengthof(agent_columns)))
		return newtuple;		/* the agent who opened or closed it was deleted */

	for (int i = 0; i < lengthof(fixed_columns); i++)
		if (inbox_column_changed(oldtuple, newtuple, desc, col[fixed_columns[i]]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" of conversation %lld cannot be changed",
							NameStr(TupleDescAttr(desc, col[fixed_columns[i]] - 1)->attname), (long long) id)));

	inbox_check_time_written(oldtuple, newtuple, desc, col[CONVERSATION_FIRST_RESPONSE_AT], "conversation", id);

	check_wait_not_written(oldtuple, newtuple, desc, col);
	was_closed = !inbox_is_null(oldtuple, desc, col[CONVERSATION_CLOSED_AT]);
	closed_at = inbox_get_datum(newtuple, desc, col[CONVERSATION_CLOSED_AT], &is_closed);
	is_closed = !is_closed;

	if (was_closed)
	{
		if (inbox_column_changed(oldtuple, newtuple, desc, col[CONVERSATION_CLOSED_AT]) ||
			inbox_column_changed(oldtuple, newtuple, desc, col[CONVERSATION_CLOSED_BY_KIND]) ||
			inbox_column_changed(oldtuple, newtuple, desc, col[CONVERSATION_CLOSED_BY_AGENT]))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("conversation %lld is closed", (long long) id),
					 errhint("A closed conversation stays closed; open a new one with inbox.open_conversation().")));
		return newtuple;
	}

	if (!is_closed)
	{
		check_no_closer(oldtuple, newtuple, desc, col, id);
		return newtuple;
	}

	/* closing */
	inbox_check_time_written(oldtuple, newtuple, desc, col[CONVERSATION_CLOSED_AT], "conversation", id);
	opened_at = inbox_get_datum(newtuple, desc, col[CONVERSATION_OPENED_AT], &isnull);
	if (DatumGetTimestampTz(closed_at) < DatumGetTimestampTz(opened_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("conversation %lld cannot be closed before it was opened", (long long) id)));
	default_actor(space, newtuple, desc, edit, col[CONVERSATION_CLOSED_BY_KIND], col[CONVERSATION_CLOSED_BY_AGENT]);
	close_after_last_message(space, id, DatumGetTimestampTz(closed_at), desc, col[CONVERSATION_CLOSED_AT], edit);
	/* a closed conversation waits for nobody (auto_close.c) */
	inbox_edit_set(edit, desc, col[CONVERSATION_AUTO_CLOSE_FROM], (Datum) 0, true);
	inbox_edit_set(edit, desc, col[CONVERSATION_AUTO_CLOSE_AT], (Datum) 0, true);
	return newtuple;
}

Datum
inbox_conversation_before_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	const AttrNumber *col;
	HeapTuple	tuple;
	InboxTupleEdit edit;

	inbox_check_trigger(fcinfo, "conversation_before_write");
	desc = trigdata->tg_relation->rd_att;
	col = inbox_columns(trigdata->tg_relation, TABLE_CONVERSATION);
	inbox_edit_init(&edit);

	inbox_spi_connect();
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		tuple = before_insert(trigdata->tg_trigtuple, desc, col, &edit);
	else
		tuple = before_update(trigdata->tg_trigtuple, trigdata->tg_newtuple, desc, col, &edit);
	SPI_finish();

	return PointerGetDatum(inbox_edit_apply(&edit, tuple, desc));
}

static void
after_close(HeapTuple tuple, TupleDesc desc, const AttrNumber *col)
{
	static InboxQuery q_unassign = {
		"UPDATE inbox.contact SET assignee_id = NULL, open_conversation_id = NULL WHERE space_id = $1 AND id = $2",
		2, {INT8OID, INT8OID}
	};
	static InboxQuery q_keep = {
		"UPDATE inbox.contact SET open_conversation_id = NULL WHERE space_id = $1 AND id = $2",
		2, {INT8OID, INT8OID}
	};
	bool		isnull;
	InboxActor	actor;
	InboxEvent	event;
	int64		space = inbox_get_int8(tuple, desc, col[CONVERSATION_SPACE_ID], &isnull);
	int64		contact = inbox_get_int8(tuple, desc, col[CONVERSATION_CONTACT_ID], &isnull);
	Datum		values[2];

	memset(&actor, 0, sizeof(actor));
	actor.kind = inbox_get_text(tuple, desc, col[CONVERSATION_CLOSED_BY_KIND]);
	actor.agent = inbox_get_int8(tuple, desc, col[CONVERSATION_CLOSED_BY_AGENT], &isnull);
	actor.conversation = inbox_get_int8(tuple, desc, col[CONVERSATION_ID], &isnull);
	actor.maintaining = true;	/* open_conversation_id */

	memset(&event, 0, sizeof(event));
	event.space = space;
	event.contact = contact;
	event.conversation = actor.conversation;
	event.kind = "conversation_closed";
	event.actor = &actor;
	event.at = DatumGetTimestampTz(inbox_get_datum(tuple, desc, col[CONVERSATION_CLOSED_AT], &isnull));
	(void) inbox_write_event(&event);

	values[0] = Int64GetDatum(space);
	values[1] = Int64GetDatum(contact);
	/* the space's unassign_on_close (default true) may keep the assignee */
	inbox_exec_as(&actor, inbox_space_settings(space).unassign_on_close ? &q_unassign : &q_keep,
				  values, NULL, 0);
}

/* point the contact at its open conversation, or at none */
static void
set_open_conversation(int64 space, int64 contact, int64 conversation)
{
	static InboxQuery q = {
		"UPDATE inbox.contact SET open_conversation_id = $2"
		" WHERE space_id = $3 AND id = $1 AND open_conversation_id IS DISTINCT FROM $2",
		3, {INT8OID, INT8OID, INT8OID}
	};
	Datum		values[3] = {Int64GetDatum(contact), Int64GetDatum(conversation), Int64GetDatum(space)};
	char		nulls[3] = {' ', conversation ? ' ' : 'n', ' '};
	InboxActor	actor = inbox_current_actor();

	actor.maintaining = true;
	inbox_exec_as(&actor, &q, values, nulls, 0);
}

static void
after_open(HeapTuple tuple, TupleDesc desc, const AttrNumber *col)
{
	bool		isnull;
	InboxActor	actor;
	InboxEvent	event;
	int64		space = inbox_get_int8(tuple, desc, col[CONVERSATION_SPACE_ID], &isnull);
	int64		contact = inbox_get_int8(tuple, desc, col[CONVERSATION_CONTACT_ID], &isnull);
	int64		conversation = inbox_get_int8(tuple, desc, col[CONVERSATION_ID], &isnull);

	set_open_conversation(space, contact, conversation);
	if (INBOX_MERGING())
		return;					/* unmerge restores a conversation with its own events */

	memset(&actor, 0, sizeof(actor));
	actor.kind = inbox_get_text(tuple, desc, col[CONVERSATION_OPENED_BY_KIND]);
	actor.agent = inbox_get_int8(tuple, desc, col[CONVERSATION_OPENED_BY_AGENT], &isnull);

	memset(&event, 0, sizeof(event));
	event.space = space;
	event.contact = contact;
	event.conversation = conversation;
	event.kind = "conversation_opened";
	event.actor = &actor;
	event.reference = inbox_get_text(tuple, desc, col[CONVERSATION_REFERENCE]);
	event.source_url = inbox_get_text(tuple, desc, col[CONVERSATION_SOURCE_URL]);
	event.at = DatumGetTimestampTz(inbox_get_datum(tuple, desc, col[CONVERSATION_OPENED_AT], &isnull));
	(void) inbox_write_event(&event);

	/*
	 * A space that assigns gives an unassigned contact to an agent
	 * (assignment_policy.c), unless an agent's reply opens the conversation:
	 * the replying agent gets the contact then (rule 3, message rules).
	 */
	if (!inbox_current_actor().replying)
		inbox_assign_on_open(space, contact);
}

/*
 * An open conversation deleted: its contact has no open conversation any
 * more, and an assigned contact has one (check_integrity), so it is
 * unassigned, as a close unassigns.  The contact's rules write
 * `unassigned` for the current actor (the inbox.actor_kind setting of a
 * plain DELETE), in no conversation: none is open, and the deleted one took
 * its events along.  merge.c drops the older of two open conversations it
 * joins and settles the assignee itself.  When the contact itself is being
 * deleted (the cascade), the UPDATE finds no row.
 */
static void
after_delete(HeapTuple tuple, TupleDesc desc, const AttrNumber *col)
{
	static InboxQuery q_unassign = {
		"UPDATE inbox.contact SET assignee_id = NULL, open_conversation_id = NULL"
		" WHERE space_id = $1 AND id = $2 AND (assignee_id IS NOT NULL OR open_conversation_id IS NOT NULL)",
		2, {INT8OID, INT8OID}
	};
	bool		isnull;
	int64		space = inbox_get_int8(tuple, desc, col[CONVERSATION_SPACE_ID], &isnull);
	int64		contact = inbox_get_int8(tuple, desc, col[CONVERSATION_CONTACT_ID], &isnull);
	Datum		values[2] = {Int64GetDatum(space), Int64GetDatum(contact)};
	InboxActor	actor;

	if (INBOX_MERGING())
	{
		set_open_conversation(space, contact, 0);
		return;
	}
	actor = inbox_current_actor();
	actor.conversation = 0;
	actor.maintaining = true;	/* open_conversation_id */
	inbox_exec_as(&actor, &q_unassign, values, NULL, 0);
}

/*
 * AFTER INSERT; AFTER UPDATE OF closed_at when a conversation closes; AFTER
 * DELETE of an open conversation (see the triggers' WHEN)
 */
Datum
inbox_conversation_after_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	const AttrNumber *col;

	inbox_check_trigger(fcinfo, "conversation_after_write");
	desc = trigdata->tg_relation->rd_att;
	col = inbox_columns(trigdata->tg_relation, TABLE_CONVERSATION);

	inbox_spi_connect();
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		after_open(trigdata->tg_trigtuple, desc, col);
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		after_delete(trigdata->tg_trigtuple, desc, col);
	else
		after_close(trigdata->tg_newtuple, desc, col);
	SPI_finish();

	return PointerGetDatum(NULL);
}
