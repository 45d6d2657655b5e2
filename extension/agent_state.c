/*-------------------------------------------------------------------------
 *
 * agent_state.c
 *	  The agents' assignment state in a space that assigns automatically
 *	  (inbox.agent_state: open assigned contacts, last assignment), and
 *	  the space's assignment lock.
 *
 * An agent's open count is the number of its assigned contacts with an
 * open conversation: what assignment_cap limits.  The contact rules
 * (rules_contact.c) tell this file of every contact row that changes; a
 * contact that joins or leaves an agent's open assigned contacts moves the
 * count, and one newly assigned to an agent dates its last assignment
 * (round_robin's order).  Only while the space's assignment is not manual:
 * a manual space's rules write nothing here, and turning assignment on
 * counts every agent again (inbox_recount_agent_state).
 *
 * The space's assignment lock.  Every change of an open count in such a
 * space, and every automatic assignment (assignment_policy.c), takes a
 * transaction lock of the space first, before any agent_state row: the
 * counts then change one transaction at a time per space, so that the
 * automatic assignment reads counts that no other transaction is about to
 * change (no agent goes over the cap, however many assign at once), gives
 * each contact in turn to the right agent, and no two transactions wait
 * for each other's agent rows.  It is an advisory lock of the node that
 * holds the space's rows, where every rule of the space runs.  Whatever
 * may then wait for a contact's rows holding it (a queue filled, a close)
 * takes it before those rows where it can (assignment_policy.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/timestamp.h"

#include "inbox.h"

/* the class of inbox's advisory locks of a space (api.c's external ids use 0x6962) */
#define INBOX_ASSIGNMENT_LOCK_CLASS 0x6963

/* take the space's assignment lock, held until the transaction ends */
void
inbox_lock_assignment(int64 space)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) ((uint64) space >> 32), (uint32) space,
						 INBOX_ASSIGNMENT_LOCK_CLASS);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/* the agent a contact row counts for: its assignee when its conversation is open, else 0 */
static int64
open_assignee(HeapTuple tuple, TupleDesc desc, const AttrNumber *col)
{
	bool		isnull;
	int64		assignee;

	if (tuple == NULL || inbox_is_null(tuple, desc, col[CONTACT_OPEN_CONVERSATION_ID]))
		return 0;
	assignee = inbox_get_int8(tuple, desc, col[CONTACT_ASSIGNEE_ID], &isnull);
	return isnull ? 0 : assignee;
}

static void
count_down(int64 space, int64 agent)
{
	static InboxQuery q = {
		"UPDATE inbox.agent_state SET open_count = open_count - 1"
		" WHERE space_id = $1 AND agent_id = $2 AND open_count > 0",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(space), Int64GetDatum(agent)};

	inbox_exec(&q, values, NULL, 0);
}

/*
 * One more open contact for the agent; assigned (not a conversation that
 * opened for a contact it kept) dates its last assignment.  An agent that
 * no longer exists (a contact row cleared of it) is left out.
 */
static void
count_up(int64 space, int64 agent, bool assigned)
{
	static InboxQuery q = {
		"INSERT INTO inbox.agent_state AS s (space_id, agent_id, open_count, last_assigned_at)"
		" SELECT $1, $2, 1, CASE WHEN $4 THEN $3 END"
		" WHERE EXISTS (SELECT FROM inbox.agent WHERE space_id = $1 AND id = $2)"
		" ON CONFLICT (space_id, agent_id) DO UPDATE SET open_count = s.open_count + 1,"
		"  last_assigned_at = CASE WHEN $4 THEN excluded.last_assigned_at ELSE s.last_assigned_at END",
		4, {INT8OID, INT8OID, TIMESTAMPTZOID, BOOLOID}
	};
	Datum		values[4] = {Int64GetDatum(space), Int64GetDatum(agent),
	TimestampTzGetDatum(GetCurrentTimestamp()), BoolGetDatum(assigned)};

	inbox_exec(&q, values, NULL, 0);
}

/*
 * A contact row changed from oldtuple to newtuple (either NULL for an
 * insert or a delete).  In a space that assigns automatically, the open
 * counts follow (a count that goes down fires the rule of agent_state,
 * which lets a waiting contact have the seat: assignment_policy.c).  The
 * caller is connected to SPI.
 */
void
inbox_agent_state_contact_change(Relation rel, HeapTuple oldtuple, HeapTuple newtuple)
{
	TupleDesc	desc = RelationGetDescr(rel);
	const AttrNumber *col = inbox_columns(rel, TABLE_CONTACT);
	HeapTuple	tuple = newtuple ? newtuple : oldtuple;
	int64		before = open_assignee(oldtuple, desc, col);
	int64		after = open_assignee(newtuple, desc, col);
	bool		isnull;
	int64		space;
	bool		assigned;

	if (before == after)
		return;
	space = inbox_get_int8(tuple, desc, col[CONTACT_SPACE_ID], &isnull);
	if (inbox_space_settings(space).assignment == INBOX_ASSIGN_MANUAL)
		return;

	/* a change of the assignee itself, not of the conversation being open */
	assigned = after != 0 &&
		(oldtuple == NULL || inbox_column_changed(oldtuple, newtuple, desc, col[CONTACT_ASSIGNEE_ID]));
	inbox_lock_assignment(space);
	if (before != 0)
		count_down(space, before);
	if (after != 0)
		count_up(space, after, assigned);
}

/*
 * Assignment turned on in a space (rules_space.c): every agent's open
 * count again, as the manual space did not keep them.  Counted, then
 * written agent by agent: a statement of the space's rows on each side.
 * The caller is connected to SPI and holds the space's assignment lock.
 */
void
inbox_recount_agent_state(int64 space)
{
	static InboxQuery q_agents = {
		"SELECT id FROM inbox.agent WHERE space_id = $1 ORDER BY id", 1, {INT8OID}
	};
	static InboxQuery q_count = {
		"SELECT count(*)::integer FROM inbox.contact"
		" WHERE space_id = $1 AND assignee_id = $2 AND open_conversation_id IS NOT NULL",
		2, {INT8OID, INT8OID}
	};
	static InboxQuery q_write = {
		"INSERT INTO inbox.agent_state AS s (space_id, agent_id, open_count) VALUES ($1, $2, $3)"
		" ON CONFLICT (space_id, agent_id) DO UPDATE SET open_count = excluded.open_count",
		3, {INT8OID, INT8OID, INT4OID}
	};
	Datum		values[3] = {Int64GetDatum(space)};
	SPITupleTable *agents;
	uint64		n;

	inbox_exec(&q_agents, values, NULL, 0);
	agents = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;

		values[1] = SPI_getbinval(agents->vals[i], agents->tupdesc, 1, &isnull);
		inbox_exec(&q_count, values, NULL, 1);
		values[2] = inbox_value(1, &isnull);
		inbox_exec(&q_write, values, NULL, 0);
	}
}

/*
 * An agent added to a space that assigns (rules_agent.c): its state, with
 * no open contact.  The caller is connected to SPI.
 */
void
inbox_agent_state_add(int64 space, int64 agent)
{
	static InboxQuery q = {
		"INSERT INTO inbox.agent_state (space_id, agent_id) VALUES ($1, $2)"
		" ON CONFLICT (space_id, agent_id) DO NOTHING",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(space), Int64GetDatum(agent)};

	inbox_lock_assignment(space);
	inbox_exec(&q, values, NULL, 0);
}
