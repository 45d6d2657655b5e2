/*-------------------------------------------------------------------------
 *
 * rules_agent.c
 *	  The rule on an agent's status (online, busy, offline): who is told,
 *	  and what an agent coming online does.
 *
 * set_agent_status() (automation.c), the background worker's auto-away
 * (availability.c) or a plain write of inbox.agent changes the status;
 * then, in the same transaction:
 * - a change notifies the space's listeners: {"op": "agent", "agent": id}
 *   (ids only, as every notification);
 * - an agent that is online now (coming online, or added online) starts
 *   acting at once: auto-away counts from here (availability.c), and the
 *   background worker looks again if that is before its next look;
 * - in a space that assigns automatically it has seats: the waiting
 *   contacts take them (assignment_policy.c); an agent added gets its
 *   assignment state there (agent_state.c);
 * - an agent deleted leaves its contacts unassigned (the foreign key's
 *   action, which fires before this rule): in a space that assigns they
 *   wait, and the other agents take them as their seats allow.
 *
 * inbox.agent is a reference table on a Citus cluster, whose triggers
 * fire on every node: the rule acts only on the node that holds the
 * space's rows (cluster.c), which is also where the space's notifications
 * are sent from.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_agent_after_write);

/* AFTER INSERT OR UPDATE OF status ON inbox.agent */
Datum
inbox_agent_after_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	bool		inserted,
				isnull;
	int			status_column;
	int64		space,
				agent;
	char	   *status;
	InboxAgentStatus parsed;

	inbox_check_trigger(fcinfo, "agent_after_write");
	desc = trigdata->tg_relation->rd_att;
	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		space = inbox_get_int8(trigdata->tg_trigtuple, desc, SPI_fnumber(desc, "space_id"), &isnull);
		inbox_spi_connect();
		if (inbox_space_is_local(space))
			inbox_fill_queue(space);
		SPI_finish();
		return PointerGetDatum(NULL);
	}
	inserted = TRIGGER_FIRED_BY_INSERT(trigdata->tg_event);
	tuple = inserted ? trigdata->tg_trigtuple : trigdata->tg_newtuple;
	status_column = SPI_fnumber(desc, "status");
	if (status_column <= 0)
		elog(ERROR, "inbox: column \"status\" of table \"agent\" not found");
	if (!inserted && !inbox_column_changed(trigdata->tg_trigtuple, tuple, desc, (AttrNumber) status_column))
		return PointerGetDatum(NULL);

	space = inbox_get_int8(tuple, desc, SPI_fnumber(desc, "space_id"), &isnull);
	agent = inbox_get_int8(tuple, desc, SPI_fnumber(desc, "id"), &isnull);
	status = inbox_get_text(tuple, desc, status_column);

	inbox_spi_connect();
	if (inbox_space_is_local(space))
	{
		InboxSpaceSettings settings = inbox_space_settings(space);
		TimestampTz now = GetCurrentTransactionStartTimestamp();
		bool		online = inbox_parse_agent_status(status, &parsed) && parsed == INBOX_AGENT_ONLINE;

		if (!inserted)
			inbox_notify_agent(space, agent);
		if (inserted || online)
		{
			inbox_start_activity(space, agent, now);
			if (online && settings.auto_away)
				inbox_worker_note_timer(inbox_time_plus(now, &settings.auto_away_after));
		}
		if (inserted && settings.assignment != INBOX_ASSIGN_MANUAL)
			inbox_agent_state_add(space, agent);
		if (online)
			inbox_fill_queue(space);
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}
