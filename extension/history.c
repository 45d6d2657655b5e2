/*-------------------------------------------------------------------------
 *
 * history.c
 *	  A contact's history: its messages, events and the team's notes
 *	  (comments), interleaved in time.
 *
 * history(space, contact, before, page_size) returns the page_size items just
 * before the cursor `before` (the newest ones when it is NULL), oldest
 * first within the page, as a chat window shows them; a client scrolls
 * back by passing the cursor of the first row it holds.
 *
 * Items are ordered by (time, event before message before comment, id):
 * an event and the message that caused it share a timestamp (the
 * conversation_opened of an incoming message), and the event reads first.
 * Each kind is read newest-first from its (space_id, contact_id,
 * created_at, id) index, so a page costs about page_size index entries of
 * each at any history length.
 *
 * Sender labels follow inbox.sender_kind: an agent's name for `user`, the
 * contact's name for incoming messages, else the catalogue's label, in
 * which {space} stands for the space's name.  A comment (item "comment")
 * shows its author's name as sender_label, its author as sender_agent_id,
 * its text as body and the agents it mentions as data {"mentions": [...]}.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_history);

#define HISTORY_COLUMNS 27
#define ORDER_EVENT 0
#define ORDER_MESSAGE 1
#define ORDER_COMMENT 2

/*
 * $1 contact, $2 cursor time, $3 message id bound, $4 event id bound,
 * $5 page size, $6 space, $7 comment id bound.  Columns 1..26 are the
 * function's result columns; 27 is the item's order within a timestamp,
 * for the cursor.
 */
static InboxQuery q_history = {
	"SELECT item, id, at, conversation_id, direction, sender_kind, sender_label, sender_agent_id,"
	"  body, content, status, sent_at, delivered_at, read_at, failed_at, error,"
	"  reply_to_id, reply_to_snippet, event_kind, event_label, actor_kind, actor_agent_id,"
	"  target_agent_id, reference, source_url, data, ord"
	" FROM ("
	"  (SELECT 'message'::text AS item, m.id, m.created_at AS at, m.conversation_id, m.direction,"
	"     m.sender_kind,"
	"     CASE m.direction WHEN 'incoming' THEN coalesce("
	"            nullif(btrim(coalesce(ct.first_name, '') || ' ' || coalesce(ct.last_name, '')), ''),"
	"            ct.email, ct.phone, 'Contact ' || ct.id)"
	"          ELSE coalesce(CASE WHEN m.sender_kind = 'user' THEN a.name END,"
	"                        replace(sk.label, '{space}', sp.name), m.sender_kind) END AS sender_label,"
	"     m.sender_agent_id, m.body, m.content, m.status, m.sent_at, m.delivered_at, m.read_at,"
	"     m.failed_at, m.error, m.reply_to_id,"
	"     CASE WHEN m.reply_to_id IS NOT NULL THEN coalesce(left(r.body, 100), '')"
	"          WHEN m.reply_to_external_id IS NOT NULL THEN 'unknown message' END AS reply_to_snippet,"
	"     NULL::text AS event_kind, NULL::text AS event_label, NULL::text AS actor_kind,"
	"     NULL::bigint AS actor_agent_id, NULL::bigint AS target_agent_id, NULL::text AS reference,"
	"     NULL::text AS source_url, NULL::jsonb AS data, 1 AS ord"
	"   FROM inbox.message m"
	"   JOIN inbox.contact ct ON ct.space_id = m.space_id AND ct.id = m.contact_id"
	"   JOIN inbox.space sp ON sp.id = m.space_id"
	"   LEFT JOIN inbox.agent a ON a.space_id = m.space_id AND a.id = m.sender_agent_id"
	"   LEFT JOIN inbox.sender_kind sk ON sk.kind = m.sender_kind"
	"   LEFT JOIN inbox.message r ON r.space_id = m.space_id AND r.id = m.reply_to_id"
	"   WHERE m.space_id = $6 AND m.contact_id = $1 AND (m.created_at, m.id) < ($2, $3)"
	"   ORDER BY m.created_at DESC, m.id DESC LIMIT $5)"
	"  UNION ALL"
	"  (SELECT 'event', e.id, e.created_at, e.conversation_id, NULL, NULL, NULL, NULL,"
	"     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"     e.kind, ek.label, e.actor_kind, e.actor_agent_id, e.target_agent_id, e.reference,"
	"     e.source_url, e.data, 0"
	"   FROM inbox.event e"
	"   LEFT JOIN inbox.event_kind ek ON ek.kind = e.kind AND ek.actor_kind = e.actor_kind"
	"   WHERE e.space_id = $6 AND e.contact_id = $1 AND (e.created_at, e.id) < ($2, $4)"
	"   ORDER BY e.created_at DESC, e.id DESC LIMIT $5)"
	"  UNION ALL"
	"  (SELECT 'comment', n.id, n.created_at, n.conversation_id, NULL, NULL, a.name, n.author_agent_id,"
	"     n.body, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"     NULL, NULL, NULL, NULL, NULL, NULL, NULL, jsonb_build_object('mentions', to_jsonb(n.mentions)), 2"
	"   FROM inbox.comment n"
	"   LEFT JOIN inbox.agent a ON a.space_id = n.space_id AND a.id = n.author_agent_id"
	"   WHERE n.space_id = $6 AND n.contact_id = $1 AND (n.created_at, n.id) < ($2, $7)"
	"   ORDER BY n.created_at DESC, n.id DESC LIMIT $5)"
	" ) h ORDER BY at DESC, ord DESC, id DESC LIMIT $5",
	7, {INT8OID, TIMESTAMPTZOID, INT8OID, INT8OID, INT4OID, INT8OID, INT8OID}
};

/* a history cursor: "<time in microseconds>.<0 event|1 message|2 comment>.<id>" */
static void
read_history_cursor(const char *cursor, TimestampTz *at, int *order, int64 *id)
{
	int64		parts[3];

	if (!inbox_parse_cursor(cursor, 3, parts) ||
		(parts[1] != ORDER_EVENT && parts[1] != ORDER_MESSAGE && parts[1] != ORDER_COMMENT) || parts[2] <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid cursor \"%s\"", cursor),
				 errhint("Pass the cursor column of the first row of the page already shown.")));
	*at = (TimestampTz) parts[0];
	*order = (int) parts[1];
	*id = parts[2];
}

Datum
inbox_history(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		space,
				contact;
	int32		page_size;
	TimestampTz at = DT_NOEND;
	int			order = ORDER_COMMENT;	/* no cursor: after every item */
	int64		id = PG_INT64_MAX;
	Datum		values[7];
	int			n;

	inbox_check_nargs(fcinfo, 4);
	INBOX_NOT_NULL(fcinfo, 0, "space");
	INBOX_NOT_NULL(fcinfo, 1, "contact");
	INBOX_NOT_NULL(fcinfo, 3, "page_size");
	space = PG_GETARG_INT64(0);
	contact = PG_GETARG_INT64(1);
	page_size = PG_GETARG_INT32(3);
	inbox_check_page_size(page_size);
	if (!PG_ARGISNULL(2))
		read_history_cursor(TextDatumGetCString(PG_GETARG_DATUM(2)), &at, &order, &id);

	InitMaterializedSRF(fcinfo, 0);

	inbox_spi_connect();
	(void) inbox_contact_access(space, contact, 0);
	inbox_require_contact(space, contact, false);
	values[0] = Int64GetDatum(contact);

	/*
	 * Items strictly before (at, order, id): at the cursor's own timestamp,
	 * events come first, then messages, then comments, so a cursor keeps
	 * the items of its timestamp of the kinds before its own, and none of
	 * the kinds after it.
	 */
	values[1] = TimestampTzGetDatum(at);
	values[2] = Int64GetDatum(order == ORDER_MESSAGE ? id : order == ORDER_COMMENT ? PG_INT64_MAX : 0);
	values[3] = Int64GetDatum(order == ORDER_EVENT ? id : PG_INT64_MAX);
	values[4] = Int32GetDatum(page_size);
	values[5] = Int64GetDatum(space);
	values[6] = Int64GetDatum(order == ORDER_COMMENT ? id : 0);
	n = inbox_exec(&q_history, values, NULL, 0);

	/* newest first from the query; a page reads oldest first */
	for (int i = n - 1; i >= 0; i--)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum		out[HISTORY_COLUMNS];
		bool		outnulls[HISTORY_COLUMNS];
		bool		isnull;

		for (int col = 0; col < HISTORY_COLUMNS - 1; col++)
			out[col] = SPI_getbinval(row, desc, col + 1, &outnulls[col]);
		out[HISTORY_COLUMNS - 1] =
			CStringGetTextDatum(psprintf(INT64_FORMAT ".%d." INT64_FORMAT,
										 (int64) DatumGetTimestampTz(out[2]),
										 DatumGetInt32(SPI_getbinval(row, desc, HISTORY_COLUMNS, &isnull)),
										 DatumGetInt64(out[1])));
		outnulls[HISTORY_COLUMNS - 1] = false;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, outnulls);
	}

	SPI_finish();
	return (Datum) 0;
}
