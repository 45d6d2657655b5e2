/*-------------------------------------------------------------------------
 *
 * space_settings.c
 *	  A space's automation settings (columns of inbox.space), as the rules
 *	  read them, and the checks of their values.
 *
 * configure_space() (automation.c) checks each value here before it
 * writes, with SQLSTATE 22023 naming the value; a plain UPDATE of
 * inbox.space meets the table's CHECK constraints, which say the same.
 * The rules read the settings of the space of the row they handle, from
 * inbox.space (a reference table on a Citus cluster, which a rule may
 * read on any node).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "inbox.h"

static const char *const assignment_names[] = {
	[INBOX_ASSIGN_MANUAL] = "manual",
	[INBOX_ASSIGN_ROUND_ROBIN] = "round_robin",
	[INBOX_ASSIGN_LEAST_OPEN] = "least_open",
};

static const char *const status_names[] = {
	[INBOX_AGENT_ONLINE] = "online",
	[INBOX_AGENT_BUSY] = "busy",
	[INBOX_AGENT_OFFLINE] = "offline",
};

bool
inbox_parse_assignment(const char *name, InboxAssignment *assignment)
{
	for (int i = 0; i < lengthof(assignment_names); i++)
		if (name != NULL && strcmp(name, assignment_names[i]) == 0)
		{
			*assignment = (InboxAssignment) i;
			return true;
		}
	return false;
}

const char *
inbox_assignment_name(InboxAssignment assignment)
{
	return assignment_names[assignment];
}

bool
inbox_parse_agent_status(const char *name, InboxAgentStatus *status)
{
	for (int i = 0; i < lengthof(status_names); i++)
		if (name != NULL && strcmp(name, status_names[i]) == 0)
		{
			*status = (InboxAgentStatus) i;
			return true;
		}
	return false;
}

/* an interval setting: more than nothing, at most a century (times plus it stay in range) */
void
inbox_check_setting_interval(const char *name, Interval *value)
{
	Interval	zero;
	Interval	century;

	memset(&zero, 0, sizeof(zero));
	memset(&century, 0, sizeof(century));
	century.month = 100 * MONTHS_PER_YEAR;
	if (DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(value), IntervalPGetDatum(&zero))) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a positive interval, not \"%s\"", name,
						DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(value)))),
				 errhint("To turn it off, set it to NULL: UPDATE inbox.space SET %s = NULL.", name)));
	if (DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(value), IntervalPGetDatum(&century))) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be at most 100 years, not \"%s\"", name,
						DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(value))))));
}

/*
 * The automation settings of a space; exists is false when there is no
 * such space (the caller decides what that means).  The caller is
 * connected to SPI.
 */
InboxSpaceSettings
inbox_space_settings(int64 space)
{
	static InboxQuery q = {
		"SELECT auto_close_after, unassign_on_close, assignment, assignment_cap, auto_away_after"
		" FROM inbox.space WHERE id = $1",
		1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(space)};
	InboxSpaceSettings settings;
	bool		isnull;
	Datum		value;

	memset(&settings, 0, sizeof(settings));
	settings.unassign_on_close = true;
	settings.assignment_cap = -1;
	if (inbox_exec(&q, values, NULL, 1) == 0)
		return settings;
	settings.exists = true;

	value = inbox_value(1, &isnull);
	if (!isnull)
	{
		settings.auto_close = true;
		settings.auto_close_after = *DatumGetIntervalP(value);
	}
	value = inbox_value(2, &isnull);
	settings.unassign_on_close = isnull || DatumGetBool(value);
	if (!inbox_parse_assignment(inbox_text(3), &settings.assignment))
		settings.assignment = INBOX_ASSIGN_MANUAL;
	value = inbox_value(4, &isnull);
	if (!isnull)
		settings.assignment_cap = DatumGetInt32(value);
	value = inbox_value(5, &isnull);
	if (!isnull)
	{
		settings.auto_away = true;
		settings.auto_away_after = *DatumGetIntervalP(value);
	}
	return settings;
}

/* a time plus an interval setting */
TimestampTz
inbox_time_plus(TimestampTz at, const Interval *interval)
{
	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(at),
												   IntervalPGetDatum(interval)));
}
