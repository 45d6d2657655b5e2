/*-------------------------------------------------------------------------
 *
 * notify.c
 *	  LISTEN/NOTIFY for every committed change (rule 13).
 *
 * A trigger on contact, conversation, message, event and comment records
 * each changed row as (space, contact, op, id).  Records are coalesced per
 * transaction: one notification per contact and op, listing the ids
 * involved, so that a bulk import of 100,000 messages sends one
 * notification per contact rather than one per row.  They are sent on
 * channel inbox_<space> when the transaction commits, by the database's
 * background worker (handed over by worker_shmem.c, sent from the ring of
 * notify_relay.c) or else by the transaction itself (PostgreSQL delivers
 * them when the commit is done); a rolled-back transaction sends nothing,
 * and a rolled-back subtransaction takes its records with it.
 *
 * Payloads carry ids only, never message bodies, names or other text,
 * since any role may LISTEN on any channel:
 *   {"op": "message", "contact": 12, "message": [345, 346]}
 *   {"op": "assignment", "contact": 12}
 *   {"op": "agent", "agent": 3}          (an agent's status changed)
 * At most INBOX_NOTIFY_IDS ids are listed; "more" counts the rest.  A
 * comment that mentions agents tells each of them on its own, naming the
 * comment and the agent (a client shows it to that agent only):
 *   {"op": "mention", "contact": 12, "comment": 7, "agent": 3}
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/async.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_notify_change);

#define INBOX_NOTIFY_IDS 50

/*
 * A transaction that would send more notifications (contact and op pairs)
 * on a space than this (a bulk import, a mass reassignment) sends one
 * {"op": "bulk"} on that space's channel instead: listeners refetch, and
 * the notification queue is not flooded.
 */
#define INBOX_NOTIFY_MAX 1000

typedef struct NotifyKey
{
	int64		space;
	int64		contact;		/* or the agent, for op_agent */
	const char *op;				/* a string constant of this file */
	int64		comment;		/* a mention: the comment and the agent; else 0 */
	int64		agent;
} NotifyKey;

typedef struct SpaceCount
{
	int64		space;
	int			count;			/* notifications for the space */
	bool		bulk_sent;
} SpaceCount;

typedef struct NotifyRecord
{
	SubTransactionId subxact;
	int64		id;
} NotifyRecord;

typedef struct NotifyEntry
{
	NotifyKey	key;			/* hash key: must be first */
	const char *id_name;		/* "message", "event", ... */
	int			count;
	int			allocated;
	NotifyRecord *records;
	int			order;			/* first-recorded order, for sending */
} NotifyEntry;

/* the op of an agent's status change, whose entries name the agent instead of a contact */
static const char op_agent[] = "agent";

static bool notify_enabled = true;
static HTAB *pending = NULL;	/* in TopTransactionContext */
static int	pending_count = 0;

void
inbox_define_notify_gucs(void)
{
	DefineCustomBoolVariable("inbox.notify",
							 "Send a notification on channel inbox_<space> for every committed change.",
							 "Turn off only for bulk loads nobody listens to.",
							 &notify_enabled,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
}

static void
record_key(const NotifyKey *key, const char *id_name, int64 id)
{
	NotifyEntry *entry;
	bool		found;

	if (pending == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(NotifyKey);
		ctl.entrysize = sizeof(NotifyEntry);
		ctl.hcxt = TopTransactionContext;
		pending = hash_create("inbox notifications", 64, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		pending_count = 0;
	}

	entry = hash_search(pending, key, HASH_ENTER, &found);
	if (!found)
	{
		entry->id_name = id_name;
		entry->count = 0;
		entry->allocated = 4;
		entry->records = MemoryContextAlloc(TopTransactionContext,
											entry->allocated * sizeof(NotifyRecord));
		entry->order = pending_count++;
	}
	else if (entry->count == entry->allocated)
	{
		entry->allocated *= 2;
		entry->records = repalloc(entry->records, entry->allocated * sizeof(NotifyRecord));
	}
	entry->records[entry->count].subxact = GetCurrentSubTransactionId();
	entry->records[entry->count].id = id;
	entry->count++;
}

static void
record(int64 space, int64 contact, const char *op, const char *id_name, int64 id)
{
	NotifyKey	key;

	memset(&key, 0, sizeof(key));
	key.space = space;
	key.contact = contact;
	key.op = op;
	record_key(&key, id_name, id);
}

/* a new comment tells each agent it mentions (ids only: never its text) */
static void
record_mentions(int64 space, int64 contact, int64 comment, Datum mentions)
{
	ArrayType  *array = DatumGetArrayTypeP(mentions);
	Datum	   *agents;
	bool	   *nulls;
	int			n;
	NotifyKey	key;

	deconstruct_array(array, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &agents, &nulls, &n);
	memset(&key, 0, sizeof(key));
	key.space = space;
	key.contact = contact;
	key.op = "mention";
	key.comment = comment;
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			continue;			/* the comment's rules refuse them */
		key.agent = DatumGetInt64(agents[i]);
		record_key(&key, NULL, comment);
	}
}

static int
entry_order_cmp(const void *a, const void *b)
{
	const NotifyEntry *ea = *(NotifyEntry *const *) a;
	const NotifyEntry *eb = *(NotifyEntry *const *) b;

	return ea->order - eb->order;
}

/*
 * Send or hand over what is pending; prepared is the transaction's id when
 * it is about to PREPARE, else invalid.  Returns false when a preparing
 * transaction's notifications could not be handed over.
 */
static bool
send_pending(TransactionId prepared)
{
	HASH_SEQ_STATUS seq;
	NotifyEntry *entry;
	NotifyEntry **entries;
	int			n = 0;
	StringInfoData payload;
	char		channel[NAMEDATALEN];
	SpaceCount *spaces;
	int			nspaces = 0;
	char	  **channels;
	char	  **payloads;
	int			nsent = 0;

	entries = palloc(sizeof(NotifyEntry *) * hash_get_num_entries(pending));
	hash_seq_init(&seq, pending);
	while ((entry = hash_seq_search(&seq)) != NULL)
		if (entry->count > 0)
			entries[n++] = entry;
	qsort(entries, n, sizeof(NotifyEntry *), entry_order_cmp);

	/* notifications per space (a transaction touches few spaces) */
	spaces = palloc(sizeof(SpaceCount) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		int			s;

		for (s = 0; s < nspaces && spaces[s].space != entries[i]->key.space; s++)
			;
		if (s == nspaces)
		{
			spaces[nspaces].space = entries[i]->key.space;
			spaces[nspaces].count = 0;
			spaces[nspaces].bulk_sent = false;
			nspaces++;
		}
		spaces[s].count++;
	}

	channels = palloc(sizeof(char *) * Max(n, 1));
	payloads = palloc(sizeof(char *) * Max(n, 1));
	initStringInfo(&payload);
	for (int i = 0; i < n; i++)
	{
		int			listed;
		SpaceCount *space;

		entry = entries[i];
		for (space = spaces; space->space != entry->key.space; space++)
			;
		snprintf(channel, sizeof(channel), "inbox_" INT64_FORMAT, entry->key.space);
		if (space->count > INBOX_NOTIFY_MAX)
		{
			if (!space->bulk_sent)
			{
				resetStringInfo(&payload);
				appendStringInfo(&payload, "{\"op\": \"bulk\", \"changes\": %d}", space->count);
				channels[nsent] = pstrdup(channel);
				payloads[nsent++] = pstrdup(payload.data);
				space->bulk_sent = true;
			}
			continue;
		}
		resetStringInfo(&payload);
		appendStringInfo(&payload, "{\"op\": \"%s\", \"%s\": " INT64_FORMAT,
						 entry->key.op, entry->key.op == op_agent ? "agent" : "contact", entry->key.contact);
		if (entry->key.agent != 0)
			appendStringInfo(&payload, ", \"comment\": " INT64_FORMAT ", \"agent\": " INT64_FORMAT,
							 entry->key.comment, entry->key.agent);
		if (entry->id_name != NULL)
		{
			appendStringInfo(&payload, ", \"%s\": [", entry->id_name);
			listed = Min(entry->count, INBOX_NOTIFY_IDS);
			for (int j = 0; j < listed; j++)
				appendStringInfo(&payload, "%s" INT64_FORMAT, j ? ", " : "", entry->records[j].id);
			appendStringInfoChar(&payload, ']');
			if (entry->count > listed)
				appendStringInfo(&payload, ", \"more\": %d", entry->count - listed);
		}
		appendStringInfoChar(&payload, '}');
		channels[nsent] = pstrdup(channel);
		payloads[nsent++] = pstrdup(payload.data);
	}

	/* through the database's worker if it can (worker_shmem.c), else ourselves */
	if (inbox_worker_hand_over(nsent, channels, payloads, prepared))
		return true;
	if (TransactionIdIsValid(prepared))
		return false;			/* PostgreSQL cannot notify from it */
	for (int i = 0; i < nsent; i++)
		Async_Notify(channels[i], payloads[i]);
	return true;
}

/* whether a change is still to be sent (a rolled-back savepoint took its own) */
static bool
has_pending(void)
{
	HASH_SEQ_STATUS seq;
	NotifyEntry *entry;

	if (pending == NULL)
		return false;
	hash_seq_init(&seq, pending);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		if (entry->count > 0)
		{
			hash_seq_term(&seq);
			return true;
		}
	}
	return false;
}

/*
 * At the end of a transaction (inbox.c calls it): before commit, send or
 * hand over what is pending; at commit or abort, what was handed over goes
 * to the worker or away.
 */
void
inbox_notify_xact_event(XactEvent event)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (pending != NULL)
				(void) send_pending(InvalidTransactionId);
			break;
		case XACT_EVENT_PRE_PREPARE:

			/*
			 * A transaction that writes on several nodes of a Citus cluster
			 * is prepared on each, then committed: its notifications wait
			 * in the worker's ring for COMMIT PREPARED.  Without a worker
			 * to hand them to it cannot prepare.
			 */
			if (has_pending() && !send_pending(GetTopTransactionIdIfAny()))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that changed the inbox"),
						 errdetail("PostgreSQL does not send notifications from prepared transactions; inbox sends them through the background worker, which does not serve this database now or has no room."),
						 errhint("Preload inbox (shared_preload_libraries) with inbox.notify_relay on, or set inbox.notify to off in such transactions.")));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			inbox_worker_relay_end(event == XACT_EVENT_COMMIT ? RELAY_END_COMMIT :
								   event == XACT_EVENT_PREPARE ? RELAY_END_PREPARE : RELAY_END_ABORT);
			/* FALLTHROUGH */
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
			/* the memory goes with TopTransactionContext */
			pending = NULL;
			pending_count = 0;
			break;
	}
}

/*
 * A rolled-back subtransaction (inbox.c calls it): its records go; they
 * are the ones with its id or later.
 */
void
inbox_notify_subxact_abort(SubTransactionId subxact)
{
	HASH_SEQ_STATUS seq;
	NotifyEntry *entry;

	if (pending == NULL)
		return;
	hash_seq_init(&seq, pending);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		int			kept = 0;

		for (int i = 0; i < entry->count; i++)
			if (entry->records[i].subxact < subxact)
				entry->records[kept++] = entry->records[i];
		entry->count = kept;
	}
}

static bool
changed(TriggerData *trigdata, AttrNumber attnum)
{
	return inbox_column_changed(trigdata->tg_trigtuple, trigdata->tg_newtuple,
								trigdata->tg_relation->rd_att, attnum);
}

/*
 * A row moved to another contact (merge_contacts, unmerge_contacts): the
 * contact it left is told too, with the same op.
 */
static void
record_left_contact(TriggerData *trigdata, AttrNumber contact_column, int64 space, const char *op,
					const char *id_name, int64 id)
{
	bool		isnull;

	if (changed(trigdata, contact_column))
		record(space, inbox_get_int8(trigdata->tg_trigtuple, trigdata->tg_relation->rd_att,
									 contact_column, &isnull),
			   op, id_name, id);
}

/* what a contact UPDATE means to a listener; several ops may apply */
static void
record_contact_update(TriggerData *trigdata, const AttrNumber *col, int64 space, int64 contact)
{
	/*
	 * Told by their own op, or by "message" (what messages maintain).  And
	 * last_name, which 1.1 leaves out with the columns named last_*: a
	 * change of it is told only through the change of search_text it makes
	 * (none on a 1.0 schema, where search_text is generated).
	 */
	const AttrNumber told_otherwise[] = {
		col[CONTACT_ASSIGNEE_ID], col[CONTACT_SNOOZED_UNTIL], col[CONTACT_UNREAD_COUNT],
		col[CONTACT_LAST_MESSAGE_AT], col[CONTACT_LAST_MESSAGE_DIRECTION], col[CONTACT_LAST_MESSAGE_ID],
		col[CONTACT_LAST_CHANNEL_ID], col[CONTACT_ORIGIN_CHANNEL_ID], col[CONTACT_OPEN_CONVERSATION_ID],
		col[CONTACT_LAST_NAME], col[CONTACT_LAST_MESSAGE_PREVIEW], col[CONTACT_LAST_MESSAGE_STATUS]
	};
	TupleDesc	desc = trigdata->tg_relation->rd_att;
	bool		other = false;

	if (changed(trigdata, col[CONTACT_ASSIGNEE_ID]))
		record(space, contact, "assignment", NULL, contact);
	if (changed(trigdata, col[CONTACT_SNOOZED_UNTIL]))
		record(space, contact, "snooze", NULL, contact);
	if (inbox_get_int4(trigdata->tg_newtuple, desc, col[CONTACT_UNREAD_COUNT]) <
		inbox_get_int4(trigdata->tg_trigtuple, desc, col[CONTACT_UNREAD_COUNT]))
		record(space, contact, "read", NULL, contact);	/* all, or some, read */

	/* edits of the contact itself */
	for (int i = 0; i < desc->natts && !other; i++)
	{
		AttrNumber	attnum = i + 1;
		bool		skip = TupleDescAttr(desc, i)->attisdropped || TupleDescAttr(desc, i)->attgenerated;

		for (int j = 0; !skip && j < lengthof(told_otherwise); j++)
			skip = (told_otherwise[j] == attnum);
		if (!skip && changed(trigdata, attnum))
			other = true;
	}
	if (other)
		record(space, contact, "contact", NULL, contact);
}

/*
 * The ops of an item of a contact's history (an event, a comment): new,
 * deleted, or changed, which for these is a move to another contact (a
 * merge or an unmerge), told to both contacts.
 */
typedef struct HistoryOps
{
	const char *inserted;
	const char *deleted;
	const char *updated;
	const char *id_name;
} HistoryOps;

static const HistoryOps event_ops = {"event", "event_deleted", "event_updated", "event"};
static const HistoryOps comment_ops = {"comment", "comment_deleted", "comment_updated", "comment"};

static void
record_history_item(TriggerData *trigdata, const HistoryOps *ops, AttrNumber contact_column, int64 space,
					int64 contact, int64 id)
{
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		record(space, contact, ops->inserted, ops->id_name, id);
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		record(space, contact, ops->deleted, ops->id_name, id);
	else
	{
		record(space, contact, ops->updated, ops->id_name, id);
		record_left_contact(trigdata, contact_column, space, ops->updated, ops->id_name, id);
	}
}

/* where each table keeps the space, contact and id a notification names */
typedef struct NotifiedColumns
{
	int			space;
	int			contact;
	int			id;
} NotifiedColumns;

static const NotifiedColumns notified_columns[] = {
	[TABLE_CONTACT] = {CONTACT_SPACE_ID, CONTACT_ID, CONTACT_ID},
	[TABLE_CONVERSATION] = {CONVERSATION_SPACE_ID, CONVERSATION_CONTACT_ID, CONVERSATION_ID},
	[TABLE_MESSAGE] = {MESSAGE_SPACE_ID, MESSAGE_CONTACT_ID, MESSAGE_ID},
	[TABLE_EVENT] = {EVENT_SPACE_ID, EVENT_CONTACT_ID, EVENT_ID},
	[TABLE_COMMENT] = {COMMENT_SPACE_ID, COMMENT_CONTACT_ID, COMMENT_ID},
};

/*
 * AFTER INSERT OR UPDATE OR DELETE on contact, conversation, message,
 * event and comment.  The trigger's argument names the table.
 */
Datum
inbox_notify_change(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	InboxTable	table;
	const AttrNumber *col;
	bool		isnull;
	int64		space,
				contact,
				id;
	bool		inserted,
				deleted;

	inbox_check_trigger(fcinfo, "notify_change");
	if (!notify_enabled)
		return PointerGetDatum(NULL);
	if (trigdata->tg_trigger->tgnargs != 1)
		elog(ERROR, "inbox: notify_change needs the table name as its argument");
	if (!inbox_table_named(trigdata->tg_trigger->tgargs[0], &table) ||
		(table != TABLE_CONTACT && table != TABLE_CONVERSATION && table != TABLE_MESSAGE &&
		 table != TABLE_EVENT && table != TABLE_COMMENT))
		elog(ERROR, "inbox: notify_change does not know table \"%s\"", trigdata->tg_trigger->tgargs[0]);

	desc = trigdata->tg_relation->rd_att;
	col = inbox_columns(trigdata->tg_relation, table);
	inserted = TRIGGER_FIRED_BY_INSERT(trigdata->tg_event);
	deleted = TRIGGER_FIRED_BY_DELETE(trigdata->tg_event);
	tuple = (inserted || deleted) ? trigdata->tg_trigtuple : trigdata->tg_newtuple;

	space = inbox_get_int8(tuple, desc, col[notified_columns[table].space], &isnull);
	contact = inbox_get_int8(tuple, desc, col[notified_columns[table].contact], &isnull);
	id = inbox_get_int8(tuple, desc, col[notified_columns[table].id], &isnull);

	switch (table)
	{
		case TABLE_CONTACT:
			if (inserted)
				record(space, contact, "contact_created", NULL, contact);
			else if (deleted)
				record(space, contact, "contact_deleted", NULL, contact);
			else
				record_contact_update(trigdata, col, space, contact);
			break;
		case TABLE_CONVERSATION:
			if (inserted)
				record(space, contact, "conversation_opened", "conversation", id);
			else if (deleted)
				record(space, contact, "conversation_deleted", "conversation", id);
			else if (changed(trigdata, col[CONVERSATION_CLOSED_AT]))
				record(space, contact, "conversation_closed", "conversation", id);
			else if (changed(trigdata, col[CONVERSATION_CATEGORY]) ||
					 changed(trigdata, col[CONVERSATION_SUMMARY]) ||
					 changed(trigdata, col[CONVERSATION_REFERENCE]) ||
					 changed(trigdata, col[CONVERSATION_SOURCE_URL]) ||
					 changed(trigdata, col[CONVERSATION_CONTACT_ID]))
			{
				record(space, contact, "conversation", "conversation", id);
				record_left_contact(trigdata, col[CONVERSATION_CONTACT_ID], space,
									"conversation", "conversation", id);
			}
			/* first_response_at follows a reply, which "message" tells */
			break;
		case TABLE_MESSAGE:
			if (inserted)
				record(space, contact, "message", "message", id);
			else if (deleted)
				record(space, contact, "message_deleted", "message", id);
			else if (changed(trigdata, col[MESSAGE_BODY]) || changed(trigdata, col[MESSAGE_CONTENT]) ||
					 changed(trigdata, col[MESSAGE_EXTERNAL_ID]) ||
					 changed(trigdata, col[MESSAGE_CONTACT_ID]) ||
					 changed(trigdata, col[MESSAGE_CONVERSATION_ID]))
			{
				record(space, contact, "message_updated", "message", id);
				record_left_contact(trigdata, col[MESSAGE_CONTACT_ID], space,
									"message_updated", "message", id);
			}
			else
			{
				InboxDirection direction;

				if (inbox_parse_direction(inbox_get_text(tuple, desc, col[MESSAGE_DIRECTION]), &direction) &&
					direction == INBOX_OUTGOING)
					record(space, contact, "message_status", "message", id);
				/* an incoming message marked read: the contact's "read" tells */
			}
			break;
		case TABLE_EVENT:
			record_history_item(trigdata, &event_ops, col[EVENT_CONTACT_ID], space, contact, id);
			break;
		case TABLE_COMMENT:
			record_history_item(trigdata, &comment_ops, col[COMMENT_CONTACT_ID], space, contact, id);
			if (inserted)
			{
				Datum		mentions = inbox_get_datum(tuple, desc, col[COMMENT_MENTIONS], &isnull);

				if (!isnull)
					record_mentions(space, contact, id, mentions);
			}
			break;
		default:
			break;
	}

	return PointerGetDatum(NULL);
}

/*
 * An agent's status changed (rules_agent.c): told on the space's channel
 * at commit, once per agent and transaction.
 */
void
inbox_notify_agent(int64 space, int64 agent)
{
	if (notify_enabled)
		record(space, agent, op_agent, NULL, agent);
}
