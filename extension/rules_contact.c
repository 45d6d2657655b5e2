/*-------------------------------------------------------------------------
 *
 * rules_contact.c
 *	  Rules on the contact row (maintained columns, assignment and its
 *	  events, reading a contact's messages) and on its channel identities.
 *
 * - unread_count and last_message_* are maintained by the message rules;
 *   a plain UPDATE may only reset unread_count to 0, which marks the
 *   contact's incoming messages read (that is what mark_read does).
 * - Changing assignee_id writes an `assigned` or `unassigned` event for
 *   the actor of the change; assigning a contact with no open
 *   conversation opens one first (rule 4).
 * - Changing snoozed_until follows the snooze rule of snooze.c (rule 8).
 * - In a space that assigns automatically, the agents' open assigned
 *   contacts are counted as the assignee and the open conversation change
 *   (agent_state.c; a count that goes down lets a waiting contact have the
 *   seat, assignment_policy.c).
 * - search_text and phone_digits follow the name, e-mail and phone.  They
 *   are kept by a trigger of their own (contact_search_columns, enabled
 *   ALWAYS, so that a restore computes them too) rather than as generated
 *   columns, which PostgreSQL parses again for every UPDATE statement of a
 *   contact, and a message updates its contact.
 * - After an UPDATE, one trigger does what the change calls for; the
 *   conditions are tested here rather than in a WHEN clause, which
 *   PostgreSQL also parses again for every statement.
 * - The assignee and the channel a contact first wrote on are of its
 *   space (their keys name the agent or channel alone, to be cleared when
 *   it is deleted).
 * - A channel identity (contact_channel) is of the space it names, as its
 *   contact and channel are; a further identity of a contact writes
 *   `channel_added`.
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
static const ContactColumn maintained_columns[] = {
	CONTACT_UNREAD_COUNT, CONTACT_LAST_MESSAGE_AT, CONTACT_LAST_MESSAGE_DIRECTION,
	CONTACT_LAST_MESSAGE_ID, CONTACT_LAST_CHANNEL_ID, CONTACT_OPEN_CONVERSATION_ID,
	CONTACT_MERGED_INTO, CONTACT_LAST_MESSAGE_PREVIEW, CONTACT_LAST_MESSAGE_STATUS
};

static const char *
column_name(TupleDesc desc, AttrNumber attnum)
{
	return NameStr(TupleDescAttr(desc, attnum - 1)->attname);
}

static void
check_insert_defaults(HeapTuple tuple, TupleDesc desc, const AttrNumber *col)
{
	if (!inbox_is_null(tuple, desc, col[CONTACT_ASSIGNEE_ID]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a contact is inserted unassigned"),
				 errhint("Insert the contact, then assign it with inbox.assign() or an UPDATE of assignee_id.")));

	for (int i = 0; i < lengthof(maintained_columns); i++)
	{
		AttrNumber	attnum = col[maintained_columns[i]];

		if (attnum == InvalidAttrNumber)
			continue;			/* a column of 2.0 on a schema of 1.x */
		if (maintained_columns[i] == CONTACT_UNREAD_COUNT
			? inbox_get_int4(tuple, desc, attnum) != 0
			: !inbox_is_null(tuple, desc, attnum))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" of a contact is maintained by inbox", column_name(desc, attnum)),
					 errhint("Leave it out of the INSERT; it follows the contact's messages. "
							 "To restore a dump, run the restore with session_replication_role = replica.")));
	}
}

/*
 * The channel a contact first wrote on is one of its space (its key names
 * the channel alone, to be cleared when the channel is deleted).  Through
 * the channel cache: a new contact of receive_message() has just looked
 * its channel up.
 */
static void
check_origin_channel(HeapTuple tuple, TupleDesc desc, const AttrNumber *col, int64 space)
{
	bool		isnull;
	int64		channel = inbox_get_int8(tuple, desc, col[CONTACT_ORIGIN_CHANNEL_ID], &isnull);

	if (!isnull)
		(void) inbox_channel_facts(space, channel);
}

static void
check_update(Relation rel, HeapTuple oldtuple, HeapTuple newtuple)
{
	TupleDesc	desc = RelationGetDescr(rel);
	const AttrNumber *col = inbox_columns(rel, TABLE_CONTACT);
	InboxActor	actor = inbox_current_actor();
	bool		isnull;
	int64		contact = inbox_get_int8(newtuple, desc, col[CONTACT_ID], &isnull);
	int64		space = inbox_get_int8(newtuple, desc, col[CONTACT_SPACE_ID], &isnull);
	int64		assignee;

	if (inbox_column_changed(oldtuple, newtuple, desc, col[CONTACT_ID]) ||
		inbox_column_changed(oldtuple, newtuple, desc, col[CONTACT_SPACE_ID]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the id and space of contact %lld cannot be changed", (long long) contact)));

	if (!actor.maintaining)
	{
		for (int i = 0; i < lengthof(maintained_columns); i++)
		{
			AttrNumber	attnum = col[maintained_columns[i]];

			if (attnum == InvalidAttrNumber || !inbox_column_changed(oldtuple, newtuple, desc, attnum))
				continue;
			if (maintained_columns[i] == CONTACT_UNREAD_COUNT &&
				inbox_get_int4(newtuple, desc, attnum) == 0)
				continue;		/* resetting to 0 = marking read */
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" of contact %lld is maintained by inbox",
							column_name(desc, attnum), (long long) contact),
					 errhint("unread_count may only be reset to 0 (see inbox.mark_read()); the others follow the messages.")));
		}
	}

	assignee = inbox_get_int8(newtuple, desc, col[CONTACT_ASSIGNEE_ID], &isnull);
	if (!isnull && inbox_column_changed(oldtuple, newtuple, desc, col[CONTACT_ASSIGNEE_ID]))
		inbox_check_agent_in_space(space, assignee);
	if (inbox_column_changed(oldtuple, newtuple, desc, col[CONTACT_ORIGIN_CHANNEL_ID]))
		check_origin_channel(newtuple, desc, col, space);

	inbox_check_snooze_write(rel, contact, oldtuple, newtuple);
}

/* the search columns and what they are made of */
static const ContactColumn search_sources[] = {
	CONTACT_FIRST_NAME, CONTACT_LAST_NAME, CONTACT_EMAIL, CONTACT_PHONE,
	CONTACT_SEARCH_TEXT, CONTACT_PHONE_DIGITS
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
maintain_search_columns(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc, const AttrNumber *col,
						InboxTupleEdit *edit)
{
	StringInfoData text;
	char	   *part;
	char	   *phone;
	bool		changed = (oldtuple == NULL);

	/* a 1.0 schema: PostgreSQL generates them */
	if (TupleDescAttr(desc, col[CONTACT_SEARCH_TEXT] - 1)->attgenerated)
		return;

	for (int i = 0; !changed && i < lengthof(search_sources); i++)
		changed = inbox_column_changed(oldtuple, newtuple, desc, col[search_sources[i]]);
	if (!changed)
		changed = inbox_is_null(newtuple, desc, col[CONTACT_SEARCH_TEXT]);
	if (!changed)
		return;

	initStringInfo(&text);
	part = inbox_get_text(newtuple, desc, col[CONTACT_FIRST_NAME]);
	appendStringInfo(&text, "%s ", part ? part : "");
	part = inbox_get_text(newtuple, desc, col[CONTACT_LAST_NAME]);
	appendStringInfo(&text, "%s ", part ? part : "");
	part = inbox_get_text(newtuple, desc, col[CONTACT_EMAIL]);
	appendStringInfoString(&text, part ? part : "");
	inbox_edit_set(edit, desc, col[CONTACT_SEARCH_TEXT],
				   DirectFunctionCall1Coll(lower, DEFAULT_COLLATION_OID, CStringGetTextDatum(text.data)),
				   false);

	phone = inbox_get_text(newtuple, desc, col[CONTACT_PHONE]);
	if (phone != NULL)
	{
		char	   *to = phone;

		for (const char *from = phone; *from != '\0'; from++)
			if (*from >= '0' && *from <= '9')
				*to++ = *from;
		*to = '\0';
	}
	inbox_edit_set(edit, desc, col[CONTACT_PHONE_DIGITS], phone ? CStringGetTextDatum(phone) : (Datum) 0, phone == NULL);
}

/* BEFORE INSERT OR UPDATE on inbox.contact, enabled ALWAYS */
Datum
inbox_contact_search_columns(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	const AttrNumber *col;
	HeapTuple	tuple;
	InboxTupleEdit edit;

	inbox_check_trigger(fcinfo, "contact_search_columns");
	desc = trigdata->tg_relation->rd_att;
	col = inbox_columns(trigdata->tg_relation, TABLE_CONTACT);
	inbox_edit_init(&edit);
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		tuple = trigdata->tg_trigtuple;
		maintain_search_columns(NULL, tuple, desc, col, &edit);
	}
	else
	{
		tuple = trigdata->tg_newtuple;
		maintain_search_columns(trigdata->tg_trigtuple, tuple, desc, col, &edit);
	}
	return PointerGetDatum(inbox_edit_apply(&edit, tuple, desc));
}

Datum
inbox_contact_before_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	HeapTuple	result;

	inbox_check_trigger(fcinfo, "contact_before_write");
	rel = trigdata->tg_relation;

	inbox_spi_connect();

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		const AttrNumber *col = inbox_columns(rel, TABLE_CONTACT);
		bool		isnull;

		if (!inbox_current_actor().maintaining)
			check_insert_defaults(trigdata->tg_trigtuple, rel->rd_att, col);
		if (!inbox_is_null(trigdata->tg_trigtuple, rel->rd_att, col[CONTACT_ORIGIN_CHANNEL_ID]))
			check_origin_channel(trigdata->tg_trigtuple, rel->rd_att, col,
								 inbox_row_space(trigdata->tg_trigtuple, rel->rd_att, col[CONTACT_SPACE_ID],
												 "contact"));
		inbox_check_snooze_write(rel, inbox_get_int8(trigdata->tg_trigtuple, rel->rd_att, col[CONTACT_ID], &isnull),
								 NULL, trigdata->tg_trigtuple);
		result = trigdata->tg_trigtuple;
	}
	else
	{
		check_update(rel, trigdata->tg_trigtuple, trigdata->tg_newtuple);
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
	InboxActor	actor = inbox_current_actor();
	InboxEvent	event;

	if (actor.merging)
		return;					/* merge.c unassigns a merged contact silently */

	memset(&event, 0, sizeof(event));
	event.space = space;
	event.contact = contact;
	event.conversation = actor.conversation;
	if (event.conversation == 0)
		event.conversation = inbox_open_conversation_of(space, contact, false);
	if (new_assignee != 0 && event.conversation == 0)
		event.conversation = inbox_insert_conversation(space, contact, NULL, &actor, NULL, NULL);

	/* an assignee deleted (ON DELETE SET NULL): the event names no agent */
	if (new_assignee == 0 && !inbox_agent_exists(space, old_assignee))
		old_assignee = 0;

	event.kind = new_assignee ? "assigned" : "unassigned";
	event.actor = &actor;
	event.target_agent = new_assignee ? new_assignee : old_assignee;
	(void) inbox_write_event(&event);
}

static void
mark_messages_read(int64 space, int64 contact)
{
	static InboxQuery q = {
		"UPDATE inbox.message SET read_at = now()"
		" WHERE space_id = $1 AND contact_id = $2 AND direction = 'incoming' AND read_at IS NULL",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(space), Int64GetDatum(contact)};
	InboxActor	actor = inbox_current_actor();

	actor.maintaining = true;	/* the count is already 0: the messages follow it */
	inbox_exec_as(&actor, &q, values, NULL, 0);
}

Datum
inbox_contact_after_update(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	const AttrNumber *col;
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
	rel = trigdata->tg_relation;
	desc = rel->rd_att;
	col = inbox_columns(rel, TABLE_CONTACT);
	oldtuple = trigdata->tg_trigtuple;
	newtuple = trigdata->tg_newtuple;

	contact = inbox_get_int8(newtuple, desc, col[CONTACT_ID], &isnull);
	space = inbox_get_int8(newtuple, desc, col[CONTACT_SPACE_ID], &isnull);
	old_assignee = inbox_get_int8(oldtuple, desc, col[CONTACT_ASSIGNEE_ID], &isnull);
	new_assignee = inbox_get_int8(newtuple, desc, col[CONTACT_ASSIGNEE_ID], &isnull);
	old_unread = inbox_get_int4(oldtuple, desc, col[CONTACT_UNREAD_COUNT]);
	new_unread = inbox_get_int4(newtuple, desc, col[CONTACT_UNREAD_COUNT]);

	snooze_changed = inbox_column_changed(oldtuple, newtuple, desc, col[CONTACT_SNOOZED_UNTIL]);

	if (old_assignee != new_assignee || (old_unread > 0 && new_unread == 0) || snooze_changed)
	{
		inbox_spi_connect();
		if (old_assignee != new_assignee)
			record_assignment(contact, space, old_assignee, new_assignee);
		if (old_unread > 0 && new_unread == 0)
			mark_messages_read(space, contact);
		if (snooze_changed)
			inbox_record_snooze_change(rel, contact, oldtuple, newtuple);
		SPI_finish();
	}

	/* then the view counts (a 1.0 schema still counts in a trigger of its own) */
	if (inbox_trigger_state(rel, "contact_counts_update") == '\0')
		inbox_count_contact_change(rel, oldtuple, newtuple);

	/* and the agents' open counts where the space assigns (a seat freed: assignment_policy.c) */
	if (old_assignee != new_assignee ||
		inbox_column_changed(oldtuple, newtuple, desc, col[CONTACT_OPEN_CONVERSATION_ID]))
	{
		inbox_spi_connect();
		inbox_agent_state_contact_change(rel, oldtuple, newtuple);
		SPI_finish();
	}
	return PointerGetDatum(NULL);
}

/*
 * A contact's identity on a channel: contact and channel are of the
 * space the row names.
 */
Datum
inbox_contact_channel_before_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	const AttrNumber *col;
	HeapTuple	tuple;
	bool		isnull;
	int64		contact,
				channel,
				space;
	TimestampTz last_incoming;

	inbox_check_trigger(fcinfo, "contact_channel_before_write");
	desc = trigdata->tg_relation->rd_att;
	col = inbox_columns(trigdata->tg_relation, TABLE_CONTACT_CHANNEL);
	tuple = TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ? trigdata->tg_trigtuple : trigdata->tg_newtuple;

	/* a time the messaging window can be added to, as a message's (rules_message.c) */
	last_incoming = DatumGetTimestampTz(inbox_get_datum(tuple, desc, col[CONTACT_CHANNEL_LAST_INCOMING_AT], &isnull));
	if (!isnull && !INBOX_TIME_IN_RANGE(last_incoming) &&
		(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		 inbox_column_changed(trigdata->tg_trigtuple, tuple, desc, col[CONTACT_CHANNEL_LAST_INCOMING_AT])))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an identity's last incoming time must be a finite time before the year 10000")));

	/* an identity that stays with its contact, channel and space (last_incoming_at moves on) */
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
		!inbox_column_changed(trigdata->tg_trigtuple, tuple, desc, col[CONTACT_CHANNEL_CONTACT_ID]) &&
		!inbox_column_changed(trigdata->tg_trigtuple, tuple, desc, col[CONTACT_CHANNEL_CHANNEL_ID]) &&
		!inbox_column_changed(trigdata->tg_trigtuple, tuple, desc, col[CONTACT_CHANNEL_SPACE_ID]))
		return PointerGetDatum(tuple);

	contact = inbox_get_int8(tuple, desc, col[CONTACT_CHANNEL_CONTACT_ID], &isnull);
	channel = inbox_get_int8(tuple, desc, col[CONTACT_CHANNEL_CHANNEL_ID], &isnull);
	space = inbox_row_space(tuple, desc, col[CONTACT_CHANNEL_SPACE_ID], "contact_channel");

	inbox_spi_connect();
	inbox_require_contact(space, contact, true);	/* a merged contact has no identity */
	(void) inbox_channel_facts(space, channel);
	SPI_finish();

	return PointerGetDatum(tuple);
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
		" WHERE space_id = $4 AND contact_id = $1 AND NOT (channel_id = $2 AND external_id = $3) LIMIT 1",
		4, {INT8OID, INT8OID, TEXTOID, INT8OID}
	};
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	const AttrNumber *col;
	HeapTuple	tuple;
	InboxActor	actor = inbox_current_actor();
	bool		isnull;
	int64		contact,
				channel,
				space;
	Datum		values[4];

	inbox_check_trigger(fcinfo, "contact_channel_after_insert");
	desc = trigdata->tg_relation->rd_att;
	col = inbox_columns(trigdata->tg_relation, TABLE_CONTACT_CHANNEL);
	tuple = trigdata->tg_trigtuple;

	contact = inbox_get_int8(tuple, desc, col[CONTACT_CHANNEL_CONTACT_ID], &isnull);
	channel = inbox_get_int8(tuple, desc, col[CONTACT_CHANNEL_CHANNEL_ID], &isnull);
	values[0] = Int64GetDatum(contact);
	values[1] = Int64GetDatum(channel);
	values[2] = inbox_get_datum(tuple, desc, col[CONTACT_CHANNEL_EXTERNAL_ID], &isnull);
	space = inbox_get_int8(tuple, desc, col[CONTACT_CHANNEL_SPACE_ID], &isnull);
	values[3] = Int64GetDatum(space);

	inbox_spi_connect();
	if (inbox_exec(&q_others, values, NULL, 1) > 0)
	{
		InboxEvent	event = {
			.space = space,
			.contact = contact,
			.kind = "channel_added",
			.actor = &actor,
			.data = inbox_event_data("channel", Int64GetDatum(channel), INT8OID),
		};

		(void) inbox_write_event(&event);
	}
	SPI_finish();

	return PointerGetDatum(NULL);
}
