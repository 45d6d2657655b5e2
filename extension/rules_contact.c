/*-------------------------------------------------------------------------
 *
 * rules_contact.c
 *	  Rules on the contact row: maintained columns, assignment and its
 *	  events, reading a contact's messages.
 *
 * - unread_count and last_message_* are maintained by the message rules;
 *   a plain UPDATE may only reset unread_count to 0, which marks the
 *   contact's incoming messages read (that is what mark_read does).
 * - Changing assignee_id writes an `assigned` or `unassigned` event for
 *   the actor of the change; assigning a contact with no open
 *   conversation opens one first (rule 4).
 * - Changing snoozed_until follows the snooze rule of snooze.c (rule 8).
 * - search_text and phone_digits follow the name, e-mail and phone.  They
 *   are kept by a trigger of their own (contact_search_columns, enabled
 *   ALWAYS, so that a restore computes them too) rather than as generated
 *   columns, which PostgreSQL parses again for every UPDATE statement of a
 *   contact, and a message updates its contact.
 * - After an UPDATE, one trigger does what the change calls for; the
 *   conditions are tested here rather than in a WHEN clause, which
 *   PostgreSQL also parses again for every statement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_contact_before_write);
PG_FUNCTION_INFO_V1(inbox_contact_search_columns);
PG_FUNCTION_INFO_V1(inbox_contact_after_update);
PG_FUNCTION_INFO_V1(inbox_contact_channel_before_write);
PG_FUNCTION_INFO_V1(inbox_contact_channel_after_insert);

/* the columns only the message rules write */
static const char *const maintained_columns[] = {
	"unread_count", "last_message_at", "last_message_direction", "last_message_id",
	"last_channel_id", "open_conversation_id", "merged_into", NULL
};

/* lock a contact row, merged or not (inbox_lock_contact refuses merged ones) */
void
inbox_lock_contact_row(int64 contact)
{
	static InboxQuery q = {"SELECT 1 FROM inbox.contact WHERE id = $1 FOR NO KEY UPDATE", 1, {INT8OID}};
	Datum		values[1] = {Int64GetDatum(contact)};

	inbox_exec(&q, values, NULL, 1);
}

/*
 * Lock a contact row for the rules that change it or its conversations;
 * returns its space.  FOR NO KEY UPDATE, so that rows referencing the
 * contact can still be inserted by others meanwhile.
 */
int64
inbox_lock_contact(int64 contact)
{
	static InboxQuery q = {
		"SELECT space_id, merged_into FROM inbox.contact WHERE id = $1 FOR NO KEY UPDATE",
		1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(contact)};
	int64		space;

	inbox_exec(&q, values, NULL, 1);
	if (!inbox_int8(1, &space))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("contact %lld does not exist", (long long) contact)));
	inbox_check_not_merged(contact, 2);
	return space;
}

/*
 * A contact merged into another owns nothing: no rule may give it a
 * message, conversation or event (merge.c moves rows with `merging` set).
 * col is the column of the last query's first row that holds merged_into.
 */
void
inbox_check_not_merged(int64 contact, int col)
{
	bool		isnull;
	Datum		merged_into = inbox_value(col, &isnull);

	if (!isnull && !inbox_current_actor().merging)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("contact %lld is merged into contact %lld", (long long) contact,
						(long long) DatumGetInt64(merged_into)),
				 errhint("Act on the contact it was merged into, or unmerge it with inbox.unmerge_contacts().")));
}

/*
 * The open conversation of a contact, 0 if none.  With lock, the row is
 * locked as the first step of the locking order (see inbox.h); a
 * conversation closed meanwhile by a transaction we waited for is not
 * returned.
 */
int64
inbox_open_conversation_of(int64 contact, bool lock)
{
	static InboxQuery q_read = {
		"SELECT id FROM inbox.conversation WHERE contact_id = $1 AND closed_at IS NULL",
		1, {INT8OID}
	};
	static InboxQuery q_lock = {
		"SELECT id FROM inbox.conversation WHERE contact_id = $1 AND closed_at IS NULL"
		" FOR NO KEY UPDATE",
		1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(contact)};
	int64		conversation = 0;

	inbox_exec(lock ? &q_lock : &q_read, values, NULL, 1);
	(void) inbox_int8(1, &conversation);
	return conversation;
}

void
inbox_require_space(int64 space)
{
	static InboxQuery q = {"SELECT 1 FROM inbox.space WHERE id = $1", 1, {INT8OID}};
	Datum		values[1] = {Int64GetDatum(space)};

	if (inbox_exec(&q, values, NULL, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("space %lld does not exist", (long long) space)));
}

/* whether an agent exists (a deleted one is cleared from rows that named it) */
bool
inbox_agent_exists(int64 agent)
{
	static InboxQuery q = {"SELECT 1 FROM inbox.agent WHERE id = $1", 1, {INT8OID}};
	Datum		values[1] = {Int64GetDatum(agent)};

	return inbox_exec(&q, values, NULL, 1) != 0;
}

void
inbox_check_agent_in_space(int64 agent, int64 space)
{
	static InboxQuery q = {
		"SELECT space_id FROM inbox.agent WHERE id = $1",
		1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(agent)};
	int64		agent_space;

	inbox_exec(&q, values, NULL, 1);
	if (!inbox_int8(1, &agent_space))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("agent %lld does not exist", (long long) agent)));
	if (agent_space != space)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("agent %lld does not exist in space %lld",
						(long long) agent, (long long) space)));
}

static void
check_insert_defaults(HeapTuple tuple, TupleDesc desc)
{
	bool		isnull;
	int64		value;

	value = inbox_get_int8(tuple, desc, "assignee_id", &isnull);
	if (!isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a contact is inserted unassigned"),
				 errhint("Insert the contact, then assign it with inbox.assign() or an UPDATE of assignee_id.")));
	(void) value;

	for (const char *const *column = maintained_columns; *column != NULL; column++)
	{
		int			attnum = SPI_fnumber(desc, *column);
		Datum		d = SPI_getbinval(tuple, desc, attnum, &isnull);

		if (strcmp(*column, "unread_count") == 0 ? DatumGetInt32(d) != 0 : !isnull)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" of a contact is maintained by inbox", *column),
					 errhint("Leave it out of the INSERT; it follows the contact's messages. "
							 "To restore a dump, run the restore with session_replication_role = replica.")));
	}
}

static void
check_update(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc)
{
	InboxActor	actor = inbox_current_actor();
	bool		isnull;
	int64		contact = inbox_get_int8(newtuple, desc, "id", &isnull);
	int64		space = inbox_get_int8(newtuple, desc, "space_id", &isnull);
	int64		assignee;

	if (inbox_column_changed(oldtuple, newtuple, desc, "id") ||
		inbox_column_changed(oldtuple, newtuple, desc, "space_id"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the id and space of contact %lld cannot be changed", (long long) contact)));

	if (!actor.maintaining)
	{
		for (const char *const *column = maintained_columns; *column != NULL; column++)
		{
			if (!inbox_column_changed(oldtuple, newtuple, desc, *column))
				continue;
			if (strcmp(*column, "unread_count") == 0 &&
				DatumGetInt32(SPI_getbinval(newtuple, desc, SPI_fnumber(desc, *column), &isnull)) == 0)
				continue;		/* resetting to 0 = marking read */
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" of contact %lld is maintained by inbox",
							*column, (long long) contact),
					 errhint("unread_count may only be reset to 0 (see inbox.mark_read()); the others follow the messages.")));
		}
	}

	assignee = inbox_get_int8(newtuple, desc, "assignee_id", &isnull);
	if (!isnull && inbox_column_changed(oldtuple, newtuple, desc, "assignee_id"))
		inbox_check_agent_in_space(assignee, space);

	inbox_check_snooze_write(contact, oldtuple, newtuple, desc);
}

/* the search columns and what they are made of */
static const char *const search_sources[] = {
	"first_name", "last_name", "email", "phone", "search_text", "phone_digits", NULL
};

/*
 * search_text: lower(first_name || ' ' || last_name || ' ' || email), each
 * missing one as ''; phone_digits: the ASCII digits of phone (NULL without
 * a phone).  Computed when a source changes, when a write tried to set
 * them (they are always what their sources say), and when search_text is
 * missing (a contact restored from a dump of 1.0, whose generated columns
 * pg_dump leaves out).
 */
static void
maintain_search_columns(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc, InboxTupleEdit *edit)
{
	StringInfoData text;
	char	   *part;
	char	   *phone;
	bool		changed = (oldtuple == NULL);

	/* a 1.0 schema: PostgreSQL generates them */
	if (TupleDescAttr(desc, SPI_fnumber(desc, "search_text") - 1)->attgenerated)
		return;

	for (const char *const *column = search_sources; !changed && *column != NULL; column++)
		changed = inbox_column_changed(oldtuple, newtuple, desc, *column);
	if (!changed)
		(void) SPI_getbinval(newtuple, desc, SPI_fnumber(desc, "search_text"), &changed);
	if (!changed)
		return;

	initStringInfo(&text);
	part = inbox_get_text(newtuple, desc, "first_name");
	appendStringInfo(&text, "%s ", part ? part : "");
	part = inbox_get_text(newtuple, desc, "last_name");
	appendStringInfo(&text, "%s ", part ? part : "");
	part = inbox_get_text(newtuple, desc, "email");
	appendStringInfoString(&text, part ? part : "");
	inbox_edit_set(edit, desc, "search_text",
				   DirectFunctionCall1Coll(lower, DEFAULT_COLLATION_OID, CStringGetTextDatum(text.data)),
				   false);

	phone = inbox_get_text(newtuple, desc, "phone");
	if (phone != NULL)
	{
		char	   *to = phone;

		for (const char *from = phone; *from != '\0'; from++)
			if (*from >= '0' && *from <= '9')
				*to++ = *from;
		*to = '\0';
	}
	inbox_edit_set(edit, desc, "phone_digits", phone ? CStringGetTextDatum(phone) : (Datum) 0, phone == NULL);
}

/* BEFORE INSERT OR UPDATE on inbox.contact, enabled ALWAYS */
Datum
inbox_contact_search_columns(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	InboxTupleEdit edit;

	inbox_check_trigger(fcinfo, "contact_search_columns");
	desc = trigdata->tg_relation->rd_att;
	inbox_edit_init(&edit);
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		tuple = trigdata->tg_trigtuple;
		maintain_search_columns(NULL, tuple, desc, &edit);
	}
	else
	{
		tuple = trigdata->tg_newtuple;
		maintain_search_columns(trigdata->tg_trigtuple, tuple, desc, &edit);
	}
	return PointerGetDatum(inbox_edit_apply(&edit, tuple, desc));
}

Datum
inbox_contact_before_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	result;

	inbox_check_trigger(fcinfo, "contact_before_write");
	desc = trigdata->tg_relation->rd_att;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inbox: SPI_connect failed");

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		bool		isnull;

		if (!inbox_current_actor().maintaining)
			check_insert_defaults(trigdata->tg_trigtuple, desc);
		inbox_check_snooze_write(inbox_get_int8(trigdata->tg_trigtuple, desc, "id", &isnull),
								 NULL, trigdata->tg_trigtuple, desc);
		result = trigdata->tg_trigtuple;
	}
	else
	{
		check_update(trigdata->tg_trigtuple, trigdata->tg_newtuple, desc);
		result = trigdata->tg_newtuple;
	}

	SPI_finish();
	return PointerGetDatum(result);
}

/*
 * An assignment changed: open a conversation if the contact has none
 * (an assigned contact always has one), then write the event in it.
 */
static void
record_assignment(int64 contact, int64 space, int64 old_assignee, int64 new_assignee)
{
	static InboxQuery q_open = {
		"INSERT INTO inbox.conversation (space_id, contact_id, opened_by_kind, opened_by_agent)"
		" VALUES ($1, $2, $3, $4) RETURNING id",
		4, {INT8OID, INT8OID, TEXTOID, INT8OID}
	};
	InboxActor	actor = inbox_current_actor();
	int64		conversation = actor.conversation;

	if (actor.merging)
		return;					/* merge.c unassigns a merged contact silently */
	if (conversation == 0)
		conversation = inbox_open_conversation_of(contact, false);

	if (new_assignee != 0 && conversation == 0)
	{
		Datum		values[4] = {
			Int64GetDatum(space), Int64GetDatum(contact),
			CStringGetTextDatum(actor.kind), Int64GetDatum(actor.agent)
		};
		char		nulls[4] = {' ', ' ', ' ', actor.agent ? ' ' : 'n'};

		inbox_exec(&q_open, values, nulls, 1);
		(void) inbox_int8(1, &conversation);
	}

	/* an assignee deleted (ON DELETE SET NULL): the event names no agent */
	if (new_assignee == 0 && !inbox_agent_exists(old_assignee))
		old_assignee = 0;

	inbox_write_event(contact, conversation, new_assignee ? "assigned" : "unassigned",
					  &actor, new_assignee ? new_assignee : old_assignee, NULL, NULL, 0);
}

static void
mark_messages_read(int64 contact)
{
	static InboxQuery q = {
		"UPDATE inbox.message SET read_at = now()"
		" WHERE contact_id = $1 AND direction = 'incoming' AND read_at IS NULL",
		1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(contact)};
	InboxActor	actor = inbox_current_actor();

	actor.maintaining = true;	/* the count is already 0: the messages follow it */
	inbox_exec_as(&actor, &q, values, NULL, 0);
}

Datum
inbox_contact_after_update(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	oldtuple,
				newtuple;
	bool		isnull;
	int64		contact,
				space,
				old_assignee,
				new_assignee;
	int			old_unread,
				new_unread;
	bool		snooze_changed;

	inbox_check_trigger(fcinfo, "contact_after_update");
	desc = trigdata->tg_relation->rd_att;
	oldtuple = trigdata->tg_trigtuple;
	newtuple = trigdata->tg_newtuple;

	contact = inbox_get_int8(newtuple, desc, "id", &isnull);
	space = inbox_get_int8(newtuple, desc, "space_id", &isnull);
	old_assignee = inbox_get_int8(oldtuple, desc, "assignee_id", &isnull);
	new_assignee = inbox_get_int8(newtuple, desc, "assignee_id", &isnull);
	old_unread = DatumGetInt32(SPI_getbinval(oldtuple, desc, SPI_fnumber(desc, "unread_count"), &isnull));
	new_unread = DatumGetInt32(SPI_getbinval(newtuple, desc, SPI_fnumber(desc, "unread_count"), &isnull));

	snooze_changed = inbox_column_changed(oldtuple, newtuple, desc, "snoozed_until");

	if (old_assignee != new_assignee || (old_unread > 0 && new_unread == 0) || snooze_changed)
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "inbox: SPI_connect failed");
		if (old_assignee != new_assignee)
			record_assignment(contact, space, old_assignee, new_assignee);
		if (old_unread > 0 && new_unread == 0)
			mark_messages_read(contact);
		if (snooze_changed)
			inbox_record_snooze_change(contact, oldtuple, newtuple, desc);
		SPI_finish();
	}

	/* then the view counts (a 1.0 schema still counts in a trigger of its own) */
	if (inbox_trigger_state(trigdata->tg_relation, "contact_counts_update") == '\0')
		inbox_count_contact_change(oldtuple, newtuple, desc);
	return PointerGetDatum(NULL);
}

/*
 * A contact's identity on a channel: contact and channel are of one
 * space, which the row records.
 */
Datum
inbox_contact_channel_before_write(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {
		"SELECT space_id, merged_into FROM inbox.contact WHERE id = $1", 1, {INT8OID}
	};
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	InboxTupleEdit edit;
	bool		isnull;
	Datum		values[1];
	int64		contact,
				channel,
				contact_space = 0,
				channel_space,
				given;
	TimestampTz last_incoming;

	inbox_check_trigger(fcinfo, "contact_channel_before_write");
	desc = trigdata->tg_relation->rd_att;
	tuple = TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ? trigdata->tg_trigtuple : trigdata->tg_newtuple;

	/* a time the messaging window can be added to, as a message's (rules_message.c) */
	last_incoming = DatumGetTimestampTz(SPI_getbinval(tuple, desc, SPI_fnumber(desc, "last_incoming_at"), &isnull));
	if (!isnull && !INBOX_TIME_IN_RANGE(last_incoming) &&
		(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		 inbox_column_changed(trigdata->tg_trigtuple, tuple, desc, "last_incoming_at")))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an identity's last incoming time must be a finite time before the year 10000")));

	/* an identity that stays with its contact, channel and space (last_incoming_at moves on) */
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
		!inbox_column_changed(trigdata->tg_trigtuple, tuple, desc, "contact_id") &&
		!inbox_column_changed(trigdata->tg_trigtuple, tuple, desc, "channel_id") &&
		!inbox_column_changed(trigdata->tg_trigtuple, tuple, desc, "space_id"))
		return PointerGetDatum(tuple);

	inbox_edit_init(&edit);

	contact = inbox_get_int8(tuple, desc, "contact_id", &isnull);
	channel = inbox_get_int8(tuple, desc, "channel_id", &isnull);
	values[0] = Int64GetDatum(contact);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inbox: SPI_connect failed");
	if (inbox_exec(&q, values, NULL, 1) == 1)
	{
		(void) inbox_int8(1, &contact_space);
		inbox_check_not_merged(contact, 2);	/* a merged contact has no identity */
	}
	if (contact_space == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("contact %lld does not exist", (long long) contact)));
	channel_space = inbox_channel_facts(channel, NULL).space;
	SPI_finish();

	if (contact_space != channel_space)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("channel %lld does not exist in the space of contact %lld", (long long) channel, (long long) contact)));
	given = inbox_get_int8(tuple, desc, "space_id", &isnull);
	if (isnull)
		inbox_edit_set(&edit, desc, "space_id", Int64GetDatum(contact_space), false);
	else if (given != contact_space)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("contact %lld is not in space %lld", (long long) contact, (long long) given)));

	return PointerGetDatum(inbox_edit_apply(&edit, tuple, desc));
}

/*
 * A contact that gets a further channel identity (a known person writing on
 * a new channel, or an identity added by hand) writes channel_added, for
 * the current actor, with the channel in data.
 */
Datum
inbox_contact_channel_after_insert(PG_FUNCTION_ARGS)
{
	static InboxQuery q_others = {
		"SELECT 1 FROM inbox.contact_channel"
		" WHERE contact_id = $1 AND NOT (channel_id = $2 AND external_id = $3) LIMIT 1",
		3, {INT8OID, INT8OID, TEXTOID}
	};
	static InboxQuery q_event = {
		"INSERT INTO inbox.event (contact_id, conversation_id, kind, actor_kind, actor_agent_id, data)"
		" SELECT $1, (SELECT id FROM inbox.conversation WHERE contact_id = $1 AND closed_at IS NULL),"
		"        'channel_added', $4, $5, jsonb_build_object('channel', $2)",
		5, {INT8OID, INT8OID, TEXTOID, TEXTOID, INT8OID}
	};
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	InboxActor	actor = inbox_current_actor();
	bool		isnull;
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	inbox_check_trigger(fcinfo, "contact_channel_after_insert");
	desc = trigdata->tg_relation->rd_att;
	tuple = trigdata->tg_trigtuple;

	values[0] = Int64GetDatum(inbox_get_int8(tuple, desc, "contact_id", &isnull));
	values[1] = Int64GetDatum(inbox_get_int8(tuple, desc, "channel_id", &isnull));
	values[2] = SPI_getbinval(tuple, desc, SPI_fnumber(desc, "external_id"), &isnull);
	values[3] = CStringGetTextDatum(actor.kind);
	values[4] = Int64GetDatum(actor.agent);
	nulls[4] = actor.agent ? ' ' : 'n';

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inbox: SPI_connect failed");
	if (inbox_exec(&q_others, values, NULL, 1) > 0)
		inbox_exec(&q_event, values, nulls, 0);
	SPI_finish();

	return PointerGetDatum(NULL);
}
