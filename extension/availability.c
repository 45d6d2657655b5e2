/*-------------------------------------------------------------------------
 *
 * availability.c
 *	  Agents' activity, and setting idle agents away (the space's
 *	  auto_away_after).
 *
 * Activity.  An agent acts when the API is called as that agent: with it
 * as the acting agent argument (send_message's agent, assign's
 * actor_agent, ...) or by the database role bound to it
 * (inbox.agent.db_role).  security.c tells this file on every such call;
 * the time goes to inbox.agent_activity, a table of the space, at most once
 * per inbox.activity_interval (a minute) per agent and session: the calls
 * of a busy agent do not each write a row.  Nothing is recorded in a
 * read-only transaction (a hot standby serves the read API).  What a
 * transaction or subtransaction that rolls back recorded is forgotten (the
 * next call records it again); what committed before stays remembered, so
 * that a refused call (rolled back to its savepoint) makes the next calls
 * of the minute write nothing either.
 *
 * Auto-away.  The background worker (worker_loop.c) sets an online agent
 * offline once the space's auto_away_after has passed since it last acted
 * (or, never having acted, since it was added), and sleeps until the next
 * agent is due.  The change goes through inbox.agent like any other, so
 * that its rule (rules_agent.c) notifies.  On a Citus cluster the agents
 * are a reference table: the coordinator's worker sets them away (reading
 * the activity of every node), the other nodes' workers leave them alone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "inbox.h"

/* inbox.activity_interval, in seconds */
static int	activity_interval = 60;

typedef struct ActivityKey
{
	int64		space;
	int64		agent;
} ActivityKey;

typedef struct RecordedActivity
{
	ActivityKey key;
	TimestampTz recorded_at;
	bool		pending;		/* written by the transaction under way */
	SubTransactionId subid;		/* by this subtransaction of it, when pending */
} RecordedActivity;

/* what this session recorded, in TopMemoryContext */
static HTAB *recorded = NULL;

/* how many entries are pending */
static int	pending_count = 0;

void
inbox_define_availability_gucs(void)
{
	DefineCustomIntVariable("inbox.activity_interval",
							"How often a session records that an agent acted, at most.",
							"An agent's activity (inbox.agent_activity) is written at most once per this many seconds per agent and session; auto_away_after reads it.",
							&activity_interval,
							60, 0, 3600,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
}

/*
 * The end of the transaction or of one of its subtransactions: the
 * pending entries written by subtransaction subid or a later one (its
 * children: subtransaction ids grow within a transaction), or with
 * InvalidSubTransactionId all pending entries, are forgotten when it
 * aborted (their rows are not there) and, at the end of the transaction,
 * kept as recorded when it committed.
 */
static void
end_pending(SubTransactionId subid, bool aborted)
{
	HASH_SEQ_STATUS seq;
	RecordedActivity *entry;

	if (recorded == NULL || pending_count == 0)
		return;
	hash_seq_init(&seq, recorded);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		if (!entry->pending || (subid != InvalidSubTransactionId && entry->subid < subid))
			continue;
		if (aborted)
			(void) hash_search(recorded, &entry->key, HASH_REMOVE, NULL);
		else
			entry->pending = false;
		pending_count--;
	}
}

/* at the end of a transaction (inbox.c) */
void
inbox_availability_xact_event(XactEvent event)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			end_pending(InvalidSubTransactionId, false);
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			end_pending(InvalidSubTransactionId, true);
			break;
		default:
			break;
	}
}

/* a subtransaction rolled back (inbox.c): what it recorded is not there */
void
inbox_availability_subxact_abort(SubTransactionId subid)
{
	end_pending(subid, true);
}

/*
 * An API call acts as this agent of the space (0: none).  The caller is
 * connected to SPI and has checked that it may act for the agent.
 */
void
inbox_note_activity(int64 space, int64 agent)
{
	static InboxQuery q = {
		"INSERT INTO inbox.agent_activity AS a (space_id, agent_id, active_at)"
		" SELECT $1, $2, $3 WHERE EXISTS (SELECT FROM inbox.agent WHERE space_id = $1 AND id = $2)"
		" ON CONFLICT (space_id, agent_id) DO UPDATE"
		" SET active_at = greatest(a.active_at, excluded.active_at)",
		3, {INT8OID, INT8OID, TIMESTAMPTZOID}
	};
	ActivityKey key;
	RecordedActivity *entry;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	bool		found;
	Datum		values[3];

	if (agent == 0 || XactReadOnly || RecoveryInProgress())
		return;
	if (recorded == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(ActivityKey);
		ctl.entrysize = sizeof(RecordedActivity);
		ctl.hcxt = TopMemoryContext;
		recorded = hash_create("inbox agent activity", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	memset(&key, 0, sizeof(key));
	key.space = space;
	key.agent = agent;
	entry = hash_search(recorded, &key, HASH_ENTER, &found);
	if (found && !TimestampDifferenceExceeds(entry->recorded_at, now, activity_interval * 1000))
		return;
	entry->recorded_at = now;
	if (!found || !entry->pending)
		pending_count++;
	entry->pending = true;
	entry->subid = GetCurrentSubTransactionId();

	values[0] = Int64GetDatum(space);
	values[1] = Int64GetDatum(agent);
	values[2] = TimestampTzGetDatum(now);
	inbox_exec(&q, values, NULL, 0);
}

/*
 * Whether this server sets agents away: one server, or the coordinator
 * of a Citus cluster (whose agents are a reference table, written once
 * for every node).
 */
static bool
sets_agents_away(void)
{
	return !inbox_is_distributed() || inbox_is_coordinator();
}

/*
 * The background worker: set offline the online agents whose space's
 * auto_away_after has passed since they acted, at most max of them;
 * returns how many.  Every agent has an activity row from the time it was
 * added (rules_agent.c), so that the idle ones are found by a join of the
 * space's activity with the agents and spaces, which a Citus cluster runs
 * on every node.  Each is then checked again and set offline through
 * inbox.agent: an agent who acted since the first read is left online, one
 * whose status changed meanwhile keeps it.  (The activity row is read, not
 * locked: the status change locks the agent row and then writes the
 * activity, rules_agent.c, and an agent row waited for with its activity
 * row held could deadlock with it.  An agent who acts in the moment
 * between the check and the change is set offline all the same.)  The
 * caller is connected to SPI.
 */
int
inbox_set_idle_agents_away(int max)
{
	static InboxQuery q_idle = {
		"SELECT v.space_id, v.agent_id, s.auto_away_after FROM inbox.agent_activity v"
		" JOIN inbox.agent a ON a.space_id = v.space_id AND a.id = v.agent_id"
		" JOIN inbox.space s ON s.id = v.space_id"
		" WHERE a.status = 'online' AND s.auto_away_after IS NOT NULL"
		"   AND v.active_at + s.auto_away_after <= now()"
		" ORDER BY v.active_at + s.auto_away_after, v.agent_id LIMIT $1",
		1, {INT4OID}
	};
	static InboxQuery q_still_idle = {
		"SELECT active_at + $3 <= now() FROM inbox.agent_activity WHERE space_id = $1 AND agent_id = $2",
		3, {INT8OID, INT8OID, INTERVALOID}
	};
	static InboxQuery q_away = {
		"UPDATE inbox.agent SET status = 'offline' WHERE space_id = $1 AND id = $2 AND status = 'online'",
		2, {INT8OID, INT8OID}
	};
	Datum		values[3] = {Int32GetDatum(max)};
	SPITupleTable *idle;
	uint64		n;
	int			away = 0;

	if (!sets_agents_away())
		return 0;
	inbox_exec(&q_idle, values, NULL, 0);
	idle = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;

		for (int c = 0; c < 3; c++)
			values[c] = SPI_getbinval(idle->vals[i], idle->tupdesc, c + 1, &isnull);
		if (inbox_exec(&q_still_idle, values, NULL, 1) == 0 || !DatumGetBool(inbox_value(1, &isnull)))
			continue;
		away += inbox_exec(&q_away, values, NULL, 0);
	}
	return away;
}

/*
 * When the next online agent falls idle (of a space with auto_away_after);
 * false when none will.  The caller is connected to SPI.
 */
bool
inbox_next_away_due(TimestampTz *due)
{
	static InboxQuery q = {
		"SELECT min(v.active_at + s.auto_away_after) FROM inbox.agent_activity v"
		" JOIN inbox.agent a ON a.space_id = v.space_id AND a.id = v.agent_id"
		" JOIN inbox.space s ON s.id = v.space_id"
		" WHERE a.status = 'online' AND s.auto_away_after IS NOT NULL",
		0, {InvalidOid}
	};
	bool		isnull;
	Datum		value;

	if (!sets_agents_away())
		return false;
	inbox_exec(&q, NULL, NULL, 1);
	value = inbox_value(1, &isnull);
	if (isnull)
		return false;
	*due = DatumGetTimestampTz(value);
	return true;
}

/*
 * An agent was added, or came online (rules_agent.c): it acts now, so that
 * auto-away counts from here (an agent set online long after it last acted
 * is not set away again at once).  The caller is connected to SPI.
 */
void
inbox_start_activity(int64 space, int64 agent, TimestampTz at)
{
	static InboxQuery q = {
		"INSERT INTO inbox.agent_activity AS a (space_id, agent_id, active_at) VALUES ($1, $2, $3)"
		" ON CONFLICT (space_id, agent_id) DO UPDATE SET active_at = greatest(a.active_at, excluded.active_at)",
		3, {INT8OID, INT8OID, TIMESTAMPTZOID}
	};
	Datum		values[3] = {Int64GetDatum(space), Int64GetDatum(agent), TimestampTzGetDatum(at)};

	inbox_exec(&q, values, NULL, 0);
}
