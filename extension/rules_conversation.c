/*-------------------------------------------------------------------------
 *
 * rules_conversation.c
 *	  Opening and closing conversations.
 *
 * - A contact has at most one open conversation (also a unique index);
 *   a conversation is inserted open and, once closed, stays closed.
 * - Opening writes `conversation_opened` with the opening actor and the
 *   reference and source URL (rule 12).
 * - Closing, by close_conversation() or a plain UPDATE of closed_at,
 *   writes `conversation_closed` and unassigns the contact (`unassigned`),
 *   both for the closing actor and in the closed conversation (rule 4).
 *
 * - contact.open_conversation_id follows: set on open, cleared on close
 *   or when an open conversation is deleted (the unassigned view and the
 *   contact list read it instead of probing conversations per row).
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

static const char *const fixed_columns[] = {
	"id", "space_id", "contact_id", "opened_at", "opened_by_kind", "opened_by_agent", NULL
};

/* the agents a conversation names, cleared when an agent is deleted */
static const char *const agent_columns[] = {"opened_by_agent", "closed_by_agent", NULL};

/* fill the actor of an opening or closing from the current actor */
static void
default_actor(HeapTuple tuple, TupleDesc desc, InboxTupleEdit *edit,
			  const char *kind_column, const char *agent_column)
{
	char	   *kind = inbox_get_text(tuple, desc, kind_column);

	if (kind == NULL)
	{
		InboxActor	actor = inbox_current_actor();
		bool		isnull;

		kind = pstrdup(actor.kind);
		inbox_edit_set(edit, desc, kind_column, CStringGetTextDatum(kind), false);
		(void) inbox_get_int8(tuple, desc, agent_column, &isnull);
		if (isnull && actor.agent != 0)
			inbox_edit_set(edit, desc, agent_column, Int64GetDatum(actor.agent), false);
	}
	inbox_check_actor_kind(kind);
}

static HeapTuple
before_insert(HeapTuple tuple, TupleDesc desc, InboxTupleEdit *edit)
{
	bool		isnull;
	int64		contact,
				space,
				given_space,
				open;

	contact = inbox_get_int8(tuple, desc, "contact_id", &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a conversation needs a contact")));

	(void) SPI_getbinval(tuple, desc, SPI_fnumber(desc, "closed_at"), &isnull);
	if (!isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a conversation is inserted open"),
				 errhint("Close it afterwards with inbox.close_conversation() or an UPDATE of closed_at.")));

	default_actor(tuple, desc, edit, "opened_by_kind", "opened_by_agent");

	/* serialize with every other rule that opens a conversation for this contact */
	space = inbox_lock_contact(contact);
	given_space = inbox_get_int8(tuple, desc, "space_id", &isnull);
	if (isnull)
		inbox_edit_set(edit, desc, "space_id", Int64GetDatum(space), false);
	else if (given_space != space)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("contact %lld is not in space %lld", (long long) contact, (long long) given_space)));

	open = inbox_open_conversation_of(contact, false);
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
close_after_last_message(int64 conversation, TimestampTz closed_at, TupleDesc desc, InboxTupleEdit *edit)
{
	static InboxQuery q = {
		"SELECT max(created_at) FROM inbox.message WHERE conversation_id = $1",
		1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(conversation)};
	bool		isnull;
	TimestampTz last;

	inbox_exec(&q, values, NULL, 1);
	last = DatumGetTimestampTz(inbox_value(1, &isnull));
	if (!isnull && last > closed_at)
		inbox_edit_set(edit, desc, "closed_at", TimestampTzGetDatum(last), false);
}

static HeapTuple
before_update(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc, InboxTupleEdit *edit)
{
	bool		was_closed,
				is_closed,
				isnull;
	int64		id = inbox_get_int8(oldtuple, desc, "id", &isnull);
	Datum		opened_at,
				closed_at;

	if (INBOX_MERGING())
		return newtuple;		/* merge.c moves conversations, state unchanged */
	if (inbox_only_agents_cleared(oldtuple, newtuple, desc, agent_columns))
		return newtuple;		/* the agent who opened or closed it was deleted */

	for (const char *const *column = fixed_columns; *column != NULL; column++)
		if (inbox_column_changed(oldtuple, newtuple, desc, *column))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" of conversation %lld cannot be changed", *column, (long long) id)));

	(void) SPI_getbinval(oldtuple, desc, SPI_fnumber(desc, "closed_at"), &was_closed);
	was_closed = !was_closed;
	closed_at = SPI_getbinval(newtuple, desc, SPI_fnumber(desc, "closed_at"), &is_closed);
	is_closed = !is_closed;

	if (was_closed)
	{
		if (inbox_column_changed(oldtuple, newtuple, desc, "closed_at") ||
			inbox_column_changed(oldtuple, newtuple, desc, "closed_by_kind") ||
			inbox_column_changed(oldtuple, newtuple, desc, "closed_by_agent"))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("conversation %lld is closed", (long long) id),
					 errhint("A closed conversation stays closed; open a new one with inbox.open_conversation().")));
		return newtuple;
	}

	if (!is_closed)
		return newtuple;

	/* closing */
	opened_at = SPI_getbinval(newtuple, desc, SPI_fnumber(desc, "opened_at"), &isnull);
	if (DatumGetTimestampTz(closed_at) < DatumGetTimestampTz(opened_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("conversation %lld cannot be closed before it was opened", (long long) id)));
	default_actor(newtuple, desc, edit, "closed_by_kind", "closed_by_agent");
	close_after_last_message(id, DatumGetTimestampTz(closed_at), desc, edit);
	return newtuple;
}

Datum
inbox_conversation_before_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	InboxTupleEdit edit;

	inbox_check_trigger(fcinfo, "conversation_before_write");
	desc = trigdata->tg_relation->rd_att;
	inbox_edit_init(&edit);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inbox: SPI_connect failed");
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		tuple = before_insert(trigdata->tg_trigtuple, desc, &edit);
	else
		tuple = before_update(trigdata->tg_trigtuple, trigdata->tg_newtuple, desc, &edit);
	SPI_finish();

	return PointerGetDatum(inbox_edit_apply(&edit, tuple, desc));
}

static void
after_close(HeapTuple tuple, TupleDesc desc)
{
	static InboxQuery q_unassign = {
		"UPDATE inbox.contact SET assignee_id = NULL, open_conversation_id = NULL WHERE id = $1",
		1, {INT8OID}
	};
	bool		isnull;
	InboxActor	actor;
	int64		contact = inbox_get_int8(tuple, desc, "contact_id", &isnull);
	Datum		values[1];

	memset(&actor, 0, sizeof(actor));
	actor.kind = inbox_get_text(tuple, desc, "closed_by_kind");
	actor.agent = inbox_get_int8(tuple, desc, "closed_by_agent", &isnull);
	actor.conversation = inbox_get_int8(tuple, desc, "id", &isnull);
	actor.maintaining = true;	/* open_conversation_id */

	inbox_write_event(contact, actor.conversation, "conversation_closed", &actor, 0, NULL, NULL,
					  DatumGetTimestampTz(SPI_getbinval(tuple, desc, SPI_fnumber(desc, "closed_at"), &isnull)));

	values[0] = Int64GetDatum(contact);
	inbox_exec_as(&actor, &q_unassign, values, NULL, 0);
}

/* point the contact at its open conversation, or at none */
static void
set_open_conversation(int64 contact, int64 conversation)
{
	static InboxQuery q = {
		"UPDATE inbox.contact SET open_conversation_id = $2"
		" WHERE id = $1 AND open_conversation_id IS DISTINCT FROM $2",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(contact), Int64GetDatum(conversation)};
	char		nulls[2] = {' ', conversation ? ' ' : 'n'};
	InboxActor	actor = inbox_current_actor();

	actor.maintaining = true;
	inbox_exec_as(&actor, &q, values, nulls, 0);
}

static void
after_open(HeapTuple tuple, TupleDesc desc)
{
	bool		isnull;
	InboxActor	actor;
	int64		contact = inbox_get_int8(tuple, desc, "contact_id", &isnull);
	int64		conversation = inbox_get_int8(tuple, desc, "id", &isnull);

	set_open_conversation(contact, conversation);
	if (INBOX_MERGING())
		return;					/* unmerge restores a conversation with its own events */

	memset(&actor, 0, sizeof(actor));
	actor.kind = inbox_get_text(tuple, desc, "opened_by_kind");
	actor.agent = inbox_get_int8(tuple, desc, "opened_by_agent", &isnull);

	inbox_write_event(contact, conversation,
					  "conversation_opened", &actor, 0,
					  inbox_get_text(tuple, desc, "reference"),
					  inbox_get_text(tuple, desc, "source_url"),
					  DatumGetTimestampTz(SPI_getbinval(tuple, desc, SPI_fnumber(desc, "opened_at"), &isnull)));
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

	inbox_check_trigger(fcinfo, "conversation_after_write");
	desc = trigdata->tg_relation->rd_att;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inbox: SPI_connect failed");
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		after_open(trigdata->tg_trigtuple, desc);
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		bool		isnull;

		set_open_conversation(inbox_get_int8(trigdata->tg_trigtuple, desc, "contact_id", &isnull), 0);
	}
	else
		after_close(trigdata->tg_newtuple, desc);
	SPI_finish();

	return PointerGetDatum(NULL);
}
