/*-------------------------------------------------------------------------
 *
 * comments.c
 *	  Notes agents leave each other on a contact:
 *	  add_comment(space, contact, agent, body, mentions).
 *
 * A note is a row of inbox.comment, not a message: inbox-worker deliver
 * claims pending outgoing messages, and the unread count, the last
 * message, the messaging window and every reader of inbox.message would
 * each have to learn to skip a note; in a table of its own none of them
 * can ever see one.  history() shows notes among the messages and events
 * (history.c); the rules of the table are rules_comment.c's, and
 * notify.c tells each mentioned agent.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_add_comment);

/* add_comment(space, contact, agent, body, mentions) */
Datum
inbox_add_comment(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {
		"INSERT INTO inbox.comment (space_id, contact_id, author_agent_id, body, mentions)"
		" VALUES ($1, $2, $3, $4, coalesce($5, '{}')) RETURNING id",
		5, {INT8OID, INT8OID, INT8OID, TEXTOID, INT8ARRAYOID}
	};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	int64		space,
				contact,
				agent,
				id = 0;

	inbox_check_nargs(fcinfo, 5);
	INBOX_NOT_NULL(fcinfo, 0, "space");
	INBOX_NOT_NULL(fcinfo, 1, "contact");
	INBOX_NOT_NULL(fcinfo, 2, "agent");
	space = PG_GETARG_INT64(0);
	contact = PG_GETARG_INT64(1);
	agent = PG_GETARG_INT64(2);
	inbox_check_text_written(PG_ARGISNULL(3) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(3)), false, "comment");

	values[0] = Int64GetDatum(space);
	values[1] = Int64GetDatum(contact);
	values[2] = Int64GetDatum(agent);
	values[3] = PG_GETARG_DATUM(3);
	values[4] = PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4);
	nulls[4] = PG_ARGISNULL(4) ? 'n' : ' ';

	inbox_spi_connect();
	(void) inbox_contact_access(space, contact, agent);
	inbox_check_agent_in_space(space, agent);
	inbox_exec(&q, values, nulls, 1);
	(void) inbox_int8(1, &id);
	SPI_finish();
	PG_RETURN_INT64(id);
}
