/*-------------------------------------------------------------------------
 *
 * counts.c
 *	  The counts of the built-in views, kept as a contact changes.
 *
 * view_counts() must answer in a few milliseconds at a million contacts,
 * which counting index entries cannot do, so the number of contacts in
 * each built-in view ("all", "unassigned", and "mine" per agent), and how
 * many of them have unread messages, is kept in inbox.view_count.
 *
 * A contact trigger compares the contact's membership before and after the
 * change and adds the difference.  Most changes (a second unread message,
 * a reply to an assigned contact) change no membership and write nothing.
 * When one does, the delta goes to one of INBOX_COUNT_SHARDS rows per view,
 * chosen by the writing backend, so concurrent writers in one space do not
 * queue on a single hot row; view_counts() sums the shards.
 *
 * Membership (the same conditions as the views' partial indexes):
 *   all         has a message, not snoozed, not merged away
 *   unassigned  all, with an open conversation and no assignee
 *   mine        all, assigned to the agent
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/backendid.h"
#include "utils/builtins.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_contact_counts);

#define INBOX_COUNT_SHARDS 16

typedef struct Membership
{
	int64		space;
	bool		all;
	bool		unassigned;
	int64		mine;			/* the assignee, or 0 */
	bool		unread;
} Membership;

static Membership
membership_of(HeapTuple tuple, TupleDesc desc, const AttrNumber *col)
{
	Membership	m;
	bool		isnull;
	int64		assignee;

	memset(&m, 0, sizeof(m));
	if (tuple == NULL)
		return m;

	m.space = inbox_get_int8(tuple, desc, col[CONTACT_SPACE_ID], &isnull);
	if (inbox_is_null(tuple, desc, col[CONTACT_LAST_MESSAGE_AT]) ||
		!inbox_is_null(tuple, desc, col[CONTACT_SNOOZED_UNTIL]) ||
		!inbox_is_null(tuple, desc, col[CONTACT_MERGED_INTO]))
		return m;

	assignee = inbox_get_int8(tuple, desc, col[CONTACT_ASSIGNEE_ID], &isnull);
	m.all = true;
	m.mine = isnull ? 0 : assignee;
	m.unassigned = (m.mine == 0 && !inbox_is_null(tuple, desc, col[CONTACT_OPEN_CONVERSATION_ID]));
	m.unread = inbox_get_int4(tuple, desc, col[CONTACT_UNREAD_COUNT]) > 0;
	return m;
}

/* add a delta to this backend's shard of one view's count */
static void
add_count(int64 space, const char *view, int64 agent, int contacts, int unread)
{
	static InboxQuery q = {
		"INSERT INTO inbox.view_count AS v (space_id, view, agent_id, shard, contacts, unread_contacts)"
		" SELECT $1, $2, $3, $4, $5, $6"
		" WHERE EXISTS (SELECT FROM inbox.space WHERE id = $1)"	/* not a space being dropped */
		" ON CONFLICT (space_id, view, agent_id, shard) DO UPDATE"
		" SET contacts = v.contacts + excluded.contacts,"
		"     unread_contacts = v.unread_contacts + excluded.unread_contacts",
		6, {INT8OID, TEXTOID, INT8OID, INT4OID, INT8OID, INT8OID}
	};
	Datum		values[6];

	if (contacts == 0 && unread == 0)
		return;
	values[0] = Int64GetDatum(space);
	values[1] = CStringGetTextDatum(view);
	values[2] = Int64GetDatum(agent);
	values[3] = Int32GetDatum(MyBackendId % INBOX_COUNT_SHARDS);
	values[4] = Int64GetDatum((int64) contacts);
	values[5] = Int64GetDatum((int64) unread);
	inbox_exec(&q, values, NULL, 0);
}

/* +1 for what the contact is in now, -1 for what it was in */
static void
apply_difference(const Membership *old, const Membership *new)
{
	if (old->all != new->all || old->unread != new->unread || old->space != new->space)
	{
		if (old->all)
			add_count(old->space, "all", 0, -1, old->unread ? -1 : 0);
		if (new->all)
			add_count(new->space, "all", 0, 1, new->unread ? 1 : 0);
	}
	if (old->unassigned != new->unassigned || (new->unassigned && old->unread != new->unread))
	{
		if (old->unassigned)
			add_count(old->space, "unassigned", 0, -1, old->unread ? -1 : 0);
		if (new->unassigned)
			add_count(new->space, "unassigned", 0, 1, new->unread ? 1 : 0);
	}
	if (old->mine != new->mine || (new->mine != 0 && old->unread != new->unread))
	{
		if (old->mine != 0)
			add_count(old->space, "mine", old->mine, -1, old->unread ? -1 : 0);
		if (new->mine != 0)
			add_count(new->space, "mine", new->mine, 1, new->unread ? 1 : 0);
	}
}

/*
 * A contact row changed from oldtuple to newtuple (either NULL for an
 * insert or a delete): the counts of the views it left and joined follow.
 */
void
inbox_count_contact_change(Relation rel, HeapTuple oldtuple, HeapTuple newtuple)
{
	TupleDesc	desc = RelationGetDescr(rel);
	const AttrNumber *col = inbox_columns(rel, TABLE_CONTACT);
	Membership	old = membership_of(oldtuple, desc, col),
				new = membership_of(newtuple, desc, col);

	if (!old.all && !new.all)
		return;
	if (old.space == new.space && old.all == new.all && old.unassigned == new.unassigned &&
		old.mine == new.mine && old.unread == new.unread)
		return;

	inbox_spi_connect();
	apply_difference(&old, &new);
	SPI_finish();
}

/*
 * AFTER INSERT OR DELETE on inbox.contact; an UPDATE is counted by
 * contact_after_update, or on a 1.0 schema by contact_counts_update here.
 */
Datum
inbox_contact_counts(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	inbox_check_trigger(fcinfo, "contact_counts");
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		inbox_count_contact_change(trigdata->tg_relation, NULL, trigdata->tg_trigtuple);
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		inbox_count_contact_change(trigdata->tg_relation, trigdata->tg_trigtuple, NULL);
		/* and the open count of its agent, where the space assigns (agent_state.c) */
		inbox_spi_connect();
		inbox_agent_state_contact_change(trigdata->tg_relation, trigdata->tg_trigtuple, NULL);
		SPI_finish();
	}
	else
		inbox_count_contact_change(trigdata->tg_relation, trigdata->tg_trigtuple,
								   trigdata->tg_newtuple);
	return PointerGetDatum(NULL);
}
