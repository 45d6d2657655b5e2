/*-------------------------------------------------------------------------
 *
 * tuple.c
 *	  The rows trigger functions get: the columns the C code reads, by
 *	  number; reading, comparing and editing a row; checking the times a
 *	  write puts in it; checking how a trigger function was called.
 *
 * Every row a rule looks at is read by column number.  The numbers of a
 * table's columns are looked up by name once per backend, when a trigger
 * of the table first fires, and kept until a relcache invalidation of the
 * table (ALTER TABLE, DROP/CREATE EXTENSION) says they may have changed;
 * looking a column up by name costs a scan of the table's attributes, and
 * the rules read a few dozen columns of every message written.
 *
 * Every column inbox names exists in every version of its schema, so a
 * missing one is an internal error (a table that is not inbox's), but for
 * the columns a later version added, which a schema not yet updated (ALTER
 * EXTENSION inbox UPDATE) lacks: their number is 0 there, and the rules
 * leave them alone (inbox_schema_has_column).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "inbox.h"

static const char *const contact_names[] = {
	[CONTACT_ID] = "id",
	[CONTACT_SPACE_ID] = "space_id",
	[CONTACT_FIRST_NAME] = "first_name",
	[CONTACT_LAST_NAME] = "last_name",
	[CONTACT_EMAIL] = "email",
	[CONTACT_PHONE] = "phone",
	[CONTACT_ASSIGNEE_ID] = "assignee_id",
	[CONTACT_ORIGIN_CHANNEL_ID] = "origin_channel_id",
	[CONTACT_SNOOZED_UNTIL] = "snoozed_until",
	[CONTACT_UNREAD_COUNT] = "unread_count",
	[CONTACT_LAST_MESSAGE_AT] = "last_message_at",
	[CONTACT_LAST_MESSAGE_DIRECTION] = "last_message_direction",
	[CONTACT_LAST_MESSAGE_ID] = "last_message_id",
	[CONTACT_LAST_CHANNEL_ID] = "last_channel_id",
	[CONTACT_MERGED_INTO] = "merged_into",
	[CONTACT_OPEN_CONVERSATION_ID] = "open_conversation_id",
	[CONTACT_SEARCH_TEXT] = "search_text",
	[CONTACT_PHONE_DIGITS] = "phone_digits",
	[CONTACT_LAST_MESSAGE_PREVIEW] = "last_message_preview",
	[CONTACT_LAST_MESSAGE_STATUS] = "last_message_status",
};

static const char *const contact_channel_names[] = {
	[CONTACT_CHANNEL_CONTACT_ID] = "contact_id",
	[CONTACT_CHANNEL_CHANNEL_ID] = "channel_id",
	[CONTACT_CHANNEL_SPACE_ID] = "space_id",
	[CONTACT_CHANNEL_EXTERNAL_ID] = "external_id",
	[CONTACT_CHANNEL_LAST_INCOMING_AT] = "last_incoming_at",
};

static const char *const conversation_names[] = {
	[CONVERSATION_ID] = "id",
	[CONVERSATION_SPACE_ID] = "space_id",
	[CONVERSATION_CONTACT_ID] = "contact_id",
	[CONVERSATION_OPENED_AT] = "opened_at",
	[CONVERSATION_OPENED_BY_KIND] = "opened_by_kind",
	[CONVERSATION_OPENED_BY_AGENT] = "opened_by_agent",
	[CONVERSATION_REFERENCE] = "reference",
	[CONVERSATION_SOURCE_URL] = "source_url",
	[CONVERSATION_CLOSED_AT] = "closed_at",
	[CONVERSATION_CLOSED_BY_KIND] = "closed_by_kind",
	[CONVERSATION_CLOSED_BY_AGENT] = "closed_by_agent",
	[CONVERSATION_CATEGORY] = "category",
	[CONVERSATION_SUMMARY] = "summary",
	[CONVERSATION_FIRST_RESPONSE_AT] = "first_response_at",
	[CONVERSATION_AUTO_CLOSE_FROM] = "auto_close_from",
	[CONVERSATION_AUTO_CLOSE_AT] = "auto_close_at",
};

static const char *const message_names[] = {
	[MESSAGE_ID] = "id",
	[MESSAGE_SPACE_ID] = "space_id",
	[MESSAGE_CONTACT_ID] = "contact_id",
	[MESSAGE_CONVERSATION_ID] = "conversation_id",
	[MESSAGE_CHANNEL_ID] = "channel_id",
	[MESSAGE_DIRECTION] = "direction",
	[MESSAGE_SENDER_KIND] = "sender_kind",
	[MESSAGE_SENDER_AGENT_ID] = "sender_agent_id",
	[MESSAGE_BODY] = "body",
	[MESSAGE_CONTENT] = "content",
	[MESSAGE_EXTERNAL_ID] = "external_id",
	[MESSAGE_REPLY_TO_EXTERNAL_ID] = "reply_to_external_id",
	[MESSAGE_REPLY_TO_ID] = "reply_to_id",
	[MESSAGE_STATUS] = "status",
	[MESSAGE_SENT_AT] = "sent_at",
	[MESSAGE_DELIVERED_AT] = "delivered_at",
	[MESSAGE_READ_AT] = "read_at",
	[MESSAGE_FAILED_AT] = "failed_at",
	[MESSAGE_CREATED_AT] = "created_at",
};

static const char *const event_names[] = {
	[EVENT_ID] = "id",
	[EVENT_SPACE_ID] = "space_id",
	[EVENT_CONTACT_ID] = "contact_id",
	[EVENT_CONVERSATION_ID] = "conversation_id",
	[EVENT_KIND] = "kind",
	[EVENT_ACTOR_KIND] = "actor_kind",
	[EVENT_ACTOR_AGENT_ID] = "actor_agent_id",
	[EVENT_TARGET_AGENT_ID] = "target_agent_id",
	[EVENT_CREATED_AT] = "created_at",
};

static const char *const view_names[] = {
	[VIEW_SPACE_ID] = "space_id",
	[VIEW_OWNER_AGENT_ID] = "owner_agent_id",
	[VIEW_NAME] = "name",
	[VIEW_FILTER] = "filter",
};

static const char *const comment_names[] = {
	[COMMENT_ID] = "id",
	[COMMENT_SPACE_ID] = "space_id",
	[COMMENT_CONTACT_ID] = "contact_id",
	[COMMENT_CONVERSATION_ID] = "conversation_id",
	[COMMENT_AUTHOR_AGENT_ID] = "author_agent_id",
	[COMMENT_BODY] = "body",
	[COMMENT_MENTIONS] = "mentions",
	[COMMENT_CREATED_AT] = "created_at",
};

StaticAssertDecl(lengthof(contact_names) == CONTACT_NCOLUMNS, "a name per contact column");
StaticAssertDecl(lengthof(contact_channel_names) == CONTACT_CHANNEL_NCOLUMNS, "a name per contact_channel column");
StaticAssertDecl(lengthof(conversation_names) == CONVERSATION_NCOLUMNS, "a name per conversation column");
StaticAssertDecl(lengthof(message_names) == MESSAGE_NCOLUMNS, "a name per message column");
StaticAssertDecl(lengthof(event_names) == EVENT_NCOLUMNS, "a name per event column");
StaticAssertDecl(lengthof(view_names) == VIEW_NCOLUMNS, "a name per view column");
StaticAssertDecl(lengthof(comment_names) == COMMENT_NCOLUMNS, "a name per comment column");

#define MAX_COLUMNS 24

/* a table's columns and, once looked up, their numbers in its relation */
typedef struct TableColumns
{
	const char *table;
	const char *const *names;
	int			ncolumns;
	int			nrequired;		/* the columns from this one on came with 2.0's list rows */
	Oid			relid;			/* whose numbers attnums holds; InvalidOid = none */
	int			natts;			/* of that relation when they were looked up */
	AttrNumber	attnums[MAX_COLUMNS];
} TableColumns;

static TableColumns tables[TABLE_COUNT] = {
	[TABLE_CONTACT] = {"contact", contact_names, CONTACT_NCOLUMNS, CONTACT_LAST_MESSAGE_PREVIEW},
	[TABLE_CONTACT_CHANNEL] = {"contact_channel", contact_channel_names, CONTACT_CHANNEL_NCOLUMNS,
	CONTACT_CHANNEL_NCOLUMNS},
	[TABLE_CONVERSATION] = {"conversation", conversation_names, CONVERSATION_NCOLUMNS, CONVERSATION_NCOLUMNS},
	[TABLE_MESSAGE] = {"message", message_names, MESSAGE_NCOLUMNS, MESSAGE_NCOLUMNS},
	[TABLE_EVENT] = {"event", event_names, EVENT_NCOLUMNS, EVENT_NCOLUMNS},
	[TABLE_VIEW] = {"view", view_names, VIEW_NCOLUMNS, VIEW_NCOLUMNS},
	[TABLE_COMMENT] = {"comment", comment_names, COMMENT_NCOLUMNS, COMMENT_NCOLUMNS},
};

StaticAssertDecl(MESSAGE_NCOLUMNS <= MAX_COLUMNS && CONTACT_NCOLUMNS <= MAX_COLUMNS,
				 "room for every column");

static bool callback_registered = false;

/* a relcache invalidation: the numbers of that table (or of all) are looked up again */
static void
forget_columns(Datum arg, Oid relid)
{
	for (int t = 0; t < TABLE_COUNT; t++)
		if (relid == InvalidOid || tables[t].relid == relid)
			tables[t].relid = InvalidOid;
}

/*
 * The attribute numbers of a table's columns in rel (a trigger's relation,
 * which is that table), indexed by the table's column enum.
 */
const AttrNumber *
inbox_columns(Relation rel, InboxTable table)
{
	TableColumns *t = &tables[table];
	TupleDesc	desc = RelationGetDescr(rel);

	if (t->relid == RelationGetRelid(rel) && t->natts == desc->natts)
		return t->attnums;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(forget_columns, (Datum) 0);
		callback_registered = true;
	}
	for (int i = 0; i < t->ncolumns; i++)
	{
		int			attnum = SPI_fnumber(desc, t->names[i]);

		if (attnum <= 0 && i >= t->nrequired)
			attnum = InvalidAttrNumber; /* a schema of 1.x */
		else if (attnum <= 0)
			elog(ERROR, "inbox: column \"%s\" of table \"%s\" not found", t->names[i], t->table);
		t->attnums[i] = (AttrNumber) attnum;
	}
	t->relid = RelationGetRelid(rel);
	t->natts = desc->natts;
	return t->attnums;
}

/*
 * Whether table inbox.<table> has a column: false for a column of 2.0
 * while the SQL objects are of 1.x (the library is updated first, the
 * schema by ALTER EXTENSION inbox UPDATE).  Two catalogue cache look-ups.
 */
bool
inbox_schema_has_column(const char *table, const char *column)
{
	Oid			relid = get_relname_relid(table, get_namespace_oid("inbox", false));

	return OidIsValid(relid) && get_attnum(relid, column) != InvalidAttrNumber;
}

/* the table of a name a trigger is given as its argument (notify.c) */
bool
inbox_table_named(const char *name, InboxTable *table)
{
	for (int t = 0; t < TABLE_COUNT; t++)
	{
		if (strcmp(tables[t].table, name) == 0)
		{
			*table = (InboxTable) t;
			return true;
		}
	}
	return false;
}

Datum
inbox_get_datum(HeapTuple tuple, TupleDesc desc, AttrNumber attnum, bool *isnull)
{
	return heap_getattr(tuple, attnum, desc, isnull);
}

/* a bigint column, 0 when NULL (*isnull says which) */
int64
inbox_get_int8(HeapTuple tuple, TupleDesc desc, AttrNumber attnum, bool *isnull)
{
	Datum		d = heap_getattr(tuple, attnum, desc, isnull);

	return *isnull ? 0 : DatumGetInt64(d);
}

/* an integer column that is NOT NULL */
int32
inbox_get_int4(HeapTuple tuple, TupleDesc desc, AttrNumber attnum)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, desc, &isnull);

	return isnull ? 0 : DatumGetInt32(d);
}

/* a text column as a C string, NULL when SQL NULL */
char *
inbox_get_text(HeapTuple tuple, TupleDesc desc, AttrNumber attnum)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, desc, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

bool
inbox_is_null(HeapTuple tuple, TupleDesc desc, AttrNumber attnum)
{
	return heap_attisnull(tuple, attnum, desc);
}

bool
inbox_column_changed(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc, AttrNumber attnum)
{
	Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);
	bool		oldnull,
				newnull;
	Datum		oldval = heap_getattr(oldtuple, attnum, desc, &oldnull);
	Datum		newval = heap_getattr(newtuple, attnum, desc, &newnull);

	if (oldnull || newnull)
		return oldnull != newnull;
	return !datumIsEqual(oldval, newval, att->attbyval, att->attlen);
}

/*
 * A time a write puts in a row (oldtuple NULL: an insert; an UPDATE only
 * when it changes it) is finite and before the year 10000
 * (INBOX_TIME_IN_RANGE): the rules compare and add to the times of a
 * row, history and the lists show them, and client libraries cannot read
 * infinity or a five-digit year.  NULL is left to the column's own
 * constraint; a time an UPDATE leaves as it was is not looked at.
 */
void
inbox_check_time_written(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc, AttrNumber attnum,
						 const char *table, int64 id)
{
	bool		isnull;
	Datum		value = heap_getattr(newtuple, attnum, desc, &isnull);

	if (isnull || INBOX_TIME_IN_RANGE(DatumGetTimestampTz(value)))
		return;
	if (oldtuple != NULL && !inbox_column_changed(oldtuple, newtuple, desc, attnum))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("column \"%s\" of %s %lld must be a finite time before the year 10000",
					NameStr(TupleDescAttr(desc, attnum - 1)->attname), table, (long long) id)));
}

/*
 * Changes a BEFORE trigger makes to the row it returns, applied at once
 * with heap_modify_tuple_by_cols.  Call inbox_edit_init before
 * SPI_connect: values and the result row are kept in the trigger's own
 * memory context, which outlives SPI_finish.
 */
void
inbox_edit_init(InboxTupleEdit *edit)
{
	memset(edit, 0, sizeof(*edit));
	edit->context = CurrentMemoryContext;
}

void
inbox_edit_set(InboxTupleEdit *edit, TupleDesc desc, AttrNumber attnum, Datum value, bool isnull)
{
	Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);
	MemoryContext old;

	if (edit->count >= INBOX_MAX_EDITS)
		elog(ERROR, "inbox: too many column edits");
	old = MemoryContextSwitchTo(edit->context);
	edit->attnums[edit->count] = attnum;
	edit->values[edit->count] = isnull ? (Datum) 0 : datumCopy(value, att->attbyval, att->attlen);
	edit->nulls[edit->count] = isnull;
	edit->count++;
	MemoryContextSwitchTo(old);
}

HeapTuple
inbox_edit_apply(InboxTupleEdit *edit, HeapTuple tuple, TupleDesc desc)
{
	MemoryContext old;
	HeapTuple	result;

	if (edit->count == 0)
		return tuple;
	old = MemoryContextSwitchTo(edit->context);
	result = heap_modify_tuple_by_cols(tuple, desc, edit->count, edit->attnums,
									   edit->values, edit->nulls);
	MemoryContextSwitchTo(old);
	return result;
}

/* a trigger function called directly refuses to run */
void
inbox_check_called_as_trigger(FunctionCallInfo fcinfo, const char *name)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by the trigger manager", name)));
}

/* ... and a row trigger function fired for a statement too */
void
inbox_check_trigger(FunctionCallInfo fcinfo, const char *name)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	inbox_check_called_as_trigger(fcinfo, name);
	if (!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired for each row", name)));
}

/*
 * How a table's trigger of that name fires (pg_trigger.tgenabled: 'O'
 * origin, 'A' always, 'R' replica, 'D' disabled), '\0' when there is
 * none: the C code of a newer release runs on the schema of an older one
 * until ALTER EXTENSION inbox UPDATE, and must then do what that schema
 * expects of it.
 */
char
inbox_trigger_state(Relation rel, const char *name)
{
	TriggerDesc *triggers = rel->trigdesc;

	for (int i = 0; triggers != NULL && i < triggers->numtriggers; i++)
		if (strcmp(triggers->triggers[i].tgname, name) == 0)
			return triggers->triggers[i].tgenabled;
	return '\0';
}
