/*-------------------------------------------------------------------------
 *
 * contact_details.c
 *	  An agent updates a contact's details while answering it:
 *	  update_contact(space, contact, agent, first_name, last_name, email,
 *	  phone, tags, custom).
 *
 * Only the fields given change: a text field given as '' is cleared, tags
 * replace the list (each tag once, in the order given), custom is merged
 * key by key (a key given as JSON null is removed, the others are set).
 * When anything changed, contact_updated is written (actor user, the agent,
 * data {"fields": [the names of the changed fields]}); a call that changes
 * nothing writes nothing.  The maintained columns are not among the
 * fields, and a plain UPDATE of them is still refused (rules_contact.c);
 * the search columns follow the new name, e-mail and phone.
 *
 * Two agents editing the same contact at once: the contact is locked (in
 * the order of inbox.h) before the new values are computed from its row,
 * so the second edit starts from the first one's result, and two edits of
 * different custom keys keep both (test/isolation/specs/
 * two_agents_edit_custom_keys.spec).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_update_contact);

/* the longest text field (and tag) a contact keeps: names, e-mail and phone are indexed */
#define MAX_FIELD_BYTES 1024

/* the text fields, as the arguments 3.. and the columns name them */
static const char *const text_fields[] = {"first_name", "last_name", "email", "phone"};

#define FIRST_TEXT_ARG 3
#define TAGS_ARG 7
#define CUSTOM_ARG 8

static void
check_text_fields(FunctionCallInfo fcinfo)
{
	for (int i = 0; i < lengthof(text_fields); i++)
	{
		int			n = FIRST_TEXT_ARG + i;

		if (!PG_ARGISNULL(n) && VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(n)) > MAX_FIELD_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s is longer than %d bytes", text_fields[i], MAX_FIELD_BYTES)));
	}
}

/* tags: a list of texts, none NULL, empty or too long */
static void
check_tags(FunctionCallInfo fcinfo)
{
	ArrayType  *tags;
	Datum	   *values;
	bool	   *nulls;
	int			n;

	if (PG_ARGISNULL(TAGS_ARG))
		return;
	tags = PG_GETARG_ARRAYTYPE_P(TAGS_ARG);
	if (ARR_NDIM(tags) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tags must be a list of texts, not an array of %d dimensions", ARR_NDIM(tags))));
	deconstruct_array(tags, TEXTOID, -1, false, TYPALIGN_INT, &values, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a tag must not be null")));
		if (VARSIZE_ANY_EXHDR(DatumGetTextPP(values[i])) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a tag must not be empty"),
					 errhint("To remove every tag, give tags => '{}'.")));
		if (VARSIZE_ANY_EXHDR(DatumGetTextPP(values[i])) > MAX_FIELD_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a tag is longer than %d bytes", MAX_FIELD_BYTES)));
	}
}

/*
 * update_contact(space, contact, agent, first_name, last_name, email, phone,
 * tags, custom)
 */
Datum
inbox_update_contact(PG_FUNCTION_ARGS)
{
	/*
	 * The contact's new fields, from its row (locked before: this statement
	 * sees the last committed edit), and the names of those that change.
	 * $1 space, $2 contact, $3..$6 the text fields, $7 tags, $8 custom.
	 */
	static InboxQuery q_new = {
		"SELECT n.first_name, n.last_name, n.email, n.phone, n.tags, n.custom,"
		"  cardinality(f.fields), jsonb_build_object('fields', to_jsonb(f.fields))"
		" FROM inbox.contact c"
		" CROSS JOIN LATERAL (SELECT"
		"   CASE WHEN $3 IS NULL THEN c.first_name ELSE nullif($3, '') END AS first_name,"
		"   CASE WHEN $4 IS NULL THEN c.last_name ELSE nullif($4, '') END AS last_name,"
		"   CASE WHEN $5 IS NULL THEN c.email ELSE nullif($5, '') END AS email,"
		"   CASE WHEN $6 IS NULL THEN c.phone ELSE nullif($6, '') END AS phone,"
		"   CASE WHEN $7 IS NULL THEN c.tags"
		"        ELSE ARRAY(SELECT t FROM unnest($7) WITH ORDINALITY u (t, i) GROUP BY t ORDER BY min(i)) END AS tags,"
		"   CASE WHEN $8 IS NULL THEN c.custom::jsonb"
		"        ELSE (c.custom || $8) - ARRAY(SELECT e.key FROM jsonb_each($8) e WHERE jsonb_typeof(e.value) = 'null')"
		"   END AS custom) n"
		" CROSS JOIN LATERAL (SELECT array_remove(ARRAY["
		"   CASE WHEN n.first_name IS DISTINCT FROM c.first_name THEN 'first_name' END,"
		"   CASE WHEN n.last_name IS DISTINCT FROM c.last_name THEN 'last_name' END,"
		"   CASE WHEN n.email IS DISTINCT FROM c.email THEN 'email' END,"
		"   CASE WHEN n.phone IS DISTINCT FROM c.phone THEN 'phone' END,"
		"   CASE WHEN n.tags IS DISTINCT FROM c.tags THEN 'tags' END,"
		"   CASE WHEN n.custom IS DISTINCT FROM c.custom::jsonb THEN 'custom' END], NULL) AS fields) f"
		" WHERE c.space_id = $1 AND c.id = $2",
		8, {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, JSONBOID}
	};
	static InboxQuery q_update = {
		"UPDATE inbox.contact SET first_name = $3, last_name = $4, email = $5, phone = $6, tags = $7, custom = $8"
		" WHERE space_id = $1 AND id = $2",
		8, {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, JSONBOID}
	};
	Datum		values[8];
	char		nulls[8];
	int64		space,
				contact;
	InboxActor	actor;
	InboxEvent	event;
	bool		isnull;

	inbox_check_nargs(fcinfo, 9);
	INBOX_NOT_NULL(fcinfo, 0, "space");
	INBOX_NOT_NULL(fcinfo, 1, "contact");
	INBOX_NOT_NULL(fcinfo, 2, "agent");
	space = PG_GETARG_INT64(0);
	contact = PG_GETARG_INT64(1);
	check_text_fields(fcinfo);
	check_tags(fcinfo);
	inbox_require_object(fcinfo, CUSTOM_ARG, "custom");

	memset(&actor, 0, sizeof(actor));
	actor.kind = "user";
	actor.agent = PG_GETARG_INT64(2);

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(space);
	values[1] = Int64GetDatum(contact);
	for (int n = FIRST_TEXT_ARG; n <= CUSTOM_ARG; n++)
	{
		values[n - 1] = PG_ARGISNULL(n) ? (Datum) 0 : PG_GETARG_DATUM(n);
		nulls[n - 1] = PG_ARGISNULL(n) ? 'n' : ' ';
	}

	inbox_spi_connect();
	(void) inbox_contact_access(space, contact, actor.agent);
	inbox_check_agent_in_space(space, actor.agent);
	(void) inbox_lock_contact_in_order(space, contact);

	inbox_exec(&q_new, values, nulls, 1);
	if (DatumGetInt32(inbox_value(7, &isnull)) == 0)
	{
		SPI_finish();
		PG_RETURN_VOID();		/* nothing changes: no write, no event */
	}

	memset(&event, 0, sizeof(event));
	event.space = space;
	event.contact = contact;
	event.kind = "contact_updated";
	event.actor = &actor;
	event.data = inbox_value(8, &isnull);
	for (int col = 1; col <= 6; col++)
	{
		values[col + 1] = inbox_value(col, &isnull);
		nulls[col + 1] = isnull ? 'n' : ' ';
	}
	inbox_exec_as(&actor, &q_update, values, nulls, 0);
	(void) inbox_write_event(&event);

	SPI_finish();
	PG_RETURN_VOID();
}
