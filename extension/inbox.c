/*-------------------------------------------------------------------------
 *
 * inbox.c
 *	  Module entry point of the inbox extension: settings.
 *
 * The rules are in rules_contact.c, rules_conversation.c, rules_message.c
 * and events.c; the SQL API in api.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "inbox.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	inbox_define_actor_gucs();
	inbox_define_notify_gucs();
	inbox_register_notify_callbacks();
	MarkGUCPrefixReserved("inbox");
}
