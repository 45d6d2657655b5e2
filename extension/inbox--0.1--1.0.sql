/*
 * extension/inbox--0.1--1.0.sql: from inbox 0.1 to 1.0.
 *
 * test/upgrade checks that a 0.1 install with data, upgraded with
 * ALTER EXTENSION inbox UPDATE, has the objects of a fresh 1.0 install.
 */

\echo Use "ALTER EXTENSION inbox UPDATE TO '1.0'" to load this file. \quit

-- ingest speed (issue 10): fewer index entries per contact update, room
-- for in-place (HOT) updates of identities and conversations
ALTER TABLE inbox.contact DROP CONSTRAINT contact_id_space_id_key;
DROP INDEX inbox.contact_phone_prefix_idx;
DROP INDEX inbox.contact_phone_suffix_idx;
CREATE INDEX contact_phone_prefix_idx ON inbox.contact (space_id, phone_digits text_pattern_ops)
	WHERE phone_digits IS NOT NULL;
CREATE INDEX contact_phone_suffix_idx ON inbox.contact (space_id, reverse(phone_digits) text_pattern_ops)
	WHERE phone_digits IS NOT NULL;
ALTER TABLE inbox.contact_channel SET (fillfactor = 90);
ALTER TABLE inbox.conversation SET (fillfactor = 90);
-- the space of an identity, conversation, message or event is its
-- contact's (the rules check it, and it goes with the contact): no second
-- foreign-key check per row
ALTER TABLE inbox.contact_channel DROP CONSTRAINT contact_channel_space_id_fkey;
ALTER TABLE inbox.conversation DROP CONSTRAINT conversation_space_id_fkey;
ALTER TABLE inbox.message DROP CONSTRAINT message_space_id_fkey;
ALTER TABLE inbox.event DROP CONSTRAINT event_space_id_fkey;

-- pg_dump keeps the catalogues as the user edited them (README, "Backup
-- and restore")
SELECT pg_catalog.pg_extension_config_dump('inbox.channel_kind', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.event_kind', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.sender_kind', '');

-- notifications sent by the database's background worker (notify_relay.c)
CREATE FUNCTION inbox.notify_relay_queue() RETURNS bigint
	AS 'MODULE_PATHNAME', 'inbox_notify_relay_queue' LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.notify_relay_queue() IS
	'Notifications of this database committed but not yet sent by its background worker (inbox.notify_relay); 0 when the relay is idle or off';
REVOKE ALL ON FUNCTION inbox.notify_relay_queue() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION inbox.notify_relay_queue() TO inbox_admin;

-- psql's \d+ and \df+ explain every table, column and function

/*
 * ------------------------------------------------------------------
 * Catalogues
 * ------------------------------------------------------------------
 */

COMMENT ON COLUMN inbox.channel_kind.kind IS
	'name of the channel kind (lower-case letters, digits, _), as inbox.channel.kind and create_channel() give it; renaming it renames it in every channel';
COMMENT ON COLUMN inbox.channel_kind.label IS
	'display name of the channel kind, e.g. "WhatsApp Cloud API"';

COMMENT ON COLUMN inbox.event_kind.kind IS
	'name of the event kind (lower-case letters, digits, _); inbox.event refers to (kind, actor_kind)';
COMMENT ON COLUMN inbox.event_kind.actor_kind IS
	'an actor kind that may cause this event: user, automation, bot, broadcast, api, contact, channel or system';
COMMENT ON COLUMN inbox.event_kind.label IS
	'what history shows for this event caused by this actor kind (history().event_label)';

COMMENT ON COLUMN inbox.sender_kind.kind IS
	'a message sender kind (inbox.message.sender_kind); the kinds themselves are fixed in C, this table gives their labels';
COMMENT ON COLUMN inbox.sender_kind.direction IS
	'incoming (contact) or outgoing (every other kind)';
COMMENT ON COLUMN inbox.sender_kind.label IS
	'sender label history shows for outgoing messages of this kind, {space} replaced by the space''s name; user shows the agent''s name and contact the contact''s name instead';

/*
 * ------------------------------------------------------------------
 * Tenants, team and channels
 * ------------------------------------------------------------------
 */

COMMENT ON COLUMN inbox.space.id IS 'space id (inbox.space_id_seq); create_space() returns it';
COMMENT ON COLUMN inbox.space.name IS 'display name of the space, not empty; replaces {space} in sender labels';
COMMENT ON COLUMN inbox.space.created_at IS 'when the space was created';

COMMENT ON COLUMN inbox.space_admin.space_id IS 'the space the role administers';

COMMENT ON COLUMN inbox.agent.id IS 'agent id (inbox.agent_id_seq); create_agent() returns it';
COMMENT ON COLUMN inbox.agent.space_id IS 'the space the agent belongs to';
COMMENT ON COLUMN inbox.agent.name IS 'the agent''s name, not empty; history shows it as the sender of the agent''s messages';
COMMENT ON COLUMN inbox.agent.email IS 'the agent''s e-mail address, free text; NULL = none';
COMMENT ON COLUMN inbox.agent.created_at IS 'when the agent was added';

COMMENT ON COLUMN inbox.channel.id IS 'channel id (inbox.channel_id_seq); create_channel() returns it';
COMMENT ON COLUMN inbox.channel.space_id IS 'the space the channel is connected to';
COMMENT ON COLUMN inbox.channel.kind IS
	'the channel kind, a row of inbox.channel_kind, whose messaging window, statuses and reply-to rules apply to the channel''s messages';
COMMENT ON COLUMN inbox.channel.name IS 'display name of the channel, not empty, e.g. "WhatsApp main"';
COMMENT ON COLUMN inbox.channel.created_at IS 'when the channel was connected';

/*
 * ------------------------------------------------------------------
 * Contacts and their identities on channels
 * ------------------------------------------------------------------
 */

COMMENT ON COLUMN inbox.contact.id IS 'contact id (inbox.contact_id_seq); cannot be changed';
COMMENT ON COLUMN inbox.contact.space_id IS 'the space the contact writes to; cannot be changed';
COMMENT ON COLUMN inbox.contact.first_name IS
	'first name; receive_message() fills it from the sender''s profile when it is NULL and never overwrites it';
COMMENT ON COLUMN inbox.contact.last_name IS
	'last name; receive_message() fills it from the sender''s profile when it is NULL and never overwrites it';
COMMENT ON COLUMN inbox.contact.email IS
	'e-mail address, free text; search matches it, and receive_message() makes an unknown sender whose profile gives this e-mail (any case) an identity of this contact';
COMMENT ON COLUMN inbox.contact.phone IS
	'phone number in any formatting; search and receive_message()''s profile match its digits (phone_digits)';
COMMENT ON COLUMN inbox.contact.custom IS
	'custom fields, a JSON object (default {}); a custom view''s "custom" filter matches field values';
COMMENT ON COLUMN inbox.contact.tags IS
	'tags (default: none); a custom view''s "tags" filter matches contacts sharing one';
COMMENT ON COLUMN inbox.contact.bot_active IS
	'whether a bot answers the contact; bot_status_on / bot_status_off events set it';
COMMENT ON COLUMN inbox.contact.created_at IS 'when the contact was created';
-- overrides of inbox--0.1.sql
COMMENT ON COLUMN inbox.contact.origin_channel_id IS
	'the channel of the contact''s first message (the message rules fill it when NULL)';
COMMENT ON COLUMN inbox.contact.snoozed_until IS
	'the contact is left out of every list and count until this time; NULL = not snoozed. Set by snooze() or an UPDATE to a future time; cleared when due (snooze worker), by unsnooze() or by an incoming message';
COMMENT ON COLUMN inbox.contact.merged_into IS
	'the contact this one was merged into; NULL = not merged. Written only by merge_contacts() and unmerge_contacts() (a direct write is 22023)';

COMMENT ON COLUMN inbox.contact_channel.contact_id IS 'the contact this identity belongs to';
COMMENT ON COLUMN inbox.contact_channel.channel_id IS 'the channel the identity is on';
COMMENT ON COLUMN inbox.contact_channel.space_id IS
	'the space of the contact and the channel (filled from the contact when NULL; must match)';
COMMENT ON COLUMN inbox.contact_channel.created_at IS 'when the identity was recorded';

/*
 * ------------------------------------------------------------------
 * Conversations, messages and events
 * ------------------------------------------------------------------
 */

COMMENT ON COLUMN inbox.conversation.id IS 'conversation id (inbox.conversation_id_seq)';
COMMENT ON COLUMN inbox.conversation.space_id IS 'the contact''s space (filled from the contact when NULL); cannot be changed';
COMMENT ON COLUMN inbox.conversation.contact_id IS 'the contact; cannot be changed';
COMMENT ON COLUMN inbox.conversation.opened_at IS
	'when the conversation was opened (the time of the message that opened it, else now()); cannot be changed';
COMMENT ON COLUMN inbox.conversation.opened_by_kind IS
	'actor kind that opened it (default: inbox.actor_kind); cannot be changed';
COMMENT ON COLUMN inbox.conversation.opened_by_agent IS
	'agent who opened it, if any (default: inbox.actor_agent); cannot be changed';
COMMENT ON COLUMN inbox.conversation.source_url IS
	'URL the contact came from (e.g. the web chat page), given when the conversation was opened';
COMMENT ON COLUMN inbox.conversation.closed_at IS
	'when it was closed; NULL = open. Setting it closes the conversation (conversation_closed, and the contact is unassigned); then it never changes';
COMMENT ON COLUMN inbox.conversation.closed_by_kind IS
	'actor kind that closed it (default: inbox.actor_kind); NULL while open';
COMMENT ON COLUMN inbox.conversation.closed_by_agent IS
	'agent who closed it, if any (default: inbox.actor_agent)';
COMMENT ON COLUMN inbox.conversation.category IS 'closing category, free text (close_conversation())';
COMMENT ON COLUMN inbox.conversation.summary IS 'closing summary, free text (close_conversation())';

COMMENT ON COLUMN inbox.message.id IS 'message id (inbox.message_id_seq); receive_message() and send_message() return it';
COMMENT ON COLUMN inbox.message.space_id IS 'the contact''s space (filled from the contact when NULL); cannot be changed';
COMMENT ON COLUMN inbox.message.contact_id IS 'the contact the message is from or to; cannot be changed';
COMMENT ON COLUMN inbox.message.conversation_id IS
	'the contact''s open conversation when the message was written (an incoming or user message opens one if none; other outgoing messages may have none); maintained, cannot be changed';
COMMENT ON COLUMN inbox.message.channel_id IS
	'the channel the message came or goes on; the contact must have an identity on it (23503); cannot be changed';
COMMENT ON COLUMN inbox.message.direction IS 'incoming (from the contact) or outgoing (to the contact); cannot be changed';
COMMENT ON COLUMN inbox.message.sender_agent_id IS
	'the agent who sent it: required for sender_kind user, NULL for incoming messages; cannot be changed';
COMMENT ON COLUMN inbox.message.body IS 'the text of the message; NULL when it has only content';
COMMENT ON COLUMN inbox.message.content IS
	'the platform''s content as a JSON object (media, buttons, ...); {"template": "<name>"} or {"tag": "<tag>"} lets a user message out of a closed messaging window where the channel kind allows it';
COMMENT ON COLUMN inbox.message.sent_at IS
	'when the platform reported the message sent (the first report''s time; kept when the status is already further)';
COMMENT ON COLUMN inbox.message.delivered_at IS
	'when the platform reported the message delivered (the first report''s time; kept when the status is already further)';
COMMENT ON COLUMN inbox.message.failed_at IS 'when the platform reported the message failed';
COMMENT ON COLUMN inbox.message.error IS 'the platform''s error for a failed message (set_message_status(..., error => ...))';

COMMENT ON COLUMN inbox.event.id IS 'event id (inbox.event_id_seq); record_event() returns it';
COMMENT ON COLUMN inbox.event.space_id IS 'the contact''s space (filled from the contact when NULL)';
COMMENT ON COLUMN inbox.event.contact_id IS 'the contact whose history the event is part of';
COMMENT ON COLUMN inbox.event.kind IS 'what happened; (kind, actor_kind) must be a row of inbox.event_kind';
COMMENT ON COLUMN inbox.event.actor_kind IS
	'who caused it: user, automation, bot, broadcast, api, contact, channel or system';
COMMENT ON COLUMN inbox.event.actor_agent_id IS 'the agent who caused it, if any';
COMMENT ON COLUMN inbox.event.reference IS
	'reference code given with the event (conversation_opened carries its conversation''s)';
COMMENT ON COLUMN inbox.event.source_url IS
	'URL given with the event (conversation_opened, page_change)';
COMMENT ON COLUMN inbox.event.data IS
	'details as a JSON object: {"until": time} for snooze events, {"merged": id} for merge events, {"channel": id} for channel_added, anything for record_event()';
COMMENT ON COLUMN inbox.event.created_at IS 'when it happened';

/*
 * ------------------------------------------------------------------
 * Views, view counts and merge records
 * ------------------------------------------------------------------
 */

COMMENT ON COLUMN inbox.view.id IS 'view id (inbox.view_id_seq); contact_list() names a custom view by it, as text';
COMMENT ON COLUMN inbox.view.space_id IS 'the space of the view';
COMMENT ON COLUMN inbox.view.owner_agent_id IS 'the agent whose private view it is; NULL = shared with the space';
COMMENT ON COLUMN inbox.view.name IS 'display name, not empty; view_counts() returns it';
COMMENT ON COLUMN inbox.view.filter IS
	'JSON object over the keys conversation, assignee, channels, tags, unread, custom; every key given must hold ({} = the "all" view); checked when saved (22023)';
COMMENT ON COLUMN inbox.view.created_at IS 'when the view was saved';

COMMENT ON COLUMN inbox.view_count.space_id IS 'the space counted (maintained)';
COMMENT ON COLUMN inbox.view_count.view IS 'the built-in view counted: all, mine or unassigned (maintained)';
COMMENT ON COLUMN inbox.view_count.shard IS
	'shard number 0-15, chosen by the writing backend so that concurrent writers do not queue on one row (maintained)';
COMMENT ON COLUMN inbox.view_count.contacts IS
	'this shard''s part of the number of contacts in the view; may be negative, only the sum over shards counts (maintained)';
COMMENT ON COLUMN inbox.view_count.unread_contacts IS
	'this shard''s part of the number of those contacts with unread messages; only the sum over shards counts (maintained)';

COMMENT ON COLUMN inbox.contact_merge.id IS 'merge record id (inbox.contact_merge_id_seq)';
COMMENT ON COLUMN inbox.contact_merge.space_id IS 'the space of both contacts';
COMMENT ON COLUMN inbox.contact_merge.keep_id IS 'the contact that was kept (merge_contacts'' keep)';
COMMENT ON COLUMN inbox.contact_merge.merged_id IS 'the contact merged into it (merge_contacts'' merge)';
COMMENT ON COLUMN inbox.contact_merge.actor_kind IS 'actor kind of the merge';
COMMENT ON COLUMN inbox.contact_merge.actor_agent_id IS 'the agent who merged, if any';
COMMENT ON COLUMN inbox.contact_merge.conversations IS 'ids of the merged contact''s conversations before the merge';
COMMENT ON COLUMN inbox.contact_merge.messages IS 'ids of the merged contact''s messages before the merge';
COMMENT ON COLUMN inbox.contact_merge.events IS 'ids of the merged contact''s events before the merge';
COMMENT ON COLUMN inbox.contact_merge.absorbed_messages IS
	'ids of the messages of the absorbed conversation; NULL when none was absorbed';
COMMENT ON COLUMN inbox.contact_merge.absorbed_events IS
	'ids of the events of the absorbed conversation; NULL when none was absorbed';
COMMENT ON COLUMN inbox.contact_merge.merged_at IS 'when the contacts were merged';
COMMENT ON COLUMN inbox.contact_merge.undone_at IS 'when unmerge_contacts() undid the merge; NULL = in force';

/*
 * ------------------------------------------------------------------
 * Sequences (dumped by pg_dump with their tables)
 * ------------------------------------------------------------------
 */

COMMENT ON SEQUENCE inbox.space_id_seq IS 'Ids of inbox.space';
COMMENT ON SEQUENCE inbox.agent_id_seq IS 'Ids of inbox.agent';
COMMENT ON SEQUENCE inbox.channel_id_seq IS 'Ids of inbox.channel';
COMMENT ON SEQUENCE inbox.contact_id_seq IS 'Ids of inbox.contact';
COMMENT ON SEQUENCE inbox.conversation_id_seq IS 'Ids of inbox.conversation';
COMMENT ON SEQUENCE inbox.message_id_seq IS 'Ids of inbox.message';
COMMENT ON SEQUENCE inbox.event_id_seq IS 'Ids of inbox.event';
COMMENT ON SEQUENCE inbox.view_id_seq IS 'Ids of inbox.view';
COMMENT ON SEQUENCE inbox.contact_merge_id_seq IS 'Ids of inbox.contact_merge';

/*
 * ------------------------------------------------------------------
 * Trigger functions (the rules; not called directly)
 * ------------------------------------------------------------------
 */

COMMENT ON FUNCTION inbox.contact_before_write() IS
	'Trigger BEFORE INSERT OR UPDATE on inbox.contact: a contact is inserted unassigned, id and space_id never change, maintained columns are refused (22023; unread_count may be reset to 0), an assignee must be of the space (P0002), a snooze set by UPDATE must be in the future (22023)';
COMMENT ON FUNCTION inbox.contact_after_update() IS
	'Trigger AFTER UPDATE on inbox.contact: a new assignee writes assigned or unassigned (opening a conversation first if none), a reset of unread_count marks the incoming messages read, a snooze change writes contact_snoozed or contact_unsnoozed';
COMMENT ON FUNCTION inbox.conversation_before_write() IS
	'Trigger BEFORE INSERT OR UPDATE on inbox.conversation: one open conversation per contact and a closed one stays closed (55000), it is inserted open, its opening columns never change, the opening and closing actor default to inbox.actor_kind / inbox.actor_agent';
COMMENT ON FUNCTION inbox.conversation_after_write() IS
	'Trigger AFTER INSERT, AFTER UPDATE OF closed_at (a close) and AFTER DELETE of an open conversation: keeps contact.open_conversation_id, writes conversation_opened, or on a close writes conversation_closed and unassigns the contact';
COMMENT ON FUNCTION inbox.message_before_write() IS
	'Trigger BEFORE INSERT OR UPDATE on inbox.message: locks the contact, puts the message in the open conversation (opening one for incoming and user messages), resolves reply-to, checks the identity (23503) and the messaging window (55000); on UPDATE the status moves forward only and fixed columns are refused (22023)';
COMMENT ON FUNCTION inbox.message_after_write() IS
	'Trigger AFTER INSERT, DELETE and UPDATE OF read_at on inbox.message: keeps the contact''s unread_count and last_message_*, assigns an unassigned contact to a replying user, ends a snooze on an incoming message, sets conversation.first_response_at';
COMMENT ON FUNCTION inbox.event_before_insert() IS
	'Trigger BEFORE INSERT on inbox.event: (kind, actor_kind) must be in inbox.event_kind (22023), its agents in the contact''s space (P0002), its contact not merged (55000); fills space_id and the open conversation';
COMMENT ON FUNCTION inbox.event_after_insert() IS
	'Trigger AFTER INSERT of a bot_status_on or bot_status_off event: sets the contact''s bot_active';
COMMENT ON FUNCTION inbox.event_before_change() IS
	'Trigger BEFORE UPDATE OR DELETE on inbox.event: events are history, so a change or a direct delete is refused (55000); deleting the contact or conversation still takes its events along';
COMMENT ON FUNCTION inbox.contact_channel_before_write() IS
	'Trigger BEFORE INSERT OR UPDATE on inbox.contact_channel: contact and channel exist and share a space (P0002), the contact is not merged (55000); fills space_id';
COMMENT ON FUNCTION inbox.contact_channel_after_insert() IS
	'Trigger AFTER INSERT on inbox.contact_channel: an identity added to a contact that already has one writes channel_added ({"channel": id}) for the current actor';
COMMENT ON FUNCTION inbox.contact_counts() IS
	'Trigger AFTER INSERT, DELETE and membership-changing UPDATE on inbox.contact: adds the change of the contact''s view membership to inbox.view_count';
COMMENT ON FUNCTION inbox.view_before_write() IS
	'Trigger BEFORE INSERT OR UPDATE on inbox.view: the owner is an agent of the space (P0002) and the filter uses only known keys and values (22023)';
COMMENT ON FUNCTION inbox.notify_change() IS
	'Trigger AFTER INSERT, UPDATE OR DELETE on contact, conversation, message and event (argument: the table name): records the change, sent at commit with pg_notify on channel inbox_<space_id> (ids only, one per contact and op); nothing when inbox.notify is off';

/*
 * ------------------------------------------------------------------
 * API (overrides inbox--0.1.sql: adds results and SQLSTATEs).  Every
 * function also raises 42501 for a role that is no agent or admin of any
 * space, and P0002 for an id of a space the caller may not act in.
 * ------------------------------------------------------------------
 */

COMMENT ON FUNCTION inbox.create_space(text) IS
	'Create a space (workspace) named name; returns its id. Only the extension''s owner and superusers may call it; 22023 for a NULL or empty name';
COMMENT ON FUNCTION inbox.create_agent(bigint, text, text) IS
	'Add an agent (team member) to a space; returns the agent id. 22023 NULL space or empty name, P0002 unknown space, 42501 caller not an admin of the space';
COMMENT ON FUNCTION inbox.create_channel(bigint, text, text) IS
	'Connect a channel of a kind in inbox.channel_kind to a space; returns the channel id. 22023 unknown kind or empty name, P0002 unknown space, 42501 caller not an admin of the space';
COMMENT ON FUNCTION inbox.receive_message(bigint, text, text, text, text, jsonb, timestamptz, jsonb) IS
	'Record a message a contact sent on a channel (contact_ref = the sender''s id there; an unknown sender becomes a contact, or an identity of the one contact whose e-mail or phone its profile names); returns the message id, the stored one when external_id was already received on the channel. 22023 bad argument (empty contact_ref, neither body nor content, unknown profile key, id over 1024 bytes, at infinite or from the year 10000), P0002 unknown channel, 42501 caller not an admin of the space';
COMMENT ON FUNCTION inbox.send_message(bigint, bigint, text, bigint, text, jsonb) IS
	'Queue an outgoing message (status pending) to a contact on a channel it has an identity on; a user message opens a conversation if none and assigns an unassigned contact to agent; returns the message id. 22023 bad sender_kind, user without agent, neither body nor content; P0002 unknown contact, channel or agent; 23503 no identity on the channel; 55000 messaging window closed (use a template or allowed tag in content) or contact merged; 42501 agent not the caller''s own';
COMMENT ON FUNCTION inbox.set_message_status(bigint, text, timestamptz, text) IS
	'Record a delivery report (sent, delivered, read, or failed with error) of an outgoing message; returns the resulting status, which never moves back. 22023 unknown status, error without failed, or a status the channel kind does not report; P0002 unknown message; 55000 an incoming message; 42501 caller not an admin of the space';
COMMENT ON FUNCTION inbox.assign(bigint, bigint, text, bigint) IS
	'Assign a contact to an agent of its space (assignee NULL = unassign), writing assigned or unassigned; opens a conversation if none is open; returns nothing. 22023 unknown actor_kind; P0002 unknown contact or agent; 55000 contact merged; 42501 actor_agent not the caller''s own';
COMMENT ON FUNCTION inbox.open_conversation(bigint, text, bigint, text, text) IS
	'Open a conversation for a contact ("mark pending"), writing conversation_opened with reference and source_url; returns its id, or that of the conversation already open (then nothing is written). 22023 NULL or unknown actor_kind; P0002 unknown contact or agent; 55000 contact merged; 42501 actor_agent not the caller''s own';
COMMENT ON FUNCTION inbox.close_conversation(bigint, text, bigint, text, text) IS
	'Close a contact''s open conversation ("mark done") with category and summary, writing conversation_closed and, if it was assigned, unassigned; returns the conversation id. 55000 no open conversation; 22023 NULL or unknown actor_kind; P0002 unknown contact or agent; 42501 actor_agent not the caller''s own';
COMMENT ON FUNCTION inbox.mark_read(bigint, bigint) IS
	'Mark every incoming message of a contact read (unread_count becomes 0), for agent; returns how many were unread. 22023 NULL contact or agent; P0002 unknown contact or agent; 42501 agent not the caller''s own';
COMMENT ON FUNCTION inbox.snooze(bigint, timestamptz, bigint) IS
	'Leave a contact out of every list and count until a future time, writing contact_snoozed (actor user); it comes back then, on unsnooze() or on an incoming message; returns nothing. 22023 until not later than the clock; P0002 unknown contact or agent; 55000 contact merged; 42501 agent not the caller''s own';
COMMENT ON FUNCTION inbox.unsnooze(bigint, bigint) IS
	'End a contact''s snooze early, writing contact_unsnoozed (actor user); a contact that is not snoozed is left alone, without event or error; returns nothing. P0002 unknown contact or agent; 55000 contact merged; 42501 agent not the caller''s own';
COMMENT ON FUNCTION inbox.wake_due_snoozes(integer) IS
	'Unsnooze up to max contacts whose snooze time has come (contact_unsnoozed, actor system); safe with concurrent callers; returns how many. For an external inbox-worker snooze, granted to nobody by default; 22023 when max is not positive';
COMMENT ON FUNCTION inbox.record_event(bigint, text, text, bigint, text, text, jsonb) IS
	'Record an event from outside (survey, bot status, channel event, page change, ...) in the contact''s open conversation, if any; returns the event id. 22023 (kind, actor_kind) not in inbox.event_kind, a kind inbox writes itself (use its function), or data not an object; P0002 unknown contact or agent; 55000 contact merged; 42501 actor_agent not the caller''s own';
COMMENT ON FUNCTION inbox.view_counts(bigint, bigint) IS
	'One row per view: all, mine (when agent is given), unassigned, then each custom view the agent sees (view = its id), with its contacts and those with unread messages. 22023 NULL space; P0002 unknown space or agent; 42501 agent not the caller''s own';
COMMENT ON FUNCTION inbox.contact_list(bigint, bigint, text, text, text, integer) IS
	'A page of the contacts of a view (all, mine, unassigned or a custom view''s id), newest message first; search matches name, e-mail or phone; pass the last row''s cursor for the next page. 22023 unknown view, mine without agent, bad cursor, page_size not 1 to 1000; P0002 unknown space, agent or view; 42501 agent not the caller''s own';
COMMENT ON FUNCTION inbox.history(bigint, text, integer) IS
	'A page of a contact''s messages and events, oldest first within the page: the newest page_size items, or those before the cursor of an earlier page''s first row. 22023 bad cursor or page_size not 1 to 1000; P0002 unknown contact';
COMMENT ON FUNCTION inbox.merge_contacts(bigint, bigint, text, bigint) IS
	'Merge contact merge into keep (one person): identities, conversations, messages and events move to keep, the newer of two open conversations absorbs the older, contact_merged is written; returns nothing. 22023 a contact with itself or unknown actor_kind; P0002 unknown contact or contacts of two spaces; 55000 either contact already merged; 42501 actor_agent not the caller''s own';
COMMENT ON FUNCTION inbox.unmerge_contacts(bigint, bigint, text, bigint) IS
	'Undo the last merge of merged into keep: both contacts as they were, and messages that came since on a channel only merged had go back with it; writes contact_unmerged; returns nothing. 22023 a contact with itself or unknown actor_kind; P0002 unknown contact; 55000 merged is not merged into keep; 42501 actor_agent not the caller''s own';
