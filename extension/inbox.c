/*-------------------------------------------------------------------------
 *
 * inbox.c
 *	  Module entry point of the inbox extension: settings.
 *
 * The rules are in rules_contact.c, rules_conversation.c, rules_message.c,
 * snooze.c and events.c; the SQL API in api.c; the background worker
 * that wakes snoozed contacts in snooze_worker.c.
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
	inbox_notify_relay_init();
	inbox_register_snooze_callbacks();
	inbox_snooze_worker_init();
	MarkGUCPrefixReserved("inbox");
}
