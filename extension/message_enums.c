/*-------------------------------------------------------------------------
 *
 * message_enums.c
 *	  A message's direction and status as C values, and their names.
 *
 * The tables keep them as text (message.direction, message.status,
 * channel_kind.statuses); the rules decide on the enums of inbox.h, read
 * from that text here and only here.  An unknown name is not an error
 * here: each caller says what it expected.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "inbox.h"

static const char *const direction_names[] = {
	[INBOX_INCOMING] = "incoming",
	[INBOX_OUTGOING] = "outgoing",
};

static const char *const status_names[] = {
	[INBOX_STATUS_PENDING] = "pending",
	[INBOX_STATUS_SENT] = "sent",
	[INBOX_STATUS_DELIVERED] = "delivered",
	[INBOX_STATUS_READ] = "read",
	[INBOX_STATUS_FAILED] = "failed",
	[INBOX_STATUS_RECEIVED] = "received",
};

StaticAssertDecl(lengthof(status_names) == INBOX_STATUS_COUNT, "a name per status");

/* the position of name in names, -1 when it is none of them (or NULL) */
static int
parse_name(const char *const *names, int count, const char *name)
{
	for (int i = 0; name != NULL && i < count; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

bool
inbox_parse_direction(const char *name, InboxDirection *direction)
{
	int			i = parse_name(direction_names, lengthof(direction_names), name);

	if (i < 0)
		return false;
	*direction = (InboxDirection) i;
	return true;
}

const char *
inbox_direction_name(InboxDirection direction)
{
	return direction_names[direction];
}

bool
inbox_parse_status(const char *name, InboxStatus *status)
{
	int			i = parse_name(status_names, lengthof(status_names), name);

	if (i < 0)
		return false;
	*status = (InboxStatus) i;
	return true;
}

const char *
inbox_status_name(InboxStatus status)
{
	return status_names[status];
}
