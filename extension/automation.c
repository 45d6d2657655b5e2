/*-------------------------------------------------------------------------
 *
 * automation.c
 *	  The API of automation: a space's settings (configure_space) and an
 *	  agent's availability (set_agent_status).
 *
 * Both check their arguments first (22023 naming the bad value, before
 * anything is written) and the caller's rights (security.c), then write
 * one row; what a change means for the space's rows is the rules' of that
 * table (rules_space.c, rules_agent.c), so that a plain UPDATE of
 * inbox.space or inbox.agent does the same.
 *
 * Both write a reference table on a Citus cluster (inbox.space,
 * inbox.agent): inbox.distribute() leaves them to run on the coordinator,
 * as create_agent() and create_channel(), and the rules act on the node
 * holding the space.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_configure_space);
PG_FUNCTION_INFO_V1(inbox_set_agent_status);

/*
 * configure_space(space, auto_close_after, unassign_on_close, assignment,
 * assignment_cap, auto_away_after): the settings given change, the others
 * stay (NULL = not given).
 */
Datum
inbox_configure_space(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {
		"UPDATE inbox.space SET"
		"  auto_close_after = coalesce($2, auto_close_after),"
		"  unassign_on_close = coalesce($3, unassign_on_close),"
		"  assignment = coalesce($4, assignment),"
		"  assignment_cap = coalesce($5, assignment_cap),"
		"  auto_away_after = coalesce($6, auto_away_after)"
		" WHERE id = $1",
		6, {INT8OID, INTERVALOID, BOOLOID, TEXTOID, INT4OID, INTERVALOID}
	};
	Datum		values[6];
	char		nulls[6];
	InboxAccess access;
	InboxAssignment assignment;
	int64		space;

	inbox_check_nargs(fcinfo, 6);
	INBOX_NOT_NULL(fcinfo, 0, "space");
	space = PG_GETARG_INT64(0);
	if (!PG_ARGISNULL(1))
		inbox_check_setting_interval("auto_close_after", PG_GETARG_INTERVAL_P(1));
	if (!PG_ARGISNULL(3) && !inbox_parse_assignment(TextDatumGetCString(PG_GETARG_DATUM(3)), &assignment))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown assignment \"%s\"", TextDatumGetCString(PG_GETARG_DATUM(3))),
				 errhint("An assignment is manual, round_robin or least_open.")));
	if (!PG_ARGISNULL(4) && PG_GETARG_INT32(4) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("assignment_cap must not be negative, not %d", PG_GETARG_INT32(4)),
				 errhint("To remove the cap, set it to NULL: UPDATE inbox.space SET assignment_cap = NULL.")));
	if (!PG_ARGISNULL(5))
		inbox_check_setting_interval("auto_away_after", PG_GETARG_INTERVAL_P(5));

	values[0] = Int64GetDatum(space);
	nulls[0] = ' ';
	for (int i = 1; i < 6; i++)
	{
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}

	inbox_spi_connect();
	access = inbox_space_access(space, "space", space);
	inbox_require_admin(&access, "configure the space");
	inbox_require_space(space);
	inbox_exec(&q, values, nulls, 0);
	SPI_finish();
	PG_RETURN_VOID();
}

/* set_agent_status(space, agent, status) */
Datum
inbox_set_agent_status(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {
		"UPDATE inbox.agent SET status = $3 WHERE space_id = $1 AND id = $2 AND status <> $3",
		3, {INT8OID, INT8OID, TEXTOID}
	};
	Datum		values[3];
	InboxAccess access;
	InboxAgentStatus status;
	char	   *name;
	int64		space,
				agent;

	inbox_check_nargs(fcinfo, 3);
	INBOX_NOT_NULL(fcinfo, 0, "space");
	INBOX_NOT_NULL(fcinfo, 1, "agent");
	space = PG_GETARG_INT64(0);
	agent = PG_GETARG_INT64(1);
	name = inbox_required_text(fcinfo, 2, "status");
	if (!inbox_parse_agent_status(name, &status))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown agent status \"%s\"", name),
				 errhint("An agent's status is online, busy or offline.")));

	values[0] = Int64GetDatum(space);
	values[1] = Int64GetDatum(agent);
	values[2] = PG_GETARG_DATUM(2);

	inbox_spi_connect();
	access = inbox_space_access(space, "agent", agent);
	inbox_check_acting_agent(&access, agent);
	inbox_check_agent_in_space(space, agent);
	inbox_exec(&q, values, NULL, 0);
	/* after the agent's row: the order the rule of inbox.agent writes them in */
	inbox_note_activity(space, agent);
	SPI_finish();
	PG_RETURN_VOID();
}
