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
 * queue on a single hot row; view_counts() sums the shards.  A contact that
 * stays in a view while only its unread state changes writes one delta,
 * not a removal and an addition.
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

/*
 * One view's count as a contact leaves it (was_in) and joins it (is_in).
 * Staying in the same count row (the same space, and agent for "mine") is
 * one delta of the unread contacts, or nothing: a contact's second unread
 * message, or a reply that reads it, writes one row, not a -1 and a +1.
 */
static void
move_count(const char *view, int64 old_space, int64 old_agent, bool was_in, bool old_unread,
		   int64 new_space, int64 new_agent, bool is_in, bool new_unread)
{
	if (was_in && is_in && old_space == new_space && old_agent == new_agent)
	{
		add_count(new_space, view, new_agent, 0, (int) new_unread - (int) old_unread);
		return;
	}
	if (was_in)
		add_count(old_space, view, old_agent, -1, old_unread ? -1 : 0);
	if (is_in)
		add_count(new_space, view, new_agent, 1, new_unread ? 1 : 0);
}

/* +1 for what the contact is in now, -1 for what it was in */
static void
apply_difference(const Membership *old, const Membership *new)
{
	move_count("all", old->space, 0, old->all, old->unread, new->space, 0, new->all, new->unread);
	move_count("unassigned", old->space, 0, old->unassigned, old->unread,
			   new->space, 0, new->unassigned, new->unread);
	move_count("mine", old->space, old->mine, old->mine != 0, old->unread,
			   new->space, new->mine, new->mine != 0, new->unread);
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
