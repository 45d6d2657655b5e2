/*-------------------------------------------------------------------------
 *
 * lookups.c
 *	  The rows every rule and API function looks up, and the row locks
 *	  they take, in the locking order of inbox.h.
 *
 * Every look-up names the space, which a rule takes from its row and an
 * API function from its first argument; on a Citus cluster (tables
 * distributed by space_id) such a statement runs on the node of the space.
 *
 * - A contact of a space, refusing a contact merged into another (which
 *   owns nothing: no rule may give it a message, conversation or event;
 *   merge.c moves rows with the actor flag `merging` set).
 * - Its open conversation, and the locks: the open conversation row, then
 *   the contact row (FOR NO KEY UPDATE, so that rows referencing the
 *   contact can still be inserted by others meanwhile).
 * - Agents and spaces: that an agent is one of a space.
 * - The space of a row a rule checks: it must be given (23502).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "storage/proc.h"
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

/*
 * Look a contact up in its space, the row locked or not, a merged contact
 * refused or not.  P0002 when the space has no such contact: an id of
 * another space gets the same answer as an unknown one.
 */
static void
contact_row(int64 space, int64 contact, bool lock, bool refuse_merged)
{
	static InboxQuery q_read = {
		"SELECT merged_into FROM inbox.contact WHERE space_id = $1 AND id = $2", 2, {INT8OID, INT8OID}
	};
	static InboxQuery q_lock = {
		"SELECT merged_into FROM inbox.contact WHERE space_id = $1 AND id = $2 FOR NO KEY UPDATE",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(space), Int64GetDatum(contact)};

	if (inbox_exec(lock ? &q_lock : &q_read, values, NULL, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("contact %lld does not exist", (long long) contact)));
	if (refuse_merged)
		check_not_merged(contact, 1);
}

/*
 * A contact of the space; with refuse_merged, a contact merged into another
 * is refused (55000).  P0002 when there is no such contact in the space.
 */
void
inbox_require_contact(int64 space, int64 contact, bool refuse_merged)
{
	contact_row(space, contact, false, refuse_merged);
}

/*
 * Lock a contact row for the rules that change it or its conversations.
 * A merged contact is refused.
 */
void
inbox_lock_contact(int64 space, int64 contact)
{
	contact_row(space, contact, true, true);
}

/* lock a contact row, merged or not (inbox_lock_contact refuses merged ones) */
void
inbox_lock_contact_row(int64 space, int64 contact)
{
	static InboxQuery q = {
		"SELECT 1 FROM inbox.contact WHERE space_id = $1 AND id = $2 FOR NO KEY UPDATE",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(space), Int64GetDatum(contact)};

	inbox_exec(&q, values, NULL, 1);
}

/*
 * The open conversation of a contact, 0 if none.  With lock, the row is
 * locked as the first step of the locking order (see inbox.h); a
 * conversation closed meanwhile by a transaction we waited for is not
 * returned.
 */
int64
inbox_open_conversation_of(int64 space, int64 contact, bool lock)
{
	static InboxQuery q_read = {
		"SELECT id FROM inbox.conversation WHERE space_id = $1 AND contact_id = $2 AND closed_at IS NULL",
		2, {INT8OID, INT8OID}
	};
	static InboxQuery q_lock = {
		"SELECT id FROM inbox.conversation WHERE space_id = $1 AND contact_id = $2 AND closed_at IS NULL"
		" FOR NO KEY UPDATE",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(space), Int64GetDatum(contact)};
	int64		conversation = 0;

	inbox_exec(lock ? &q_lock : &q_read, values, NULL, 1);
	(void) inbox_int8(1, &conversation);
	return conversation;
}

/*
 * Lock a contact in the locking order of inbox.h: its open conversation,
 * then the contact row.  Returns the open conversation (0 if none); a
 * merged contact is refused, one the space does not have is P0002.
 */
int64
inbox_lock_contact_in_order(int64 space, int64 contact)
{
	int64		conversation = inbox_open_conversation_of(space, contact, true);

	inbox_lock_contact(space, contact);
	return conversation;
}

/*
 * The locks of a message about to be inserted, taken by the caller of the
 * INSERT (receive_message(), to check a retried delivery or fill in a
 * profile first): the message's BEFORE trigger, the next statement, takes
 * them from here instead of locking the same rows again.  They are valid
 * in the (sub)transaction that took them only: row locks last as long as
 * it does, and a rolled-back one gets a new id.  The caller forgets them
 * once its INSERT is done, so that no later statement of the transaction
 * (which might close the conversation) finds them.
 */
static struct
{
	LocalTransactionId lxid;
	SubTransactionId subxact;
	int64		space;
	int64		contact;
	int64		conversation;
	bool		waiting;
} message_locks;

static bool
message_locks_taken(int64 space, int64 contact)
{
	return message_locks.lxid == MyProc->lxid && message_locks.lxid != InvalidLocalTransactionId &&
		message_locks.subxact == GetCurrentSubTransactionId() &&
		message_locks.space == space && message_locks.contact == contact;
}

void
inbox_forget_message_locks(void)
{
	message_locks.lxid = InvalidLocalTransactionId;
}

/*
 * The locks of inbox_lock_contact_in_order, and whether the open
 * conversation waits for its contact's answer (auto_close_from set,
 * auto_close.c), read with the lock, which an incoming message ends.
 */
static int64
lock_contact_for_message(int64 space, int64 contact, bool *waiting)
{
	static InboxQuery q = {
		"SELECT id, auto_close_from IS NOT NULL FROM inbox.conversation"
		" WHERE space_id = $1 AND contact_id = $2 AND closed_at IS NULL FOR NO KEY UPDATE",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(space), Int64GetDatum(contact)};
	int64		conversation = 0;
	bool		isnull;

	*waiting = false;
	if (inbox_exec(&q, values, NULL, 1) > 0)
	{
		(void) inbox_int8(1, &conversation);
		*waiting = DatumGetBool(inbox_value(2, &isnull)) && !isnull;
	}
	inbox_lock_contact(space, contact);
	return conversation;
}

/*
 * Lock a contact for the message the caller inserts next (see
 * message_locks): returns its open conversation, 0 if none.
 */
int64
inbox_lock_contact_for_next_message(int64 space, int64 contact)
{
	if (!message_locks_taken(space, contact))
	{
		message_locks.conversation = lock_contact_for_message(space, contact, &message_locks.waiting);
		message_locks.space = space;
		message_locks.contact = contact;
		message_locks.subxact = GetCurrentSubTransactionId();
		message_locks.lxid = MyProc->lxid;
	}
	return message_locks.conversation;
}

/*
 * The locks of a message being written: its open conversation (returned, 0
 * if none), whether that waits for the contact's answer, and the contact.
 */
int64
inbox_lock_contact_for_message(int64 space, int64 contact, bool *waiting)
{
	if (message_locks_taken(space, contact))
	{
		int64		conversation = message_locks.conversation;

		*waiting = message_locks.waiting;
		inbox_forget_message_locks();
		return conversation;
	}
	return lock_contact_for_message(space, contact, waiting);
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

/* whether an agent of the space exists (a deleted one is cleared from rows that named it) */
bool
inbox_agent_exists(int64 space, int64 agent)
{
	static InboxQuery q = {
		"SELECT 1 FROM inbox.agent WHERE space_id = $1 AND id = $2", 2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(space), Int64GetDatum(agent)};

	return inbox_exec(&q, values, NULL, 1) != 0;
}

/*
 * An agent a row or an argument names must be one of the space: the keys
 * that clear a deleted agent (ON DELETE SET NULL) name the agent's id
 * alone, as Citus refuses SET NULL on a key that contains the space.  An
 * agent of another space is reported as an unknown one.
 */
void
inbox_check_agent_in_space(int64 space, int64 agent)
{
	if (!inbox_agent_exists(space, agent))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("agent %lld does not exist in space %lld", (long long) agent, (long long) space)));
}

/*
 * The space of a row a rule checks.  Nothing fills it in (inbox 2.0: on a
 * Citus cluster a row without its space cannot even be routed to a
 * shard); a row without one is refused as its NOT NULL constraint would
 * refuse it, which PostgreSQL checks only after the BEFORE triggers.
 */
int64
inbox_row_space(HeapTuple tuple, TupleDesc desc, AttrNumber attnum, const char *table)
{
	bool		isnull;
	int64		space = inbox_get_int8(tuple, desc, attnum, &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("null value in column \"space_id\" of relation \"%s\" violates not-null constraint", table),
				 errhint("Every row names its space: give space_id in the INSERT.")));
	return space;
}

/*
 * A deleted agent: ON DELETE SET NULL clears it from the conversations,
 * messages and events that name it, which otherwise do not change (the
 * history stays, without the agent).  True when the only change from
 * oldtuple to newtuple is the clearing of agent_columns (attribute
 * numbers) whose agent no longer exists in the row's space.  The caller is
 * connected to SPI.
 */
bool
inbox_only_agents_cleared(int64 space, HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc,
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
		if (inbox_agent_exists(space, inbox_get_int8(oldtuple, desc, attnum, &isnull)))
			return false;
		cleared = true;
	}
	return cleared;
}
