/*-------------------------------------------------------------------------
 *
 * inbox.h
 *	  Declarations shared by the C sources of the inbox extension, layer by
 *	  layer from the bottom.
 *
 * The rules of the inbox live in trigger functions (rules_*.c, events.c,
 * counts.c, snooze.c, notify.c); the API functions (api.c, views.c,
 * history.c, contact_details.c, comments.c, merge.c) only check their
 * arguments and write rows, so that every rule holds for plain
 * INSERT/UPDATE as well.  What happens when a
 * contact writes in is told in rules_message.c.
 *
 * Layers.  A file calls only into files of its own layer or below, never
 * up, and no two files need each other (test/layers.sh reads the objects
 * and fails on any circle).  From the bottom:
 *
 *   base     plan_cache.c (queries through SPI, plans kept), tuple.c (trigger
 *            rows: column numbers cached per table), message_enums.c (message
 *            direction and status), arguments.c (checks of API arguments)
 *   lookups  lookups.c (contact, conversation, agent and space lookups, the
 *            row locks in their order), actor.c (who causes a change),
 *            channel_cache.c, security.c (who may do what), cluster.c (the
 *            shards of a Citus node), space_settings.c (a space's
 *            automation settings), availability.c (agents' activity,
 *            agents set away)
 *   worker   the background worker's shared memory and the calls backends
 *            make into it: worker_shmem.c (slots, wake calls, handing
 *            notifications over), notify_relay.c (the ring of notifications),
 *            worker_pause.c (commands that need a database alone)
 *   rules    events.c, counts.c, agent_state.c (open counts, the
 *            assignment lock), assignment_policy.c (automatic assignment),
 *            auto_close.c (the wait for a contact's answer),
 *            rules_conversation.c, rules_contact.c, rules_message.c,
 *            rules_comment.c, snooze.c, notify.c, rules_space.c and
 *            rules_agent.c (the automation settings and the agents' status)
 *   API      api.c, views.c, history.c, contact_details.c, comments.c,
 *            merge.c, automation.c (configure_space, set_agent_status)
 *   top      worker_loop.c (the per-database loop and its two tasks, the
 *            timers (snoozes, auto-close, auto-away) and the notification
 *            relay), worker_launcher.c,
 *            inbox.c (module entry: settings, transaction callbacks)
 *
 * Locking order, followed by every rule so that concurrent writers queue
 * instead of deadlocking: the contact's open conversation row first (when
 * there is one), then the contact row, then anything else
 * (inbox_lock_contact_in_order in lookups.c).  In a space that assigns
 * automatically, the space's assignment lock comes before any agent_state
 * row, and before a waiting contact's rows where the rule knows it will
 * need it (agent_state.c, assignment_policy.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef INBOX_H
#define INBOX_H

#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "nodes/pg_list.h"
#include "utils/rel.h"

/*
 * 10000-01-01 00:00 UTC, in microseconds since 2000-01-01: the times of
 * messages (and so of an identity's last incoming message), their status
 * reports, conversations, events and snoozes are before it, so that a
 * messaging window or a tag's age added to them cannot overflow and every
 * client can read them (inbox_check_time_written, tuple.c).
 */
#define INBOX_END_OF_TIME INT64CONST(252455616000000000)
#define INBOX_TIME_IN_RANGE(t) (!TIMESTAMP_NOT_FINITE(t) && (t) < INBOX_END_OF_TIME)

/*
 * ==================================================================
 * base: plan_cache.c, tuple.c, message_enums.c, arguments.c
 * ==================================================================
 */

/* plan_cache.c: queries through SPI */
#define INBOX_MAX_ARGS 12

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

extern void inbox_spi_connect(void);
extern int	inbox_exec(InboxQuery *query, Datum *values, const char *nulls, long limit);
extern int	inbox_exec_snapshot(InboxQuery *query, Datum *values, const char *nulls, long limit,
								Snapshot snapshot);
extern void inbox_forget_plan(InboxQuery *query);
extern Datum inbox_value(int col, bool *isnull);
extern bool inbox_int8(int col, int64 *value);
extern char *inbox_text(int col);

/*
 * tuple.c: the rows trigger functions get.  The columns the C code reads,
 * per table; inbox_columns() gives their numbers in the trigger's relation,
 * looked up once per backend and again after a relcache invalidation of
 * the table: col[CONTACT_SPACE_ID] is the attribute number of space_id.
 */
typedef enum InboxTable
{
	TABLE_CONTACT,
	TABLE_CONTACT_CHANNEL,
	TABLE_CONVERSATION,
	TABLE_MESSAGE,
	TABLE_EVENT,
	TABLE_VIEW,
	TABLE_COMMENT,
	TABLE_COUNT
} InboxTable;

typedef enum ContactColumn
{
	CONTACT_ID,
	CONTACT_SPACE_ID,
	CONTACT_FIRST_NAME,
	CONTACT_LAST_NAME,
	CONTACT_EMAIL,
	CONTACT_PHONE,
	CONTACT_ASSIGNEE_ID,
	CONTACT_ORIGIN_CHANNEL_ID,
	CONTACT_SNOOZED_UNTIL,
	CONTACT_UNREAD_COUNT,
	CONTACT_LAST_MESSAGE_AT,
	CONTACT_LAST_MESSAGE_DIRECTION,
	CONTACT_LAST_MESSAGE_ID,
	CONTACT_LAST_CHANNEL_ID,
	CONTACT_MERGED_INTO,
	CONTACT_OPEN_CONVERSATION_ID,
	CONTACT_SEARCH_TEXT,
	CONTACT_PHONE_DIGITS,
	CONTACT_LAST_MESSAGE_PREVIEW,
	CONTACT_LAST_MESSAGE_STATUS,
	CONTACT_NCOLUMNS
} ContactColumn;

typedef enum ContactChannelColumn
{
	CONTACT_CHANNEL_CONTACT_ID,
	CONTACT_CHANNEL_CHANNEL_ID,
	CONTACT_CHANNEL_SPACE_ID,
	CONTACT_CHANNEL_EXTERNAL_ID,
	CONTACT_CHANNEL_LAST_INCOMING_AT,
	CONTACT_CHANNEL_NCOLUMNS
} ContactChannelColumn;

typedef enum ConversationColumn
{
	CONVERSATION_ID,
	CONVERSATION_SPACE_ID,
	CONVERSATION_CONTACT_ID,
	CONVERSATION_OPENED_AT,
	CONVERSATION_OPENED_BY_KIND,
	CONVERSATION_OPENED_BY_AGENT,
	CONVERSATION_REFERENCE,
	CONVERSATION_SOURCE_URL,
	CONVERSATION_CLOSED_AT,
	CONVERSATION_CLOSED_BY_KIND,
	CONVERSATION_CLOSED_BY_AGENT,
	CONVERSATION_CATEGORY,
	CONVERSATION_SUMMARY,
	CONVERSATION_FIRST_RESPONSE_AT,
	CONVERSATION_AUTO_CLOSE_FROM,
	CONVERSATION_AUTO_CLOSE_AT,
	CONVERSATION_NCOLUMNS
} ConversationColumn;

typedef enum MessageColumn
{
	MESSAGE_ID,
	MESSAGE_SPACE_ID,
	MESSAGE_CONTACT_ID,
	MESSAGE_CONVERSATION_ID,
	MESSAGE_CHANNEL_ID,
	MESSAGE_DIRECTION,
	MESSAGE_SENDER_KIND,
	MESSAGE_SENDER_AGENT_ID,
	MESSAGE_BODY,
	MESSAGE_CONTENT,
	MESSAGE_EXTERNAL_ID,
	MESSAGE_REPLY_TO_EXTERNAL_ID,
	MESSAGE_REPLY_TO_ID,
	MESSAGE_STATUS,
	MESSAGE_SENT_AT,
	MESSAGE_DELIVERED_AT,
	MESSAGE_READ_AT,
	MESSAGE_FAILED_AT,
	MESSAGE_CREATED_AT,
	MESSAGE_NCOLUMNS
} MessageColumn;

typedef enum EventColumn
{
	EVENT_ID,
	EVENT_SPACE_ID,
	EVENT_CONTACT_ID,
	EVENT_CONVERSATION_ID,
	EVENT_KIND,
	EVENT_ACTOR_KIND,
	EVENT_ACTOR_AGENT_ID,
	EVENT_TARGET_AGENT_ID,
	EVENT_CREATED_AT,
	EVENT_NCOLUMNS
} EventColumn;

typedef enum ViewColumn
{
	VIEW_SPACE_ID,
	VIEW_OWNER_AGENT_ID,
	VIEW_NAME,
	VIEW_FILTER,
	VIEW_NCOLUMNS
} ViewColumn;

typedef enum CommentColumn
{
	COMMENT_ID,
	COMMENT_SPACE_ID,
	COMMENT_CONTACT_ID,
	COMMENT_CONVERSATION_ID,
	COMMENT_AUTHOR_AGENT_ID,
	COMMENT_BODY,
	COMMENT_MENTIONS,
	COMMENT_CREATED_AT,
	COMMENT_NCOLUMNS
} CommentColumn;

extern const AttrNumber *inbox_columns(Relation rel, InboxTable table);
extern bool inbox_table_named(const char *name, InboxTable *table);
extern bool inbox_schema_has_column(const char *table, const char *column);

extern Datum inbox_get_datum(HeapTuple tuple, TupleDesc desc, AttrNumber attnum, bool *isnull);
extern int64 inbox_get_int8(HeapTuple tuple, TupleDesc desc, AttrNumber attnum, bool *isnull);
extern int32 inbox_get_int4(HeapTuple tuple, TupleDesc desc, AttrNumber attnum);
extern char *inbox_get_text(HeapTuple tuple, TupleDesc desc, AttrNumber attnum);
extern bool inbox_is_null(HeapTuple tuple, TupleDesc desc, AttrNumber attnum);
extern bool inbox_column_changed(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc,
								 AttrNumber attnum);
extern void inbox_check_time_written(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc,
									 AttrNumber attnum, const char *table, int64 id);

/* changes a BEFORE trigger makes to the row it returns */
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
extern void inbox_edit_set(InboxTupleEdit *edit, TupleDesc desc, AttrNumber attnum,
						   Datum value, bool isnull);
extern HeapTuple inbox_edit_apply(InboxTupleEdit *edit, HeapTuple tuple, TupleDesc desc);

extern void inbox_check_called_as_trigger(FunctionCallInfo fcinfo, const char *name);
extern void inbox_check_trigger(FunctionCallInfo fcinfo, const char *name);
extern char inbox_trigger_state(Relation rel, const char *name);

/* message_enums.c: a message's direction and status, as C values */
typedef enum InboxDirection
{
	INBOX_INCOMING,
	INBOX_OUTGOING
} InboxDirection;

/*
 * The outgoing statuses in the order a message moves through them, then
 * failed, which stands apart (after pending or sent, and final), then the
 * one status of every incoming message.
 */
typedef enum InboxStatus
{
	INBOX_STATUS_PENDING,
	INBOX_STATUS_SENT,
	INBOX_STATUS_DELIVERED,
	INBOX_STATUS_READ,
	INBOX_STATUS_FAILED,
	INBOX_STATUS_RECEIVED,
	INBOX_STATUS_COUNT
} InboxStatus;

extern bool inbox_parse_direction(const char *name, InboxDirection *direction);
extern const char *inbox_direction_name(InboxDirection direction);
extern bool inbox_parse_status(const char *name, InboxStatus *status);
extern const char *inbox_status_name(InboxStatus status);

/* arguments.c: every API argument is checked before anything is written */
#define INBOX_NOT_NULL(fcinfo, n, name) \
	do { \
		if (PG_ARGISNULL(n)) \
			ereport(ERROR, \
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE), \
					 errmsg("%s must not be null", (name)))); \
	} while (0)

/* the most rows a page of a list or a history has */
#define INBOX_MAX_PAGE_SIZE 1000

extern int64 inbox_optional_int8(FunctionCallInfo fcinfo, int n);
extern void inbox_optional_param(FunctionCallInfo fcinfo, int n, Datum *value, char *null);
extern char *inbox_required_text(FunctionCallInfo fcinfo, int n, const char *name);
extern char *inbox_required_id(FunctionCallInfo fcinfo, int n, const char *name);
extern void inbox_require_object(FunctionCallInfo fcinfo, int n, const char *name);
extern void inbox_check_nargs(FunctionCallInfo fcinfo, int nargs);
extern void inbox_check_page_size(int32 page_size);
extern bool inbox_parse_cursor(const char *cursor, int nparts, int64 *parts);

/*
 * What a person wrote (a message's body, a note): not empty, not only
 * white space (ASCII and Unicode spaces, and the invisible characters of
 * zero width), unless a message carries content instead.
 */
extern bool inbox_is_blank(const char *text);
extern bool inbox_is_blank_prefix(const char *text, int len);
extern void inbox_check_text_written(const char *text, bool has_content, const char *what);

/*
 * How far ahead of the server's clock the time of a message (or a note)
 * may be: a sender's clock runs a little fast, but a time days ahead would
 * sit at the top of every list until then.
 */
#define INBOX_MAX_TIME_AHEAD (5 * USECS_PER_MINUTE)
extern void inbox_check_time_not_ahead(TimestampTz at, const char *what);

/*
 * ==================================================================
 * lookups: actor.c, lookups.c, channel_cache.c, security.c
 * ==================================================================
 */

/*
 * actor.c: who causes the changes being made.  API functions and rules
 * that act on behalf of someone set it around the statements they run;
 * plain table writes get the inbox.actor_kind / inbox.actor_agent settings.
 */
typedef struct InboxActor
{
	const char *kind;
	int64		agent;			/* 0 = none */
	int64		conversation;	/* conversation being closed, or 0 */
	bool		maintaining;	/* the statement updates maintained columns */
	bool		merging;		/* merge/unmerge moves rows between contacts */
	bool		replying;		/* an agent's outgoing message opens the
								 * conversation: rule 3 assigns it to that agent,
								 * automatic assignment leaves it alone */
} InboxActor;

extern void inbox_define_actor_gucs(void);
extern void inbox_actor_xact_event(XactEvent event);
extern InboxActor inbox_current_actor(void);
extern int	inbox_exec_as(const InboxActor *actor, InboxQuery *query,
						  Datum *values, const char *nulls, long limit);
extern bool inbox_is_actor_kind(const char *kind);
extern void inbox_check_actor_kind(const char *kind);
extern bool inbox_is_outgoing_sender_kind(const char *kind);
extern bool inbox_is_echo_sender_kind(const char *kind);

/* merge.c: conversations and messages may change contact, no side events */
#define INBOX_MERGING() (inbox_current_actor().merging)

/*
 * lookups.c: the rows every rule looks up, and the locks taken in order.
 * Every look-up names the space (inbox 2.0: on a Citus cluster a statement
 * that does not runs on no shard): an id of another space is not found.
 */
extern int64 inbox_row_space(HeapTuple tuple, TupleDesc desc, AttrNumber attnum, const char *table);
extern void inbox_require_contact(int64 space, int64 contact, bool refuse_merged);
extern void inbox_lock_contact(int64 space, int64 contact);
extern void inbox_lock_contact_row(int64 space, int64 contact);
extern int64 inbox_lock_contact_in_order(int64 space, int64 contact);
extern int64 inbox_open_conversation_of(int64 space, int64 contact, bool lock);
extern int64 inbox_lock_contact_for_message(int64 space, int64 contact, bool *waiting);
extern int64 inbox_lock_contact_for_next_message(int64 space, int64 contact);
extern void inbox_forget_message_locks(void);
extern bool inbox_agent_exists(int64 space, int64 agent);
extern void inbox_check_agent_in_space(int64 space, int64 agent);
extern void inbox_require_space(int64 space);

/* cluster.c: the shards of a Citus node, a logical replication subscriber */
extern List *inbox_local_shards(const char *table);
extern bool inbox_is_distributed(void);
extern bool inbox_is_subscriber(void);
extern bool inbox_is_coordinator(void);
extern bool inbox_space_is_local(int64 space);

/* act on the candidates of one space (ids: a bigint[]), returning how many it acted on */
typedef int (*InboxSpaceAction) (int64 space, Datum ids, void *arg);
extern int	inbox_act_on_shards(List *shards, const char *sql, int max, InboxSpaceAction act, void *arg);
extern bool inbox_min_on_shards(List *shards, const char *sql, TimestampTz *earliest);
extern bool inbox_only_agents_cleared(int64 space, HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc,
									  const AttrNumber *agent_columns, int nagent_columns);

/* space_settings.c: a space's automation settings (columns of inbox.space) */
typedef enum InboxAssignment
{
	INBOX_ASSIGN_MANUAL,
	INBOX_ASSIGN_ROUND_ROBIN,
	INBOX_ASSIGN_LEAST_OPEN
} InboxAssignment;

typedef enum InboxAgentStatus
{
	INBOX_AGENT_ONLINE,
	INBOX_AGENT_BUSY,
	INBOX_AGENT_OFFLINE
} InboxAgentStatus;

typedef struct InboxSpaceSettings
{
	bool		exists;			/* false: no such space (then the defaults) */
	bool		auto_close;		/* auto_close_after is set */
	Interval	auto_close_after;
	bool		unassign_on_close;
	InboxAssignment assignment;
	int32		assignment_cap; /* -1: no cap */
	bool		auto_away;		/* auto_away_after is set */
	Interval	auto_away_after;
} InboxSpaceSettings;

extern InboxSpaceSettings inbox_space_settings(int64 space);
extern bool inbox_parse_assignment(const char *name, InboxAssignment *assignment);
extern const char *inbox_assignment_name(InboxAssignment assignment);
extern bool inbox_parse_agent_status(const char *name, InboxAgentStatus *status);
extern void inbox_check_setting_interval(const char *name, Interval *value);
extern TimestampTz inbox_time_plus(TimestampTz at, const Interval *interval);

/* availability.c: agents' activity, and agents set away */
extern void inbox_define_availability_gucs(void);
extern void inbox_availability_xact_event(XactEvent event);
extern void inbox_availability_subxact_abort(SubTransactionId subid);
extern void inbox_note_activity(int64 space, int64 agent);
extern void inbox_start_activity(int64 space, int64 agent, TimestampTz at);
extern int	inbox_set_idle_agents_away(int max);
extern bool inbox_next_away_due(TimestampTz *due);

/* channel_cache.c: a channel as the rules see it */
typedef struct InboxChannelFacts
{
	int64		space;
	char	   *kind;
	bool		reply_to;		/* the kind shows quoted messages */
	uint32		statuses;		/* the statuses the kind reports, bit per InboxStatus */
} InboxChannelFacts;

#define INBOX_REPORTS_STATUS(facts, status) (((facts).statuses & (1u << (status))) != 0)

extern InboxChannelFacts inbox_channel_facts(int64 space, int64 channel);

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
extern InboxAccess inbox_contact_access(int64 space, int64 contact, int64 agent);
extern void inbox_check_acting_agent(const InboxAccess *access, int64 agent);
extern void inbox_require_admin(const InboxAccess *access, const char *action);

/*
 * ==================================================================
 * worker: the background worker's shared memory and the calls backends
 * make into it (worker_shmem.c, notify_relay.c, worker_pause.c)
 * ==================================================================
 */

/* worker_shmem.c */
extern void inbox_worker_shmem_init(void);
extern void inbox_worker_wake_snooze(void);
extern void inbox_worker_wake_all(void);
extern void inbox_worker_note_timer(TimestampTz at);
extern void inbox_worker_timers_xact_event(XactEvent event);

/* how a transaction that handed notifications over ended */
typedef enum RelayEnd
{
	RELAY_END_COMMIT,
	RELAY_END_PREPARE,			/* they wait for COMMIT PREPARED */
	RELAY_END_ABORT
} RelayEnd;

extern bool inbox_worker_hand_over(int n, char **channels, char **payloads, TransactionId prepared);
extern void inbox_worker_relay_end(RelayEnd end);

/* notify_relay.c: the ring the worker sends notifications from */
extern void inbox_notify_relay_init(void);
extern bool inbox_notify_relay_put(int n, char **channels, char **payloads, TransactionId prepared);
extern bool inbox_notify_relay_end(RelayEnd end);
extern bool inbox_notify_relay_prepared_waiting(void);
extern int	inbox_notify_relay_drain(void);
extern void inbox_notify_relay_adopt(void);
extern void inbox_notify_relay_flush(void);
extern void inbox_notify_relay_forget(Oid database);

/* worker_pause.c */
extern void inbox_worker_pause_init(void);
extern void inbox_worker_pause_xact_event(XactEvent event);

/*
 * ==================================================================
 * rules: events.c, counts.c, rules_conversation.c, rules_contact.c,
 * rules_message.c, snooze.c, notify.c
 * ==================================================================
 */

/* events.c: the one writer of event rows */
typedef struct InboxEvent
{
	int64		space;
	int64		contact;
	int64		conversation;	/* 0: the one open when it is written, if any */
	const char *kind;
	const InboxActor *actor;	/* who caused it: kind and agent */
	int64		target_agent;	/* 0: none */
	const char *reference;		/* NULL: none */
	const char *source_url;		/* NULL: none */
	TimestampTz at;				/* 0: now */
	Datum		data;			/* jsonb, or (Datum) 0 for none */
} InboxEvent;

extern int64 inbox_write_event(const InboxEvent *event);
extern void inbox_write_events(int n, Datum *contacts, Datum *spaces, Datum *data,
							   const char *kind, const InboxActor *actor);
extern Datum inbox_event_data(const char *key, Datum value, Oid type);
extern void inbox_check_conversation_of(int64 space, int64 conversation, int64 contact);

/* counts.c */
extern void inbox_count_contact_change(Relation rel, HeapTuple oldtuple, HeapTuple newtuple);

/* agent_state.c: the agents' open counts in a space that assigns, its assignment lock */
extern void inbox_lock_assignment(int64 space);
extern void inbox_agent_state_contact_change(Relation rel, HeapTuple oldtuple, HeapTuple newtuple);
extern void inbox_recount_agent_state(int64 space);
extern void inbox_agent_state_add(int64 space, int64 agent);

/* assignment_policy.c: automatic assignment and the queue of waiting contacts */
extern void inbox_assign_on_open(int64 space, int64 contact);
extern void inbox_fill_queue(int64 space);
extern void inbox_lock_assignment_for_contact(int64 space, int64 contact);

/* auto_close.c: the wait for a contact's answer, and closing when it is over */
extern void inbox_auto_close_user_message(int64 space, int64 conversation, TimestampTz at,
										  TimestampTz snoozed_until);
extern void inbox_auto_close_incoming(int64 space, int64 conversation, TimestampTz at);
extern void inbox_auto_close_snooze_changed(int64 space, int64 conversation, TimestampTz from);
extern void inbox_auto_close_recount(int64 space, int64 contact);
extern void inbox_auto_close_respace(int64 space, const InboxSpaceSettings *settings);
extern int	inbox_close_due(int max);
extern bool inbox_next_close_due(TimestampTz *due);

/* rules_conversation.c */
extern int64 inbox_insert_conversation(int64 space, int64 contact, const TimestampTz *opened_at,
									   const InboxActor *opener, const char *reference,
									   const char *source_url);

/* rules_message.c */
extern void inbox_recount_contact(const InboxActor *actor, int64 space, int64 contact);

/* snooze.c */
extern void inbox_check_snooze_write(Relation rel, int64 contact, HeapTuple oldtuple,
									 HeapTuple newtuple);
extern void inbox_record_snooze_change(Relation rel, int64 contact, HeapTuple oldtuple,
									   HeapTuple newtuple);
extern void inbox_check_snooze_future(int64 contact, TimestampTz until);
extern void inbox_snooze_xact_event(XactEvent event);
extern int	inbox_wake_due(int max);
extern bool inbox_next_due(TimestampTz *due);

/* notify.c */
extern void inbox_define_notify_gucs(void);
extern void inbox_notify_xact_event(XactEvent event);
extern void inbox_notify_subxact_abort(SubTransactionId subxact);
extern void inbox_notify_agent(int64 space, int64 agent);

/*
 * ==================================================================
 * top: worker_loop.c, worker_launcher.c, inbox.c
 * ==================================================================
 */

/* worker_launcher.c */
extern void inbox_worker_launcher_init(void);

#endif							/* INBOX_H */
