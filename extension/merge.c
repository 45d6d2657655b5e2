/*-------------------------------------------------------------------------
 *
 * merge.c
 *	  Merging two contacts that are one person, and undoing it.
 *
 * merge_contacts(space, keep, merge) moves the merged contact's channel
 * identities, conversations, messages, events and comments to the kept
 * contact and marks it merged_into = keep.  A contact keeps one open
 * conversation: when both had one, the newer absorbs the older one's
 * messages, events and comments, and the older is removed.  The kept contact keeps its assignee; the merged
 * one is unassigned and unsnoozed silently (it is in no view any more).
 * The event contact_merged is written on the kept contact.
 *
 * Everything the merge changed is recorded in inbox.contact_merge, so that
 * unmerge_contacts(space, keep, merged) restores both contacts as they were: the
 * merged contact's fields, identities, conversations (the absorbed one
 * re-created with its id), messages, events and comments go back, and
 * contact_unmerged is written on the kept contact.  Messages that arrived
 * after the merge on a channel identity of the merged contact go back with
 * it (they stay with the channel they came from); events and comments
 * follow their conversation; a message left in a conversation of the
 * other contact moves to its own contact's open conversation, opened if
 * needed.
 *
 * Both run with the actor flag `merging`, under which the rules let
 * conversations and messages change contact and write no side events (no
 * unassigned, no conversation_opened for the restored conversation).
 * Locks: both open conversations, then both contact rows, lower id first
 * (the order of inbox.h), so a merge and any rule on either contact queue.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_merge_contacts);
PG_FUNCTION_INFO_V1(inbox_unmerge_contacts);

/* run one statement for the merge: as its actor, moving rows, maintaining counts */
static int
merge_exec(const InboxActor *actor, InboxQuery *q, Datum *values, const char *nulls)
{
	InboxActor	moving = *actor;

	moving.merging = true;
	moving.maintaining = true;
	return inbox_exec_as(&moving, q, values, nulls, 0);
}

typedef struct MergePair
{
	int64		keep;
	int64		merged;
	int64		space;
} MergePair;

/*
 * Check the two contacts and lock them.  merged_into of the second must be
 * 0 for a merge, keep for an unmerge.
 */
static MergePair
lock_pair(FunctionCallInfo fcinfo, bool unmerge)
{
	static InboxQuery q = {
		"SELECT id, coalesce(merged_into, 0) FROM inbox.contact WHERE space_id = $3 AND id IN ($1, $2)"
		" ORDER BY id",
		3, {INT8OID, INT8OID, INT8OID}
	};
	MergePair	pair;
	Datum		values[3];
	int64		merged_into[2] = {0, 0},
				id[2] = {0, 0};
	int			n;

	INBOX_NOT_NULL(fcinfo, 0, "space");
	INBOX_NOT_NULL(fcinfo, 1, "keep");
	INBOX_NOT_NULL(fcinfo, 2, unmerge ? "merged" : "merge");
	pair.space = PG_GETARG_INT64(0);
	pair.keep = PG_GETARG_INT64(1);
	pair.merged = PG_GETARG_INT64(2);
	if (pair.keep == pair.merged)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a contact cannot be merged with itself")));
	INBOX_NOT_NULL(fcinfo, 3, "actor_kind");
	inbox_check_actor_kind(TextDatumGetCString(PG_GETARG_DATUM(3)));

	/* lock in the order of inbox.h: open conversations, then contacts, lower id first */
	(void) inbox_open_conversation_of(pair.space, Min(pair.keep, pair.merged), true);
	(void) inbox_open_conversation_of(pair.space, Max(pair.keep, pair.merged), true);
	inbox_lock_contact_row(pair.space, Min(pair.keep, pair.merged));
	inbox_lock_contact_row(pair.space, Max(pair.keep, pair.merged));

	values[0] = Int64GetDatum(pair.keep);
	values[1] = Int64GetDatum(pair.merged);
	values[2] = Int64GetDatum(pair.space);
	n = inbox_exec(&q, values, NULL, 0);
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		id[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		merged_into[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	/* a contact of another space is not found, as an unknown one */
	for (int which = 0; which < 2; which++)
	{
		int64		want = which == 0 ? pair.keep : pair.merged;

		if (id[0] != want && id[1] != want)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("contact %lld does not exist", (long long) want)));
	}

	for (int i = 0; i < 2; i++)
	{
		if (id[i] == pair.keep && merged_into[i] != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("contact %lld is merged into contact %lld",
							(long long) pair.keep, (long long) merged_into[i])));
		if (id[i] == pair.merged && !unmerge && merged_into[i] != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("contact %lld is already merged into contact %lld",
							(long long) pair.merged, (long long) merged_into[i])));
		if (id[i] == pair.merged && unmerge && merged_into[i] != pair.keep)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("contact %lld is not merged into contact %lld",
							(long long) pair.merged, (long long) pair.keep)));
	}
	return pair;
}

/* the caller sees both contacts and acts for the actor agent (security.c) */
static void
check_access(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return;					/* lock_pair names the missing one */
	(void) inbox_contact_access(PG_GETARG_INT64(0), PG_GETARG_INT64(1), PG_ARGISNULL(4) ? 0 : PG_GETARG_INT64(4));
	(void) inbox_contact_access(PG_GETARG_INT64(0), PG_GETARG_INT64(2), 0);
}

/* a contact's maintained columns after rows moved, as the merge's moving actor */
static void
recount(const InboxActor *actor, int64 space, int64 contact)
{
	InboxActor	moving = *actor;

	moving.merging = true;
	inbox_recount_contact(&moving, space, contact);
}

static InboxActor
actor_of(FunctionCallInfo fcinfo, int64 space)
{
	InboxActor	actor;

	memset(&actor, 0, sizeof(actor));
	INBOX_NOT_NULL(fcinfo, 3, "actor_kind");
	actor.kind = TextDatumGetCString(PG_GETARG_DATUM(3));
	inbox_check_actor_kind(actor.kind);
	actor.agent = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT64(4);
	if (actor.agent != 0)
		inbox_check_agent_in_space(space, actor.agent);
	return actor;
}

static void
write_merge_event(const InboxActor *actor, const MergePair *pair, const char *kind)
{
	InboxEvent	event = {
		.space = pair->space,
		.contact = pair->keep,
		.kind = kind,
		.actor = actor,
		.data = inbox_event_data("merged", Int64GetDatum(pair->merged), INT8OID),
	};

	(void) inbox_write_event(&event);
}

/*
 * merge_contacts(space, keep, merge, actor_kind, actor_agent)
 */
Datum
inbox_merge_contacts(PG_FUNCTION_ARGS)
{
	/* $1 space, $2 keep, $3 merged, $4 actor kind, $5 actor agent */
	static InboxQuery q_record = {
		"INSERT INTO inbox.contact_merge (space_id, keep_id, merged_id, actor_kind, actor_agent_id,"
		"  merged_contact, channels, conversations, messages, events,"
		"  absorbed_conversation, absorbed_messages, absorbed_events, comments, absorbed_comments)"
		" SELECT c.space_id, $2, $3, $4, $5, to_jsonb(c),"
		"  (SELECT coalesce(jsonb_agg(jsonb_build_array(cc.channel_id, cc.external_id)), '[]')"
		"     FROM inbox.contact_channel cc WHERE cc.space_id = $1 AND cc.contact_id = $3),"
		"  ARRAY(SELECT id FROM inbox.conversation WHERE space_id = $1 AND contact_id = $3 ORDER BY id),"
		"  ARRAY(SELECT id FROM inbox.message WHERE space_id = $1 AND contact_id = $3 ORDER BY id),"
		"  ARRAY(SELECT id FROM inbox.event WHERE space_id = $1 AND contact_id = $3 ORDER BY id),"
		"  to_jsonb(o),"
		"  ARRAY(SELECT id FROM inbox.message WHERE space_id = $1 AND conversation_id = o.id ORDER BY id),"
		"  ARRAY(SELECT id FROM inbox.event WHERE space_id = $1 AND conversation_id = o.id ORDER BY id),"
		"  ARRAY(SELECT id FROM inbox.comment WHERE space_id = $1 AND contact_id = $3 ORDER BY id),"
		"  ARRAY(SELECT id FROM inbox.comment WHERE space_id = $1 AND conversation_id = o.id ORDER BY id)"
		" FROM inbox.contact c"
		" LEFT JOIN LATERAL ("
		"   SELECT v.* FROM inbox.conversation v"
		"   WHERE v.space_id = $1 AND v.contact_id IN ($2, $3) AND v.closed_at IS NULL"
		"   ORDER BY v.opened_at, v.id LIMIT 1"
		"   OFFSET CASE WHEN (SELECT count(*) FROM inbox.conversation w"
		"                     WHERE w.space_id = $1 AND w.contact_id IN ($2, $3) AND w.closed_at IS NULL) = 2"
		"               THEN 0 ELSE 1 END) o ON true"
		" WHERE c.space_id = $1 AND c.id = $3"
		" RETURNING absorbed_conversation IS NOT NULL,"
		"  (absorbed_conversation ->> 'id')::bigint",
		5, {INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID}
	};
	/* the older of two open conversations ($4): its messages and events go to the newer */
	static InboxQuery q_absorb_messages = {
		"UPDATE inbox.message SET conversation_id ="
		"  (SELECT id FROM inbox.conversation"
		"   WHERE space_id = $1 AND contact_id IN ($2, $3) AND closed_at IS NULL AND id <> $4)"
		" WHERE space_id = $1 AND conversation_id = $4",
		4, {INT8OID, INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_absorb_events = {
		"UPDATE inbox.event SET conversation_id ="
		"  (SELECT id FROM inbox.conversation"
		"   WHERE space_id = $1 AND contact_id IN ($2, $3) AND closed_at IS NULL AND id <> $4)"
		" WHERE space_id = $1 AND conversation_id = $4",
		4, {INT8OID, INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_absorb_comments = {
		"UPDATE inbox.comment SET conversation_id ="
		"  (SELECT id FROM inbox.conversation"
		"   WHERE space_id = $1 AND contact_id IN ($2, $3) AND closed_at IS NULL AND id <> $4)"
		" WHERE space_id = $1 AND conversation_id = $4",
		4, {INT8OID, INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_drop_absorbed = {
		"DELETE FROM inbox.conversation WHERE space_id = $1 AND id = $4 AND $2 <> $3",
		4, {INT8OID, INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_move_identities = {
		"UPDATE inbox.contact_channel SET contact_id = $2 WHERE space_id = $1 AND contact_id = $3",
		3, {INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_move_conversations = {
		"UPDATE inbox.conversation SET contact_id = $2 WHERE space_id = $1 AND contact_id = $3",
		3, {INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_move_messages = {
		"UPDATE inbox.message SET contact_id = $2 WHERE space_id = $1 AND contact_id = $3",
		3, {INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_move_events = {
		"UPDATE inbox.event SET contact_id = $2 WHERE space_id = $1 AND contact_id = $3",
		3, {INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_move_comments = {
		"UPDATE inbox.comment SET contact_id = $2 WHERE space_id = $1 AND contact_id = $3",
		3, {INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_merged = {
		"UPDATE inbox.contact SET merged_into = $2, assignee_id = NULL, snoozed_until = NULL,"
		"  unread_count = 0, last_message_id = NULL, last_message_at = NULL,"
		"  last_message_direction = NULL, last_channel_id = NULL, open_conversation_id = NULL,"
		"  last_message_preview = NULL, last_message_status = NULL"
		" WHERE space_id = $1 AND id = $3",
		3, {INT8OID, INT8OID, INT8OID}
	};
	MergePair	pair;
	InboxActor	actor;
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	int64		absorbed = 0;
	bool		has_absorbed = false;

	inbox_check_nargs(fcinfo, 5);
	inbox_spi_connect();
	check_access(fcinfo);
	pair = lock_pair(fcinfo, false);
	actor = actor_of(fcinfo, pair.space);

	values[0] = Int64GetDatum(pair.space);
	values[1] = Int64GetDatum(pair.keep);
	values[2] = Int64GetDatum(pair.merged);
	values[3] = CStringGetTextDatum(actor.kind);
	values[4] = Int64GetDatum(actor.agent);
	nulls[4] = actor.agent ? ' ' : 'n';
	inbox_exec(&q_record, values, nulls, 0);
	{
		bool		isnull;

		has_absorbed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (has_absorbed)
			absorbed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}

	if (has_absorbed)
	{
		values[3] = Int64GetDatum(absorbed);
		merge_exec(&actor, &q_absorb_messages, values, NULL);
		merge_exec(&actor, &q_absorb_events, values, NULL);
		merge_exec(&actor, &q_absorb_comments, values, NULL);
		merge_exec(&actor, &q_drop_absorbed, values, NULL);
	}
	merge_exec(&actor, &q_move_identities, values, NULL);
	merge_exec(&actor, &q_move_conversations, values, NULL);
	merge_exec(&actor, &q_move_messages, values, NULL);
	merge_exec(&actor, &q_move_events, values, NULL);
	merge_exec(&actor, &q_move_comments, values, NULL);
	merge_exec(&actor, &q_merged, values, NULL);
	recount(&actor, pair.space, pair.keep);
	write_merge_event(&actor, &pair, "contact_merged");

	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * After an unmerge, rows of one contact may sit in a conversation that went
 * to the other.  Events and comments follow their conversation (they tell
 * what happened in it), except the merge events, which stay with the kept
 * contact, in its open conversation if any; messages follow their channel
 * identity, into their contact's open conversation, opened if needed.
 */
static void
rehome_strays(const InboxActor *actor, const MergePair *pair)
{
	/* $1 space, $2 keep, $3 merged */
	static InboxQuery q_events = {
		"UPDATE inbox.event e SET contact_id = v.contact_id FROM inbox.conversation v"
		" WHERE v.space_id = e.space_id AND v.id = e.conversation_id"
		"   AND e.space_id = $1 AND e.contact_id IN ($2, $3) AND v.contact_id <> e.contact_id"
		"   AND e.kind NOT IN ('contact_merged', 'contact_unmerged')",
		3, {INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_comments = {
		"UPDATE inbox.comment n SET contact_id = v.contact_id FROM inbox.conversation v"
		" WHERE v.space_id = n.space_id AND v.id = n.conversation_id"
		"   AND n.space_id = $1 AND n.contact_id IN ($2, $3) AND v.contact_id <> n.contact_id",
		3, {INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_merge_events = {
		"UPDATE inbox.event e SET conversation_id ="
		"  (SELECT o.id FROM inbox.conversation o"
		"   WHERE o.space_id = e.space_id AND o.contact_id = e.contact_id AND o.closed_at IS NULL)"
		" FROM inbox.conversation v"
		" WHERE v.space_id = e.space_id AND v.id = e.conversation_id"
		"   AND e.space_id = $1 AND e.contact_id IN ($2, $3) AND v.contact_id <> e.contact_id",
		3, {INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_strays = {
		"SELECT m.contact_id, min(m.created_at) FROM inbox.message m"
		" JOIN inbox.conversation v ON v.space_id = m.space_id AND v.id = m.conversation_id"
		" WHERE m.space_id = $1 AND m.contact_id IN ($2, $3) AND v.contact_id <> m.contact_id"
		" GROUP BY m.contact_id",
		3, {INT8OID, INT8OID, INT8OID}
	};
	/* $1 space, $2 the contact whose strays move */
	static InboxQuery q_move = {
		"UPDATE inbox.message m SET conversation_id ="
		"  (SELECT o.id FROM inbox.conversation o"
		"   WHERE o.space_id = m.space_id AND o.contact_id = m.contact_id AND o.closed_at IS NULL)"
		" FROM inbox.conversation v"
		" WHERE v.space_id = m.space_id AND v.id = m.conversation_id"
		"   AND m.space_id = $1 AND m.contact_id = $2 AND v.contact_id <> m.contact_id",
		2, {INT8OID, INT8OID}
	};
	Datum		values[3] = {Int64GetDatum(pair->space), Int64GetDatum(pair->keep), Int64GetDatum(pair->merged)};
	InboxActor	contact_actor;
	SPITupleTable *strays;
	int			n;

	merge_exec(actor, &q_events, values, NULL);
	merge_exec(actor, &q_comments, values, NULL);
	merge_exec(actor, &q_merge_events, values, NULL);

	n = inbox_exec(&q_strays, values, NULL, 0);
	strays = SPI_tuptable;
	memset(&contact_actor, 0, sizeof(contact_actor));
	contact_actor.kind = "contact";
	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		row[2];
		int64		contact;
		TimestampTz first;

		contact = DatumGetInt64(SPI_getbinval(strays->vals[i], strays->tupdesc, 1, &isnull));
		first = DatumGetTimestampTz(SPI_getbinval(strays->vals[i], strays->tupdesc, 2, &isnull));
		/* a new conversation is a real one: opened with its event, as a message opens one */
		if (inbox_open_conversation_of(pair->space, contact, false) == 0)
			(void) inbox_insert_conversation(pair->space, contact, &first, &contact_actor, NULL, NULL);
		row[0] = Int64GetDatum(pair->space);
		row[1] = Int64GetDatum(contact);
		merge_exec(actor, &q_move, row, NULL);
	}
}

/*
 * unmerge_contacts(space, keep, merged, actor_kind, actor_agent)
 */
Datum
inbox_unmerge_contacts(PG_FUNCTION_ARGS)
{
	static InboxQuery q_find = {
		"SELECT id FROM inbox.contact_merge"
		" WHERE space_id = $1 AND keep_id = $2 AND merged_id = $3 AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
		3, {INT8OID, INT8OID, INT8OID}
	};
	/* $1 space, $2 keep, $3 merged, $4 merge record */
	static InboxQuery q_identities = {
		"UPDATE inbox.contact_channel cc SET contact_id = $3"
		" FROM inbox.contact_merge r, jsonb_array_elements(r.channels) i"
		" WHERE r.space_id = cc.space_id AND r.space_id = $1 AND r.id = $4"
		"   AND cc.channel_id = (i ->> 0)::bigint AND cc.external_id = i ->> 1",
		4, {INT8OID, INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_conversations = {
		"UPDATE inbox.conversation SET contact_id = $3"
		" WHERE space_id = $1 AND contact_id = $2"
		"   AND id = ANY ((SELECT conversations FROM inbox.contact_merge WHERE space_id = $1 AND id = $4)::bigint[])",
		4, {INT8OID, INT8OID, INT8OID, INT8OID}
	};
	/* the absorbed conversation comes back, with its id, for its own contact */
	static InboxQuery q_restore_absorbed = {
		"INSERT INTO inbox.conversation (space_id, id, contact_id, opened_at, opened_by_kind, opened_by_agent,"
		"  reference, source_url, closed_at, closed_by_kind, closed_by_agent, category, summary,"
		"  first_response_at)"
		" SELECT r.space_id, a.id, a.contact_id, a.opened_at, a.opened_by_kind, a.opened_by_agent,"
		"  a.reference, a.source_url, a.closed_at, a.closed_by_kind, a.closed_by_agent, a.category, a.summary,"
		"  a.first_response_at"
		" FROM inbox.contact_merge r, jsonb_populate_record(NULL::inbox.conversation, r.absorbed_conversation) a"
		" WHERE r.space_id = $1 AND r.id = $4 AND r.absorbed_conversation IS NOT NULL"
		"   AND NOT EXISTS (SELECT FROM inbox.conversation v"
		"     WHERE v.space_id = r.space_id AND v.contact_id = a.contact_id AND v.closed_at IS NULL)"
		"   AND $2 <> $3",
		4, {INT8OID, INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_absorbed_messages = {
		"UPDATE inbox.message m SET conversation_id = (r.absorbed_conversation ->> 'id')::bigint"
		" FROM inbox.contact_merge r"
		" WHERE r.space_id = m.space_id AND m.space_id = $1 AND r.id = $4 AND m.id = ANY (r.absorbed_messages)"
		"   AND $2 <> $3"
		"   AND EXISTS (SELECT FROM inbox.conversation v"
		"     WHERE v.space_id = r.space_id AND v.id = (r.absorbed_conversation ->> 'id')::bigint)",
		4, {INT8OID, INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_absorbed_events = {
		"UPDATE inbox.event e SET conversation_id = (r.absorbed_conversation ->> 'id')::bigint"
		" FROM inbox.contact_merge r"
		" WHERE r.space_id = e.space_id AND e.space_id = $1 AND r.id = $4 AND e.id = ANY (r.absorbed_events)"
		"   AND $2 <> $3"
		"   AND EXISTS (SELECT FROM inbox.conversation v"
		"     WHERE v.space_id = r.space_id AND v.id = (r.absorbed_conversation ->> 'id')::bigint)",
		4, {INT8OID, INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_absorbed_comments = {
		"UPDATE inbox.comment n SET conversation_id = (r.absorbed_conversation ->> 'id')::bigint"
		" FROM inbox.contact_merge r"
		" WHERE r.space_id = n.space_id AND n.space_id = $1 AND r.id = $4 AND n.id = ANY (r.absorbed_comments)"
		"   AND $2 <> $3"
		"   AND EXISTS (SELECT FROM inbox.conversation v"
		"     WHERE v.space_id = r.space_id AND v.id = (r.absorbed_conversation ->> 'id')::bigint)",
		4, {INT8OID, INT8OID, INT8OID, INT8OID}
	};
	/*
	 * The merged contact's messages go back, and so do the messages that
	 * came since on a channel only it had an identity on.
	 */
	static InboxQuery q_messages = {
		"UPDATE inbox.message m SET contact_id = $3"
		" FROM inbox.contact_merge r"
		" WHERE r.space_id = m.space_id AND r.space_id = $1 AND r.id = $4 AND m.contact_id = $2"
		"   AND (m.id = ANY (r.messages)"
		"        OR (m.channel_id IN (SELECT (i ->> 0)::bigint FROM jsonb_array_elements(r.channels) i)"
		"            AND NOT EXISTS (SELECT FROM inbox.contact_channel cc"
		"                            WHERE cc.space_id = m.space_id AND cc.contact_id = $2"
		"                              AND cc.channel_id = m.channel_id)))",
		4, {INT8OID, INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_events = {
		"UPDATE inbox.event SET contact_id = $3"
		" WHERE space_id = $1 AND contact_id = $2"
		"   AND id = ANY ((SELECT events FROM inbox.contact_merge WHERE space_id = $1 AND id = $4)::bigint[])",
		4, {INT8OID, INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_comments = {
		"UPDATE inbox.comment SET contact_id = $3"
		" WHERE space_id = $1 AND contact_id = $2"
		"   AND id = ANY ((SELECT comments FROM inbox.contact_merge WHERE space_id = $1 AND id = $4)::bigint[])",
		4, {INT8OID, INT8OID, INT8OID, INT8OID}
	};
	/*
	 * The merged contact as it was: its own fields from the record; what
	 * follows its messages is recounted after.  An assignee or a snooze comes
	 * back only if the contact has an open conversation again / the snooze
	 * is still ahead.
	 */
	static InboxQuery q_contact = {
		"UPDATE inbox.contact c SET merged_into = NULL,"
		"  first_name = s.first_name, last_name = s.last_name, email = s.email, phone = s.phone,"
		"  custom = s.custom, tags = s.tags, bot_active = s.bot_active,"
		"  snoozed_until = CASE WHEN s.snoozed_until > now() THEN s.snoozed_until END,"
		"  assignee_id = CASE WHEN EXISTS (SELECT FROM inbox.conversation v"
		"                                  WHERE v.space_id = c.space_id AND v.contact_id = c.id"
		"                                    AND v.closed_at IS NULL)"
		"                     THEN s.assignee_id END"
		" FROM inbox.contact_merge r,"
		"   jsonb_populate_record(NULL::inbox.contact, r.merged_contact) s"
		" WHERE r.space_id = c.space_id AND c.space_id = $1 AND r.id = $4 AND c.id = $3 AND $2 <> $3",
		4, {INT8OID, INT8OID, INT8OID, INT8OID}
	};
	static InboxQuery q_done = {
		"UPDATE inbox.contact_merge SET undone_at = now() WHERE space_id = $1 AND id = $4 AND $2 <> $3",
		4, {INT8OID, INT8OID, INT8OID, INT8OID}
	};
	MergePair	pair;
	InboxActor	actor;
	Datum		values[4];
	int64		record;

	inbox_check_nargs(fcinfo, 5);
	inbox_spi_connect();
	check_access(fcinfo);
	pair = lock_pair(fcinfo, true);
	actor = actor_of(fcinfo, pair.space);

	values[0] = Int64GetDatum(pair.space);
	values[1] = Int64GetDatum(pair.keep);
	values[2] = Int64GetDatum(pair.merged);
	inbox_exec(&q_find, values, NULL, 1);
	if (!inbox_int8(1, &record))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("contact %lld was not merged into contact %lld by merge_contacts()",
						(long long) pair.merged, (long long) pair.keep)));
	values[3] = Int64GetDatum(record);

	merge_exec(&actor, &q_identities, values, NULL);
	merge_exec(&actor, &q_conversations, values, NULL);
	merge_exec(&actor, &q_restore_absorbed, values, NULL);
	merge_exec(&actor, &q_absorbed_messages, values, NULL);
	merge_exec(&actor, &q_absorbed_events, values, NULL);
	merge_exec(&actor, &q_absorbed_comments, values, NULL);
	merge_exec(&actor, &q_messages, values, NULL);
	merge_exec(&actor, &q_events, values, NULL);
	merge_exec(&actor, &q_comments, values, NULL);
	merge_exec(&actor, &q_contact, values, NULL);	/* no longer merged: may get a conversation */
	rehome_strays(&actor, &pair);
	recount(&actor, pair.space, pair.keep);
	recount(&actor, pair.space, pair.merged);
	merge_exec(&actor, &q_done, values, NULL);
	write_merge_event(&actor, &pair, "contact_unmerged");

	SPI_finish();
	PG_RETURN_VOID();
}
