/*-------------------------------------------------------------------------
 *
 * lookups.c
 *	  The rows every rule and API function looks up, and the row locks
 *	  they take, in the locking order of inbox.h.
 *
 * - A contact: its space, refusing a contact merged into another (which
 *   owns nothing: no rule may give it a message, conversation or event;
 *   merge.c moves rows with the actor flag `merging` set).
 * - Its open conversation, and the locks: the open conversation row, then
 *   the contact row (FOR NO KEY UPDATE, so that rows referencing the
 *   contact can still be inserted by others meanwhile).
 * - Agents and spaces: that an agent exists and is one of a space.
 * - The space of a row written with its contact: given or filled in, it is
 *   the contact's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "inbox.h"

/*
 * A contact merged into another: no rule may act on it (but merge.c, which
 * moves its rows).  col is the column of the last query's first row that
 * holds merged_into.
 */
static void
check_not_merged(int64 contact, int col)
{
	bool		isnull;
	Datum		merged_into = inbox_value(col, &isnull);

	if (!isnull && !INBOX_MERGING())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("contact %lld is merged into contact %lld", (long long) contact,
						(long long) DatumGetInt64(merged_into)),
				 errhint("Act on the contact it was merged into, or unmerge it with inbox.unmerge_contacts().")));
}

/* a contact's space, the row locked or not, a merged contact refused or not */
static int64
contact_space(int64 contact, bool lock, bool refuse_merged)
{
	static InboxQuery q_read = {
		"SELECT space_id, merged_into FROM inbox.contact WHERE id = $1", 1, {INT8OID}
	};
	static InboxQuery q_lock = {
		"SELECT space_id, merged_into FROM inbox.contact WHERE id = $1 FOR NO KEY UPDATE",
		1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(contact)};
	int64		space;

	inbox_exec(lock ? &q_lock : &q_read, values, NULL, 1);
	if (!inbox_int8(1, &space))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("contact %lld does not exist", (long long) contact)));
	if (refuse_merged)
		check_not_merged(contact, 2);
	return space;
}

/*
 * The space of a contact; with refuse_merged, a contact merged into another
 * is refused (55000).  P0002 when there is no such contact.
 */
int64
inbox_contact_space(int64 contact, bool refuse_merged)
{
	return contact_space(contact, false, refuse_merged);
}

/*
 * Lock a contact row for the rules that change it or its conversations;
 * returns its space.  A merged contact is refused.
 */
int64
inbox_lock_contact(int64 contact)
{
	return contact_space(contact, true, true);
}

/* lock a contact row, merged or not (inbox_lock_contact refuses merged ones) */
void
inbox_lock_contact_row(int64 contact)
{
	static InboxQuery q = {"SELECT 1 FROM inbox.contact WHERE id = $1 FOR NO KEY UPDATE", 1, {INT8OID}};
	Datum		values[1] = {Int64GetDatum(contact)};

	inbox_exec(&q, values, NULL, 1);
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

/*
 * Lock a contact in the locking order of inbox.h: its open conversation
 * (returned in *open_conversation, if asked, 0 if none), then the contact
 * row.  Returns the contact's space; a merged contact is refused.
 */
int64
inbox_lock_contact_in_order(int64 contact, int64 *open_conversation)
{
	int64		conversation = inbox_open_conversation_of(contact, true);

	if (open_conversation != NULL)
		*open_conversation = conversation;
	return inbox_lock_contact(contact);
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

/*
 * A row written with its contact (an identity, a conversation, a message,
 * an event) is of the contact's space: the space column (attnum) of a row
 * without one is filled in, one that names another space is refused.
 */
void
inbox_fill_space(HeapTuple tuple, TupleDesc desc, AttrNumber attnum, int64 contact, int64 space,
				 InboxTupleEdit *edit)
{
	bool		isnull;
	int64		given = inbox_get_int8(tuple, desc, attnum, &isnull);

	if (isnull)
		inbox_edit_set(edit, desc, attnum, Int64GetDatum(space), false);
	else if (given != space)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("contact %lld is not in space %lld", (long long) contact, (long long) given)));
}

/*
 * A deleted agent: ON DELETE SET NULL clears it from the conversations,
 * messages and events that name it, which otherwise do not change (the
 * history stays, without the agent).  True when the only change from
 * oldtuple to newtuple is the clearing of agent_columns (attribute
 * numbers) whose agent no longer exists.  The caller is connected to SPI.
 */
bool
inbox_only_agents_cleared(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc,
						  const AttrNumber *agent_columns, int nagent_columns)
{
	bool		cleared = false;

	for (int i = 0; i < desc->natts; i++)
	{
		AttrNumber	attnum = i + 1;
		bool		agent_column = false;
		bool		isnull;

		if (TupleDescAttr(desc, i)->attisdropped ||
			!inbox_column_changed(oldtuple, newtuple, desc, attnum))
			continue;
		for (int a = 0; a < nagent_columns; a++)
			agent_column |= (agent_columns[a] == attnum);
		if (!agent_column)
			return false;
		if (!inbox_is_null(newtuple, desc, attnum))
			return false;
		if (inbox_agent_exists(inbox_get_int8(oldtuple, desc, attnum, &isnull)))
			return false;
		cleared = true;
	}
	return cleared;
}
