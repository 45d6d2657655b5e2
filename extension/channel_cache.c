/*-------------------------------------------------------------------------
 *
 * channel_cache.c
 *	  What the rules need to know about a channel (its space, its kind and
 *	  what the kind supports), kept per backend.
 *
 * Every message written looks up its channel, and channels change
 * rarely: a backend keeps each channel it has read in a hash table, the
 * way pg_cron keeps its jobs.  Triggers on inbox.channel and
 * inbox.channel_kind, enabled ALWAYS (channel_cache_invalidate per row, so
 * that a logical replication subscriber runs it too, and
 * channel_cache_invalidate_truncate), send a relcache invalidation of the
 * table they changed (by its name: on Citus they fire on placements of
 * the tables); every backend empties its cache when it processes
 * that invalidation: the writing backend at its next command, the others
 * at their next look-up, which first accepts the invalidations that have
 * arrived.  An aborted write
 * empties the writer's cache again, so nothing the rollback undid stays.
 *
 * Until ALTER EXTENSION inbox UPDATE has added those triggers to a 1.0
 * schema, or while one is not enabled ALWAYS, nothing is kept.
 *
 * A channel is read through SPI (on a Citus cluster inbox.channel is a
 * reference table, whose rows are in its placement, not in the table a
 * table_open would scan), with the latest snapshot, as the catalog caches do,
 * so that a transaction with an older snapshot (REPEATABLE READ) never
 * leaves an outdated entry for the backend's later transactions; and a
 * read during which an invalidation arrived (taking the tables' locks
 * accepts them) is used once and not kept, as it may predate the change.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_channel_cache_invalidate);

typedef struct CachedChannel
{
	int64		id;				/* hash key */
	int64		space;
	char	   *kind;
	bool		reply_to;
	uint32		statuses;		/* the statuses the kind reports, bit per InboxStatus */
} CachedChannel;

static MemoryContext cache_context = NULL;
static HTAB *cache = NULL;
static bool cache_valid = false;
static bool cache_enabled = false;	/* the invalidation triggers fire always */
static uint64 invalidations = 0;	/* counts the invalidations that concern us */

/* the tables whose invalidation empties the cache, as of its last reset */
static Oid	channel_relid = InvalidOid;
static Oid	kind_relid = InvalidOid;

static void
invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == channel_relid || relid == kind_relid)
	{
		cache_valid = false;
		invalidations++;
	}
}

static void
reset_cache(void)
{
	HASHCTL		ctl;
	Oid			schema;

	if (cache_context == NULL)
	{
		cache_context = AllocSetContextCreate(CacheMemoryContext, "inbox channel cache",
											  ALLOCSET_SMALL_SIZES);
		CacheRegisterRelcacheCallback(invalidate, (Datum) 0);
	}
	else
		MemoryContextReset(cache_context);

	schema = get_namespace_oid("inbox", false);
	channel_relid = get_relname_relid("channel", schema);
	kind_relid = get_relname_relid("channel_kind", schema);

	/* a 1.0 schema, until ALTER EXTENSION inbox UPDATE: nothing is kept */
	cache_enabled = false;
	if (OidIsValid(channel_relid) && OidIsValid(kind_relid))
	{
		Relation	channel = table_open(channel_relid, AccessShareLock);
		Relation	kind = table_open(kind_relid, AccessShareLock);

		cache_enabled =
			inbox_trigger_state(channel, "channel_cache_invalidate") == TRIGGER_FIRES_ALWAYS &&
			inbox_trigger_state(channel, "channel_cache_invalidate_truncate") == TRIGGER_FIRES_ALWAYS &&
			inbox_trigger_state(kind, "channel_cache_invalidate") == TRIGGER_FIRES_ALWAYS &&
			inbox_trigger_state(kind, "channel_cache_invalidate_truncate") == TRIGGER_FIRES_ALWAYS;
		table_close(kind, AccessShareLock);
		table_close(channel, AccessShareLock);
	}

	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(CachedChannel);
	ctl.hcxt = cache_context;
	cache = hash_create("inbox channel cache", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	cache_valid = true;
}

/* read a channel, in the caller's memory context; false when it does not exist */
static bool
load(int64 channel, CachedChannel *entry)
{
	static InboxQuery q = {
		"SELECT c.space_id, c.kind, k.reply_to, k.statuses"
		" FROM inbox.channel c JOIN inbox.channel_kind k ON k.kind = c.kind WHERE c.id = $1",
		1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(channel)};
	bool		isnull;
	Datum		statuses;
	Datum	   *elems;
	bool	   *elem_nulls;
	int			nelems;

	if (inbox_exec_snapshot(&q, values, NULL, 1, GetLatestSnapshot()) == 0)
		return false;

	entry->id = channel;
	(void) inbox_int8(1, &entry->space);
	entry->kind = inbox_text(2);
	entry->reply_to = DatumGetBool(inbox_value(3, &isnull)) && !isnull;
	entry->statuses = 0;
	statuses = inbox_value(4, &isnull);
	if (!isnull)
	{
		deconstruct_array(DatumGetArrayTypeP(statuses), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &elem_nulls, &nelems);
		for (int i = 0; i < nelems; i++)
		{
			InboxStatus status;

			/* a name that is no status reports nothing a message can have */
			if (!elem_nulls[i] && inbox_parse_status(TextDatumGetCString(elems[i]), &status))
				entry->statuses |= 1u << status;
		}
	}
	return true;
}

/* keep a loaded channel: a copy in the cache's memory */
static CachedChannel *
store(const CachedChannel *loaded)
{
	CachedChannel copy = *loaded;
	CachedChannel *entry;
	MemoryContext old;

	old = MemoryContextSwitchTo(cache_context);
	copy.kind = pstrdup(loaded->kind);
	MemoryContextSwitchTo(old);

	entry = hash_search(cache, &copy.id, HASH_ENTER, NULL);
	*entry = copy;
	return entry;
}

/*
 * The facts of a channel of a space (INBOX_REPORTS_STATUS tells whether
 * its kind reports a status).  The kind is copied into the caller's memory
 * context: the cache may be emptied by any later lock or command.  Errors
 * with P0002 when the space has no such channel, with the same message
 * whether the channel does not exist or is another space's.  The caller
 * is connected to SPI.
 */
InboxChannelFacts
inbox_channel_facts(int64 space, int64 channel)
{
	CachedChannel *entry;
	CachedChannel loaded;
	InboxChannelFacts facts;
	uint64		seen;

	/* a change another session committed is seen from its next statement on */
	AcceptInvalidationMessages();
	if (!cache_valid)
		reset_cache();
	entry = hash_search(cache, &channel, HASH_FIND, NULL);
	if (entry == NULL)
	{
		seen = invalidations;
		if (load(channel, &loaded))
			entry = (cache_enabled && invalidations == seen) ? store(&loaded) : &loaded;
	}
	if (entry == NULL || entry->space != space)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("channel %lld does not exist in space %lld", (long long) channel, (long long) space)));

	facts.space = entry->space;
	facts.kind = pstrdup(entry->kind);
	facts.reply_to = entry->reply_to;
	facts.statuses = entry->statuses;
	return facts;
}

/*
 * Row and TRUNCATE trigger of inbox.channel and inbox.channel_kind: every
 * backend's cache forgets the channels when the change commits (and the
 * writer's own at once).
 *
 * The invalidation is of the tables named inbox.channel and
 * inbox.channel_kind, whose OIDs the caches watch, rather than of the
 * trigger's own relation: on a Citus cluster the trigger fires on a
 * placement of the reference table (inbox.channel_102008), a relation no
 * cache knows.  Whose placement it is, the name does not tell well, and
 * channels change rarely: such a change invalidates both tables.
 */
Datum
inbox_channel_cache_invalidate(PG_FUNCTION_ARGS)
{
	Relation	rel;
	Oid			schema,
				channel,
				kind;

	inbox_check_called_as_trigger(fcinfo, "channel_cache_invalidate");
	rel = ((TriggerData *) fcinfo->context)->tg_relation;
	schema = get_namespace_oid("inbox", false);
	channel = get_relname_relid("channel", schema);
	kind = get_relname_relid("channel_kind", schema);
	if (RelationGetRelid(rel) == channel || RelationGetRelid(rel) == kind)
		CacheInvalidateRelcache(rel);
	else
	{
		if (OidIsValid(channel))
			CacheInvalidateRelcacheByRelid(channel);
		if (OidIsValid(kind))
			CacheInvalidateRelcacheByRelid(kind);
	}
	return PointerGetDatum(NULL);
}
