/*-------------------------------------------------------------------------
 *
 * views.c
 *	  The contact list, view counts and custom views.
 *
 * Built-in views (a contact without any message is in none of them, nor
 * is a snoozed contact or one merged into another):
 *   all         every contact with a message
 *   mine        contacts assigned to the asking agent
 *   unassigned  contacts with an open conversation and no assignee
 * A custom view (inbox.view) narrows "all" with a filter over a closed set
 * of keys, checked when the view is saved; it is named by its id.  An
 * agent keeps views of its own (save_view, delete_view: private to it);
 * a view shared with the whole space is an admin's to save, change or
 * delete.
 *
 * Lists are sorted by newest message first and paginated by keyset: the
 * cursor of a row encodes its (last_message_at, id), and the next page
 * starts strictly after it.  A contact that receives a message while a
 * client pages moves to the top: it is not listed twice, and every contact
 * that did not move is listed exactly once.
 *
 * Each view reads its own partial index (see the install script), so a
 * page costs a few index entries at any size.  The built-in counts are kept
 * by counts.c; a custom view is counted by its query.
 *
 * Queries are assembled from the constant fragments below, never from
 * input: every value is a parameter.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_contact_list);
PG_FUNCTION_INFO_V1(inbox_view_counts);
PG_FUNCTION_INFO_V1(inbox_view_before_write);
PG_FUNCTION_INFO_V1(inbox_save_view);
PG_FUNCTION_INFO_V1(inbox_delete_view);

/* which contacts a list or count reads */
typedef enum ViewKind
{
	VIEW_ALL,
	VIEW_MINE,
	VIEW_UNASSIGNED,
	VIEW_CUSTOM
} ViewKind;

#define N_VIEW_KINDS 4

/*
 * Parameters of every list query: $1 space, $2 agent, $3 cursor time,
 * $4 cursor id, $5 page size, $6 name/e-mail pattern, $7 phone digits,
 * $8 custom filter, $9 phone digits reversed, $10 the asking agent when it
 * sees only its assigned and unassigned contacts (security.c), else NULL.
 */
#define LIST_NARGS 10
#define ASSIGNED_ONLY " AND ($10 IS NULL OR c.assignee_id IS NULL OR c.assignee_id = $10)"

static const char *const view_conditions[N_VIEW_KINDS] = {
	/* all */
	"c.space_id = $1 AND c.last_message_at IS NOT NULL"
	" AND c.snoozed_until IS NULL AND c.merged_into IS NULL" ASSIGNED_ONLY,
	/* mine */
	"c.assignee_id = $2 AND c.space_id = $1 AND c.last_message_at IS NOT NULL"
	" AND c.snoozed_until IS NULL AND c.merged_into IS NULL",
	/* unassigned */
	"c.space_id = $1 AND c.last_message_at IS NOT NULL AND c.assignee_id IS NULL"
	" AND c.open_conversation_id IS NOT NULL AND c.snoozed_until IS NULL AND c.merged_into IS NULL",
	/* custom: "all" narrowed by the filter (checked by view_before_write) */
	"c.space_id = $1 AND c.last_message_at IS NOT NULL"
	" AND c.snoozed_until IS NULL AND c.merged_into IS NULL"
	" AND (NOT $8 ? 'conversation'"
	"      OR (c.open_conversation_id IS NOT NULL) = ($8->>'conversation' = 'open'))"
	" AND (NOT $8 ? 'assignee' OR CASE $8->>'assignee'"
	"      WHEN 'none' THEN c.assignee_id IS NULL"
	"      WHEN 'me' THEN c.assignee_id = $2"
	"      ELSE c.assignee_id = ($8->>'assignee')::bigint END)"
	" AND (NOT $8 ? 'channels' OR EXISTS (SELECT FROM inbox.contact_channel cc"
	"      WHERE cc.space_id = c.space_id AND cc.contact_id = c.id AND cc.channel_id IN"
	"      (SELECT jsonb_array_elements_text($8->'channels')::bigint)))"
	" AND (NOT $8 ? 'tags' OR c.tags && ARRAY(SELECT jsonb_array_elements_text($8->'tags')))"
	" AND (NOT $8 ? 'unread' OR (c.unread_count > 0) = ($8->>'unread')::boolean)"
	" AND (NOT $8 ? 'custom' OR c.custom @> ($8->'custom'))" ASSIGNED_ONLY
};

/*
 * What a row of the list draws: the contact's own columns, with its
 * newest message's preview and status (kept in the contact row by the
 * message rules, as last_message_at is, so that the page stays one scan
 * of the view's index), then its last channel's kind and its assignee's
 * name, joined to the page's rows only, after the index has chosen them
 * (channels and agents are few; README, "An agent's day", has the plan).
 */
#define LIST_COLUMNS \
	"SELECT c.id," \
	" coalesce(nullif(btrim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')), '')," \
	"          c.email, c.phone, 'Contact ' || c.id)," \
	" c.open_conversation_id IS NOT NULL, c.origin_channel_id, c.last_channel_id," \
	" c.unread_count, c.last_message_at, c.last_message_direction, c.assignee_id, c.snoozed_until," \
	" ch.kind, a.name, c.last_message_preview, c.last_message_status, c.tags"

#define LIST_JOINS \
	" LEFT JOIN inbox.channel ch ON ch.space_id = c.space_id AND ch.id = c.last_channel_id" \
	" LEFT JOIN inbox.agent a ON a.space_id = c.space_id AND a.id = c.assignee_id"

/* the columns of a result row (and of the list query, which has no cursor) */
#define LIST_RESULT_COLUMNS 16

#define CURSOR_CONDITION " AND (c.last_message_at, c.id) < ($3, $4)"
#define LIST_ORDER " ORDER BY c.last_message_at DESC, c.id DESC"

/*
 * A search of letters matches names and e-mails anywhere (trigram index);
 * a search of digits (and phone punctuation) matches phone numbers that
 * start or end with those digits (two btree indexes: the digits, and the
 * digits reversed), so "4155550100" finds "+1 (415) 555-0100".  Only one
 * of $6 and $7 is given.
 */
#define SEARCH_CONDITION \
	" AND (c.search_text LIKE $6" \
	"      OR (c.space_id = $1 AND c.phone_digits ~>=~ $7 AND c.phone_digits ~<~ ($7 || ':'))" \
	"      OR (c.space_id = $1 AND reverse(c.phone_digits) ~>=~ $9" \
	"          AND reverse(c.phone_digits) ~<~ ($9 || ':')))"

/*
 * A search is answered in one of two ways, and the cheaper depends on how
 * common its words are in the view, which no estimate knows well:
 *   SEARCH_RECENT    walk the view's index, newest first, for at most
 *                    SEARCH_RECENT_ROWS contacts and keep the matches: a
 *                    common word fills a page at once;
 *   SEARCH_MATCHES   read the matches from the search indexes, then keep
 *                    those in the view: a rare word costs its few matches.
 *                    Every search index leads with the space (the trigram
 *                    one through btree_gin) and the query names the space
 *                    beside SEARCH_CONDITION, so each index scan is bounded
 *                    by the space and the words together and the matches of
 *                    other spaces are never read: a small space searches as
 *                    fast beside big ones as alone.
 * A short search (fewer than SEARCH_SHORT characters: likely a common word)
 * tries the first and falls back to the second when it does not fill a
 * page; a longer one, likely rare, reads its matches at once.  Either way
 * a page costs at most a bounded walk plus the matches, whatever the
 * planner would estimate for a LIKE pattern.
 */
typedef enum ListStrategy
{
	LIST_PLAIN,
	SEARCH_RECENT,
	SEARCH_MATCHES
} ListStrategy;

#define SEARCH_RECENT_ROWS "5000"
#define SEARCH_SHORT 6
#define LIST_VARIANTS (N_VIEW_KINDS * 2 * 3)	/* x cursor x strategy */

static const Oid list_argtypes[LIST_NARGS] = {
	INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID, INT4OID, TEXTOID, TEXTOID, JSONBOID, TEXTOID, INT8OID
};

/* the list query of one variant, its text assembled once per backend */
static InboxQuery *
list_query(ViewKind kind, bool with_cursor, ListStrategy strategy)
{
	static InboxQuery queries[LIST_VARIANTS];
	InboxQuery *q = &queries[(kind * 2 + (with_cursor ? 1 : 0)) * 3 + strategy];

	if (q->sql == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		const char *cursor = with_cursor ? CURSOR_CONDITION : "";
		const char *with = "";
		char	   *page = NULL;	/* the page's contacts, in list order */

		switch (strategy)
		{
			case LIST_PLAIN:
				page = psprintf("SELECT c.* FROM inbox.contact c WHERE %s%s%s LIMIT $5",
								view_conditions[kind], cursor, LIST_ORDER);
				break;
			case SEARCH_RECENT:
				page = psprintf("SELECT c.* FROM (SELECT * FROM inbox.contact c WHERE %s%s%s LIMIT %s) c"
								" WHERE true%s%s LIMIT $5",
								view_conditions[kind], cursor, LIST_ORDER,
								SEARCH_RECENT_ROWS, SEARCH_CONDITION, LIST_ORDER);
				break;
			case SEARCH_MATCHES:
				with = psprintf("WITH matches AS MATERIALIZED (SELECT * FROM inbox.contact c"
								" WHERE c.space_id = $1%s) ", SEARCH_CONDITION);
				page = psprintf("SELECT c.* FROM matches c WHERE %s%s%s LIMIT $5",
								view_conditions[kind], cursor, LIST_ORDER);
				break;
		}
		q->sql = psprintf("%s%s FROM (%s) c%s%s", with, LIST_COLUMNS, page, LIST_JOINS, LIST_ORDER);
		MemoryContextSwitchTo(old);
		q->nargs = LIST_NARGS;
		memcpy(q->argtypes, list_argtypes, sizeof(list_argtypes));
		/* whether a search is selective depends on its words: plan each one */
		q->custom_plan = (strategy != LIST_PLAIN);
	}
	return q;
}

/* the count query of one view kind */
static InboxQuery *
count_query(ViewKind kind)
{
	static InboxQuery queries[N_VIEW_KINDS];
	InboxQuery *q = &queries[kind];

	if (q->sql == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		q->sql = psprintf("SELECT count(*), count(*) FILTER (WHERE c.unread_count > 0)"
						  " FROM inbox.contact c WHERE %s", view_conditions[kind]);
		MemoryContextSwitchTo(old);
		q->nargs = LIST_NARGS;
		memcpy(q->argtypes, list_argtypes, sizeof(list_argtypes));
	}
	return q;
}

/*
 * The checks both contact_list and view_counts start with, once connected to
 * SPI: the caller may read the space and act for the agent, the space
 * exists, and the agent (0 = none, allowed where no view needs one) is one
 * of it.
 */
static InboxAccess
open_space_for_agent(int64 space, int64 agent)
{
	InboxAccess access = inbox_space_access(space, "space", space);

	inbox_check_acting_agent(&access, agent);
	inbox_require_space(space);
	if (agent != 0)
		inbox_check_agent_in_space(space, agent);
	/* the agent reads its inbox: it acts (auto-away, availability.c) */
	inbox_note_activity(space, agent != 0 ? agent : access.agent);
	return access;
}

/*
 * Resolve a view name: a built-in one, or the id of a custom view of the
 * space that is shared or owned by the agent.  Returns the kind and, for a
 * custom view, its filter.
 */
static ViewKind
resolve_view(const char *name, int64 space, int64 agent, Datum *filter)
{
	static InboxQuery q = {
		"SELECT filter FROM inbox.view WHERE id = $1 AND space_id = $2"
		" AND (owner_agent_id IS NULL OR owner_agent_id = $3)",
		3, {INT8OID, INT8OID, INT8OID}
	};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', agent ? ' ' : 'n'};
	int64		id;
	char	   *end;
	bool		isnull;

	*filter = (Datum) 0;
	if (strcmp(name, "all") == 0)
		return VIEW_ALL;
	if (strcmp(name, "unassigned") == 0)
		return VIEW_UNASSIGNED;
	if (strcmp(name, "mine") == 0)
	{
		if (agent == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("view \"mine\" needs the agent who asks")));
		return VIEW_MINE;
	}

	errno = 0;
	id = strtoll(name, &end, 10);
	if (errno != 0 || end == name || *end != '\0' || id <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown view \"%s\"", name),
				 errhint("A view is \"all\", \"mine\", \"unassigned\" or the id of a custom view in inbox.view.")));

	values[0] = Int64GetDatum(id);
	values[1] = Int64GetDatum(space);
	values[2] = Int64GetDatum(agent);
	if (inbox_exec(&q, values, nulls, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("view %lld does not exist in space %lld or is not shared with this agent",
						(long long) id, (long long) space)));
	*filter = SPI_datumTransfer(inbox_value(1, &isnull), false, -1);
	return VIEW_CUSTOM;
}

/* a list cursor: "<time in microseconds>.<contact id>" */
static char *
encode_cursor(TimestampTz at, int64 id)
{
	return psprintf(INT64_FORMAT "." INT64_FORMAT, (int64) at, id);
}

static void
read_list_cursor(const char *cursor, TimestampTz *at, int64 *id)
{
	int64		parts[2];

	if (!inbox_parse_cursor(cursor, 2, parts) || parts[1] <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid cursor \"%s\"", cursor),
				 errhint("Pass the cursor column of a row returned by the previous page.")));
	*at = (TimestampTz) parts[0];
	*id = parts[1];
}

/* a LIKE pattern matching text that contains s (special characters escaped) */
static char *
contains_pattern(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '%');
	for (; *s; s++)
	{
		if (*s == '%' || *s == '_' || *s == '\\')
			appendStringInfoChar(&buf, '\\');
		appendStringInfoChar(&buf, *s);
	}
	appendStringInfoChar(&buf, '%');
	return buf.data;
}

/*
 * The digits of a search that looks like a phone number (digits, spaces
 * and + - ( ) . only, at least 3 digits), or NULL for a name or e-mail
 */
static char *
phone_digits(const char *s)
{
	StringInfoData digits;

	initStringInfo(&digits);
	for (; *s; s++)
	{
		if (*s >= '0' && *s <= '9')
			appendStringInfoChar(&digits, *s);
		else if (strchr(" +-().", *s) == NULL)
			return NULL;
	}
	return digits.len >= 3 ? digits.data : NULL;
}

static char *
reversed(const char *s)
{
	int			len = strlen(s);
	char	   *r = palloc(len + 1);

	for (int i = 0; i < len; i++)
		r[i] = s[len - 1 - i];
	r[len] = '\0';
	return r;
}

/*
 * contact_list(space, agent, view, search, cursor, page_size)
 */
Datum
inbox_contact_list(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		space,
				agent;
	char	   *view_name;
	char	   *search = NULL;
	char	   *digits = NULL;
	int32		page_size;
	ViewKind	kind;
	Datum		filter;
	Datum		values[LIST_NARGS];
	char		nulls[LIST_NARGS];
	TimestampTz cursor_at = 0;
	int64		cursor_id = 0;
	bool		with_cursor = false;
	int			n;
	InboxAccess access;

	INBOX_NOT_NULL(fcinfo, 0, "space");
	INBOX_NOT_NULL(fcinfo, 2, "view");
	INBOX_NOT_NULL(fcinfo, 5, "page_size");
	space = PG_GETARG_INT64(0);
	agent = inbox_optional_int8(fcinfo, 1);
	view_name = TextDatumGetCString(PG_GETARG_DATUM(2));
	page_size = PG_GETARG_INT32(5);
	inbox_check_page_size(page_size);
	if (!PG_ARGISNULL(3))
	{
		search = TextDatumGetCString(PG_GETARG_DATUM(3));
		search = str_tolower(search, strlen(search), DEFAULT_COLLATION_OID);
		if (search[strspn(search, " ")] == '\0')
			search = NULL;		/* an empty search box lists everything */
	}
	if (!PG_ARGISNULL(4))
	{
		read_list_cursor(TextDatumGetCString(PG_GETARG_DATUM(4)), &cursor_at, &cursor_id);
		with_cursor = true;
	}

	InitMaterializedSRF(fcinfo, 0);

	inbox_spi_connect();
	access = open_space_for_agent(space, agent);
	kind = resolve_view(view_name, space, agent, &filter);

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(space);
	values[1] = Int64GetDatum(agent);
	nulls[1] = agent ? ' ' : 'n';
	values[2] = TimestampTzGetDatum(cursor_at);
	values[3] = Int64GetDatum(cursor_id);
	values[4] = Int32GetDatum(page_size);
	nulls[5] = nulls[6] = nulls[8] = 'n';
	if (search != NULL && (digits = phone_digits(search)) != NULL)
	{
		values[6] = CStringGetTextDatum(digits);
		values[8] = CStringGetTextDatum(reversed(digits));
		nulls[6] = nulls[8] = ' ';
	}
	else if (search != NULL)
	{
		values[5] = CStringGetTextDatum(contains_pattern(search));
		nulls[5] = ' ';
	}
	values[7] = filter;
	nulls[7] = kind == VIEW_CUSTOM ? ' ' : 'n';
	values[9] = Int64GetDatum(access.agent);
	nulls[9] = access.assigned_only ? ' ' : 'n';

	if (search == NULL)
		n = inbox_exec(list_query(kind, with_cursor, LIST_PLAIN), values, nulls, 0);
	else
	{
		int			length = digits ? strlen(digits) : pg_mbstrlen(search);

		n = 0;
		if (length < SEARCH_SHORT)
			n = inbox_exec(list_query(kind, with_cursor, SEARCH_RECENT), values, nulls, 0);
		if (n < page_size)
			n = inbox_exec(list_query(kind, with_cursor, SEARCH_MATCHES), values, nulls, 0);
	}

	for (int i = 0; i < n; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum		out[LIST_RESULT_COLUMNS];
		bool		outnulls[LIST_RESULT_COLUMNS];
		bool		isnull;

		for (int col = 0; col < LIST_RESULT_COLUMNS - 1; col++)
			out[col] = SPI_getbinval(row, desc, col + 1, &outnulls[col]);
		out[LIST_RESULT_COLUMNS - 1] =
			CStringGetTextDatum(encode_cursor(DatumGetTimestampTz(SPI_getbinval(row, desc, 7, &isnull)),
											  DatumGetInt64(out[0])));
		outnulls[LIST_RESULT_COLUMNS - 1] = false;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, outnulls);
	}

	SPI_finish();
	return (Datum) 0;
}

/* the sum of a built-in view's count shards */
static void
kept_count(int64 space, const char *view, int64 agent, int64 *contacts, int64 *unread)
{
	static InboxQuery q = {
		"SELECT coalesce(sum(contacts), 0)::bigint, coalesce(sum(unread_contacts), 0)::bigint"
		" FROM inbox.view_count WHERE space_id = $1 AND view = $2 AND agent_id = $3",
		3, {INT8OID, TEXTOID, INT8OID}
	};
	Datum		values[3] = {Int64GetDatum(space), CStringGetTextDatum(view), Int64GetDatum(agent)};

	inbox_exec(&q, values, NULL, 1);
	(void) inbox_int8(1, contacts);
	(void) inbox_int8(2, unread);
}

static void
put_count(ReturnSetInfo *rsinfo, const char *view, const char *name, int64 contacts, int64 unread)
{
	Datum		out[4] = {
		CStringGetTextDatum(view), CStringGetTextDatum(name),
		Int64GetDatum(contacts), Int64GetDatum(unread)
	};
	bool		nulls[4] = {false, false, false, false};

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
}

/*
 * view_counts(space, agent): contacts and contacts with unread messages,
 * per built-in view and per custom view the agent sees.
 */
Datum
inbox_view_counts(PG_FUNCTION_ARGS)
{
	static InboxQuery q_views = {
		"SELECT id, name, filter FROM inbox.view WHERE space_id = $1"
		" AND (owner_agent_id IS NULL OR owner_agent_id = $2) ORDER BY id",
		2, {INT8OID, INT8OID}
	};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		space,
				agent,
				contacts,
				unread;
	Datum		values[LIST_NARGS];
	char		nulls[LIST_NARGS];
	SPITupleTable *views;
	int			nviews;
	InboxAccess access;

	INBOX_NOT_NULL(fcinfo, 0, "space");
	space = PG_GETARG_INT64(0);
	agent = inbox_optional_int8(fcinfo, 1);

	InitMaterializedSRF(fcinfo, 0);

	inbox_spi_connect();
	access = open_space_for_agent(space, agent);

	if (access.assigned_only)
	{
		/* the kept count is of every contact: count what this agent sees */
		memset(nulls, 'n', sizeof(nulls));
		values[0] = Int64GetDatum(space);
		values[9] = Int64GetDatum(access.agent);
		nulls[0] = nulls[9] = ' ';
		inbox_exec(count_query(VIEW_ALL), values, nulls, 1);
		(void) inbox_int8(1, &contacts);
		(void) inbox_int8(2, &unread);
	}
	else
		kept_count(space, "all", 0, &contacts, &unread);
	put_count(rsinfo, "all", "All", contacts, unread);
	if (agent != 0)
	{
		kept_count(space, "mine", agent, &contacts, &unread);
		put_count(rsinfo, "mine", "Mine", contacts, unread);
	}
	kept_count(space, "unassigned", 0, &contacts, &unread);
	put_count(rsinfo, "unassigned", "Unassigned", contacts, unread);

	values[0] = Int64GetDatum(space);
	values[1] = Int64GetDatum(agent);
	nulls[0] = ' ';
	nulls[1] = agent ? ' ' : 'n';
	nviews = inbox_exec(&q_views, values, nulls, 0);
	views = SPI_tuptable;

	for (int i = 0; i < nviews; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(views->vals[i], views->tupdesc, 1, &isnull));
		char	   *name = SPI_getvalue(views->vals[i], views->tupdesc, 2);

		memset(nulls, 'n', sizeof(nulls));
		values[0] = Int64GetDatum(space);
		nulls[0] = ' ';
		values[1] = Int64GetDatum(agent);
		nulls[1] = agent ? ' ' : 'n';
		values[7] = SPI_getbinval(views->vals[i], views->tupdesc, 3, &isnull);
		nulls[7] = ' ';
		values[9] = Int64GetDatum(access.agent);
		nulls[9] = access.assigned_only ? ' ' : 'n';
		inbox_exec(count_query(VIEW_CUSTOM), values, nulls, 1);
		(void) inbox_int8(1, &contacts);
		(void) inbox_int8(2, &unread);
		put_count(rsinfo, psprintf(INT64_FORMAT, id), name, contacts, unread);
	}

	SPI_finish();
	return (Datum) 0;
}

/*
 * A filter is a JSON object (so is the table's CHECK, which PostgreSQL
 * tests after this trigger, and the key checks below call
 * jsonb_object_keys): an array or a scalar is named as the problem.
 */
static void
require_filter_object(Datum filter, const char *view)
{
	Jsonb	   *jb = DatumGetJsonbP(filter);
	JsonbValue	root;

	if (JB_ROOT_IS_OBJECT(jb))
		return;
	if (!JsonbExtractScalar(&jb->root, &root))
	{
		root.type = jbvBinary;
		root.val.binary.data = &jb->root;
		root.val.binary.len = VARSIZE(jb) - VARHDRSZ;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid filter of view \"%s\": a filter is a JSON object, not a JSON %s",
					view ? view : "(null)", JsonbTypeName(&root)),
			 errhint("A filter is an object of the keys conversation, assignee, channels, tags, unread and custom, e.g. {\"conversation\": \"open\"}; {} shows every contact.")));
}

/*
 * ------------------------------------------------------------------
 * Saving and deleting custom views
 * ------------------------------------------------------------------
 */

/*
 * The caller acts for the agent in the space, and the agent is one of it
 * (an agent id is required here: a view is saved or deleted by someone).
 * Connects to SPI.
 */
static InboxAccess
acting_agent_of_space(FunctionCallInfo fcinfo, int64 *space, int64 *agent)
{
	InboxAccess access;

	INBOX_NOT_NULL(fcinfo, 0, "space");
	INBOX_NOT_NULL(fcinfo, 1, "agent");
	*space = PG_GETARG_INT64(0);
	*agent = PG_GETARG_INT64(1);

	inbox_spi_connect();
	access = open_space_for_agent(*space, *agent);
	inbox_check_agent_in_space(*space, *agent);
	return access;
}

/*
 * A view the agent may change or delete, locked: its own private view, or
 * a shared one when the caller is an admin of the space.  Another agent's
 * private view is not found, as an unknown one.
 */
static void
lock_view_of_agent(const InboxAccess *access, int64 space, int64 agent, int64 view, const char *action)
{
	static InboxQuery q = {
		"SELECT owner_agent_id FROM inbox.view WHERE space_id = $1 AND id = $2 FOR UPDATE",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(space), Int64GetDatum(view)};
	int64		owner = 0;

	if (inbox_exec(&q, values, NULL, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("view %lld does not exist", (long long) view)));
	if (!inbox_int8(1, &owner))
		inbox_require_admin(access, action);	/* a shared view */
	else if (owner != agent)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("agent %lld has no view %lld", (long long) agent, (long long) view),
				 errhint("An agent changes its own views; a shared view is changed by an admin of the space.")));
}

/*
 * save_view(space, agent, name, filter, shared, view): a new view (view
 * NULL) or a change of one, private to the agent or shared with the
 * space; returns its id.  The filter is checked by view_before_write.
 */
Datum
inbox_save_view(PG_FUNCTION_ARGS)
{
	static InboxQuery q_insert = {
		"INSERT INTO inbox.view (space_id, owner_agent_id, name, filter) VALUES ($1, $2, $3, $4) RETURNING id",
		4, {INT8OID, INT8OID, TEXTOID, JSONBOID}
	};
	static InboxQuery q_update = {
		"UPDATE inbox.view SET owner_agent_id = $2, name = $3, filter = $4"
		" WHERE space_id = $1 AND id = $5 RETURNING id",
		5, {INT8OID, INT8OID, TEXTOID, JSONBOID, INT8OID}
	};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	int64		space,
				agent,
				id = 0;
	bool		shared;
	InboxAccess access;

	inbox_check_nargs(fcinfo, 6);
	(void) inbox_required_text(fcinfo, 2, "name");
	INBOX_NOT_NULL(fcinfo, 3, "filter");
	inbox_require_object(fcinfo, 3, "filter");
	INBOX_NOT_NULL(fcinfo, 4, "shared");
	shared = PG_GETARG_BOOL(4);

	access = acting_agent_of_space(fcinfo, &space, &agent);
	if (shared)
		inbox_require_admin(&access, "save shared views");
	values[0] = Int64GetDatum(space);
	values[1] = Int64GetDatum(agent);
	nulls[1] = shared ? 'n' : ' ';
	values[2] = PG_GETARG_DATUM(2);
	values[3] = PG_GETARG_DATUM(3);
	if (PG_ARGISNULL(5))
		inbox_exec(&q_insert, values, nulls, 1);
	else
	{
		lock_view_of_agent(&access, space, agent, PG_GETARG_INT64(5), "change shared views");
		values[4] = PG_GETARG_DATUM(5);
		inbox_exec(&q_update, values, nulls, 1);
	}
	(void) inbox_int8(1, &id);
	SPI_finish();
	PG_RETURN_INT64(id);
}

/* delete_view(space, agent, view) */
Datum
inbox_delete_view(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {
		"DELETE FROM inbox.view WHERE space_id = $1 AND id = $2", 2, {INT8OID, INT8OID}
	};
	Datum		values[2];
	int64		space,
				agent;
	InboxAccess access;

	inbox_check_nargs(fcinfo, 3);
	INBOX_NOT_NULL(fcinfo, 2, "view");
	access = acting_agent_of_space(fcinfo, &space, &agent);
	lock_view_of_agent(&access, space, agent, PG_GETARG_INT64(2), "delete shared views");
	values[0] = Int64GetDatum(space);
	values[1] = PG_GETARG_DATUM(2);
	inbox_exec(&q, values, NULL, 0);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * BEFORE INSERT OR UPDATE on inbox.view: the owner is an agent of the
 * space, and the filter is an object that uses only the keys and values a
 * view understands, so that the list query can read it without further
 * checks.
 */
Datum
inbox_view_before_write(PG_FUNCTION_ARGS)
{
	static InboxQuery q_check = {
		"SELECT problem FROM ("
		" SELECT 1, format('unknown filter key \"%s\"', k)"
		"  FROM jsonb_object_keys($1) k"
		"  WHERE k NOT IN ('conversation', 'assignee', 'channels', 'tags', 'unread', 'custom')"
		" UNION ALL"
		" SELECT 2, format('filter \"conversation\" must be \"open\" or \"closed\", not %s', $1->'conversation')"
		"  WHERE $1 ? 'conversation' AND $1->'conversation' NOT IN ('\"open\"', '\"closed\"')"
		" UNION ALL"
		" SELECT 3, format('filter \"assignee\" must be an agent id of the space, \"me\" or \"none\", not %s',"
		"               $1->'assignee')"
		"  WHERE $1 ? 'assignee' AND $1->'assignee' NOT IN ('\"me\"', '\"none\"')"
		"    AND NOT (jsonb_typeof($1->'assignee') = 'number' AND EXISTS (SELECT FROM inbox.agent a"
		"             WHERE a.space_id = $2 AND a.id::numeric = ($1->>'assignee')::numeric))"
		" UNION ALL"
		" SELECT 4, format('filter \"channels\" must be an array of channel ids of the space, not %s',"
		"               $1->'channels')"
		"  WHERE $1 ? 'channels' AND (jsonb_typeof($1->'channels') <> 'array'"
		"    OR EXISTS (SELECT FROM jsonb_array_elements($1->'channels') e"
		"               WHERE jsonb_typeof(e) <> 'number' OR NOT EXISTS (SELECT FROM inbox.channel ch"
		"                     WHERE ch.space_id = $2 AND ch.id::numeric = e::text::numeric)))"
		" UNION ALL"
		" SELECT 5, format('filter \"tags\" must be an array of strings, not %s', $1->'tags')"
		"  WHERE $1 ? 'tags' AND (jsonb_typeof($1->'tags') <> 'array'"
		"    OR EXISTS (SELECT FROM jsonb_array_elements($1->'tags') e WHERE jsonb_typeof(e) <> 'string'))"
		" UNION ALL"
		" SELECT 6, format('filter \"unread\" must be true or false, not %s', $1->'unread')"
		"  WHERE $1 ? 'unread' AND jsonb_typeof($1->'unread') <> 'boolean'"
		" UNION ALL"
		" SELECT 7, format('filter \"custom\" must be an object of field values, not %s', $1->'custom')"
		"  WHERE $1 ? 'custom' AND (jsonb_typeof($1->'custom') <> 'object'"
		"    OR EXISTS (SELECT FROM jsonb_each($1->'custom') f"
		"               WHERE jsonb_typeof(f.value) NOT IN ('string', 'number', 'boolean')))"
		") p (n, problem) ORDER BY n LIMIT 1",
		2, {JSONBOID, INT8OID}
	};
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	TupleDesc	desc;
	const AttrNumber *col;
	bool		isnull;
	int64		space,
				owner;
	Datum		values[2];

	inbox_check_trigger(fcinfo, "view_before_write");
	desc = trigdata->tg_relation->rd_att;
	col = inbox_columns(trigdata->tg_relation, TABLE_VIEW);
	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : trigdata->tg_trigtuple;

	space = inbox_row_space(tuple, desc, col[VIEW_SPACE_ID], "view");
	owner = inbox_get_int8(tuple, desc, col[VIEW_OWNER_AGENT_ID], &isnull);
	values[0] = inbox_get_datum(tuple, desc, col[VIEW_FILTER], &isnull);
	values[1] = Int64GetDatum(space);

	if (!isnull)
		require_filter_object(values[0], inbox_get_text(tuple, desc, col[VIEW_NAME]));

	inbox_spi_connect();
	if (owner != 0)
		inbox_check_agent_in_space(space, owner);
	if (!isnull && inbox_exec(&q_check, values, NULL, 1) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid filter of view \"%s\": %s",
						inbox_get_text(tuple, desc, col[VIEW_NAME]), inbox_text(1)),
				 errhint("A filter may use the keys conversation, assignee, channels, tags, unread and custom.")));
	SPI_finish();

	return PointerGetDatum(tuple);
}
