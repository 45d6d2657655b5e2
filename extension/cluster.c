/*-------------------------------------------------------------------------
 *
 * cluster.c
 *	  What inbox needs to know of the servers it shares its data with: on a
 *	  Citus cluster, whether the tables of a space are distributed and
 *	  which of their shards this node holds; on a logical replication
 *	  subscriber, that its tables are the publisher's to change.
 *
 * On a Citus cluster (inbox.distribute()) inbox.contact names the contacts
 * of every node: a query of it from this node's background worker would
 * run on all of them (and one with FOR UPDATE would be refused).  The
 * worker serves the spaces of its own node, which are in the shard tables
 * this node holds (pg_dist_placement of its group, pg_dist_local_group).
 * Without Citus, or before the tables are distributed, there are none and
 * the worker reads inbox.contact itself.
 *
 * The catalogues of Citus exist only where it is installed, so each query
 * that names one runs only after a query that does not has found them;
 * their plans are not kept (Citus may come and go).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "inbox.h"

/*
 * The shard tables of an inbox table ("contact") this node holds, as
 * qualified and quoted names (schema.table_shardid), or NIL when the
 * table is not distributed.  A shard that moved away is no longer listed
 * (its table may stay until Citus drops it later).  The caller is
 * connected to SPI; the list is in its memory context.
 */
List *
inbox_local_shards(const char *table)
{
	static InboxQuery q_citus = {
		"SELECT to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL"
		" AND to_regclass('pg_catalog.pg_dist_local_group') IS NOT NULL",
		0, {InvalidOid}
	};
	static InboxQuery q_shards = {
		"SELECT pg_catalog.shard_name(s.logicalrelid, s.shardid)"
		" FROM pg_catalog.pg_dist_shard s"
		" JOIN pg_catalog.pg_dist_placement p ON p.shardid = s.shardid"
		" WHERE s.logicalrelid = pg_catalog.to_regclass('inbox.' || $1)"
		"   AND p.groupid = (SELECT groupid FROM pg_catalog.pg_dist_local_group)"
		" ORDER BY s.shardid",
		1, {TEXTOID}
	};
	Datum		values[1];
	bool		isnull;
	List	   *shards = NIL;
	int			n;

	inbox_exec(&q_citus, NULL, NULL, 1);
	if (!DatumGetBool(inbox_value(1, &isnull)))
		return NIL;

	values[0] = CStringGetTextDatum(table);
	PG_TRY();
	{
		n = inbox_exec(&q_shards, values, NULL, 0);
		for (int i = 0; i < n; i++)
			shards = lappend(shards, TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[i],
																	   SPI_tuptable->tupdesc, 1,
																	   &isnull)));
	}
	PG_FINALLY();
	{
		inbox_forget_plan(&q_shards);
	}
	PG_END_TRY();
	return shards;
}

/*
 * Whether the tables of a space are distributed with Citus here: then the
 * background worker serves the shards of this node only, and looks at them
 * again now and then, as a shard may move to or from this node.
 */
bool
inbox_is_distributed(void)
{
	static InboxQuery q_citus = {
		"SELECT to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL", 0, {InvalidOid}
	};
	static InboxQuery q_distributed = {
		"SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition"
		"               WHERE logicalrelid = pg_catalog.to_regclass('inbox.contact'))",
		0, {InvalidOid}
	};
	bool		isnull;
	bool		distributed;

	inbox_exec(&q_citus, NULL, NULL, 1);
	if (!DatumGetBool(inbox_value(1, &isnull)))
		return false;
	PG_TRY();
	{
		inbox_exec(&q_distributed, NULL, NULL, 1);
		distributed = DatumGetBool(inbox_value(1, &isnull));
	}
	PG_FINALLY();
	{
		inbox_forget_plan(&q_distributed);
	}
	PG_END_TRY();
	return distributed;
}

/*
 * Whether this database subscribes to inbox's tables (logical replication:
 * CREATE SUBSCRIPTION of a publication of schema inbox).  Its rows are then
 * the publisher's: the publisher's worker wakes its snoozes and the change
 * comes here with the other rows, so this database's worker must change
 * none of them (a second wake would write a second event, whose id the
 * publisher's may take next).  Once the subscription is dropped (this
 * server takes over), the worker serves the database again.
 */
bool
inbox_is_subscriber(void)
{
	static InboxQuery q = {
		"SELECT EXISTS (SELECT FROM pg_catalog.pg_subscription_rel"
		"               WHERE srrelid = pg_catalog.to_regclass('inbox.contact'))",
		0, {InvalidOid}
	};
	bool		isnull;

	inbox_exec(&q, NULL, NULL, 1);
	return DatumGetBool(inbox_value(1, &isnull));
}

/*
 * Whether this node is the coordinator of a Citus cluster (group 0): it
 * holds the reference tables a background worker may write once for the
 * whole cluster (agents set away: availability.c).  False without Citus.
 */
bool
inbox_is_coordinator(void)
{
	static InboxQuery q_citus = {
		"SELECT to_regclass('pg_catalog.pg_dist_local_group') IS NOT NULL", 0, {InvalidOid}
	};
	static InboxQuery q_group = {
		"SELECT groupid = 0 FROM pg_catalog.pg_dist_local_group", 0, {InvalidOid}
	};
	bool		isnull;
	bool		coordinator = false;

	inbox_exec(&q_citus, NULL, NULL, 1);
	if (!DatumGetBool(inbox_value(1, &isnull)))
		return false;
	PG_TRY();
	{
		if (inbox_exec(&q_group, NULL, NULL, 1) > 0)
			coordinator = DatumGetBool(inbox_value(1, &isnull)) && !isnull;
	}
	PG_FINALLY();
	{
		inbox_forget_plan(&q_group);
	}
	PG_END_TRY();
	return coordinator;
}

/*
 * Whether the rows of a space are on this node: always on one server; on a
 * Citus cluster, when this node holds the space's shard of inbox.contact.
 * A rule on a reference table (inbox.space, inbox.agent), which Citus fires
 * on every node, acts on the space's rows only where they are, as a rule
 * may write only the shards of its own node.
 */
bool
inbox_space_is_local(int64 space)
{
	static InboxQuery q_placed = {
		"SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_placement p"
		"   WHERE p.shardid = pg_catalog.get_shard_id_for_distribution_column('inbox.contact', $1)"
		"     AND p.groupid = (SELECT groupid FROM pg_catalog.pg_dist_local_group))",
		1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(space)};
	bool		isnull;
	bool		local;

	if (!inbox_is_distributed())
		return true;
	PG_TRY();
	{
		inbox_exec(&q_placed, values, NULL, 1);
		local = DatumGetBool(inbox_value(1, &isnull)) && !isnull;
	}
	PG_FINALLY();
	{
		inbox_forget_plan(&q_placed);
	}
	PG_END_TRY();
	return local;
}

/*
 * The background worker of a Citus node acts on the rows of its own
 * shards: candidates are read from each shard table (sql: a format with
 * one %s for the shard table, returning space_id and id ordered by
 * space_id first, and a LIMIT $1), and handed over space by space (the ids
 * as a bigint[]) to act, which acts through the distributed table naming
 * the space, so that Citus routes it to the shard that holds the space
 * then (a shard being moved blocks the write until it has moved).  Rows
 * read from a shard table are candidates only: act reads them again,
 * locked.  At most max in all; returns the sum of what act returned.
 */
int
inbox_act_on_shards(List *shards, const char *sql, int max, InboxSpaceAction act, void *arg)
{
	ListCell   *lc;
	int			done = 0;

	foreach(lc, shards)
	{
		char	   *query = psprintf(sql, (const char *) lfirst(lc));
		Oid			argtypes[1] = {INT4OID};
		Datum		args[1];
		SPITupleTable *candidates;
		uint64		n;
		uint64		from = 0;

		if (done >= max)
			break;
		args[0] = Int32GetDatum(max - done);
		if (SPI_execute_with_args(query, 1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "inbox: could not read the candidates of shard %s", (const char *) lfirst(lc));
		candidates = SPI_tuptable;
		n = SPI_processed;
		while (from < n)
		{
			bool		isnull;
			int64		space = DatumGetInt64(SPI_getbinval(candidates->vals[from], candidates->tupdesc, 1, &isnull));
			uint64		to = from;
			Datum	   *ids = palloc((n - from) * sizeof(Datum));

			while (to < n && DatumGetInt64(SPI_getbinval(candidates->vals[to], candidates->tupdesc, 1, &isnull)) == space)
			{
				ids[to - from] = SPI_getbinval(candidates->vals[to], candidates->tupdesc, 2, &isnull);
				to++;
			}
			done += act(space, PointerGetDatum(construct_array(ids, to - from, INT8OID, sizeof(int64),
															   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
						arg);
			from = to;
		}
	}
	return done;
}

/*
 * The earliest time of a column over the shard tables this node holds
 * (sql: a format with one %s for the shard table, returning one
 * timestamptz, NULL for none); false when every shard has none.
 */
bool
inbox_min_on_shards(List *shards, const char *sql, TimestampTz *earliest)
{
	ListCell   *lc;
	bool		found = false;

	foreach(lc, shards)
	{
		char	   *query = psprintf(sql, (const char *) lfirst(lc));
		bool		isnull;
		Datum		value;

		if (SPI_execute(query, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "inbox: could not read the next due time of shard %s", (const char *) lfirst(lc));
		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull && (!found || DatumGetTimestampTz(value) < *earliest))
		{
			*earliest = DatumGetTimestampTz(value);
			found = true;
		}
	}
	return found;
}
