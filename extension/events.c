/*-------------------------------------------------------------------------
 *
 * events.c
 *	  Conversation events: writing them (every event inbox writes goes
 *	  through inbox_write_event here), checking and completing every event
 *	  row, whoever writes it.
 *
 * An event's (kind, actor kind) pair must be in inbox.event_kind; the
 * agents it names must be members of the contact's space; an event
 * without a conversation belongs to the one open when it happens (rule 7);
 * its time is finite and before the year 10000, as a message's (history
 * shows it and pages by it).  bot_status_on / bot_status_off events set
 * contact.bot_active.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_event_before_insert);
PG_FUNCTION_INFO_V1(inbox_event_after_insert);
PG_FUNCTION_INFO_V1(inbox_event_before_change);

/*
 * Write an event (the one place that inserts one, but for the snoozes a
 * mass expiry ends: inbox_write_events).  The rules of event_before_insert
 * below check and complete it: its contact in its space, and its
 * conversation when none is given.  Returns its id.
 */
int64
inbox_write_event(const InboxEvent *event)
{
	static InboxQuery q = {
		"INSERT INTO inbox.event (contact_id, conversation_id, kind, actor_kind, actor_agent_id,"
		" target_agent_id, reference, source_url, created_at, data, space_id)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, now()), $10, $11) RETURNING id",
		11, {INT8OID, INT8OID, TEXTOID, TEXTOID, INT8OID, INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID, JSONBOID,
		INT8OID}
	};
	Datum		values[11];
	char		nulls[11];
	int64		id = 0;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(event->contact);
	values[1] = Int64GetDatum(event->conversation);
	nulls[1] = event->conversation ? ' ' : 'n';
	values[2] = CStringGetTextDatum(event->kind);
	values[3] = CStringGetTextDatum(event->actor->kind);
	values[4] = Int64GetDatum(event->actor->agent);
	nulls[4] = event->actor->agent ? ' ' : 'n';
	values[5] = Int64GetDatum(event->target_agent);
	nulls[5] = event->target_agent ? ' ' : 'n';
	values[6] = event->reference ? CStringGetTextDatum(event->reference) : (Datum) 0;
	nulls[6] = event->reference ? ' ' : 'n';
	values[7] = event->source_url ? CStringGetTextDatum(event->source_url) : (Datum) 0;
	nulls[7] = event->source_url ? ' ' : 'n';
	values[8] = TimestampTzGetDatum(event->at);
	nulls[8] = event->at ? ' ' : 'n';
	values[9] = event->data;
	nulls[9] = event->data ? ' ' : 'n';
	values[10] = Int64GetDatum(event->space);

	inbox_exec(&q, values, nulls, 1);
	(void) inbox_int8(1, &id);
	return id;
}

/*
 * Write n events of one kind and actor in one statement, for the contacts
 * (bigint), spaces (bigint) and data (jsonb) given: the snoozes a mass
 * expiry ends (snooze.c), run as that actor.
 */
void
inbox_write_events(int n, Datum *contacts, Datum *spaces, Datum *data,
				   const char *kind, const InboxActor *actor)
{
	static InboxQuery q = {
		"INSERT INTO inbox.event (contact_id, space_id, kind, actor_kind, actor_agent_id, data)"
		" SELECT e.contact_id, e.space_id, $4, $5, $6, e.data"
		" FROM unnest($1, $2, $3) AS e (contact_id, space_id, data)",
		6, {INT8ARRAYOID, INT8ARRAYOID, JSONBARRAYOID, TEXTOID, TEXTOID, INT8OID}
	};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', actor->agent ? ' ' : 'n'};

	values[0] = PointerGetDatum(construct_array(contacts, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = PointerGetDatum(construct_array(spaces, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[2] = PointerGetDatum(construct_array(data, n, JSONBOID, -1, false, TYPALIGN_INT));
	values[3] = CStringGetTextDatum(kind);
	values[4] = CStringGetTextDatum(actor->kind);
	values[5] = Int64GetDatum(actor->agent);
	inbox_exec_as(actor, &q, values, nulls, 0);
}

/*
 * An event's data of one key: {"key": value} for a bigint or a timestamptz
 * value, as jsonb_build_object() makes it (a number; a string in the
 * format of to_jsonb()).
 */
Datum
inbox_event_data(const char *key, Datum value, Oid type)
{
	JsonbParseState *state = NULL;
	JsonbValue	k,
				v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	if (type == INT8OID)
	{
		v.type = jbvNumeric;
		v.val.numeric = int64_to_numeric(DatumGetInt64(value));
	}
	else if (type == TIMESTAMPTZOID)
	{
		v.type = jbvString;
		v.val.string.val = JsonEncodeDateTime(NULL, value, TIMESTAMPTZOID, NULL);
		v.val.string.len = strlen(v.val.string.val);
	}
	else
		elog(ERROR, "inbox: no event data of type %u", type);

	(void) pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	(void) pushJsonbValue(&state, WJB_KEY, &k);
	(void) pushJsonbValue(&state, WJB_VALUE, &v);
	return JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL)));
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

/*
 * A conversation a row names (an event, a comment) is one of the row's
 * contact, in the row's space.
 */
void
inbox_check_conversation_of(int64 space, int64 conversation, int64 contact)
{
	static InboxQuery q = {
		"SELECT contact_id FROM inbox.conversation WHERE space_id = $1 AND id = $2",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(space), Int64GetDatum(conversation)};
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
	const AttrNumber *col;
	HeapTuple	tuple;
	InboxTupleEdit edit;
	bool		isnull;
	int64		contact,
				space,
				agent,
				target,
				conversation;

	inbox_check_trigger(fcinfo, "event_before_insert");
	desc = trigdata->tg_relation->rd_att;
	col = inbox_columns(trigdata->tg_relation, TABLE_EVENT);
	tuple = trigdata->tg_trigtuple;
	inbox_edit_init(&edit);

	inbox_spi_connect();

	check_kind_and_actor(inbox_get_text(tuple, desc, col[EVENT_KIND]),
						 inbox_get_text(tuple, desc, col[EVENT_ACTOR_KIND]));
	inbox_check_time_written(NULL, tuple, desc, col[EVENT_CREATED_AT], "event",
							 inbox_get_int8(tuple, desc, col[EVENT_ID], &isnull));

	contact = inbox_get_int8(tuple, desc, col[EVENT_CONTACT_ID], &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an event needs a contact")));
	space = inbox_row_space(tuple, desc, col[EVENT_SPACE_ID], "event");
	inbox_require_contact(space, contact, true);

	agent = inbox_get_int8(tuple, desc, col[EVENT_ACTOR_AGENT_ID], &isnull);
	if (!isnull)
		inbox_check_agent_in_space(space, agent);
	target = inbox_get_int8(tuple, desc, col[EVENT_TARGET_AGENT_ID], &isnull);
	if (!isnull && target != agent)	/* an agent who takes a contact: checked once */
		inbox_check_agent_in_space(space, target);

	conversation = inbox_get_int8(tuple, desc, col[EVENT_CONVERSATION_ID], &isnull);
	if (isnull)
	{
		conversation = inbox_open_conversation_of(space, contact, false);
		if (conversation != 0)
			inbox_edit_set(&edit, desc, col[EVENT_CONVERSATION_ID], Int64GetDatum(conversation), false);
	}
	else
		inbox_check_conversation_of(space, conversation, contact);

	tuple = inbox_edit_apply(&edit, tuple, desc);
	SPI_finish();
	return PointerGetDatum(tuple);
}

/* fired only for bot_status_on / bot_status_off (see the trigger's WHEN) */
Datum
inbox_event_after_insert(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {
		"UPDATE inbox.contact SET bot_active = $2"
		" WHERE space_id = $3 AND id = $1 AND bot_active IS DISTINCT FROM $2",
		3, {INT8OID, BOOLOID, INT8OID}
	};
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	const AttrNumber *col;
	HeapTuple	tuple;
	bool		isnull;
	Datum		values[3];
	char	   *kind;

	inbox_check_trigger(fcinfo, "event_after_insert");
	desc = trigdata->tg_relation->rd_att;
	col = inbox_columns(trigdata->tg_relation, TABLE_EVENT);
	tuple = trigdata->tg_trigtuple;
	kind = inbox_get_text(tuple, desc, col[EVENT_KIND]);

	if (strcmp(kind, "bot_status_on") != 0 && strcmp(kind, "bot_status_off") != 0)
		return PointerGetDatum(NULL);

	values[0] = Int64GetDatum(inbox_get_int8(tuple, desc, col[EVENT_CONTACT_ID], &isnull));
	values[1] = BoolGetDatum(strcmp(kind, "bot_status_on") == 0);
	values[2] = Int64GetDatum(inbox_get_int8(tuple, desc, col[EVENT_SPACE_ID], &isnull));

	inbox_spi_connect();
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
	static InboxQuery q = {"SELECT pg_trigger_depth()", 0, {InvalidOid}};
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const AttrNumber *col;
	AttrNumber	agent_columns[2];
	bool		isnull;
	int32		depth;

	inbox_check_trigger(fcinfo, "event_before_change");
	if (INBOX_MERGING())
		return PointerGetDatum(TRIGGER_FIRED_BY_DELETE(trigdata->tg_event)
							   ? trigdata->tg_trigtuple : trigdata->tg_newtuple);

	col = inbox_columns(trigdata->tg_relation, TABLE_EVENT);
	agent_columns[0] = col[EVENT_ACTOR_AGENT_ID];
	agent_columns[1] = col[EVENT_TARGET_AGENT_ID];
	inbox_spi_connect();
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
		inbox_only_agents_cleared(inbox_get_int8(trigdata->tg_trigtuple, trigdata->tg_relation->rd_att,
												 col[EVENT_SPACE_ID], &isnull),
								  trigdata->tg_trigtuple, trigdata->tg_newtuple,
								  trigdata->tg_relation->rd_att, agent_columns, 2))
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
												   col[EVENT_ID], &isnull),
						TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ? "deleted" : "changed"),
				 errhint("Deleting the contact deletes its history.")));
	return PointerGetDatum(trigdata->tg_trigtuple);
}
