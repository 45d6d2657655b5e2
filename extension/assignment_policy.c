/*-------------------------------------------------------------------------
 *
 * assignment_policy.c
 *	  Automatic assignment (the space's assignment and assignment_cap):
 *	  who gets a conversation that opens, and the queue of contacts that
 *	  wait for an agent.
 *
 * In a space whose assignment is round_robin or least_open, a
 * conversation that opens for an unassigned contact (rules_conversation.c)
 * is assigned to an available agent: online, and with fewer open assigned
 * contacts than the cap (agent_state.c keeps the counts).  round_robin
 * takes the agent assigned least recently, least_open the one with the
 * fewest open assigned contacts, ties to the one assigned least recently,
 * then to the lowest id.  The assignment is an UPDATE of the contact as
 * actor system, so the contact's rules write `assigned` (actor system) and
 * count it.
 *
 * With no agent available the contact waits: unassigned, with an open
 * conversation (contact_waiting_idx).  Whenever a seat may have freed (an
 * agent's open count went down: the rule of inbox.agent_state below; an
 * agent came online or was added: rules_agent.c; the cap rose or
 * assignment was turned on: rules_space.c) the waiting contacts are
 * assigned, the one whose conversation opened first first, until none
 * waits or no agent is available.
 *
 * Everything here runs under the space's assignment lock (agent_state.c),
 * taken before any contact row the queue then waits for; and the rules
 * that would take it after locking a waiting contact's rows (a user's
 * reply to a waiting contact, assign()) take it before
 * (inbox_lock_assignment_for_contact), so that a queue being filled and
 * such a change never wait for each other.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_agent_state_after_update);

/* the available agent the space's policy gives the next contact to, 0 for none */
static int64
choose_agent(int64 space, const InboxSpaceSettings *settings)
{
	static InboxQuery q = {
		"SELECT s.agent_id FROM inbox.agent_state s"
		" JOIN inbox.agent a ON a.space_id = s.space_id AND a.id = s.agent_id"
		" WHERE s.space_id = $1 AND a.status = 'online' AND ($2 < 0 OR s.open_count < $2)"
		" ORDER BY CASE WHEN $3 THEN s.open_count END, s.last_assigned_at NULLS FIRST, s.agent_id"
		" LIMIT 1",
		3, {INT8OID, INT4OID, BOOLOID}
	};
	Datum		values[3] = {Int64GetDatum(space), Int32GetDatum(settings->assignment_cap),
	BoolGetDatum(settings->assignment == INBOX_ASSIGN_LEAST_OPEN)};
	int64		agent = 0;

	inbox_exec(&q, values, NULL, 1);
	(void) inbox_int8(1, &agent);
	return agent;
}

/* give an unassigned contact to an agent, as the system; false if it was assigned meanwhile */
static bool
assign_to(int64 space, int64 contact, int64 agent)
{
	static InboxQuery q = {
		"UPDATE inbox.contact SET assignee_id = $3 WHERE space_id = $1 AND id = $2 AND assignee_id IS NULL",
		3, {INT8OID, INT8OID, INT8OID}
	};
	Datum		values[3] = {Int64GetDatum(space), Int64GetDatum(contact), Int64GetDatum(agent)};
	InboxActor	actor;

	memset(&actor, 0, sizeof(actor));
	actor.kind = "system";
	return inbox_exec_as(&actor, &q, values, NULL, 0) > 0;
}

/* whether a contact waits for an agent: unassigned, with an open conversation */
static bool
contact_waits(int64 space, int64 contact, bool lock)
{
	static InboxQuery q_read = {
		"SELECT 1 FROM inbox.contact"
		" WHERE space_id = $1 AND id = $2 AND assignee_id IS NULL AND open_conversation_id IS NOT NULL",
		2, {INT8OID, INT8OID}
	};
	static InboxQuery q_lock = {
		"SELECT 1 FROM inbox.contact"
		" WHERE space_id = $1 AND id = $2 AND assignee_id IS NULL AND open_conversation_id IS NOT NULL"
		" FOR NO KEY UPDATE",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(space), Int64GetDatum(contact)};

	return inbox_exec(lock ? &q_lock : &q_read, values, NULL, 1) > 0;
}

/*
 * A conversation opened for a contact (rules_conversation.c; not during a
 * merge): in a space that assigns, an unassigned contact is given to an
 * available agent, or waits.  The caller is connected to SPI.
 */
void
inbox_assign_on_open(int64 space, int64 contact)
{
	InboxSpaceSettings settings = inbox_space_settings(space);
	int64		agent;

	if (settings.assignment == INBOX_ASSIGN_MANUAL || !contact_waits(space, contact, false))
		return;
	inbox_lock_assignment(space);
	if ((agent = choose_agent(space, &settings)) != 0)
		(void) assign_to(space, contact, agent);
}

/*
 * A seat may have freed in a space (an open count went down, an agent came
 * online or was added, the cap rose, assignment was turned on): the
 * waiting contacts, oldest conversation first, go to the available agents
 * until none waits or no agent is available.  The next contact is taken
 * locked, skipping one whose row another transaction holds: that one may
 * be waiting for this space's assignment lock, which we hold (a plain
 * UPDATE of the contact, whose rules count agents only once it has the
 * row), and waiting for it would deadlock; the seat goes to the next
 * waiting contact instead, and a skipped one waits for the next seat.
 * The caller is connected to SPI.
 */
void
inbox_fill_queue(int64 space)
{
	static InboxQuery q_next = {
		"SELECT id FROM inbox.contact"
		" WHERE space_id = $1 AND assignee_id IS NULL AND open_conversation_id IS NOT NULL"
		" ORDER BY open_conversation_id LIMIT 1"
		" FOR NO KEY UPDATE SKIP LOCKED",
		1, {INT8OID}
	};
	InboxSpaceSettings settings = inbox_space_settings(space);
	Datum		values[1] = {Int64GetDatum(space)};

	if (settings.assignment == INBOX_ASSIGN_MANUAL)
		return;
	inbox_lock_assignment(space);
	for (;;)
	{
		int64		contact = 0;
		int64		agent;

		inbox_exec(&q_next, values, NULL, 1);
		if (!inbox_int8(1, &contact))
			break;				/* nobody waits */
		if ((agent = choose_agent(space, &settings)) == 0)
			break;				/* nobody is available */
		/*
		 * Each turn assigns a contact, or finds that another transaction did;
		 * one that still waits, locked, and is not assigned would be found
		 * again and again: stop there rather than loop.
		 */
		if (contact_waits(space, contact, true) && !assign_to(space, contact, agent))
			break;
	}
}

/*
 * Before a change that locks a contact's rows and may then take the
 * space's assignment lock (a user's reply that assigns it, assign()): the
 * lock first, when the space assigns and the contact waits, so that a
 * queue being filled, which holds the lock and may wait for this
 * contact's row, is never waited for by a transaction holding that row.
 * The caller is connected to SPI.
 */
void
inbox_lock_assignment_for_contact(int64 space, int64 contact)
{
	if (inbox_space_settings(space).assignment != INBOX_ASSIGN_MANUAL && contact_waits(space, contact, false))
		inbox_lock_assignment(space);
}

/*
 * AFTER UPDATE OF open_count on inbox.agent_state: a count that went down
 * (a close, an unassignment, a reassignment, a deleted contact) is a seat
 * that may have freed.  Not while a merge moves contacts.
 */
Datum
inbox_agent_state_after_update(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	bool		isnull;
	int			count_column;

	inbox_check_trigger(fcinfo, "agent_state_after_update");
	desc = trigdata->tg_relation->rd_att;
	count_column = SPI_fnumber(desc, "open_count");
	if (count_column <= 0)
		elog(ERROR, "inbox: column \"open_count\" of table \"agent_state\" not found");
	if (INBOX_MERGING() ||
		inbox_get_int4(trigdata->tg_newtuple, desc, count_column) >=
		inbox_get_int4(trigdata->tg_trigtuple, desc, count_column))
		return PointerGetDatum(NULL);

	inbox_spi_connect();
	inbox_fill_queue(inbox_get_int8(trigdata->tg_newtuple, desc, SPI_fnumber(desc, "space_id"), &isnull));
	SPI_finish();
	return PointerGetDatum(NULL);
}
