/*-------------------------------------------------------------------------
 *
 * events.c
 *	  Conversation events: checking and completing every event row, and
 *	  writing the events the rules cause.
 *
 * An event's (kind, actor kind) pair must be in inbox.event_kind; the
 * agents it names must be members of the contact's space; an event
 * without a conversation belongs to the one open when it happens (rule 7).
 * bot_status_on / bot_status_off events set contact.bot_active.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_event_before_insert);
PG_FUNCTION_INFO_V1(inbox_event_after_insert);
PG_FUNCTION_INFO_V1(inbox_event_before_change);

/*
 * Write an event for the given actor.  conversation 0 = the open one, if
 * any; at 0 = now.
 */
int64
inbox_write_event(int64 contact, int64 conversation, const char *kind,
				  const InboxActor *actor, int64 target_agent,
				  const char *reference, const char *source_url, TimestampTz at)
{
	static InboxQuery q = {
		"INSERT INTO inbox.event (contact_id, conversation_id, kind, actor_kind, actor_agent_id,"
		" target_agent_id, reference, source_url, created_at)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, now())) RETURNING id",
		9, {INT8OID, INT8OID, TEXTOID, TEXTOID, INT8OID, INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID}
	};
	Datum		values[9];
	char		nulls[9];
	int64		id = 0;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(contact);
	values[1] = Int64GetDatum(conversation);
	nulls[1] = conversation ? ' ' : 'n';
	values[2] = CStringGetTextDatum(kind);
	values[3] = CStringGetTextDatum(actor->kind);
	values[4] = Int64GetDatum(actor->agent);
	nulls[4] = actor->agent ? ' ' : 'n';
	values[5] = Int64GetDatum(target_agent);
	nulls[5] = target_agent ? ' ' : 'n';
	values[6] = reference ? CStringGetTextDatum(reference) : (Datum) 0;
	nulls[6] = reference ? ' ' : 'n';
	values[7] = source_url ? CStringGetTextDatum(source_url) : (Datum) 0;
	nulls[7] = source_url ? ' ' : 'n';
	values[8] = TimestampTzGetDatum(at);
	nulls[8] = at ? ' ' : 'n';

	inbox_exec(&q, values, nulls, 1);
	(void) inbox_int8(1, &id);
	return id;
}

static void
check_kind_and_actor(const char *kind, const char *actor_kind)
{
	static InboxQuery q_pair = {
		"SELECT 1 FROM inbox.event_kind WHERE kind = $1 AND actor_kind = $2",
		2, {TEXTOID, TEXTOID}
	};
	static InboxQuery q_actors = {
		"SELECT string_agg(actor_kind, ', ' ORDER BY actor_kind) FROM inbox.event_kind WHERE kind = $1",
		1, {TEXTOID}
	};
	Datum		values[2];
	char	   *allowed;

	if (kind == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("event kind must not be null")));
	if (actor_kind == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("actor kind of event \"%s\" must not be null", kind)));
	inbox_check_actor_kind(actor_kind);

	values[0] = CStringGetTextDatum(kind);
	values[1] = CStringGetTextDatum(actor_kind);
	if (inbox_exec(&q_pair, values, NULL, 1) == 1)
		return;

	inbox_exec(&q_actors, values, NULL, 1);
	allowed = inbox_text(1);
	if (allowed == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown event kind \"%s\"", kind),
				 errhint("The event kinds are listed in inbox.event_kind.")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("event \"%s\" cannot be caused by actor kind \"%s\"", kind, actor_kind),
			 errdetail("Event \"%s\" is caused by: %s.", kind, allowed)));
}

static int64
contact_space(int64 contact)
{
	static InboxQuery q = {
		"SELECT space_id, merged_into FROM inbox.contact WHERE id = $1",
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

static void
check_conversation_of(int64 conversation, int64 contact)
{
	static InboxQuery q = {
		"SELECT contact_id FROM inbox.conversation WHERE id = $1",
		1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(conversation)};
	int64		owner;

	inbox_exec(&q, values, NULL, 1);
	if (!inbox_int8(1, &owner))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("conversation %lld does not exist", (long long) conversation)));
	if (owner != contact)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("conversation %lld is not a conversation of contact %lld",
						(long long) conversation, (long long) contact)));
}

Datum
inbox_event_before_insert(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	InboxTupleEdit edit;
	bool		isnull;
	int64		contact,
				space,
				given_space,
				agent,
				conversation;

	inbox_check_trigger(fcinfo, "event_before_insert");
	desc = trigdata->tg_relation->rd_att;
	tuple = trigdata->tg_trigtuple;
	inbox_edit_init(&edit);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inbox: SPI_connect failed");

	check_kind_and_actor(inbox_get_text(tuple, desc, "kind"),
						 inbox_get_text(tuple, desc, "actor_kind"));

	contact = inbox_get_int8(tuple, desc, "contact_id", &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an event needs a contact")));
	space = contact_space(contact);
	given_space = inbox_get_int8(tuple, desc, "space_id", &isnull);
	if (isnull)
		inbox_edit_set(&edit, desc, "space_id", Int64GetDatum(space), false);
	else if (given_space != space)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("contact %lld is not in space %lld", (long long) contact, (long long) given_space)));

	agent = inbox_get_int8(tuple, desc, "actor_agent_id", &isnull);
	if (!isnull)
		inbox_check_agent_in_space(agent, space);
	agent = inbox_get_int8(tuple, desc, "target_agent_id", &isnull);
	if (!isnull)
		inbox_check_agent_in_space(agent, space);

	conversation = inbox_get_int8(tuple, desc, "conversation_id", &isnull);
	if (isnull)
	{
		conversation = inbox_open_conversation_of(contact, false);
		if (conversation != 0)
			inbox_edit_set(&edit, desc, "conversation_id", Int64GetDatum(conversation), false);
	}
	else
		check_conversation_of(conversation, contact);

	tuple = inbox_edit_apply(&edit, tuple, desc);
	SPI_finish();
	return PointerGetDatum(tuple);
}

/* fired only for bot_status_on / bot_status_off (see the trigger's WHEN) */
Datum
inbox_event_after_insert(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {
		"UPDATE inbox.contact SET bot_active = $2 WHERE id = $1 AND bot_active IS DISTINCT FROM $2",
		2, {INT8OID, BOOLOID}
	};
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	bool		isnull;
	Datum		values[2];
	char	   *kind;

	inbox_check_trigger(fcinfo, "event_after_insert");
	desc = trigdata->tg_relation->rd_att;
	tuple = trigdata->tg_trigtuple;
	kind = inbox_get_text(tuple, desc, "kind");

	if (strcmp(kind, "bot_status_on") != 0 && strcmp(kind, "bot_status_off") != 0)
		return PointerGetDatum(NULL);

	values[0] = Int64GetDatum(inbox_get_int8(tuple, desc, "contact_id", &isnull));
	values[1] = BoolGetDatum(strcmp(kind, "bot_status_on") == 0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inbox: SPI_connect failed");
	inbox_exec(&q, values, NULL, 0);
	SPI_finish();
	return PointerGetDatum(NULL);
}

/*
 * BEFORE UPDATE OR DELETE on inbox.event: events are the contact's history
 * and do not change.  merge.c moves them between contacts; deleting a
 * contact or a conversation takes its events along (those deletes come
 * from a foreign key's cascade, a trigger of its own); deleting an agent
 * clears it from the events it caused.
 */
Datum
inbox_event_before_change(PG_FUNCTION_ARGS)
{
	static const char *const agent_columns[] = {"actor_agent_id", "target_agent_id", NULL};
	static InboxQuery q = {"SELECT pg_trigger_depth()", 0, {InvalidOid}};
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	bool		isnull;
	int32		depth;

	inbox_check_trigger(fcinfo, "event_before_change");
	if (inbox_current_actor().merging)
		return PointerGetDatum(TRIGGER_FIRED_BY_DELETE(trigdata->tg_event)
							   ? trigdata->tg_trigtuple : trigdata->tg_newtuple);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inbox: SPI_connect failed");
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
		inbox_only_agents_cleared(trigdata->tg_trigtuple, trigdata->tg_newtuple,
								  trigdata->tg_relation->rd_att, agent_columns))
	{
		SPI_finish();
		return PointerGetDatum(trigdata->tg_newtuple);	/* its actor was deleted */
	}
	inbox_exec(&q, NULL, NULL, 1);
	depth = DatumGetInt32(inbox_value(1, &isnull));
	SPI_finish();

	if (!TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) || depth <= 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("event %lld is history and cannot be %s",
						(long long) inbox_get_int8(trigdata->tg_trigtuple, trigdata->tg_relation->rd_att,
												   "id", &isnull),
						TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ? "deleted" : "changed"),
				 errhint("Deleting the contact deletes its history.")));
	return PointerGetDatum(trigdata->tg_trigtuple);
}
