/*-------------------------------------------------------------------------
 *
 * api.c
 *	  The SQL API of inbox (schema inbox): spaces, agents and channels,
 *	  messages, assignment, conversations, reading, events, snoozing.
 *	  Lists and counts are views.c's, history history.c's, merging
 *	  merge.c's.
 *
 * Each function checks its arguments (arguments.c), naming the bad one
 * with SQLSTATE 22023 (bad value) or P0002 (unknown id), and what the
 * caller may do (security.c), then writes rows; the rules those writes
 * must follow are the triggers' (rules_*.c, events.c, snooze.c), so they
 * hold for plain INSERT/UPDATE as well.  Any error rolls back the whole
 * call.  No SQL text is built from arguments: every query is a constant,
 * prepared once per backend.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_create_space);
PG_FUNCTION_INFO_V1(inbox_create_agent);
PG_FUNCTION_INFO_V1(inbox_create_channel);
PG_FUNCTION_INFO_V1(inbox_receive_message);
PG_FUNCTION_INFO_V1(inbox_send_message);
PG_FUNCTION_INFO_V1(inbox_set_message_status);
PG_FUNCTION_INFO_V1(inbox_assign);
PG_FUNCTION_INFO_V1(inbox_open_conversation);
PG_FUNCTION_INFO_V1(inbox_close_conversation);
PG_FUNCTION_INFO_V1(inbox_mark_read);
PG_FUNCTION_INFO_V1(inbox_record_event);
PG_FUNCTION_INFO_V1(inbox_snooze);
PG_FUNCTION_INFO_V1(inbox_unsnooze);
PG_FUNCTION_INFO_V1(inbox_wake_due_snoozes);
PG_FUNCTION_INFO_V1(inbox_next_snooze_due);

/* events only the function that causes them writes, and that function */
static const char *const caused_events[][2] = {
	{"assigned", "inbox.assign()"},
	{"unassigned", "inbox.assign() or inbox.close_conversation()"},
	{"conversation_opened", "inbox.open_conversation()"},
	{"conversation_closed", "inbox.close_conversation()"},
	{"contact_snoozed", "inbox.snooze()"},
	{"contact_unsnoozed", "inbox.unsnooze()"},
	{"contact_merged", "inbox.merge_contacts()"},
	{"contact_unmerged", "inbox.unmerge_contacts()"},
	{"contact_updated", "inbox.update_contact()"},
	{NULL, NULL}
};

/* the actor arguments of an API call, checked */
static InboxActor
actor_argument(FunctionCallInfo fcinfo, int kind_arg, int agent_arg, int64 space)
{
	InboxActor	actor;

	memset(&actor, 0, sizeof(actor));
	actor.kind = inbox_required_text(fcinfo, kind_arg, "actor_kind");
	inbox_check_actor_kind(actor.kind);
	actor.agent = inbox_optional_int8(fcinfo, agent_arg);
	if (actor.agent != 0)
		inbox_check_agent_in_space(space, actor.agent);
	return actor;
}

/*
 * The first arguments of a space-first API function: the argument count
 * of 2.0 (before any argument is read), the space and the contact (or
 * message), given.
 */
static void
space_and_id(FunctionCallInfo fcinfo, int nargs, const char *what, int64 *space, int64 *id)
{
	inbox_check_nargs(fcinfo, nargs);
	INBOX_NOT_NULL(fcinfo, 0, "space");
	INBOX_NOT_NULL(fcinfo, 1, what);
	*space = PG_GETARG_INT64(0);
	*id = PG_GETARG_INT64(1);
}

static int64
returned_id(void)
{
	int64		id = 0;

	(void) inbox_int8(1, &id);
	return id;
}

Datum
inbox_create_space(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {"INSERT INTO inbox.space (name) VALUES ($1) RETURNING id", 1, {TEXTOID}};
	Datum		values[1];
	int64		id;

	(void) inbox_required_text(fcinfo, 0, "name");
	values[0] = PG_GETARG_DATUM(0);

	inbox_spi_connect();
	inbox_exec(&q, values, NULL, 1);
	id = returned_id();
	SPI_finish();
	PG_RETURN_INT64(id);
}

Datum
inbox_create_agent(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {
		"INSERT INTO inbox.agent (space_id, name, email) VALUES ($1, $2, $3) RETURNING id",
		3, {INT8OID, TEXTOID, TEXTOID}
	};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	int64		id;
	InboxAccess access;

	INBOX_NOT_NULL(fcinfo, 0, "space");
	(void) inbox_required_text(fcinfo, 1, "name");
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	inbox_optional_param(fcinfo, 2, &values[2], &nulls[2]);

	inbox_spi_connect();
	access = inbox_space_access(PG_GETARG_INT64(0), "space", PG_GETARG_INT64(0));
	inbox_require_admin(&access, "add agents");
	inbox_require_space(PG_GETARG_INT64(0));
	inbox_exec(&q, values, nulls, 1);
	id = returned_id();
	SPI_finish();
	PG_RETURN_INT64(id);
}

Datum
inbox_create_channel(PG_FUNCTION_ARGS)
{
	static InboxQuery q_kind = {"SELECT 1 FROM inbox.channel_kind WHERE kind = $1", 1, {TEXTOID}};
	static InboxQuery q = {
		"INSERT INTO inbox.channel (space_id, kind, name) VALUES ($1, $2, $3) RETURNING id",
		3, {INT8OID, TEXTOID, TEXTOID}
	};
	Datum		values[3];
	char	   *kind;
	int64		id;
	InboxAccess access;

	INBOX_NOT_NULL(fcinfo, 0, "space");
	kind = inbox_required_text(fcinfo, 1, "kind");
	(void) inbox_required_text(fcinfo, 2, "name");
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = PG_GETARG_DATUM(2);

	inbox_spi_connect();
	access = inbox_space_access(PG_GETARG_INT64(0), "space", PG_GETARG_INT64(0));
	inbox_require_admin(&access, "connect channels");
	inbox_require_space(PG_GETARG_INT64(0));
	if (inbox_exec(&q_kind, &values[1], NULL, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown channel kind \"%s\"", kind),
				 errhint("The channel kinds are listed in inbox.channel_kind.")));
	inbox_exec(&q, values, NULL, 1);
	id = returned_id();
	SPI_finish();
	PG_RETURN_INT64(id);
}

/* a sender profile: an object of first_name, last_name, email, phone, each a string or null */
static void
check_profile(FunctionCallInfo fcinfo, int n)
{
	static InboxQuery q = {
		"SELECT min(key) FROM jsonb_each($1)"
		" WHERE key NOT IN ('first_name', 'last_name', 'email', 'phone')"
		"    OR jsonb_typeof(value) NOT IN ('string', 'null')",
		1, {JSONBOID}
	};
	Datum		values[1];
	char	   *bad;

	if (PG_ARGISNULL(n))
		return;
	inbox_require_object(fcinfo, n, "profile");
	values[0] = PG_GETARG_DATUM(n);
	inbox_exec(&q, values, NULL, 1);
	bad = inbox_text(1);
	if (bad != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("profile key \"%s\" is not a known text field", bad),
				 errhint("A profile has first_name, last_name, email and phone, each a string.")));
}

/*
 * The one contact of the space whose e-mail (any case) or phone number (its
 * digits, at least 6) the profile names, or 0 when none or several match:
 * a guess must be certain to join two identities.
 */
static int64
person_of_profile(int64 space, Datum profile)
{
	static InboxQuery q = {
		"SELECT id FROM inbox.contact"
		" WHERE space_id = $1 AND merged_into IS NULL"
		"   AND ((nullif($2 ->> 'email', '') IS NOT NULL AND lower(email) = lower($2 ->> 'email'))"
		"        OR (length(regexp_replace(coalesce($2 ->> 'phone', ''), '[^0-9]', '', 'g')) >= 6"
		"            AND phone_digits = regexp_replace($2 ->> 'phone', '[^0-9]', '', 'g')))"
		" LIMIT 2",
		2, {INT8OID, JSONBOID}
	};
	Datum		values[2] = {Int64GetDatum(space), profile};
	int64		contact = 0;

	if (inbox_exec(&q, values, NULL, 2) != 1)
		return 0;
	(void) inbox_int8(1, &contact);
	return contact;
}

/* the contact of a sender id on a channel of the space, 0 if none */
static int64
sender_contact(int64 space, int64 channel, Datum sender)
{
	static InboxQuery q = {
		"SELECT contact_id FROM inbox.contact_channel WHERE space_id = $1 AND channel_id = $2 AND external_id = $3",
		3, {INT8OID, INT8OID, TEXTOID}
	};
	Datum		values[3] = {Int64GetDatum(space), Int64GetDatum(channel), sender};
	int64		contact = 0;

	inbox_exec(&q, values, NULL, 1);
	(void) inbox_int8(1, &contact);
	return contact;
}

/* a sender id that a concurrent first message claimed: its contact */
static int64
claimed_sender_contact(int64 space, int64 channel, Datum sender)
{
	int64		contact = sender_contact(space, channel, sender);

	if (contact == 0)
		elog(ERROR, "inbox: identity of a concurrent sender vanished");
	return contact;
}

/*
 * The contact behind a sender id on a channel, created on its first
 * message.  Two first messages at once: the identity's primary key lets
 * one insert win; the other drops the contact it made and takes the
 * winner's.
 */
static int64
contact_for_sender(int64 space, int64 channel, Datum sender, Datum profile, bool no_profile,
				   bool *known)
{
	static InboxQuery q_contact = {
		"INSERT INTO inbox.contact (space_id, origin_channel_id, first_name, last_name, email, phone)"
		" VALUES ($1, $2, $3 ->> 'first_name', $3 ->> 'last_name', $3 ->> 'email', $3 ->> 'phone')"
		" RETURNING id",
		3, {INT8OID, INT8OID, JSONBOID}
	};
	static InboxQuery q_identity = {
		"INSERT INTO inbox.contact_channel (contact_id, channel_id, space_id, external_id)"
		" VALUES ($1, $2, $3, $4) ON CONFLICT (space_id, channel_id, external_id) DO NOTHING RETURNING contact_id",
		4, {INT8OID, INT8OID, INT8OID, TEXTOID}
	};
	static InboxQuery q_drop = {
		"DELETE FROM inbox.contact WHERE space_id = $1 AND id = $2", 2, {INT8OID, INT8OID}
	};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	int64		contact,
				created;

	*known = true;
	if ((contact = sender_contact(space, channel, sender)) != 0)
		return contact;
	*known = false;

	/* a known person writing on a new channel: one more identity, not a second contact */
	if (!no_profile && (contact = person_of_profile(space, profile)) != 0)
	{
		InboxActor	actor;

		memset(&actor, 0, sizeof(actor));
		actor.kind = "contact";		/* channel_added is the contact's doing */
		values[0] = Int64GetDatum(contact);
		values[1] = Int64GetDatum(channel);
		values[2] = Int64GetDatum(space);
		values[3] = sender;
		*known = true;
		if (inbox_exec_as(&actor, &q_identity, values, NULL, 1) == 1)
			return contact;
		return claimed_sender_contact(space, channel, sender);
	}

	values[0] = Int64GetDatum(space);
	values[1] = Int64GetDatum(channel);
	values[2] = profile;
	nulls[2] = no_profile ? 'n' : ' ';
	inbox_exec(&q_contact, values, nulls, 1);
	created = returned_id();

	values[0] = Int64GetDatum(created);
	values[1] = Int64GetDatum(channel);
	values[2] = Int64GetDatum(space);
	values[3] = sender;
	if (inbox_exec(&q_identity, values, NULL, 1) == 1)
		return created;

	/* lost the race for this sender */
	values[0] = Int64GetDatum(space);
	values[1] = Int64GetDatum(created);
	inbox_exec(&q_drop, values, NULL, 0);
	*known = true;
	return claimed_sender_contact(space, channel, sender);
}

/* a known sender's profile fills the contact's empty fields, never overwrites */
static void
fill_profile(int64 space, int64 contact, Datum profile)
{
	static InboxQuery q = {
		"UPDATE inbox.contact SET"
		"  first_name = coalesce(first_name, $2 ->> 'first_name'),"
		"  last_name = coalesce(last_name, $2 ->> 'last_name'),"
		"  email = coalesce(email, $2 ->> 'email'),"
		"  phone = coalesce(phone, $2 ->> 'phone')"
		" WHERE space_id = $3 AND id = $1 AND ((first_name IS NULL AND $2 ->> 'first_name' IS NOT NULL)"
		"   OR (last_name IS NULL AND $2 ->> 'last_name' IS NOT NULL)"
		"   OR (email IS NULL AND $2 ->> 'email' IS NOT NULL)"
		"   OR (phone IS NULL AND $2 ->> 'phone' IS NOT NULL))",
		3, {INT8OID, JSONBOID, INT8OID}
	};
	Datum		values[3] = {Int64GetDatum(contact), profile, Int64GetDatum(space)};

	/* the message rules lock these next: take them now, in the order of inbox.h */
	(void) inbox_lock_contact_for_next_message(space, contact);
	inbox_exec(&q, values, NULL, 0);
}

/* advisory locks of inbox's own class: SQL's pg_advisory_lock() uses 1 and 2 */
#define INBOX_ADVISORY_CLASS 0x6962

/*
 * Deliveries of one platform message id take turns, whatever contact they
 * name: after another one committed, a delivery finds its message (the
 * same contact: a retry; another contact: 22023), never a unique
 * violation.  A transaction-level lock on (channel, hash of the id).
 */
static void
lock_external_id(int64 channel, Datum external_id)
{
	text	   *id = DatumGetTextPP(external_id);
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) channel,
						 DatumGetUInt32(hash_any((unsigned char *) VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id))),
						 INBOX_ADVISORY_CLASS);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * A platform that retries a webhook sends the same message id again: the
 * message is recorded once.  Checked with the contact locked (in the
 * order of inbox.h) and the id locked, so two deliveries at once also
 * give one message.
 */
static int64
already_received(int64 space, int64 channel, int64 contact, Datum external_id)
{
	static InboxQuery q = {
		"SELECT id, contact_id FROM inbox.message WHERE space_id = $3 AND channel_id = $1 AND external_id = $2",
		3, {INT8OID, TEXTOID, INT8OID}
	};
	Datum		values[3] = {Int64GetDatum(channel), external_id, Int64GetDatum(space)};
	int64		id = 0,
				owner = 0;

	(void) inbox_lock_contact_for_next_message(space, contact);
	lock_external_id(channel, external_id);
	inbox_exec(&q, values, NULL, 1);
	if (!inbox_int8(1, &id))
		return 0;
	(void) inbox_int8(2, &owner);
	if (owner != contact)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("external id \"%s\" of channel %lld belongs to a message of another contact",
						TextDatumGetCString(external_id), (long long) channel)));
	return id;
}

/*
 * receive_message(space, channel, contact_ref, body, external_id, reply_to,
 * content, at, profile)
 */
Datum
inbox_receive_message(PG_FUNCTION_ARGS)
{
	static InboxQuery q_insert = {
		"INSERT INTO inbox.message (contact_id, channel_id, direction, sender_kind, body, content,"
		" external_id, reply_to_external_id, created_at, space_id)"
		" VALUES ($1, $2, 'incoming', 'contact', $3, $4, $5, $6, $7, $8) RETURNING id",
		8, {INT8OID, INT8OID, TEXTOID, JSONBOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, INT8OID}
	};
	int64		channel,
				space,
				contact,
				id;
	bool		known;
	Datum		values[8];
	char		nulls[8];
	InboxAccess access;

	space_and_id(fcinfo, 9, "channel", &space, &channel);
	(void) inbox_required_id(fcinfo, 2, "contact_ref");
	inbox_check_text_written(PG_ARGISNULL(3) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(3)),
							 !PG_ARGISNULL(6), "message");
	if (!PG_ARGISNULL(4))
		(void) inbox_required_id(fcinfo, 4, "external_id");
	if (!PG_ARGISNULL(5))
		(void) inbox_required_id(fcinfo, 5, "reply_to");
	inbox_require_object(fcinfo, 6, "content");
	INBOX_NOT_NULL(fcinfo, 7, "at");
	if (INBOX_TIME_IN_RANGE(PG_GETARG_TIMESTAMPTZ(7)))
		inbox_check_time_not_ahead(PG_GETARG_TIMESTAMPTZ(7), "message");	/* else the rules say why */

	inbox_spi_connect();
	check_profile(fcinfo, 8);

	access = inbox_space_access(space, "channel", channel);
	inbox_require_admin(&access, "receive messages");
	(void) inbox_channel_facts(space, channel);

	contact = contact_for_sender(space, channel, PG_GETARG_DATUM(2),
								 PG_ARGISNULL(8) ? (Datum) 0 : PG_GETARG_DATUM(8), PG_ARGISNULL(8),
								 &known);

	/* a retried webhook writes nothing, not even its profile */
	if (!PG_ARGISNULL(4) && (id = already_received(space, channel, contact, PG_GETARG_DATUM(4))) != 0)
	{
		inbox_forget_message_locks();
		SPI_finish();
		PG_RETURN_INT64(id);
	}
	if (known && !PG_ARGISNULL(8))
		fill_profile(space, contact, PG_GETARG_DATUM(8));

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(contact);
	values[1] = Int64GetDatum(channel);
	inbox_optional_param(fcinfo, 3, &values[2], &nulls[2]);
	inbox_optional_param(fcinfo, 6, &values[3], &nulls[3]);
	inbox_optional_param(fcinfo, 4, &values[4], &nulls[4]);
	inbox_optional_param(fcinfo, 5, &values[5], &nulls[5]);
	values[6] = PG_GETARG_DATUM(7);
	values[7] = Int64GetDatum(space);

	/* the message's rules take the locks already_received() or fill_profile() took */
	inbox_exec(&q_insert, values, nulls, 1);
	inbox_forget_message_locks();
	id = returned_id();
	SPI_finish();
	PG_RETURN_INT64(id);
}

/* send_message(space, contact, channel, body, agent, sender_kind, content) */
Datum
inbox_send_message(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {
		"INSERT INTO inbox.message (contact_id, channel_id, direction, sender_kind, sender_agent_id, body, content,"
		" space_id)"
		" VALUES ($1, $2, 'outgoing', $3, $4, $5, $6, $7) RETURNING id",
		7, {INT8OID, INT8OID, TEXTOID, INT8OID, TEXTOID, JSONBOID, INT8OID}
	};
	char	   *sender_kind;
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	int64		space,
				contact,
				id;

	space_and_id(fcinfo, 7, "contact", &space, &contact);
	INBOX_NOT_NULL(fcinfo, 2, "channel");
	sender_kind = inbox_required_text(fcinfo, 5, "sender_kind");
	if (!inbox_is_outgoing_sender_kind(sender_kind))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown sender kind \"%s\"", sender_kind),
				 errhint("Outgoing sender kinds are user, automation, ai, away_message, greeting_message, dialogflow, facebook_inbox, whatsapp_echo, message_tag, broadcast and api.")));
	if (strcmp(sender_kind, "user") == 0 && PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a message sent by a user needs the agent who sends it")));
	inbox_check_text_written(PG_ARGISNULL(3) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(3)),
							 !PG_ARGISNULL(6), "message");
	inbox_require_object(fcinfo, 6, "content");

	values[0] = Int64GetDatum(contact);
	values[1] = PG_GETARG_DATUM(2);
	values[2] = PG_GETARG_DATUM(5);
	inbox_optional_param(fcinfo, 4, &values[3], &nulls[3]);
	inbox_optional_param(fcinfo, 3, &values[4], &nulls[4]);
	inbox_optional_param(fcinfo, 6, &values[5], &nulls[5]);
	values[6] = Int64GetDatum(space);

	inbox_spi_connect();
	(void) inbox_contact_access(space, contact, inbox_optional_int8(fcinfo, 4));
	inbox_exec(&q, values, nulls, 1);
	id = returned_id();
	SPI_finish();
	PG_RETURN_INT64(id);
}

/* set_message_status(space, message, status, at, error) */
Datum
inbox_set_message_status(PG_FUNCTION_ARGS)
{
	/* one constant query per status: the timestamp column is part of the text */
	static InboxQuery q_sent = {
		"UPDATE inbox.message SET status = 'sent', sent_at = coalesce(sent_at, $2)"
		" WHERE space_id = $4 AND id = $1 RETURNING status", 4, {INT8OID, TIMESTAMPTZOID, TEXTOID, INT8OID}
	};
	static InboxQuery q_delivered = {
		"UPDATE inbox.message SET status = 'delivered', delivered_at = coalesce(delivered_at, $2)"
		" WHERE space_id = $4 AND id = $1 RETURNING status", 4, {INT8OID, TIMESTAMPTZOID, TEXTOID, INT8OID}
	};
	static InboxQuery q_read = {
		"UPDATE inbox.message SET status = 'read', read_at = coalesce(read_at, $2)"
		" WHERE space_id = $4 AND id = $1 RETURNING status", 4, {INT8OID, TIMESTAMPTZOID, TEXTOID, INT8OID}
	};
	static InboxQuery q_failed = {
		"UPDATE inbox.message SET status = 'failed', failed_at = coalesce(failed_at, $2),"
		" error = coalesce($3, error) WHERE space_id = $4 AND id = $1 RETURNING status",
		4, {INT8OID, TIMESTAMPTZOID, TEXTOID, INT8OID}
	};
	InboxQuery *q = NULL;
	char	   *name;
	InboxStatus status;
	char	   *result;
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	MemoryContext caller = CurrentMemoryContext;
	InboxAccess access;
	int64		space,
				message;

	space_and_id(fcinfo, 5, "message", &space, &message);
	name = inbox_required_text(fcinfo, 2, "status");
	INBOX_NOT_NULL(fcinfo, 3, "at");
	if (inbox_parse_status(name, &status))
	{
		switch (status)
		{
			case INBOX_STATUS_SENT:
				q = &q_sent;
				break;
			case INBOX_STATUS_DELIVERED:
				q = &q_delivered;
				break;
			case INBOX_STATUS_READ:
				q = &q_read;
				break;
			case INBOX_STATUS_FAILED:
				q = &q_failed;
				break;
			case INBOX_STATUS_PENDING:
			case INBOX_STATUS_RECEIVED:
			case INBOX_STATUS_COUNT:
				break;			/* not reported by a platform */
		}
	}
	if (q == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown message status \"%s\"", name),
				 errhint("Platforms report sent, delivered, read and failed.")));
	if (!PG_ARGISNULL(4) && q != &q_failed)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an error is reported only with status \"failed\"")));

	values[0] = Int64GetDatum(message);
	values[1] = PG_GETARG_DATUM(3);
	inbox_optional_param(fcinfo, 4, &values[2], &nulls[2]);
	values[3] = Int64GetDatum(space);

	inbox_spi_connect();
	access = inbox_space_access(space, "message", message);
	inbox_require_admin(&access, "report message statuses");
	if (inbox_exec(q, values, nulls, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("message %lld does not exist", (long long) message)));
	result = MemoryContextStrdup(caller, inbox_text(1));
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/* assign(space, contact, assignee, actor_kind, actor_agent) */
Datum
inbox_assign(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {
		"UPDATE inbox.contact SET assignee_id = $2 WHERE space_id = $3 AND id = $1",
		3, {INT8OID, INT8OID, INT8OID}
	};
	InboxActor	actor;
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	int64		space,
				contact;

	space_and_id(fcinfo, 5, "contact", &space, &contact);

	inbox_spi_connect();
	(void) inbox_contact_access(space, contact, inbox_optional_int8(fcinfo, 4));
	inbox_require_contact(space, contact, false);
	actor = actor_argument(fcinfo, 3, 4, space);
	values[0] = Int64GetDatum(contact);
	inbox_optional_param(fcinfo, 2, &values[1], &nulls[1]);
	values[2] = Int64GetDatum(space);
	inbox_exec_as(&actor, &q, values, nulls, 0);
	SPI_finish();
	PG_RETURN_VOID();
}

/* open_conversation(space, contact, actor_kind, actor_agent, reference, source_url) */
Datum
inbox_open_conversation(PG_FUNCTION_ARGS)
{
	InboxActor	actor;
	int64		space,
				contact,
				conversation;

	space_and_id(fcinfo, 6, "contact", &space, &contact);

	inbox_spi_connect();
	(void) inbox_contact_access(space, contact, inbox_optional_int8(fcinfo, 3));
	inbox_require_contact(space, contact, false);
	actor = actor_argument(fcinfo, 2, 3, space);

	/* already open: nothing to do (retries are harmless) */
	conversation = inbox_open_conversation_of(space, contact, true);
	if (conversation == 0)
	{
		inbox_lock_contact(space, contact);
		conversation = inbox_open_conversation_of(space, contact, false);
	}
	if (conversation == 0)
		conversation = inbox_insert_conversation(space, contact, NULL, &actor,
												 PG_ARGISNULL(4) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(4)),
												 PG_ARGISNULL(5) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(5)));
	SPI_finish();
	PG_RETURN_INT64(conversation);
}

/* close_conversation(space, contact, actor_kind, actor_agent, category, summary) */
Datum
inbox_close_conversation(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {
		"UPDATE inbox.conversation SET closed_at = greatest(now(), opened_at), closed_by_kind = $2,"
		" closed_by_agent = $3, category = $4, summary = $5"
		" WHERE space_id = $6 AND contact_id = $1 AND closed_at IS NULL RETURNING id",
		6, {INT8OID, TEXTOID, INT8OID, TEXTOID, TEXTOID, INT8OID}
	};
	InboxActor	actor;
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	int64		space,
				contact,
				conversation;

	space_and_id(fcinfo, 6, "contact", &space, &contact);

	inbox_spi_connect();
	(void) inbox_contact_access(space, contact, inbox_optional_int8(fcinfo, 3));
	inbox_require_contact(space, contact, false);
	actor = actor_argument(fcinfo, 2, 3, space);
	values[0] = Int64GetDatum(contact);
	values[1] = CStringGetTextDatum(actor.kind);
	values[2] = Int64GetDatum(actor.agent);
	nulls[2] = actor.agent ? ' ' : 'n';
	inbox_optional_param(fcinfo, 4, &values[3], &nulls[3]);
	inbox_optional_param(fcinfo, 5, &values[4], &nulls[4]);
	values[5] = Int64GetDatum(space);
	if (inbox_exec(&q, values, nulls, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("contact %lld has no open conversation", (long long) contact)));
	conversation = returned_id();
	SPI_finish();
	PG_RETURN_INT64(conversation);
}

/* mark_read(space, contact, agent) */
Datum
inbox_mark_read(PG_FUNCTION_ARGS)
{
	static InboxQuery q_lock = {
		"SELECT unread_count FROM inbox.contact WHERE space_id = $1 AND id = $2 FOR NO KEY UPDATE",
		2, {INT8OID, INT8OID}
	};
	static InboxQuery q_reset = {
		"UPDATE inbox.contact SET unread_count = 0 WHERE space_id = $1 AND id = $2", 2, {INT8OID, INT8OID}
	};
	Datum		values[2];
	bool		isnull;
	int32		unread;
	int64		space,
				contact;

	space_and_id(fcinfo, 3, "contact", &space, &contact);
	INBOX_NOT_NULL(fcinfo, 2, "agent");
	values[0] = Int64GetDatum(space);
	values[1] = Int64GetDatum(contact);

	inbox_spi_connect();
	(void) inbox_contact_access(space, contact, PG_GETARG_INT64(2));
	inbox_require_contact(space, contact, false);
	inbox_check_agent_in_space(space, PG_GETARG_INT64(2));
	inbox_exec(&q_lock, values, NULL, 1);
	unread = DatumGetInt32(inbox_value(1, &isnull));
	if (!isnull && unread > 0)
		inbox_exec(&q_reset, values, NULL, 0);
	SPI_finish();
	PG_RETURN_INT32(isnull ? 0 : unread);
}

/* record_event(space, contact, kind, actor_kind, actor_agent, reference, source_url, data) */
Datum
inbox_record_event(PG_FUNCTION_ARGS)
{
	InboxActor	actor;
	InboxEvent	event;
	int64		id;

	memset(&event, 0, sizeof(event));
	space_and_id(fcinfo, 8, "contact", &event.space, &event.contact);
	event.kind = inbox_required_text(fcinfo, 2, "kind");
	memset(&actor, 0, sizeof(actor));
	actor.kind = inbox_required_text(fcinfo, 3, "actor_kind");
	actor.agent = inbox_optional_int8(fcinfo, 4);
	for (int i = 0; caused_events[i][0] != NULL; i++)
		if (strcmp(event.kind, caused_events[i][0]) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("event \"%s\" is written by inbox itself", event.kind),
					 errhint("Use %s.", caused_events[i][1])));
	inbox_require_object(fcinfo, 7, "data");
	event.actor = &actor;
	event.reference = PG_ARGISNULL(5) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(5));
	event.source_url = PG_ARGISNULL(6) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(6));
	event.data = PG_ARGISNULL(7) ? (Datum) 0 : PG_GETARG_DATUM(7);

	inbox_spi_connect();
	(void) inbox_contact_access(event.space, event.contact, actor.agent);
	/* the writer takes agent 0 for none; as an id given, it names no agent */
	if (!PG_ARGISNULL(4) && actor.agent == 0)
		inbox_check_agent_in_space(event.space, 0);
	id = inbox_write_event(&event);
	SPI_finish();
	PG_RETURN_INT64(id);
}

/*
 * ------------------------------------------------------------------
 * Snoozing (the rule is snooze.c's)
 * ------------------------------------------------------------------
 */

/*
 * Run a snooze change for an agent: the caller may act for the agent on
 * this contact, the contact is locked in the order of inbox.h (its open
 * conversation first, so that the event lands in the conversation open
 * when it happens), the agent is one of its space, and the change runs as
 * the agent (the contact's trigger writes the event).
 */
static void
change_snooze_as_agent(int64 space, int64 contact, const InboxActor *actor, InboxQuery *q, Datum *values)
{
	inbox_spi_connect();
	(void) inbox_contact_access(space, contact, actor->agent);
	(void) inbox_lock_contact_in_order(space, contact);
	inbox_check_agent_in_space(space, actor->agent);
	inbox_exec_as(actor, q, values, NULL, 0);
	SPI_finish();
}

/* snooze(space, contact, until, agent): leave the contact out of lists until then */
Datum
inbox_snooze(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {
		"UPDATE inbox.contact SET snoozed_until = $3 WHERE space_id = $1 AND id = $2",
		3, {INT8OID, INT8OID, TIMESTAMPTZOID}
	};
	InboxActor	actor;
	Datum		values[3];
	int64		space,
				contact;

	space_and_id(fcinfo, 4, "contact", &space, &contact);
	INBOX_NOT_NULL(fcinfo, 2, "until");
	INBOX_NOT_NULL(fcinfo, 3, "agent");
	inbox_check_snooze_future(contact, PG_GETARG_TIMESTAMPTZ(2));

	memset(&actor, 0, sizeof(actor));
	actor.kind = "user";
	actor.agent = PG_GETARG_INT64(3);
	values[0] = Int64GetDatum(space);
	values[1] = Int64GetDatum(contact);
	values[2] = PG_GETARG_DATUM(2);

	change_snooze_as_agent(space, contact, &actor, &q, values);
	PG_RETURN_VOID();
}

/*
 * unsnooze(space, contact, agent): end a snooze early.  A contact that is
 * not snoozed is left alone: no change, no event.
 */
Datum
inbox_unsnooze(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {
		"UPDATE inbox.contact SET snoozed_until = NULL"
		" WHERE space_id = $1 AND id = $2 AND snoozed_until IS NOT NULL",
		2, {INT8OID, INT8OID}
	};
	InboxActor	actor;
	Datum		values[2];
	int64		space,
				contact;

	space_and_id(fcinfo, 3, "contact", &space, &contact);
	INBOX_NOT_NULL(fcinfo, 2, "agent");

	memset(&actor, 0, sizeof(actor));
	actor.kind = "user";
	actor.agent = PG_GETARG_INT64(2);
	values[0] = Int64GetDatum(space);
	values[1] = Int64GetDatum(contact);

	change_snooze_as_agent(space, contact, &actor, &q, values);
	PG_RETURN_VOID();
}

/* wake_due_snoozes(max): what the background worker does, for external workers */
Datum
inbox_wake_due_snoozes(PG_FUNCTION_ARGS)
{
	int32		max;
	int			woken;

	INBOX_NOT_NULL(fcinfo, 0, "max");
	max = PG_GETARG_INT32(0);
	if (max <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max must be positive, not %d", max)));

	inbox_spi_connect();
	woken = inbox_wake_due(max);
	SPI_finish();
	PG_RETURN_INT32(woken);
}

/* next_snooze_due(): when the next snooze ends; NULL when no contact is snoozed */
Datum
inbox_next_snooze_due(PG_FUNCTION_ARGS)
{
	TimestampTz due;
	bool		found;

	inbox_spi_connect();
	found = inbox_next_due(&due);
	SPI_finish();
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(due);
}
