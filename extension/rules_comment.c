/*-------------------------------------------------------------------------
 *
 * rules_comment.c
 *	  Rules on the team's internal notes on a contact (inbox.comment).
 *
 * A note is the team's, never the contact's: it lives in a table of its
 * own, which nothing that sends or counts messages reads (the delivery of
 * pending messages, unread counts, the last message, the messaging
 * window).  add_comment() writes one (comments.c); these rules hold for a
 * plain INSERT as well:
 * - it names its space, and its contact (not merged into another), its
 *   author and every agent it mentions are of that space;
 * - its body shows something, and its time is not ahead of the clock (as
 *   a message's, arguments.c);
 * - each mentioned agent is listed once (notify.c tells each one);
 * - it belongs to the conversation open when it is written (rule 7, as an
 *   event); its contact is locked as a message locks it, so that a merge
 *   or a close of the contact and the note queue behind each other;
 * - like an event it is history: it is not changed afterwards, but merges
 *   move it between contacts and a deleted author is cleared from it.  An
 *   admin may delete one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_comment_before_write);

/*
 * The mentioned agents, each once, in the order first given; every one an
 * agent of the space (P0002 names the first that is not).
 */
static void
check_mentions(int64 space, Datum mentions, TupleDesc desc, const AttrNumber *col, InboxTupleEdit *edit)
{
	static InboxQuery q = {
		"SELECT (SELECT m FROM unnest($2) WITH ORDINALITY u (m, n)"
		"        WHERE NOT EXISTS (SELECT FROM inbox.agent a WHERE a.space_id = $1 AND a.id = u.m)"
		"        ORDER BY n LIMIT 1),"
		"  ARRAY(SELECT m FROM unnest($2) WITH ORDINALITY u (m, n) GROUP BY m ORDER BY min(n)),"
		"  cardinality($2) > (SELECT count(DISTINCT m) FROM unnest($2) m)",
		2, {INT8OID, INT8ARRAYOID}
	};
	ArrayType  *array = DatumGetArrayTypeP(mentions);
	Datum		values[2] = {Int64GetDatum(space), PointerGetDatum(array)};
	int64		unknown;
	bool		isnull;

	if (ARR_NDIM(array) > 1 || array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mentions must be a list of agent ids, without nulls")));
	if (ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array)) == 0)
		return;

	inbox_exec(&q, values, NULL, 1);
	if (inbox_int8(1, &unknown))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("mentioned agent %lld does not exist in space %lld", (long long) unknown,
						(long long) space)));
	if (DatumGetBool(inbox_value(3, &isnull)))
		inbox_edit_set(edit, desc, col[COMMENT_MENTIONS], inbox_value(2, &isnull), false);
}

static void
before_insert(HeapTuple tuple, TupleDesc desc, const AttrNumber *col, InboxTupleEdit *edit)
{
	bool		isnull;
	int64		space = inbox_row_space(tuple, desc, col[COMMENT_SPACE_ID], "comment");
	int64		contact = inbox_get_int8(tuple, desc, col[COMMENT_CONTACT_ID], &isnull);
	int64		author,
				conversation,
				open_conversation;
	TimestampTz at;
	Datum		mentions;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a comment needs a contact")));
	author = inbox_get_int8(tuple, desc, col[COMMENT_AUTHOR_AGENT_ID], &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a comment needs the agent who writes it")));
	inbox_check_text_written(inbox_get_text(tuple, desc, col[COMMENT_BODY]), false, "comment");
	at = DatumGetTimestampTz(inbox_get_datum(tuple, desc, col[COMMENT_CREATED_AT], &isnull));
	if (!isnull)
	{
		if (!INBOX_TIME_IN_RANGE(at))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a comment's time must be a finite time before the year 10000")));
		inbox_check_time_not_ahead(at, "comment");
	}

	/*
	 * Locked in the order of inbox.h, as a message locks it: a merge of the
	 * contact waits for the note (and then moves it) or the note for the
	 * merge (and is then refused), and the conversation it lands in stays
	 * open until it commits.
	 */
	open_conversation = inbox_lock_contact_in_order(space, contact);
	inbox_check_agent_in_space(space, author);
	mentions = inbox_get_datum(tuple, desc, col[COMMENT_MENTIONS], &isnull);
	if (!isnull)
		check_mentions(space, mentions, desc, col, edit);

	conversation = inbox_get_int8(tuple, desc, col[COMMENT_CONVERSATION_ID], &isnull);
	if (isnull)
	{
		if (open_conversation != 0)
			inbox_edit_set(edit, desc, col[COMMENT_CONVERSATION_ID], Int64GetDatum(open_conversation), false);
	}
	else
		inbox_check_conversation_of(space, conversation, contact);
}

/* a note is history: only merges move it, and a deleted author leaves it */
static void
before_update(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc, const AttrNumber *col)
{
	bool		isnull;
	int64		space = inbox_get_int8(oldtuple, desc, col[COMMENT_SPACE_ID], &isnull);
	AttrNumber	agent_columns[1] = {col[COMMENT_AUTHOR_AGENT_ID]};

	if (INBOX_MERGING())
		return;
	if (inbox_only_agents_cleared(space, oldtuple, newtuple, desc, agent_columns, lengthof(agent_columns)))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("comment %lld is history and cannot be changed",
					(long long) inbox_get_int8(oldtuple, desc, col[COMMENT_ID], &isnull)),
			 errhint("Add another comment; an admin of the space may delete this one.")));
}

Datum
inbox_comment_before_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	const AttrNumber *col;
	HeapTuple	tuple;
	InboxTupleEdit edit;

	inbox_check_trigger(fcinfo, "comment_before_write");
	desc = trigdata->tg_relation->rd_att;
	col = inbox_columns(trigdata->tg_relation, TABLE_COMMENT);
	inbox_edit_init(&edit);

	inbox_spi_connect();
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		tuple = trigdata->tg_trigtuple;
		before_insert(tuple, desc, col, &edit);
	}
	else
	{
		tuple = trigdata->tg_newtuple;
		before_update(trigdata->tg_trigtuple, tuple, desc, col);
	}
	tuple = inbox_edit_apply(&edit, tuple, desc);
	SPI_finish();

	return PointerGetDatum(tuple);
}
