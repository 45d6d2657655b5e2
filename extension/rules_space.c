/*-------------------------------------------------------------------------
 *
 * rules_space.c
 *	  The rule on a space's automation settings: what a change of them
 *	  does to the space's rows.
 *
 * configure_space() or a plain UPDATE of inbox.space changes a setting;
 * then, in the same transaction:
 * - auto_close_after: the waiting conversations' auto_close_at move with
 *   it (auto_close.c), and the background worker looks again;
 * - assignment turned on (from manual): the agents' open counts are
 *   counted (agent_state.c keeps them only while the space assigns);
 * - assignment or assignment_cap: the waiting contacts take the seats
 *   there are now (assignment_policy.c);
 * - auto_away_after: the background worker looks again.
 *
 * inbox.space is a reference table on a Citus cluster, whose triggers
 * fire on every node: the rule acts only on the node that holds the
 * space's rows (cluster.c), as a rule may write only its own node's
 * shards.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_space_after_update);

/* whether a column of the space, by name, changed */
static bool
setting_changed(TriggerData *trigdata, const char *name)
{
	int			attnum = SPI_fnumber(trigdata->tg_relation->rd_att, name);

	if (attnum <= 0)
		elog(ERROR, "inbox: column \"%s\" of table \"space\" not found", name);
	return inbox_column_changed(trigdata->tg_trigtuple, trigdata->tg_newtuple,
								trigdata->tg_relation->rd_att, (AttrNumber) attnum);
}

/* AFTER UPDATE OF auto_close_after, assignment, assignment_cap, auto_away_after ON inbox.space */
Datum
inbox_space_after_update(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	bool		isnull;
	int64		space;
	InboxSpaceSettings settings;
	char	   *old_assignment;

	inbox_check_trigger(fcinfo, "space_after_update");
	desc = trigdata->tg_relation->rd_att;
	space = inbox_get_int8(trigdata->tg_newtuple, desc, SPI_fnumber(desc, "id"), &isnull);
	old_assignment = inbox_get_text(trigdata->tg_trigtuple, desc, SPI_fnumber(desc, "assignment"));

	inbox_spi_connect();
	if (inbox_space_is_local(space))
	{
		settings = inbox_space_settings(space);
		if (setting_changed(trigdata, "auto_close_after"))
			inbox_auto_close_respace(space, &settings);
		if (setting_changed(trigdata, "assignment") && settings.assignment != INBOX_ASSIGN_MANUAL &&
			old_assignment != NULL && strcmp(old_assignment, "manual") == 0)
		{
			inbox_lock_assignment(space);
			inbox_recount_agent_state(space);
		}
		if (setting_changed(trigdata, "assignment") || setting_changed(trigdata, "assignment_cap"))
			inbox_fill_queue(space);
		if (setting_changed(trigdata, "auto_away_after") && settings.auto_away)
			inbox_worker_note_timer(GetCurrentTimestamp());	/* maybe earlier: look again */
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}
