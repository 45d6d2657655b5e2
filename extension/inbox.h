/*-------------------------------------------------------------------------
 *
 * inbox.h
 *	  Declarations shared by the C sources of the inbox extension.
 *
 * The rules of the inbox live in trigger functions (rules_*.c, events.c);
 * the API functions (api.c) only validate their arguments and write rows,
 * so that every rule holds for plain INSERT/UPDATE as well.
 *
 * Locking order, followed by every rule so that concurrent writers queue
 * instead of deadlocking: the contact's open conversation row first (when
 * there is one), then the contact row, then anything else.
 *
 *-------------------------------------------------------------------------
 */
#ifndef INBOX_H
#define INBOX_H

#include "postgres.h"

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "commands/trigger.h"
#include "executor/spi.h"

#define INBOX_MAX_ARGS 12

/*
 * 10000-01-01 00:00 UTC, in microseconds since 2000-01-01: the times of
 * messages (and so of an identity's last incoming message) are before it,
 * so that a messaging window or a tag's age added to them cannot overflow.
 */
#define INBOX_END_OF_TIME INT64CONST(252455616000000000)
#define INBOX_TIME_IN_RANGE(t) (!TIMESTAMP_NOT_FINITE(t) && (t) < INBOX_END_OF_TIME)

/*
 * A query run through SPI, prepared once per backend and kept (as the RI
 * triggers of PostgreSQL do).  Each call site owns one as a static
 * variable; plan is NULL until the first call.
 */
typedef struct InboxQuery
{
	const char *sql;
	int			nargs;
	Oid			argtypes[INBOX_MAX_ARGS];
	SPIPlanPtr	plan;
	bool		custom_plan;	/* plan for each call's values (searches) */
} InboxQuery;

/* plan_cache.c */
extern int	inbox_exec(InboxQuery *query, Datum *values, const char *nulls, long limit);
extern int	inbox_exec_snapshot(InboxQuery *query, Datum *values, const char *nulls, long limit,
								Snapshot snapshot);
extern Datum inbox_value(int col, bool *isnull);
extern bool inbox_int8(int col, int64 *value);
extern char *inbox_text(int col);

/*
 * Who causes the changes being made.  API functions and rules that act on
 * behalf of someone set it around the statements they run; plain table
 * writes get the inbox.actor_kind / inbox.actor_agent settings.
 */
typedef struct InboxActor
{
	const char *kind;
	int64		agent;			/* 0 = none */
	int64		conversation;	/* conversation being closed, or 0 */
	bool		maintaining;	/* the statement updates maintained columns */
	bool		merging;		/* merge/unmerge moves rows between contacts */
} InboxActor;

/* actor.c */
extern void inbox_define_actor_gucs(void);
extern InboxActor inbox_current_actor(void);
extern int	inbox_exec_as(const InboxActor *actor, InboxQuery *query,
						  Datum *values, const char *nulls, long limit);
extern bool inbox_is_actor_kind(const char *kind);
extern void inbox_check_actor_kind(const char *kind);
extern bool inbox_is_outgoing_sender_kind(const char *kind);

/* channel_cache.c: a channel as the rules see it */
typedef struct InboxChannelFacts
{
	int64		space;
	char	   *kind;
	bool		reply_to;		/* the kind shows quoted messages */
	bool		reports_status; /* the kind reports the status asked about */
} InboxChannelFacts;

extern InboxChannelFacts inbox_channel_facts(int64 channel, const char *status);

/* notify.c */
extern void inbox_define_notify_gucs(void);
extern void inbox_register_notify_callbacks(void);

/* snooze.c */
extern void inbox_register_snooze_callbacks(void);
extern void inbox_check_snooze_write(int64 contact, HeapTuple oldtuple, HeapTuple newtuple,
									 TupleDesc desc);
extern void inbox_record_snooze_change(int64 contact, HeapTuple oldtuple, HeapTuple newtuple,
									   TupleDesc desc);
extern int	inbox_wake_due(int max);
extern bool inbox_next_due(TimestampTz *due);

/* snooze_worker.c */
extern void inbox_snooze_worker_init(void);
extern void inbox_snooze_worker_wake(void);
extern bool inbox_snooze_worker_lock_serving(void);
extern void inbox_snooze_worker_unlock(void);
extern void inbox_snooze_worker_relay_wake(void);

/* notify_relay.c */
extern void inbox_notify_relay_init(void);
extern bool inbox_notify_relay_reserve(int n, char **channels, char **payloads);
extern void inbox_notify_relay_end(bool committed);
extern int	inbox_notify_relay_drain(void);
extern void inbox_notify_relay_adopt(void);
extern void inbox_notify_relay_flush(void);
extern void inbox_notify_relay_forget(Oid database);

/* merge.c: conversations and messages may change contact, no side events */
#define INBOX_MERGING() (inbox_current_actor().merging)

/* counts.c */
extern void inbox_count_contact_change(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc);

/* rules_message.c */
extern void inbox_recount_contact(const InboxActor *actor, int64 contact);

/* events.c */
extern int64 inbox_write_event(int64 contact, int64 conversation, const char *kind,
							   const InboxActor *actor, int64 target_agent,
							   const char *reference, const char *source_url,
							   TimestampTz at);

/* shared lookups (rules_contact.c) */
extern int64 inbox_lock_contact(int64 contact);
extern void inbox_lock_contact_row(int64 contact);
extern void inbox_check_not_merged(int64 contact, int col);
extern int64 inbox_open_conversation_of(int64 contact, bool lock);
extern bool inbox_agent_exists(int64 agent);
extern void inbox_check_agent_in_space(int64 agent, int64 space);
extern void inbox_require_space(int64 space);

/*
 * security.c: what the caller of an API function may do in a space.  An
 * owner (superuser or the extension's owner) may do everything.
 */
typedef struct InboxAccess
{
	int64		space;
	bool		owner;			/* superuser or the extension's owner */
	bool		admin;			/* an admin of the space (inbox.space_admin) */
	int64		agent;			/* the caller's own agent in the space, or 0 */
	bool		assigned_only;	/* sees only contacts assigned to it or to nobody */
} InboxAccess;

extern InboxAccess inbox_space_access(int64 space, const char *what, int64 id);
extern InboxAccess inbox_contact_access(int64 contact, int64 agent);
extern InboxAccess inbox_message_access(int64 message);
extern void inbox_check_acting_agent(const InboxAccess *access, int64 agent);
extern void inbox_require_admin(const InboxAccess *access, const char *action);

/* small helpers for trigger functions */
#define INBOX_MAX_EDITS 16
typedef struct InboxTupleEdit
{
	MemoryContext context;		/* where the trigger's result row must live */
	int			count;
	int			attnums[INBOX_MAX_EDITS];
	Datum		values[INBOX_MAX_EDITS];
	bool		nulls[INBOX_MAX_EDITS];
} InboxTupleEdit;

extern void inbox_edit_init(InboxTupleEdit *edit);
extern void inbox_edit_set(InboxTupleEdit *edit, TupleDesc desc, const char *column,
						   Datum value, bool isnull);
extern HeapTuple inbox_edit_apply(InboxTupleEdit *edit, HeapTuple tuple, TupleDesc desc);

extern void inbox_check_called_as_trigger(FunctionCallInfo fcinfo, const char *name);
extern void inbox_check_trigger(FunctionCallInfo fcinfo, const char *name);
extern char inbox_trigger_state(Relation rel, const char *name);
extern int64 inbox_get_int8(HeapTuple tuple, TupleDesc desc, const char *column, bool *isnull);
extern char *inbox_get_text(HeapTuple tuple, TupleDesc desc, const char *column);
extern bool inbox_column_changed(HeapTuple oldtuple, HeapTuple newtuple,
								 TupleDesc desc, const char *column);
extern bool inbox_only_agents_cleared(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc,
									  const char *const *agent_columns);

/* error helpers: every API argument is checked before anything is written */
#define INBOX_NOT_NULL(fcinfo, n, name) \
	do { \
		if (PG_ARGISNULL(n)) \
			ereport(ERROR, \
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE), \
					 errmsg("%s must not be null", (name)))); \
	} while (0)

#endif							/* INBOX_H */
