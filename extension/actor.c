/*-------------------------------------------------------------------------
 *
 * actor.c
 *	  Who causes a change: the actor kinds of the spec, the actor that
 *	  events are written for, and the settings that name it for plain
 *	  table writes.
 *
 * An API function (say assign(..., actor_kind => 'automation')) runs its
 * UPDATE with that actor set; the triggers fired by the UPDATE write their
 * events for it.  A plain UPDATE made by an application gets the actor of
 * the inbox.actor_kind and inbox.actor_agent settings (default: a user,
 * no agent), which it may SET LOCAL in its transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "inbox.h"

static const char *const actor_kinds[] = {
	"user", "automation", "bot", "broadcast", "api", "contact", "channel", "system", NULL
};

static const char *const outgoing_sender_kinds[] = {
	"user", "automation", "ai", "away_message", "greeting_message", "dialogflow",
	"facebook_inbox", "whatsapp_echo", "message_tag", "broadcast", "api", NULL
};

/* outgoing kinds that record a message already sent elsewhere: not held to the messaging window */
static const char *const echo_sender_kinds[] = {
	"whatsapp_echo", "facebook_inbox", NULL
};

static char *actor_kind_setting = NULL;
static char *actor_agent_setting = NULL;

/* the actor set by the innermost API function or rule, if any */
static const InboxActor *current_actor = NULL;

static bool
in_list(const char *const *list, const char *value)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, value) == 0)
			return true;
	return false;
}

bool
inbox_is_actor_kind(const char *kind)
{
	return kind != NULL && in_list(actor_kinds, kind);
}

void
inbox_check_actor_kind(const char *kind)
{
	if (!inbox_is_actor_kind(kind))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown actor kind \"%s\"", kind ? kind : "(null)"),
				 errhint("Actor kinds are user, automation, bot, broadcast, api, contact, channel and system.")));
}

bool
inbox_is_outgoing_sender_kind(const char *kind)
{
	return kind != NULL && in_list(outgoing_sender_kinds, kind);
}

bool
inbox_is_echo_sender_kind(const char *kind)
{
	return kind != NULL && in_list(echo_sender_kinds, kind);
}

/* an agent id setting: digits only, positive; false if malformed */
static bool
parse_agent_setting(const char *text, int64 *agent)
{
	char	   *end;
	long long	value;

	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || value <= 0)
		return false;
	*agent = (int64) value;
	return true;
}

static bool
check_actor_kind_setting(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || inbox_is_actor_kind(*newval))
		return true;
	GUC_check_errdetail("Actor kinds are user, automation, bot, broadcast, api, contact, channel and system.");
	return false;
}

static bool
check_actor_agent_setting(char **newval, void **extra, GucSource source)
{
	int64		agent;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (parse_agent_setting(*newval, &agent))
		return true;
	GUC_check_errdetail("inbox.actor_agent is an agent id or empty.");
	return false;
}

/*
 * At the end of a transaction (inbox.c calls it): an aborted one forgets
 * its actor, whatever an error skipped.
 */
void
inbox_actor_xact_event(XactEvent event)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		current_actor = NULL;
}

void
inbox_define_actor_gucs(void)
{
	DefineCustomStringVariable("inbox.actor_kind",
							   "Actor kind recorded in events caused by plain table writes.",
							   "API functions record the actor they are given instead.",
							   &actor_kind_setting,
							   "user",
							   PGC_USERSET, 0,
							   check_actor_kind_setting, NULL, NULL);
	DefineCustomStringVariable("inbox.actor_agent",
							   "Agent id recorded in events caused by plain table writes.",
							   "Empty means no agent.",
							   &actor_agent_setting,
							   "",
							   PGC_USERSET, 0,
							   check_actor_agent_setting, NULL, NULL);
}

InboxActor
inbox_current_actor(void)
{
	InboxActor	actor;

	if (current_actor != NULL)
		return *current_actor;

	memset(&actor, 0, sizeof(actor));
	actor.kind = (actor_kind_setting && actor_kind_setting[0]) ? actor_kind_setting : "user";
	if (actor_agent_setting && actor_agent_setting[0])
		(void) parse_agent_setting(actor_agent_setting, &actor.agent);
	return actor;
}

/*
 * Run a query with the given actor in force for the triggers it fires
 * (AFTER triggers of a query run through SPI fire before SPI returns).
 */
int
inbox_exec_as(const InboxActor *actor, InboxQuery *query,
			  Datum *values, const char *nulls, long limit)
{
	const InboxActor *saved = current_actor;
	int			rows;

	current_actor = actor;
	PG_TRY();
	{
		rows = inbox_exec(query, values, nulls, limit);
	}
	PG_FINALLY();
	{
		current_actor = saved;
	}
	PG_END_TRY();
	return rows;
}
