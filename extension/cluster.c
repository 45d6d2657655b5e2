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
#include "utils/builtins.h"

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
