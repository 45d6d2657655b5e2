/*-------------------------------------------------------------------------
 *
 * auto_close.c
 *	  Auto-close (the space's auto_close_after): the wait of each
 *	  conversation for its contact's answer, and closing the conversations
 *	  whose wait is over.
 *
 * A conversation waits for its contact while its newest message is an
 * outgoing message of a user with no incoming message since.  The rules
 * keep that wait in two columns of the conversation:
 *   auto_close_from  when the wait runs from: the time of that user
 *                    message, or the end of a snooze after it (a snoozed
 *                    contact is not closed, and the wait runs again from
 *                    the snooze's end);
 *   auto_close_at    auto_close_from + the space's auto_close_after, when
 *                    the background worker closes the conversation; NULL
 *                    where auto-close is off (auto_close_from is kept all
 *                    the same, so that turning it on takes effect at once).
 * - a user message moves the wait to its time (rules_message.c), unless
 *   an incoming message is newer; messages of other sender kinds
 *   (automation, broadcast, ...) leave it as it is;
 * - an incoming message ends it, unless a user message is newer (a late
 *   delivery of an older message);
 * - setting, moving or ending a snooze moves it to the snooze's end
 *   (snooze.c);
 * - a delete or a merge counts it again from the messages;
 * - a change of auto_close_after moves auto_close_at (rules_space.c).
 * auto_close_at has a partial index (conversation_auto_close_idx), so the
 * worker reads the next one at once; a transaction that sets an earlier
 * one than the worker waits for wakes it at commit (worker_shmem.c), other
 * transactions leave it asleep.
 *
 * Closing (inbox_close_due: the background worker, worker_loop.c): the due
 * conversations are claimed with FOR NO KEY UPDATE SKIP LOCKED and closed
 * by one UPDATE as actor system; their rules (rules_conversation.c) write
 * conversation_closed and, where the space unassigns on close,
 * unassigned, both actor system.  A conversation whose wait ended
 * meanwhile (an incoming message locked it first) is read again when
 * locked and left open.  On a Citus node the worker closes those of the
 * shards it holds, through inbox.conversation naming the space.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "inbox.h"

/*
 * Run a statement that writes the wait: maintained columns, which only the
 * rules write (rules_conversation.c refuses them otherwise).
 */
static int
exec_maintaining(InboxQuery *q, Datum *values, const char *nulls)
{
	InboxActor	actor = inbox_current_actor();

	actor.maintaining = true;
	return inbox_exec_as(&actor, q, values, nulls, 0);
}

/* auto_close_at of a wait from a time, in a space (NULL, *isnull, where auto-close is off) */
static Datum
close_time(const InboxSpaceSettings *settings, TimestampTz from, bool *isnull)
{
	TimestampTz at;

	*isnull = !settings->auto_close;
	if (*isnull)
		return (Datum) 0;
	at = inbox_time_plus(from, &settings->auto_close_after);
	inbox_worker_note_timer(at);
	return TimestampTzGetDatum(at);
}

/*
 * A user message at "at" in an open conversation of a contact snoozed
 * until snoozed_until (0: not snoozed): the wait runs from the message, or
 * from the snooze's end.  Not when an incoming message of the conversation
 * is newer (a user message recorded late).  The caller is connected to SPI
 * and holds the conversation's row.
 */
void
inbox_auto_close_user_message(int64 space, int64 conversation, TimestampTz at, TimestampTz snoozed_until)
{
	static InboxQuery q = {
		"UPDATE inbox.conversation SET auto_close_from = $3, auto_close_at = $4"
		" WHERE space_id = $1 AND id = $2 AND closed_at IS NULL"
		"   AND (auto_close_from IS NULL OR auto_close_from < $3)"
		"   AND (auto_close_from IS NOT NULL OR NOT EXISTS ("
		"     SELECT FROM inbox.message m WHERE m.space_id = $1 AND m.conversation_id = $2"
		"       AND m.direction = 'incoming' AND m.created_at > $5))",
		5, {INT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID}
	};
	InboxSpaceSettings settings = inbox_space_settings(space);
	TimestampTz from = Max(at, snoozed_until);
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	bool		isnull;

	values[0] = Int64GetDatum(space);
	values[1] = Int64GetDatum(conversation);
	values[2] = TimestampTzGetDatum(from);
	values[3] = close_time(&settings, from, &isnull);
	nulls[3] = isnull ? 'n' : ' ';
	values[4] = TimestampTzGetDatum(at);
	exec_maintaining(&q, values, nulls);
}

/*
 * An incoming message at "at" in an open conversation whose contact is
 * being waited for (the caller read auto_close_from, locking the row):
 * the wait ends, unless a user message is newer.
 */
void
inbox_auto_close_incoming(int64 space, int64 conversation, TimestampTz at)
{
	static InboxQuery q = {
		"UPDATE inbox.conversation SET auto_close_from = NULL, auto_close_at = NULL"
		" WHERE space_id = $1 AND id = $2 AND auto_close_from IS NOT NULL"
		"   AND (auto_close_from <= $3 OR NOT EXISTS ("
		"     SELECT FROM inbox.message m WHERE m.space_id = $1 AND m.conversation_id = $2"
		"       AND m.sender_kind = 'user' AND m.created_at > $3))",
		3, {INT8OID, INT8OID, TIMESTAMPTZOID}
	};
	Datum		values[3] = {Int64GetDatum(space), Int64GetDatum(conversation), TimestampTzGetDatum(at)};

	exec_maintaining(&q, values, NULL);
}

/*
 * A snooze of a contact set, moved or ended (snooze.c), the contact's open
 * conversation being "conversation" (0: none): a wait runs from "from",
 * the snooze's end, on.  The caller is connected to SPI.
 */
void
inbox_auto_close_snooze_changed(int64 space, int64 conversation, TimestampTz from)
{
	static InboxQuery q = {
		"UPDATE inbox.conversation SET auto_close_from = $3, auto_close_at = $4"
		" WHERE space_id = $1 AND id = $2 AND closed_at IS NULL AND auto_close_from IS NOT NULL"
		"   AND auto_close_from IS DISTINCT FROM $3",
		4, {INT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID}
	};
	static InboxQuery q_waits = {
		"SELECT 1 FROM inbox.conversation WHERE space_id = $1 AND id = $2 AND auto_close_from IS NOT NULL",
		2, {INT8OID, INT8OID}
	};
	InboxSpaceSettings settings;
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	bool		isnull;

	if (conversation == 0)
		return;
	values[0] = Int64GetDatum(space);
	values[1] = Int64GetDatum(conversation);
	if (inbox_exec(&q_waits, values, NULL, 1) == 0)
		return;					/* the contact had the last word */
	settings = inbox_space_settings(space);
	values[2] = TimestampTzGetDatum(from);
	values[3] = close_time(&settings, from, &isnull);
	nulls[3] = isnull ? 'n' : ' ';
	exec_maintaining(&q, values, nulls);
}

/*
 * The wait of a contact's open conversation, counted again from its
 * messages (after a delete, a merge, an unmerge: rules_message.c's
 * recount).  The caller is connected to SPI and holds the contact.
 */
void
inbox_auto_close_recount(int64 space, int64 contact)
{
	static InboxQuery q_last = {
		"SELECT v.id, m.sender_kind = 'user', m.created_at, c.snoozed_until"
		" FROM inbox.conversation v"
		" JOIN inbox.contact c ON c.space_id = v.space_id AND c.id = v.contact_id"
		" LEFT JOIN LATERAL (SELECT m.sender_kind, m.created_at FROM inbox.message m"
		"   WHERE m.space_id = v.space_id AND m.conversation_id = v.id"
		"     AND (m.direction = 'incoming' OR m.sender_kind = 'user')"
		"   ORDER BY m.created_at DESC, m.id DESC LIMIT 1) m ON true"
		" WHERE v.space_id = $1 AND v.contact_id = $2 AND v.closed_at IS NULL",
		2, {INT8OID, INT8OID}
	};
	static InboxQuery q_set = {
		"UPDATE inbox.conversation SET auto_close_from = $3, auto_close_at = $4"
		" WHERE space_id = $1 AND id = $2"
		"   AND (auto_close_from IS DISTINCT FROM $3 OR auto_close_at IS DISTINCT FROM $4)",
		4, {INT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID}
	};
	Datum		values[4] = {Int64GetDatum(space), Int64GetDatum(contact)};
	char		nulls[4] = {' ', ' ', 'n', 'n'};
	bool		isnull,
				user_null,
				snooze_null;
	bool		user;
	TimestampTz from;

	if (inbox_exec(&q_last, values, NULL, 1) == 0)
		return;					/* no open conversation */
	values[1] = inbox_value(1, &isnull);
	user = DatumGetBool(inbox_value(2, &user_null)) && !user_null;
	from = DatumGetTimestampTz(inbox_value(3, &isnull));
	if (user)
	{
		TimestampTz snoozed_until = DatumGetTimestampTz(inbox_value(4, &snooze_null));
		InboxSpaceSettings settings = inbox_space_settings(space);

		if (!snooze_null)
			from = Max(from, snoozed_until);
		values[2] = TimestampTzGetDatum(from);
		nulls[2] = ' ';
		values[3] = close_time(&settings, from, &isnull);
		nulls[3] = isnull ? 'n' : ' ';
	}
	exec_maintaining(&q_set, values, nulls);
}

/*
 * auto_close_after of a space changed (rules_space.c): auto_close_at of
 * its waiting conversations follows.  The caller is connected to SPI.
 */
void
inbox_auto_close_respace(int64 space, const InboxSpaceSettings *settings)
{
	static InboxQuery q = {
		"UPDATE inbox.conversation SET auto_close_at = auto_close_from + $2"
		" WHERE space_id = $1 AND closed_at IS NULL AND auto_close_from IS NOT NULL"
		"   AND auto_close_at IS DISTINCT FROM auto_close_from + $2",
		2, {INT8OID, INTERVALOID}
	};
	Datum		values[2];
	char		nulls[2] = {' ', settings->auto_close ? ' ' : 'n'};

	values[0] = Int64GetDatum(space);
	values[1] = settings->auto_close ? IntervalPGetDatum(&settings->auto_close_after) : (Datum) 0;
	if (exec_maintaining(&q, values, nulls) > 0 && settings->auto_close)
		inbox_worker_note_timer(GetCurrentTimestamp());	/* maybe earlier: look again */
}

/*
 * ------------------------------------------------------------------
 * Closing, for the background worker
 * ------------------------------------------------------------------
 */

/*
 * Close the due conversations of one space among ids (a bigint[]; NULL:
 * any of the space), at most max, as the system.  The space's assignment
 * lock is taken first where it assigns: the closes may free seats, and the
 * queue they fill must not wait for a conversation this statement holds
 * (agent_state.c).
 */
static int
close_space_due(int64 space, Datum ids, int max)
{
	static InboxQuery q = {
		"WITH due AS ("
		"  SELECT space_id, id FROM inbox.conversation"
		"  WHERE space_id = $1 AND ($2::bigint[] IS NULL OR id = ANY ($2)) AND auto_close_at <= now()"
		"  ORDER BY auto_close_at, id LIMIT $3"
		"  FOR NO KEY UPDATE SKIP LOCKED)"
		" UPDATE inbox.conversation c SET closed_at = greatest(now(), c.opened_at), closed_by_kind = 'system',"
		"  closed_by_agent = NULL"
		" FROM due d WHERE c.space_id = $1 AND c.space_id = d.space_id AND c.id = d.id",
		3, {INT8OID, INT8ARRAYOID, INT4OID}
	};
	Datum		values[3] = {Int64GetDatum(space), ids, Int32GetDatum(max)};
	char		nulls[3] = {' ', ids == (Datum) 0 ? 'n' : ' ', ' '};
	InboxActor	actor;

	if (inbox_space_settings(space).assignment != INBOX_ASSIGN_MANUAL)
		inbox_lock_assignment(space);
	memset(&actor, 0, sizeof(actor));
	actor.kind = "system";
	return inbox_exec_as(&actor, &q, values, nulls, 0);
}

static int
close_due_of_space(int64 space, Datum ids, void *arg)
{
	return close_space_due(space, ids, *(int *) arg);
}

/*
 * Close at most max conversations whose auto-close time has come
 * (auto_close_at <= now(), the transaction's start): of every space on one
 * server, of the spaces this node holds on a Citus cluster.  One server:
 * the spaces of the earliest due ones, in the order of their ids (the
 * assignment locks are taken in that order), each closing its due ones.
 * Returns how many were closed.  The caller is connected to SPI.
 */
int
inbox_close_due(int max)
{
	static InboxQuery q_spaces = {
		"SELECT space_id, count(*)::integer FROM ("
		"  SELECT space_id FROM inbox.conversation WHERE auto_close_at <= now()"
		"  ORDER BY auto_close_at LIMIT $1) d"
		" GROUP BY space_id ORDER BY space_id",
		1, {INT4OID}
	};
	List	   *shards = inbox_local_shards("conversation");
	Datum		values[1] = {Int32GetDatum(max)};
	SPITupleTable *spaces;
	uint64		n;
	int			closed = 0;

	if (shards != NIL)
		return inbox_act_on_shards(shards,
								   "SELECT space_id, id FROM %s WHERE auto_close_at <= now()"
								   " ORDER BY space_id, auto_close_at, id LIMIT $1",
								   max, close_due_of_space, &max);
	if (inbox_is_distributed())
		return 0;				/* distributed, and no shard of conversations here */

	PG_TRY();
	{
		inbox_exec(&q_spaces, values, NULL, 0);
	}
	PG_FINALLY();
	{
		inbox_forget_plan(&q_spaces);	/* planned for the table as it is (snooze.c) */
	}
	PG_END_TRY();
	spaces = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;

		closed += close_space_due(DatumGetInt64(SPI_getbinval(spaces->vals[i], spaces->tupdesc, 1, &isnull)),
								  (Datum) 0,
								  DatumGetInt32(SPI_getbinval(spaces->vals[i], spaces->tupdesc, 2, &isnull)));
	}
	return closed;
}

/*
 * The earliest auto-close time of any conversation (of this node's shards
 * on a Citus cluster); false when none waits.
 */
bool
inbox_next_close_due(TimestampTz *due)
{
	static InboxQuery q = {"SELECT min(auto_close_at) FROM inbox.conversation", 0, {InvalidOid}};
	List	   *shards = inbox_local_shards("conversation");
	bool		isnull;
	Datum		value;

	if (shards != NIL)
		return inbox_min_on_shards(shards, "SELECT min(auto_close_at) FROM %s", due);
	if (inbox_is_distributed())
		return false;
	PG_TRY();
	{
		inbox_exec(&q, NULL, NULL, 1);
	}
	PG_FINALLY();
	{
		inbox_forget_plan(&q);
	}
	PG_END_TRY();
	value = inbox_value(1, &isnull);
	if (isnull)
		return false;
	*due = DatumGetTimestampTz(value);
	return true;
}
