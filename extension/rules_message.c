/*-------------------------------------------------------------------------
 *
 * rules_message.c
 *	  What happens when a message is written: a contact writes in, an
 *	  agent replies, a platform reports a delivery status.
 *
 * A contact writes in: inbox.receive_message() (api.c) finds or creates
 * the contact of the sender id on the channel (a new contact, or a known
 * person's further identity: channel_added, rules_contact.c), drops a
 * retried delivery of a message it already has, and inserts the message.
 * Everything else is the rules of this file, which hold as well for a
 * plain INSERT INTO inbox.message.
 *
 * Before a message row is inserted:
 * - its contact's open conversation (if any) and then the contact are
 *   locked, the locking order of inbox.h, so that concurrent messages,
 *   replies and closes of one contact queue behind each other;
 * - an incoming message, or an outgoing one sent by a user, for a contact
 *   with no open conversation opens one (rules 1 and 2:
 *   inbox_insert_conversation, whose rules in rules_conversation.c write
 *   conversation_opened); other outgoing messages attach to the open
 *   conversation if there is one;
 * - its row names its space (nothing fills it in), and its contact,
 *   channel and sending agent are of that space;
 * - an incoming message quoting a platform id on a channel kind with
 *   reply-to gets reply_to_id (rule 10); an outgoing one cannot quote;
 * - an outgoing message outside the channel kind's messaging window is
 *   refused unless its content names a template or an allowed tag (rule
 *   11): the platforms refuse any free-form business message then, whoever
 *   sends it (a user, an automation, a bot, a broadcast, the API); only
 *   the echoes of messages already sent elsewhere (whatsapp_echo,
 *   facebook_inbox) are recorded without the check;
 * - a message says something: a body that is not empty or only white
 *   space, or content; and its time is not more than 5 minutes ahead of
 *   the clock (a time days ahead would keep it at the top of every list).
 * After it is inserted, one UPDATE of the contact counts it as unread or
 * resets the count (rule 5), makes it the last message if it is the newest
 * (rule 6: with the message's preview and status, which a list row
 * shows; a status report or an edit of the newest message moves them
 * on), for a user reply to an unassigned contact, assigns the
 * contact to the agent (rule 3), and for an incoming message ends the
 * contact's snooze (rule 8, event for actor "contact").  That UPDATE fires
 * the contact's own rules (rules_contact.c: the assignment's event, the
 * snooze's in snooze.c, the view counts in counts.c).  Every row written
 * on the way is recorded for the listeners of the space (notify.c), who
 * are told when the transaction commits, by the database's background
 * worker (worker_loop.c).
 *
 * A deleted message is quoted by no message any more, and its contact's
 * maintained columns follow the messages that are left.
 *
 * Status reports move an outgoing message forward only (rule 9):
 * pending -> sent -> delivered -> read, failed from pending or sent.  A
 * late report keeps its timestamp but not its status.  A status keeps the
 * time of its report: an UPDATE may move sent_at of a sent message, not
 * clear it (delivered_at, read_at, failed_at alike).  Every time of a
 * message is finite and before the year 10000.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_message_before_write);
PG_FUNCTION_INFO_V1(inbox_message_after_write);
PG_FUNCTION_INFO_V1(inbox_message_after_change);
PG_FUNCTION_INFO_V1(inbox_message_preview);

/* how much of a message a list row shows */
#define PREVIEW_CHARACTERS 100

/* columns of a message that no UPDATE may change */
static const MessageColumn fixed_columns[] = {
	MESSAGE_ID, MESSAGE_SPACE_ID, MESSAGE_CONTACT_ID, MESSAGE_CONVERSATION_ID, MESSAGE_CHANNEL_ID,
	MESSAGE_DIRECTION, MESSAGE_SENDER_KIND, MESSAGE_SENDER_AGENT_ID, MESSAGE_REPLY_TO_EXTERNAL_ID,
	MESSAGE_REPLY_TO_ID, MESSAGE_CREATED_AT
};

/* a message's status, read from its text; an unknown one is refused */
static InboxStatus
status_of(const char *name)
{
	InboxStatus status;

	if (!inbox_parse_status(name, &status))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown message status \"%s\"", name),
				 errhint("Statuses are pending, sent, delivered, read and failed for outgoing messages, received for incoming ones.")));
	return status;
}

/* the timestamp column a status report fills, -1 for none */
static int
status_column(InboxStatus status)
{
	switch (status)
	{
		case INBOX_STATUS_SENT:
			return MESSAGE_SENT_AT;
		case INBOX_STATUS_DELIVERED:
			return MESSAGE_DELIVERED_AT;
		case INBOX_STATUS_READ:
			return MESSAGE_READ_AT;
		case INBOX_STATUS_FAILED:
			return MESSAGE_FAILED_AT;
		case INBOX_STATUS_PENDING:
		case INBOX_STATUS_RECEIVED:
		case INBOX_STATUS_COUNT:
			break;
	}
	return -1;
}

/* the columns of a message's status reports */
static const MessageColumn status_time_columns[] = {
	MESSAGE_SENT_AT, MESSAGE_DELIVERED_AT, MESSAGE_READ_AT, MESSAGE_FAILED_AT
};

/* the times of the status reports a write gives are in range (tuple.c) */
static void
check_status_times(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc, const AttrNumber *col, int64 id)
{
	for (int i = 0; i < lengthof(status_time_columns); i++)
		inbox_check_time_written(oldtuple, newtuple, desc, col[status_time_columns[i]], "message", id);
}

/*
 * A message's status has the time of its report (check_integrity: "a
 * message's status agrees with its direction and timestamps"): an UPDATE
 * that clears it, or leaves it missing, is refused rather than kept.
 */
static void
require_status_time(HeapTuple newtuple, TupleDesc desc, const AttrNumber *col, int64 id, InboxStatus status)
{
	int			column = status_column(status);

	if (column >= 0 && inbox_is_null(newtuple, desc, col[column]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("message %lld has status \"%s\": %s must not be null", (long long) id,
						inbox_status_name(status), NameStr(TupleDescAttr(desc, col[column] - 1)->attname)),
				 errhint("A status keeps the time it was reported at: an UPDATE may change that time, not clear it.")));
}

static void
no_identity(int64 contact, int64 channel)
{
	ereport(ERROR,
			(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
			 errmsg("contact %lld has no identity on channel %lld", (long long) contact, (long long) channel),
			 errhint("A contact is reached on the channels it wrote on (rows of inbox.contact_channel).")));
}

/* an incoming message: the contact's last incoming time on the channel moves on */
static void
note_incoming(int64 space, int64 contact, int64 channel, TimestampTz at)
{
	static InboxQuery q = {
		"UPDATE inbox.contact_channel"
		" SET last_incoming_at = greatest(last_incoming_at, $3)"
		" WHERE space_id = $4 AND contact_id = $1 AND channel_id = $2",
		4, {INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID}
	};
	Datum		values[4] = {Int64GetDatum(contact), Int64GetDatum(channel), TimestampTzGetDatum(at),
	Int64GetDatum(space)};

	if (inbox_exec(&q, values, NULL, 0) == 0)
		no_identity(contact, channel);
}

/*
 * Rule 11.  The window and the tags allowed outside it are data of the
 * channel kind: "window" after the last incoming message, window_tags
 * {"tag": "7 days"} up to that age or {"tag": null} at any time, and a
 * template when the kind accepts templates.  The identity is checked for
 * every outgoing message, the window for those that obey it.
 */
static void
check_window(int64 space, int64 contact, int64 channel, TimestampTz at, Datum content, bool content_null,
			 bool obeys_window)
{
	static InboxQuery q = {
		"SELECT max(cc.last_incoming_at), k.\"window\"::text,"
		"  max(cc.last_incoming_at) + k.\"window\","
		"  k.templates AND jsonb_typeof($3 -> 'template') = 'string',"
		"  CASE WHEN jsonb_typeof($3 -> 'tag') = 'string' AND k.window_tags ? ($3 ->> 'tag') THEN"
		"    CASE WHEN jsonb_typeof(k.window_tags -> ($3 ->> 'tag')) = 'null' THEN 'infinity'::timestamptz"
		"         ELSE max(cc.last_incoming_at) + (k.window_tags ->> ($3 ->> 'tag'))::interval END"
		"  END,"
		"  k.kind, k.templates,"
		"  (SELECT string_agg(t, ', ' ORDER BY t) FROM jsonb_object_keys(k.window_tags) t)"
		" FROM inbox.contact_channel cc"
		" JOIN inbox.channel c ON c.space_id = cc.space_id AND c.id = cc.channel_id"
		" JOIN inbox.channel_kind k ON k.kind = c.kind"
		" WHERE cc.space_id = $4 AND cc.contact_id = $1 AND cc.channel_id = $2"
		" GROUP BY k.kind",
		4, {INT8OID, INT8OID, JSONBOID, INT8OID}
	};
	Datum		values[4] = {Int64GetDatum(contact), Int64GetDatum(channel), content, Int64GetDatum(space)};
	char		nulls[4] = {' ', ' ', content_null ? 'n' : ' ', ' '};
	bool		last_null,
				window_null,
				closes_null,
				tag_null,
				isnull;
	TimestampTz closes_at,
				tag_closes_at;
	char	   *window,
			   *kind,
			   *tags;
	bool		templates;

	if (inbox_exec(&q, values, nulls, 1) == 0)
		no_identity(contact, channel);
	if (!obeys_window)
		return;

	(void) inbox_value(1, &last_null);
	(void) inbox_value(2, &window_null);
	if (window_null)
		return;					/* the kind has no messaging window */

	closes_at = DatumGetTimestampTz(inbox_value(3, &closes_null));
	if (!closes_null && at <= closes_at)
		return;
	if (DatumGetBool(inbox_value(4, &isnull)) && !isnull)
		return;					/* a template */
	tag_closes_at = DatumGetTimestampTz(inbox_value(5, &tag_null));
	if (!tag_null && at <= tag_closes_at)
		return;					/* an allowed tag */

	window = inbox_text(2);
	kind = inbox_text(6);
	templates = DatumGetBool(inbox_value(7, &isnull));
	tags = inbox_text(8);

	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 last_null
			 ? errmsg("messaging window of channel %lld is closed: contact %lld has not written on it",
					  (long long) channel, (long long) contact)
			 : errmsg("messaging window of channel %lld closed at %s",
					  (long long) channel, timestamptz_to_str(closes_at)),
			 errdetail("Channel kind \"%s\" lets the business write freely only within %s of the contact's last incoming message.",
					   kind, window),
			 templates
			 ? errhint("Send an approved template: content {\"template\": \"<name>\"}.")
			 : tags != NULL
			 ? errhint("Outside the window, a message tag allowed by the channel kind may be used (content {\"tag\": \"<tag>\"}): %s.", tags)
			 : errhint("Wait for the contact to write again.")));
}

/* an incoming message's quoted platform id, resolved within the contact and channel */
static void
resolve_reply_to(int64 space, int64 contact, int64 channel, const char *quoted, TupleDesc desc,
				 const AttrNumber *col, InboxTupleEdit *edit)
{
	static InboxQuery q = {
		"SELECT id FROM inbox.message"
		" WHERE space_id = $4 AND channel_id = $1 AND external_id = $2 AND contact_id = $3",
		4, {INT8OID, TEXTOID, INT8OID, INT8OID}
	};
	Datum		values[4] = {Int64GetDatum(channel), CStringGetTextDatum(quoted), Int64GetDatum(contact),
	Int64GetDatum(space)};
	int64		id;

	inbox_exec(&q, values, NULL, 1);
	if (inbox_int8(1, &id))
		inbox_edit_set(edit, desc, col[MESSAGE_REPLY_TO_ID], Int64GetDatum(id), false);
}

/*
 * A quoted message given by id (a plain INSERT may name reply_to_id) is
 * one of the contact's messages.  reply_to_id has no foreign key (Citus
 * refuses a self-reference that clears it): this rule, and the clearing
 * when the quoted message is deleted (after_delete), keep it true.
 */
static void
check_quoted_message(int64 space, int64 contact, int64 quoted)
{
	static InboxQuery q = {
		"SELECT 1 FROM inbox.message WHERE space_id = $1 AND id = $2 AND contact_id = $3",
		3, {INT8OID, INT8OID, INT8OID}
	};
	Datum		values[3] = {Int64GetDatum(space), Int64GetDatum(quoted), Int64GetDatum(contact)};

	if (inbox_exec(&q, values, NULL, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("message %lld quoted by reply_to_id is not a message of contact %lld",
						(long long) quoted, (long long) contact),
				 errhint("Give the quoted platform id (reply_to_external_id): the message it names is found.")));
}

static int64
required_int8(HeapTuple tuple, TupleDesc desc, AttrNumber attnum)
{
	bool		isnull;
	int64		value = inbox_get_int8(tuple, desc, attnum, &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a message needs %s", NameStr(TupleDescAttr(desc, attnum - 1)->attname))));
	return value;
}

static HeapTuple
before_insert(HeapTuple tuple, TupleDesc desc, const AttrNumber *col, InboxTupleEdit *edit)
{
	bool		isnull,
				incoming,
				user;
	int64		contact = required_int8(tuple, desc, col[MESSAGE_CONTACT_ID]);
	int64		channel = required_int8(tuple, desc, col[MESSAGE_CHANNEL_ID]);
	int64		agent,
				space,
				given,
				quoted_id,
				conversation;
	char	   *direction_name = inbox_get_text(tuple, desc, col[MESSAGE_DIRECTION]);
	char	   *sender_kind = inbox_get_text(tuple, desc, col[MESSAGE_SENDER_KIND]);
	char	   *status_name = inbox_get_text(tuple, desc, col[MESSAGE_STATUS]);
	char	   *quoted = inbox_get_text(tuple, desc, col[MESSAGE_REPLY_TO_EXTERNAL_ID]);
	TimestampTz at = DatumGetTimestampTz(inbox_get_datum(tuple, desc, col[MESSAGE_CREATED_AT], &isnull));
	bool		isnull_at = isnull;
	Datum		content = inbox_get_datum(tuple, desc, col[MESSAGE_CONTENT], &isnull);
	bool		content_null = isnull;
	InboxDirection direction;
	InboxStatus status;
	InboxChannelFacts channel_kind;
	bool		waiting;

	/* a time the window arithmetic and the lists can work with */
	if (isnull_at || !INBOX_TIME_IN_RANGE(at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a message's time must be a finite time before the year 10000")));
	check_status_times(NULL, tuple, desc, col, inbox_get_int8(tuple, desc, col[MESSAGE_ID], &isnull));
	inbox_check_time_not_ahead(at, "message");
	inbox_check_text_written(inbox_get_text(tuple, desc, col[MESSAGE_BODY]), !content_null, "message");

	/* what kind of message this is */
	if (!inbox_parse_direction(direction_name, &direction))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("message direction must be \"incoming\" or \"outgoing\", not \"%s\"",
						direction_name ? direction_name : "(null)")));
	incoming = direction == INBOX_INCOMING;
	if (sender_kind == NULL)
	{
		sender_kind = incoming ? "contact" : "user";
		inbox_edit_set(edit, desc, col[MESSAGE_SENDER_KIND], CStringGetTextDatum(sender_kind), false);
	}
	if (incoming ? strcmp(sender_kind, "contact") != 0 : !inbox_is_outgoing_sender_kind(sender_kind))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown sender kind \"%s\" for an %s message", sender_kind, direction_name),
				 errhint(incoming
						 ? "Incoming messages are sent by the contact."
						 : "Outgoing sender kinds are user, automation, ai, away_message, greeting_message, dialogflow, facebook_inbox, whatsapp_echo, message_tag, broadcast and api.")));
	user = strcmp(sender_kind, "user") == 0;
	agent = inbox_get_int8(tuple, desc, col[MESSAGE_SENDER_AGENT_ID], &isnull);
	if (user && isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a message sent by a user needs the agent who sent it")));
	if (incoming && !isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an incoming message has no sending agent")));

	if (status_name == NULL)
	{
		status = incoming ? INBOX_STATUS_RECEIVED : INBOX_STATUS_PENDING;
		inbox_edit_set(edit, desc, col[MESSAGE_STATUS], CStringGetTextDatum(inbox_status_name(status)), false);
	}
	else if (((status = status_of(status_name)) == INBOX_STATUS_RECEIVED) != incoming)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an %s message cannot have status \"%s\"", direction_name, status_name)));

	if (!incoming)
	{
		if (quoted != NULL || !inbox_is_null(tuple, desc, col[MESSAGE_REPLY_TO_ID]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("an outgoing message cannot quote a message"),
					 errdetail("Reply-to context is shown for incoming messages only.")));
	}

	/*
	 * lock: the open conversation, then the contact (inbox.h); a user's
	 * reply to a contact waiting for an agent assigns it, under the space's
	 * assignment lock, taken first (assignment_policy.c)
	 */
	space = inbox_row_space(tuple, desc, col[MESSAGE_SPACE_ID], "message");
	if (user)
		inbox_lock_assignment_for_contact(space, contact);
	conversation = inbox_lock_contact_for_message(space, contact, &waiting);

	/* the channel and agent are of the space: the cache knows the channel's */
	channel_kind = inbox_channel_facts(space, channel);
	if (agent != 0)
		inbox_check_agent_in_space(space, agent);

	if (incoming)
	{
		/* the contact answers: the conversation no longer waits for it (auto_close.c) */
		if (waiting)
			inbox_auto_close_incoming(space, conversation, at);
		note_incoming(space, contact, channel, at);
		quoted_id = inbox_get_int8(tuple, desc, col[MESSAGE_REPLY_TO_ID], &isnull);
		if (!isnull)
			check_quoted_message(space, contact, quoted_id);
		if (quoted != NULL && channel_kind.reply_to)
			resolve_reply_to(space, contact, channel, quoted, desc, col, edit);
	}
	else
	{
		int			column = status_column(status);

		if (status != INBOX_STATUS_PENDING && !INBOX_REPORTS_STATUS(channel_kind, status))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("channel kind \"%s\" does not report status \"%s\"", channel_kind.kind,
							inbox_status_name(status))));
		if (column >= 0 && inbox_is_null(tuple, desc, col[column]))
			inbox_edit_set(edit, desc, col[column], TimestampTzGetDatum(at), false);
		check_window(space, contact, channel, at, content, content_null,
					 !inbox_is_echo_sender_kind(sender_kind));
	}

	/*
	 * The conversation: after waiting for the contact lock, look again, as
	 * another transaction may have opened one meanwhile.
	 */
	if (conversation == 0)
	{
		conversation = inbox_open_conversation_of(space, contact, false);

		/*
		 * One that opened meanwhile (a user's reply, committed while we
		 * waited for the contact) may wait for the contact's answer, which
		 * this incoming message is: the wait ends (a no-op when none runs).
		 */
		if (conversation != 0 && incoming)
			inbox_auto_close_incoming(space, conversation, at);
	}
	given = inbox_get_int8(tuple, desc, col[MESSAGE_CONVERSATION_ID], &isnull);
	if (!isnull && given != conversation)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("conversation %lld is not the open conversation of contact %lld",
						(long long) given, (long long) contact),
				 errhint("Leave conversation_id out: a message goes to the contact's open conversation.")));
	if (conversation == 0 && (incoming || user))
	{
		InboxActor	opener;

		memset(&opener, 0, sizeof(opener));
		opener.kind = incoming ? "contact" : "user";
		opener.agent = agent;
		opener.replying = user;
		conversation = inbox_insert_conversation(space, contact, &at, &opener, NULL, NULL);
	}
	if (isnull && conversation != 0)
		inbox_edit_set(edit, desc, col[MESSAGE_CONVERSATION_ID], Int64GetDatum(conversation), false);

	return tuple;
}

/*
 * Rule 9 for any UPDATE of a message: the fixed columns stay, an incoming
 * message keeps "received", an outgoing one only moves forward.
 */
static HeapTuple
before_update(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc, const AttrNumber *col,
			  InboxTupleEdit *edit)
{
	bool		isnull;
	int64		id = inbox_get_int8(oldtuple, desc, col[MESSAGE_ID], &isnull);
	int64		space = inbox_get_int8(oldtuple, desc, col[MESSAGE_SPACE_ID], &isnull);
	char	   *old_name = inbox_get_text(oldtuple, desc, col[MESSAGE_STATUS]);
	char	   *new_name = inbox_get_text(newtuple, desc, col[MESSAGE_STATUS]);
	AttrNumber	agent_columns[1] = {col[MESSAGE_SENDER_AGENT_ID]};
	InboxActor	actor = inbox_current_actor();
	InboxStatus old_status,
				new_status;
	int			column;
	bool		keep_old;

	if (actor.merging)
		return newtuple;		/* merge.c moves messages between contacts */
	if (inbox_only_agents_cleared(space, oldtuple, newtuple, desc, agent_columns, lengthof(agent_columns)))
		return newtuple;		/* its sender was deleted */

	for (int i = 0; i < lengthof(fixed_columns); i++)
		if (inbox_column_changed(oldtuple, newtuple, desc, col[fixed_columns[i]]) &&
			!(fixed_columns[i] == MESSAGE_REPLY_TO_ID && actor.maintaining &&
			  inbox_is_null(newtuple, desc, col[MESSAGE_REPLY_TO_ID])))	/* the quoted message deleted */
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" of message %lld cannot be changed",
							NameStr(TupleDescAttr(desc, col[fixed_columns[i]] - 1)->attname), (long long) id)));

	check_status_times(oldtuple, newtuple, desc, col, id);
	/* an edit of what it says: it still says something */
	if (inbox_column_changed(oldtuple, newtuple, desc, col[MESSAGE_BODY]) ||
		inbox_column_changed(oldtuple, newtuple, desc, col[MESSAGE_CONTENT]))
		inbox_check_text_written(inbox_get_text(newtuple, desc, col[MESSAGE_BODY]),
								 !inbox_is_null(newtuple, desc, col[MESSAGE_CONTENT]), "message");

	if (new_name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("message status must not be null")));
	old_status = status_of(old_name);
	if (strcmp(old_name, new_name) == 0)
	{
		require_status_time(newtuple, desc, col, id, old_status);
		return newtuple;
	}

	new_status = status_of(new_name);
	if (old_status == INBOX_STATUS_RECEIVED)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("message %lld is incoming: status reports apply to outgoing messages only", (long long) id)));
	if (new_status == INBOX_STATUS_RECEIVED)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an outgoing message cannot have status \"received\"")));

	if (new_status != INBOX_STATUS_PENDING)
	{
		InboxChannelFacts facts = inbox_channel_facts(space, inbox_get_int8(newtuple, desc, col[MESSAGE_CHANNEL_ID],
																		  &isnull));

		if (!INBOX_REPORTS_STATUS(facts, new_status))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("channel kind \"%s\" does not report status \"%s\"", facts.kind, new_name)));
	}

	/* the report's own timestamp is always kept */
	column = status_column(new_status);
	if (column >= 0 && inbox_is_null(newtuple, desc, col[column]))
		inbox_edit_set(edit, desc, col[column], TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()), false);

	/*
	 * Whether the status itself moves: failed is final and only follows
	 * pending or sent; otherwise the furthest status wins.
	 */
	if (old_status == INBOX_STATUS_FAILED)
		keep_old = true;
	else if (new_status == INBOX_STATUS_FAILED)
		keep_old = old_status > INBOX_STATUS_SENT;
	else
		keep_old = new_status < old_status;
	if (keep_old)
	{
		inbox_edit_set(edit, desc, col[MESSAGE_STATUS], CStringGetTextDatum(old_name), false);
		require_status_time(newtuple, desc, col, id, old_status);	/* the new one's is filled */
	}

	return newtuple;
}

Datum
inbox_message_before_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	const AttrNumber *col;
	HeapTuple	tuple;
	InboxTupleEdit edit;

	inbox_check_trigger(fcinfo, "message_before_write");
	desc = trigdata->tg_relation->rd_att;
	col = inbox_columns(trigdata->tg_relation, TABLE_MESSAGE);
	inbox_edit_init(&edit);

	inbox_spi_connect();
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		tuple = before_insert(trigdata->tg_trigtuple, desc, col, &edit);
	else
		tuple = before_update(trigdata->tg_trigtuple, trigdata->tg_newtuple, desc, col, &edit);
	SPI_finish();

	return PointerGetDatum(inbox_edit_apply(&edit, tuple, desc));
}

/*
 * What a list row shows of a message: the first PREVIEW_CHARACTERS
 * characters of its body when the body shows something, else the "type"
 * of its content (an image, a sticker, a location), else nothing.  Only
 * the start of a long body is read (a slice of a toasted value), unless
 * that start is all white space.
 */
static Datum
message_preview(Datum body, bool body_null, Datum content, bool content_null, bool *isnull)
{
	*isnull = false;
	if (!body_null)
	{
		int			max_bytes = PREVIEW_CHARACTERS * pg_database_encoding_max_length();
		text	   *start = DatumGetTextPSlice(body, 0, max_bytes);
		int			len = VARSIZE_ANY_EXHDR(start);
		bool		shows = !inbox_is_blank_prefix(VARDATA_ANY(start), len);

		if (!shows && len >= max_bytes)
			shows = !inbox_is_blank(TextDatumGetCString(body));
		/* 100 characters take at most max_bytes: the clip ends inside the slice */
		if (shows)
			return PointerGetDatum(cstring_to_text_with_len(VARDATA_ANY(start),
															pg_mbcharcliplen(VARDATA_ANY(start), len,
																			 PREVIEW_CHARACTERS)));
	}
	if (!content_null)
	{
		Jsonb	   *json = DatumGetJsonbP(content);
		JsonbValue	key;
		JsonbValue *type;

		key.type = jbvString;
		key.val.string.val = "type";
		key.val.string.len = 4;
		type = JB_ROOT_IS_OBJECT(json) ? findJsonbValueFromContainer(&json->root, JB_FOBJECT, &key) : NULL;
		if (type != NULL && type->type == jbvString)
			return PointerGetDatum(cstring_to_text_with_len(type->val.string.val,
															pg_mbcharcliplen(type->val.string.val,
																			 type->val.string.len,
																			 PREVIEW_CHARACTERS)));
	}
	*isnull = true;
	return (Datum) 0;
}

/*
 * inbox.message_preview(body, content): the same, for the SQL of the rules
 * (a recount, check_integrity) and for anyone who wants it
 */
Datum
inbox_message_preview(PG_FUNCTION_ARGS)
{
	bool		isnull;
	Datum		preview = message_preview(PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0), PG_ARGISNULL(0),
										  PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1), PG_ARGISNULL(1),
										  &isnull);

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(preview);
}

/*
 * The message's preview and status, columns of its contact since 2.0 (a
 * schema of 1.x, not yet updated, has neither)
 */
static bool
contact_has_list_columns(void)
{
	return inbox_schema_has_column("contact", "last_message_status");
}

/*
 * Rules 3, 5 and 6 in one UPDATE of the contact, which the message rules
 * locked before the insert.  The assignment it may make writes its event
 * through the contact's trigger, for the replying user.
 */
static void
after_insert(HeapTuple tuple, TupleDesc desc, const AttrNumber *col)
{
#define NEWEST " last_message_at IS NULL OR ($8, $6) > (last_message_at, last_message_id)"
#define CONTACT_OF_NEW_MESSAGE \
		"UPDATE inbox.contact SET" \
		"  unread_count = CASE WHEN $2 = 'incoming' THEN unread_count + $7" \
		"                      WHEN $3 = 'user' THEN 0 ELSE unread_count END," \
		"  assignee_id = CASE WHEN $3 = 'user' AND assignee_id IS NULL THEN $4 ELSE assignee_id END," \
		"  origin_channel_id = coalesce(origin_channel_id, $5)," \
		"  snoozed_until = CASE WHEN $2 = 'incoming' THEN NULL ELSE snoozed_until END," \
		"  last_message_id = CASE WHEN" NEWEST " THEN $6 ELSE last_message_id END," \
		"  last_message_direction = CASE WHEN" NEWEST " THEN $2 ELSE last_message_direction END," \
		"  last_channel_id = CASE WHEN" NEWEST " THEN $5 ELSE last_channel_id END,"
	static InboxQuery q_contact = {
		CONTACT_OF_NEW_MESSAGE
		"  last_message_preview = CASE WHEN" NEWEST " THEN $10 ELSE last_message_preview END,"
		"  last_message_status = CASE WHEN" NEWEST " THEN $11 ELSE last_message_status END,"
		"  last_message_at = CASE WHEN" NEWEST " THEN $8 ELSE last_message_at END"
		" WHERE space_id = $9 AND id = $1"
		" RETURNING snoozed_until",
		11, {INT8OID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID, INT4OID, TIMESTAMPTZOID, INT8OID, TEXTOID,
		TEXTOID}
	};
	/* a schema of 1.x: no preview and status in the contact */
	static InboxQuery q_contact_1x = {
		CONTACT_OF_NEW_MESSAGE
		"  last_message_at = CASE WHEN" NEWEST " THEN $8 ELSE last_message_at END"
		" WHERE space_id = $9 AND id = $1"
		" RETURNING snoozed_until",
		9, {INT8OID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID, INT4OID, TIMESTAMPTZOID, INT8OID}
	};
#undef CONTACT_OF_NEW_MESSAGE
#undef NEWEST
	static InboxQuery q_first_response = {
		"UPDATE inbox.conversation SET first_response_at = $2"
		" WHERE space_id = $3 AND id = $1 AND first_response_at IS NULL",
		3, {INT8OID, TIMESTAMPTZOID, INT8OID}
	};
	bool		isnull;
	Datum		direction_text = inbox_get_datum(tuple, desc, col[MESSAGE_DIRECTION], &isnull);
	char	   *sender_kind = inbox_get_text(tuple, desc, col[MESSAGE_SENDER_KIND]);
	int64		agent = inbox_get_int8(tuple, desc, col[MESSAGE_SENDER_AGENT_ID], &isnull);
	int64		conversation;
	Datum		at = inbox_get_datum(tuple, desc, col[MESSAGE_CREATED_AT], &isnull);
	bool		read = !inbox_is_null(tuple, desc, col[MESSAGE_READ_AT]);
	int64		space = inbox_get_int8(tuple, desc, col[MESSAGE_SPACE_ID], &isnull);
	InboxDirection direction;
	Datum		values[11];
	char		nulls[11];
	InboxActor	actor;
	bool		list_columns = contact_has_list_columns();
	TimestampTz snoozed_until = 0;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(inbox_get_int8(tuple, desc, col[MESSAGE_CONTACT_ID], &isnull));
	values[1] = direction_text;
	values[2] = CStringGetTextDatum(sender_kind);
	values[3] = Int64GetDatum(agent);
	nulls[3] = agent ? ' ' : 'n';
	values[4] = Int64GetDatum(inbox_get_int8(tuple, desc, col[MESSAGE_CHANNEL_ID], &isnull));
	values[5] = Int64GetDatum(inbox_get_int8(tuple, desc, col[MESSAGE_ID], &isnull));
	values[6] = Int32GetDatum(read ? 0 : 1);
	values[7] = at;
	values[8] = Int64GetDatum(space);
	if (list_columns)
	{
		bool		body_null,
					content_null,
					preview_null;
		Datum		body = inbox_get_datum(tuple, desc, col[MESSAGE_BODY], &body_null);
		Datum		content = inbox_get_datum(tuple, desc, col[MESSAGE_CONTENT], &content_null);

		values[9] = message_preview(body, body_null, content, content_null, &preview_null);
		nulls[9] = preview_null ? 'n' : ' ';
		values[10] = inbox_get_datum(tuple, desc, col[MESSAGE_STATUS], &isnull);
	}

	/* the contact ends a snooze by writing; a user reply assigns */
	memset(&actor, 0, sizeof(actor));
	actor.kind = inbox_parse_direction(TextDatumGetCString(direction_text), &direction) &&
		direction == INBOX_INCOMING ? "contact" : "user";
	actor.agent = agent;
	actor.maintaining = true;
	if (inbox_exec_as(&actor, list_columns ? &q_contact : &q_contact_1x, values, nulls, 0) > 0)
	{
		bool		snooze_null;
		Datum		until = inbox_value(1, &snooze_null);

		if (!snooze_null)
			snoozed_until = DatumGetTimestampTz(until);
	}

	conversation = inbox_get_int8(tuple, desc, col[MESSAGE_CONVERSATION_ID], &isnull);
	if (strcmp(sender_kind, "user") == 0 && !isnull)
	{
		values[0] = Int64GetDatum(conversation);
		values[1] = at;
		values[2] = Int64GetDatum(space);
		inbox_exec(&q_first_response, values, NULL, 0);
		/* the conversation now waits for the contact's answer (auto_close.c) */
		inbox_auto_close_user_message(space, conversation, DatumGetTimestampTz(at), snoozed_until);
	}
}

/*
 * Every maintained column of a contact, computed again from its messages
 * and conversations, as the given actor (after a delete, a merge, an
 * unmerge: when the changes cannot be followed one by one).
 *
 * The contact is locked first, in the order of inbox.h, by a statement of
 * its own: the recount's snapshot is then taken after any wait for a
 * writer of the contact, and sees that writer's message.  Were the UPDATE
 * to wait for the contact row itself, READ COMMITTED would read again only
 * that row and compute it from messages seen before the wait.
 */
void
inbox_recount_contact(const InboxActor *actor, int64 space, int64 contact)
{
#define RECOUNT(columns, values) \
		"UPDATE inbox.contact c SET" \
		"  (last_message_id, last_message_at, last_message_direction, last_channel_id" columns ") =" \
		"    (SELECT m.id, m.created_at, m.direction, m.channel_id" values " FROM inbox.message m" \
		"     WHERE m.space_id = $1 AND m.contact_id = $2 ORDER BY m.created_at DESC, m.id DESC LIMIT 1)," \
		"  unread_count = (SELECT count(*) FROM inbox.message m" \
		"     WHERE m.space_id = $1 AND m.contact_id = $2 AND m.direction = 'incoming' AND m.read_at IS NULL)," \
		"  open_conversation_id = (SELECT v.id FROM inbox.conversation v" \
		"     WHERE v.space_id = $1 AND v.contact_id = $2 AND v.closed_at IS NULL)" \
		" WHERE c.space_id = $1 AND c.id = $2"
	static InboxQuery q = {
		RECOUNT(", last_message_preview, last_message_status", ", inbox.message_preview(m.body, m.content), m.status"),
		2, {INT8OID, INT8OID}
	};
	static InboxQuery q_1x = {RECOUNT("", ""), 2, {INT8OID, INT8OID}};	/* a schema of 1.x */
#undef RECOUNT
	Datum		values[2] = {Int64GetDatum(space), Int64GetDatum(contact)};
	InboxActor	maintaining = *actor;

	/* merged or not: a merge recounts both contacts */
	(void) inbox_open_conversation_of(space, contact, true);
	inbox_lock_contact_row(space, contact);
	maintaining.maintaining = true;
	inbox_exec_as(&maintaining, contact_has_list_columns() ? &q : &q_1x, values, NULL, 0);
	/* and the wait of its open conversation for its answer */
	inbox_auto_close_recount(space, contact);
}

/*
 * A deleted message: the messages quoting it quote nothing any more (what
 * a foreign key's ON DELETE SET NULL did in 1.x, refused by Citus on a
 * self-reference), and the contact's maintained columns follow what is
 * left.
 */
static void
after_delete(HeapTuple tuple, TupleDesc desc, const AttrNumber *col)
{
	static InboxQuery q_unquote = {
		"UPDATE inbox.message SET reply_to_id = NULL WHERE space_id = $1 AND reply_to_id = $2",
		2, {INT8OID, INT8OID}
	};
	bool		isnull;
	int64		space = inbox_get_int8(tuple, desc, col[MESSAGE_SPACE_ID], &isnull);
	Datum		values[2] = {Int64GetDatum(space), Int64GetDatum(inbox_get_int8(tuple, desc, col[MESSAGE_ID], &isnull))};
	InboxActor	actor = inbox_current_actor();
	InboxActor	maintaining = actor;

	maintaining.maintaining = true;
	inbox_exec_as(&maintaining, &q_unquote, values, NULL, 0);
	inbox_recount_contact(&actor, space, inbox_get_int8(tuple, desc, col[MESSAGE_CONTACT_ID], &isnull));
}

/*
 * An incoming message marked read or unread by a plain UPDATE of read_at:
 * the unread count follows.  mark_read() and replies reset the count
 * themselves and mark the messages while maintaining it.
 */
static void
after_read_change(HeapTuple tuple, TupleDesc desc, const AttrNumber *col)
{
	static InboxQuery q = {
		"UPDATE inbox.contact SET unread_count = unread_count + $2 WHERE space_id = $3 AND id = $1",
		3, {INT8OID, INT4OID, INT8OID}
	};
	bool		isnull;
	Datum		values[3];
	InboxActor	actor = inbox_current_actor();

	if (actor.maintaining)
		return;
	values[0] = Int64GetDatum(inbox_get_int8(tuple, desc, col[MESSAGE_CONTACT_ID], &isnull));
	values[1] = Int32GetDatum(inbox_is_null(tuple, desc, col[MESSAGE_READ_AT]) ? 1 : -1);
	values[2] = Int64GetDatum(inbox_get_int8(tuple, desc, col[MESSAGE_SPACE_ID], &isnull));
	actor.maintaining = true;
	inbox_exec_as(&actor, &q, values, NULL, 0);
}

Datum
inbox_message_after_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	const AttrNumber *col;

	inbox_check_trigger(fcinfo, "message_after_write");
	desc = trigdata->tg_relation->rd_att;
	col = inbox_columns(trigdata->tg_relation, TABLE_MESSAGE);

	inbox_spi_connect();
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		after_insert(trigdata->tg_trigtuple, desc, col);
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		after_read_change(trigdata->tg_newtuple, desc, col);
	else
		after_delete(trigdata->tg_trigtuple, desc, col);
	SPI_finish();

	return PointerGetDatum(NULL);
}

/*
 * AFTER UPDATE OF status, body, content on inbox.message: when the message
 * is its contact's newest, the contact's preview and status follow (a
 * delivery report, an edit).  A status report of an older message leaves
 * the contact alone: the look-up by the contact's key finds it is not the
 * newest.  A merge moves messages and recounts the contacts itself.
 */
Datum
inbox_message_after_change(PG_FUNCTION_ARGS)
{
	static InboxQuery q_status = {
		"UPDATE inbox.contact SET last_message_status = $4"
		" WHERE space_id = $1 AND id = $2 AND last_message_id = $3 AND last_message_status IS DISTINCT FROM $4",
		4, {INT8OID, INT8OID, INT8OID, TEXTOID}
	};
	static InboxQuery q_both = {
		"UPDATE inbox.contact SET last_message_status = $4, last_message_preview = $5"
		" WHERE space_id = $1 AND id = $2 AND last_message_id = $3"
		"   AND (last_message_status, last_message_preview) IS DISTINCT FROM ($4, $5)",
		5, {INT8OID, INT8OID, INT8OID, TEXTOID, TEXTOID}
	};
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	const AttrNumber *col;
	HeapTuple	oldtuple,
				newtuple;
	InboxActor	actor = inbox_current_actor();
	bool		edited,
				isnull;
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	inbox_check_trigger(fcinfo, "message_after_change");
	if (actor.merging)
		return PointerGetDatum(NULL);
	desc = trigdata->tg_relation->rd_att;
	col = inbox_columns(trigdata->tg_relation, TABLE_MESSAGE);
	oldtuple = trigdata->tg_trigtuple;
	newtuple = trigdata->tg_newtuple;
	edited = inbox_column_changed(oldtuple, newtuple, desc, col[MESSAGE_BODY]) ||
		inbox_column_changed(oldtuple, newtuple, desc, col[MESSAGE_CONTENT]);
	if (!edited && !inbox_column_changed(oldtuple, newtuple, desc, col[MESSAGE_STATUS]))
		return PointerGetDatum(NULL);

	values[0] = Int64GetDatum(inbox_get_int8(newtuple, desc, col[MESSAGE_SPACE_ID], &isnull));
	values[1] = Int64GetDatum(inbox_get_int8(newtuple, desc, col[MESSAGE_CONTACT_ID], &isnull));
	values[2] = Int64GetDatum(inbox_get_int8(newtuple, desc, col[MESSAGE_ID], &isnull));
	values[3] = inbox_get_datum(newtuple, desc, col[MESSAGE_STATUS], &isnull);
	if (edited)
	{
		bool		body_null,
					content_null,
					preview_null;
		Datum		body = inbox_get_datum(newtuple, desc, col[MESSAGE_BODY], &body_null);
		Datum		content = inbox_get_datum(newtuple, desc, col[MESSAGE_CONTENT], &content_null);

		values[4] = message_preview(body, body_null, content, content_null, &preview_null);
		nulls[4] = preview_null ? 'n' : ' ';
	}

	actor.maintaining = true;
	inbox_spi_connect();
	inbox_exec_as(&actor, edited ? &q_both : &q_status, values, nulls, 0);
	SPI_finish();
	return PointerGetDatum(NULL);
}
