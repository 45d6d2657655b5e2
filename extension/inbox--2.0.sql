/*
 * extension/inbox--2.0.sql: the schema, catalogues and API of inbox 2.0.
 *
 * 2.0 is shard-local by space: every API function takes the space first,
 * every key of a table of a space leads with space_id, and every statement
 * of the rules names the space, so that one server and a Citus cluster
 * (tables distributed by space_id) run the same inbox.
 *
 * Frozen once released: a later change ships as an upgrade script
 * inbox--2.0--<next>.sql
 * (test/upgrade checks that upgrading gives what a fresh install gives).
 */

\echo Use "CREATE EXTENSION inbox" to load this file. \quit

/*
 * ------------------------------------------------------------------
 * Domains: the checks of the columns a message writes.  PostgreSQL checks
 * a domain when a value is assigned, with expressions it keeps for the
 * session; a table's CHECK constraints it reads again for every statement,
 * and every message updates its contact and identity.  (A message's
 * direction and status, and the contact's maintained columns, are checked
 * by the rules' triggers, with 22023.)
 * ------------------------------------------------------------------
 */

CREATE DOMAIN inbox.platform_id AS text
	CONSTRAINT platform_id_check CHECK (octet_length(VALUE) <= 1024);
CREATE DOMAIN inbox.sender_id AS inbox.platform_id
	CONSTRAINT sender_id_check CHECK (VALUE <> '');
CREATE DOMAIN inbox.json_object AS jsonb
	CONSTRAINT json_object_check CHECK (jsonb_typeof(VALUE) = 'object');
COMMENT ON DOMAIN inbox.platform_id IS 'an id given by a messaging platform, up to 1024 bytes';
COMMENT ON DOMAIN inbox.sender_id IS 'a non-empty platform id of a sender';
COMMENT ON DOMAIN inbox.json_object IS 'a JSON object';

/*
 * ------------------------------------------------------------------
 * Catalogues shipped with the extension (users may edit them)
 * ------------------------------------------------------------------
 */

CREATE TABLE inbox.channel_kind (
	kind		text PRIMARY KEY CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
	label		text NOT NULL,
	reply_to	boolean NOT NULL DEFAULT false,
	"window"	interval CHECK ("window" > interval '0'),
	window_tags	jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(window_tags) = 'object'),
	templates	boolean NOT NULL DEFAULT false,
	statuses	text[] NOT NULL DEFAULT '{sent,delivered,read,failed}'
		CHECK (statuses <@ '{sent,delivered,read,failed}')
);
COMMENT ON TABLE inbox.channel_kind IS
	'Kinds of messaging channel and their platform rules (messaging window, statuses reported, reply-to support)';
COMMENT ON COLUMN inbox.channel_kind.reply_to IS
	'whether incoming messages can quote an earlier message (reply-to context)';
COMMENT ON COLUMN inbox.channel_kind."window" IS
	'how long after the contact''s last incoming message an agent may write freely; NULL = no messaging window';
COMMENT ON COLUMN inbox.channel_kind.window_tags IS
	'message tags allowed outside the window: {"tag": "7 days"} up to that age, {"tag": null} at any time';
COMMENT ON COLUMN inbox.channel_kind.templates IS
	'whether an approved template ({"template": "<name>"} in content) may be sent outside the window';
COMMENT ON COLUMN inbox.channel_kind.statuses IS
	'the delivery statuses the platform reports for outgoing messages';

INSERT INTO inbox.channel_kind (kind, label, reply_to, "window", window_tags, templates, statuses) VALUES
	('whatsapp_cloud',      'WhatsApp Cloud API',  false, '24 hours', '{}', true, '{sent,delivered,read,failed}'),
	('whatsapp_360dialog',  'WhatsApp 360dialog',  true,  '24 hours', '{}', true, '{sent,delivered,read,failed}'),
	('whatsapp_chatapi',    'WhatsApp ChatAPI',    true,  '24 hours', '{}', true, '{sent,delivered,read,failed}'),
	('whatsapp_twilio',     'WhatsApp Twilio',     false, '24 hours', '{}', true, '{sent,delivered,read,failed}'),
	('facebook',            'Facebook Messenger',  true,  '24 hours',
		'{"human_agent": "7 days", "account_update": null, "post_purchase_update": null, "confirmed_event_update": null}',
		false, '{sent,delivered,read,failed}'),
	('instagram',           'Instagram',           true,  '24 hours', '{"human_agent": "7 days"}', false, '{sent,read,failed}'),
	('telegram',            'Telegram',            true,  NULL, '{}', false, '{sent,failed}'),
	('viber',               'Viber',               false, NULL, '{}', false, '{sent,delivered,read,failed}'),
	('line',                'LINE',                false, NULL, '{}', false, '{sent,failed}'),
	('wechat',              'WeChat',              false, '48 hours', '{}', false, '{sent,failed}'),
	('email',               'E-mail',              false, NULL, '{}', false, '{sent,delivered,failed}'),
	('sms',                 'SMS',                 false, NULL, '{}', false, '{sent,delivered,failed}'),
	('webchat',             'Web Chat',            false, NULL, '{}', false, '{sent,delivered,read,failed}'),
	('custom',              'Custom Channel',      false, NULL, '{}', false, '{sent,delivered,read,failed}');

CREATE TABLE inbox.event_kind (
	kind		text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
	actor_kind	text NOT NULL CHECK (actor_kind IN ('user', 'automation', 'bot', 'broadcast', 'api',
													'contact', 'channel', 'system')),
	label		text NOT NULL,
	PRIMARY KEY (kind, actor_kind)
);
COMMENT ON TABLE inbox.event_kind IS
	'Conversation event kinds: one row per actor kind allowed to cause the event, with the label history shows';

INSERT INTO inbox.event_kind (kind, actor_kind, label) VALUES
	('assigned', 'user', 'User Assigned'),
	('assigned', 'automation', 'User Assigned by Automation'),
	('assigned', 'bot', 'User Assigned by Bot'),
	('assigned', 'api', 'User Assigned by API'),
	('assigned', 'system', 'User Assigned by System'),
	('unassigned', 'user', 'User Unassigned'),
	('unassigned', 'automation', 'User Unassigned by Automation'),
	('unassigned', 'bot', 'User Unassigned by Bot'),
	('unassigned', 'system', 'User Unassigned by System'),
	('unassigned', 'api', 'User Unassigned by API'),
	('conversation_opened', 'contact', 'Conversation Opened'),
	('conversation_opened', 'user', 'Marked Pending (Manual)'),
	('conversation_opened', 'automation', 'Marked Pending by Automation'),
	('conversation_opened', 'bot', 'Marked Pending by Bot'),
	('conversation_opened', 'api', 'Marked Pending by API'),
	('conversation_closed', 'user', 'Marked Done (Manual)'),
	('conversation_closed', 'automation', 'Marked Done by Automation'),
	('conversation_closed', 'bot', 'Marked Done by Bot'),
	('conversation_closed', 'api', 'Marked Done by API'),
	('conversation_closed', 'system', 'Marked Done by System'),
	('contact_snoozed', 'user', 'Contact Snoozed'),
	('contact_unsnoozed', 'user', 'Contact Unsnooze'),
	('contact_unsnoozed', 'system', 'Contact Unsnoozed (Snooze Ended)'),
	('contact_unsnoozed', 'contact', 'Contact Unsnoozed (New Message)'),
	('broadcast_sent', 'broadcast', 'Broadcast Sent'),
	('survey_started', 'automation', 'Survey Started by Automation'),
	('survey_started', 'broadcast', 'Survey Started by Broadcast'),
	('survey_canceled', 'automation', 'Survey Canceled by Automation'),
	('survey_canceled', 'broadcast', 'Survey Canceled by Broadcast'),
	('survey_canceled', 'api', 'Survey Canceled by API'),
	('survey_canceled', 'user', 'Survey Canceled'),
	('survey_completed', 'contact', 'Survey Completed'),
	('survey_completed', 'automation', 'Survey Completed'),
	('survey_completed', 'broadcast', 'Survey Completed'),
	('survey_failed', 'automation', 'Survey Failed'),
	('survey_failed', 'broadcast', 'Survey Failed'),
	('survey_failed', 'system', 'Survey Failed'),
	('bot_status_on', 'user', 'Bot Status On'),
	('bot_status_on', 'automation', 'Bot Status On by Automation'),
	('bot_status_on', 'bot', 'Bot Status On by Bot'),
	('bot_status_off', 'user', 'Bot Status Off'),
	('bot_status_off', 'automation', 'Bot Status Off by Automation'),
	('bot_status_off', 'bot', 'Bot Status Off by Bot'),
	('channel_event', 'channel', 'Event coming from Channel'),
	('page_change', 'contact', 'Page Change'),
	('contact_merged', 'user', 'Contact Merged'),
	('contact_merged', 'automation', 'Contact Merged'),
	('contact_merged', 'api', 'Contact Merged'),
	('contact_unmerged', 'user', 'Contact Unmerged'),
	('contact_unmerged', 'automation', 'Contact Unmerged'),
	('contact_unmerged', 'api', 'Contact Unmerged'),
	('channel_added', 'contact', 'New Channel Added'),
	('channel_added', 'user', 'New Channel Added'),
	('channel_added', 'system', 'New Channel Added'),
	('channel_added', 'automation', 'New Channel Added'),
	('channel_added', 'api', 'New Channel Added'),
	('contact_updated', 'user', 'Contact Updated');

CREATE TABLE inbox.sender_kind (
	kind		text PRIMARY KEY CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
	direction	text NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
	label		text NOT NULL
);
COMMENT ON TABLE inbox.sender_kind IS
	'Who sends messages, with the label history shows ({space} = the space''s name; user and contact show the person''s name)';

INSERT INTO inbox.sender_kind (kind, direction, label) VALUES
	('contact', 'incoming', 'Contact'),
	('user', 'outgoing', 'User'),
	('automation', 'outgoing', 'Survey via Automation'),
	('ai', 'outgoing', 'Rocket AI'),
	('away_message', 'outgoing', 'Away Message'),
	('greeting_message', 'outgoing', '{space} (Greeting Message)'),
	('dialogflow', 'outgoing', 'Survey via Dialogflow'),
	('facebook_inbox', 'outgoing', 'Facebook Inbox'),
	('whatsapp_echo', 'outgoing', 'WhatsApp Echo'),
	('message_tag', 'outgoing', 'Facebook Messenger Message Tag'),
	('broadcast', 'outgoing', 'Broadcast'),
	('api', 'outgoing', 'API');

/*
 * ------------------------------------------------------------------
 * Tenants, team and channels
 *
 * Every table whose rows belong to a space leads its keys with space_id:
 * its primary key is (space_id, id), its unique constraints and the
 * foreign keys between such tables start with space_id.  On one server
 * this keeps every row of a space next to its space in each index; on a
 * Citus cluster the tables are distributed by space_id (README, "Scale out
 * with Citus") and every key is then checked on the node holding the
 * space.  Ids come from one sequence per table and stay unique across
 * spaces (and across the nodes of a cluster).
 * ------------------------------------------------------------------
 */

CREATE TABLE inbox.space (
	id			bigserial PRIMARY KEY,
	name		text NOT NULL CHECK (name <> ''),
	agents_see_only_assigned boolean NOT NULL DEFAULT false,
	created_at	timestamptz NOT NULL DEFAULT now(),
	-- automation: configure_space() refuses a bad value with 22023, a plain write meets the checks (23514)
	auto_close_after	interval CHECK (auto_close_after > interval '0' AND auto_close_after <= interval '100 years'),
	unassign_on_close	boolean NOT NULL DEFAULT true,
	assignment			text NOT NULL DEFAULT 'manual' CHECK (assignment IN ('manual', 'round_robin', 'least_open')),
	assignment_cap		integer CHECK (assignment_cap >= 0),
	auto_away_after		interval CHECK (auto_away_after > interval '0' AND auto_away_after <= interval '100 years')
);
COMMENT ON TABLE inbox.space IS 'A workspace (tenant); every other row belongs to one';
COMMENT ON COLUMN inbox.space.agents_see_only_assigned IS
	'agents (roles bound by agent.db_role, not admins) see only the contacts assigned to them or to nobody, with their messages, conversations and events';
COMMENT ON COLUMN inbox.space.auto_close_after IS
	'auto-close: a conversation whose newest message is a user''s, with no incoming message since, is closed by the background worker this long after that message (actor system; a snooze ending later restarts the wait); NULL = off';
COMMENT ON COLUMN inbox.space.unassign_on_close IS
	'whether closing a conversation unassigns the contact (rule 4; default true); false keeps the assignee for the contact''s next conversation';
COMMENT ON COLUMN inbox.space.assignment IS
	'who gets a conversation that opens for an unassigned contact: manual (nobody, the default), round_robin (the online agent assigned least recently) or least_open (the online agent with the fewest open assigned contacts); actor system';
COMMENT ON COLUMN inbox.space.assignment_cap IS
	'the most open assigned contacts the automatic assignment gives an agent; beyond it contacts wait, oldest first, for a seat; NULL = no cap';
COMMENT ON COLUMN inbox.space.auto_away_after IS
	'availability: an online agent who has not acted (called the API as that agent) for this long is set offline by the background worker; NULL = off';

CREATE TABLE inbox.space_admin (
	space_id	bigint NOT NULL REFERENCES inbox.space ON DELETE CASCADE,
	db_role		name NOT NULL,
	PRIMARY KEY (space_id, db_role)
);
CREATE INDEX space_admin_role_idx ON inbox.space_admin (db_role);
COMMENT ON TABLE inbox.space_admin IS
	'Database roles that administer a space: they read and write every row of it and act for any of its agents (written by the extension''s owner)';
COMMENT ON COLUMN inbox.space_admin.db_role IS 'the database role (current_user) that is an admin of the space';

CREATE TABLE inbox.agent (
	id			bigserial,
	space_id	bigint NOT NULL REFERENCES inbox.space ON DELETE CASCADE,
	name		text NOT NULL CHECK (name <> ''),
	email		text,
	db_role		name UNIQUE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	status		text NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'busy', 'offline')),
	PRIMARY KEY (space_id, id),
	UNIQUE (id)
);
COMMENT ON TABLE inbox.agent IS 'A team member who answers contacts';
COMMENT ON COLUMN inbox.agent.status IS
	'availability: online (takes automatic assignments), busy or offline (does not); set with set_agent_status(), or offline by the background worker after the space''s auto_away_after without acting';
COMMENT ON COLUMN inbox.agent.db_role IS
	'the database role (current_user) that acts as this agent: it sees the agent''s space and acts only as this agent; NULL = none';

CREATE TABLE inbox.channel (
	id			bigserial,
	space_id	bigint NOT NULL REFERENCES inbox.space ON DELETE CASCADE,
	kind		text NOT NULL REFERENCES inbox.channel_kind ON UPDATE CASCADE,
	name		text NOT NULL CHECK (name <> ''),
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (space_id, id),
	UNIQUE (id)
);
COMMENT ON TABLE inbox.channel IS 'A connected messaging channel of a space (a WhatsApp number, a Facebook page, ...)';

/*
 * ------------------------------------------------------------------
 * Contacts and their identities on channels
 * ------------------------------------------------------------------
 */

CREATE TABLE inbox.contact (
	id						bigserial,
	space_id				bigint NOT NULL,
	first_name				text,
	last_name				text,
	email					text,
	phone					text,
	custom					inbox.json_object NOT NULL DEFAULT '{}',
	tags					text[] NOT NULL DEFAULT '{}',
	assignee_id				bigint,
	origin_channel_id		bigint,
	bot_active				boolean NOT NULL DEFAULT false,
	snoozed_until			timestamptz,
	unread_count			integer NOT NULL DEFAULT 0,
	last_message_at			timestamptz,
	last_message_direction	text,
	last_message_id			bigint,
	last_channel_id			bigint,
	last_message_preview	text,
	last_message_status		text,
	merged_into				bigint,
	open_conversation_id	bigint,
	created_at				timestamptz NOT NULL DEFAULT now(),
	search_text				text,
	phone_digits			text,
	PRIMARY KEY (space_id, id),
	FOREIGN KEY (space_id) REFERENCES inbox.space ON DELETE CASCADE,
	FOREIGN KEY (assignee_id) REFERENCES inbox.agent (id) ON DELETE SET NULL,
	FOREIGN KEY (origin_channel_id) REFERENCES inbox.channel (id) ON DELETE SET NULL,
	FOREIGN KEY (last_channel_id) REFERENCES inbox.channel (id) ON DELETE SET NULL,
	FOREIGN KEY (space_id, merged_into) REFERENCES inbox.contact (space_id, id)
);
CREATE INDEX contact_assignee_idx ON inbox.contact (space_id, assignee_id) WHERE assignee_id IS NOT NULL;
-- the contacts waiting for an agent, oldest conversation first (automatic assignment)
CREATE INDEX contact_waiting_idx ON inbox.contact (space_id, open_conversation_id)
	WHERE assignee_id IS NULL AND open_conversation_id IS NOT NULL;
-- the background worker's next due time and due contacts, of every space;
-- with id, no two entries are equal, so entries of woken contacts are
-- marked dead one by one as scans pass them (in a posting list of many
-- contacts due at the same instant they would be visited again by every
-- later scan)
CREATE INDEX contact_snoozed_idx ON inbox.contact (snoozed_until, id) WHERE snoozed_until IS NOT NULL;
-- one index per built-in view, in list order (newest message first), holding exactly its members
CREATE INDEX contact_view_all_idx ON inbox.contact (space_id, last_message_at DESC, id DESC)
	WHERE last_message_at IS NOT NULL AND snoozed_until IS NULL AND merged_into IS NULL;
CREATE INDEX contact_view_mine_idx ON inbox.contact (space_id, assignee_id, last_message_at DESC, id DESC)
	WHERE assignee_id IS NOT NULL AND snoozed_until IS NULL AND merged_into IS NULL;
CREATE INDEX contact_view_unassigned_idx ON inbox.contact (space_id, last_message_at DESC, id DESC)
	WHERE assignee_id IS NULL AND open_conversation_id IS NOT NULL
	  AND snoozed_until IS NULL AND merged_into IS NULL;
-- search: partial names and e-mails (trigrams), phone numbers by their digits
-- a known person writing on a new channel is found by e-mail or phone (receive_message)
CREATE INDEX contact_email_idx ON inbox.contact (space_id, lower(email)) WHERE email IS NOT NULL;
-- the trigrams lead with the space (btree_gin's GIN operator class for
-- bigint), so that a search reads the matches of its own space only: a
-- small space beside big ones searches as fast as it would alone
CREATE INDEX contact_search_text_idx ON inbox.contact USING gin (space_id, search_text gin_trgm_ops);
CREATE INDEX contact_phone_prefix_idx ON inbox.contact (space_id, phone_digits text_pattern_ops)
	WHERE phone_digits IS NOT NULL;
CREATE INDEX contact_phone_suffix_idx ON inbox.contact (space_id, reverse(phone_digits) text_pattern_ops)
	WHERE phone_digits IS NOT NULL;
COMMENT ON TABLE inbox.contact IS 'A person writing in; unread_count and last_message_* are maintained by inbox';
COMMENT ON COLUMN inbox.contact.assignee_id IS 'the agent the contact is assigned to; NULL = unassigned';
COMMENT ON COLUMN inbox.contact.origin_channel_id IS 'the channel the contact first wrote on';
COMMENT ON COLUMN inbox.contact.snoozed_until IS 'the contact is left out of lists until this time';
COMMENT ON COLUMN inbox.contact.unread_count IS 'incoming messages not yet read (maintained; may only be reset to 0)';
COMMENT ON COLUMN inbox.contact.last_message_at IS 'time of the newest message (maintained)';
COMMENT ON COLUMN inbox.contact.last_message_direction IS 'direction of the newest message (maintained)';
COMMENT ON COLUMN inbox.contact.last_message_id IS 'id of the newest message (maintained)';
COMMENT ON COLUMN inbox.contact.last_channel_id IS 'channel of the newest message (maintained)';
COMMENT ON COLUMN inbox.contact.last_message_preview IS
	'what a list shows of the newest message: the first 100 characters of its body, else its content''s type (maintained: inbox.message_preview())';
COMMENT ON COLUMN inbox.contact.last_message_status IS 'status of the newest message (maintained; follows its delivery reports)';
COMMENT ON COLUMN inbox.contact.merged_into IS 'the contact this one was merged into, if any';
COMMENT ON COLUMN inbox.contact.open_conversation_id IS 'the contact''s open conversation, if any (maintained)';
COMMENT ON COLUMN inbox.contact.search_text IS 'lower-case name and e-mail, for search (kept by the contact''s trigger)';
COMMENT ON COLUMN inbox.contact.phone_digits IS 'the digits of phone, for search in any formatting (kept by the contact''s trigger)';

CREATE TABLE inbox.contact_channel (
	contact_id			bigint NOT NULL,
	channel_id			bigint NOT NULL,
	space_id			bigint NOT NULL,		/* its contact's space (rules); goes with the contact */
	external_id			inbox.sender_id NOT NULL,
	last_incoming_at	timestamptz,
	created_at			timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (space_id, channel_id, external_id),
	FOREIGN KEY (space_id, contact_id) REFERENCES inbox.contact (space_id, id) ON DELETE CASCADE,
	FOREIGN KEY (space_id, channel_id) REFERENCES inbox.channel (space_id, id) ON DELETE CASCADE
) WITH (fillfactor = 90);		/* room for last_incoming_at to move in place (HOT) */
CREATE INDEX contact_channel_contact_idx ON inbox.contact_channel (space_id, contact_id, channel_id);
COMMENT ON TABLE inbox.contact_channel IS 'A contact''s identity on one channel (phone number, page-scoped id, ...)';
COMMENT ON COLUMN inbox.contact_channel.external_id IS 'the sender''s id on the channel; unique per channel';
COMMENT ON COLUMN inbox.contact_channel.last_incoming_at IS 'time of the contact''s last incoming message on this channel (maintained)';

/*
 * ------------------------------------------------------------------
 * Conversations, messages and events
 * ------------------------------------------------------------------
 */

CREATE TABLE inbox.conversation (
	id					bigserial,
	space_id			bigint NOT NULL,		/* its contact's space (rules); goes with the contact */
	contact_id			bigint NOT NULL,
	opened_at			timestamptz NOT NULL DEFAULT now(),
	opened_by_kind		text NOT NULL,
	opened_by_agent		bigint,
	reference			text,
	source_url			text,
	closed_at			timestamptz,
	closed_by_kind		text,
	closed_by_agent		bigint,
	category			text,
	summary				text,
	first_response_at	timestamptz,
	auto_close_from		timestamptz,
	auto_close_at		timestamptz,
	PRIMARY KEY (space_id, id),
	FOREIGN KEY (space_id, contact_id) REFERENCES inbox.contact (space_id, id) ON DELETE CASCADE,
	FOREIGN KEY (opened_by_agent) REFERENCES inbox.agent (id) ON DELETE SET NULL,
	FOREIGN KEY (closed_by_agent) REFERENCES inbox.agent (id) ON DELETE SET NULL,
	CHECK (closed_at IS NULL OR closed_by_kind IS NOT NULL)
) WITH (fillfactor = 90);		/* room for first_response_at to move in place (HOT) */
-- the database itself keeps a contact to one open conversation
CREATE UNIQUE INDEX conversation_one_open_idx ON inbox.conversation (space_id, contact_id) WHERE closed_at IS NULL;
CREATE INDEX conversation_contact_idx ON inbox.conversation (space_id, contact_id, opened_at);
-- the background worker's next auto-close and the conversations due, of every space
CREATE INDEX conversation_auto_close_idx ON inbox.conversation (auto_close_at, space_id, id)
	WHERE auto_close_at IS NOT NULL;
COMMENT ON TABLE inbox.conversation IS 'One open-to-closed episode of a contact; at most one is open per contact';
COMMENT ON COLUMN inbox.conversation.reference IS 'reference code given when the conversation was opened (e.g. an ad or QR code)';
COMMENT ON COLUMN inbox.conversation.first_response_at IS 'time of the first message a user sent in this conversation (maintained)';
COMMENT ON COLUMN inbox.conversation.auto_close_from IS
	'the auto-close wait runs from here: the time of the newest user message with no incoming message since, or the end of a snooze after it; NULL = the contact had the last word (maintained, also where auto-close is off)';
COMMENT ON COLUMN inbox.conversation.auto_close_at IS
	'when the background worker closes the conversation: auto_close_from + the space''s auto_close_after; NULL = not to be closed (maintained)';

CREATE TABLE inbox.message (
	id						bigserial,
	space_id				bigint NOT NULL,		/* its contact's space (rules); goes with the contact */
	contact_id				bigint NOT NULL,
	conversation_id			bigint,
	channel_id				bigint NOT NULL,
	direction				text NOT NULL,
	sender_kind				text NOT NULL,
	sender_agent_id			bigint,
	body					text,
	content					jsonb,
	external_id				inbox.platform_id,
	reply_to_external_id	inbox.platform_id,
	reply_to_id				bigint,
	status					text NOT NULL,
	sent_at					timestamptz,
	delivered_at			timestamptz,
	read_at					timestamptz,
	failed_at				timestamptz,
	error					text,
	created_at				timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (space_id, id),
	FOREIGN KEY (space_id, contact_id) REFERENCES inbox.contact (space_id, id) ON DELETE CASCADE,
	FOREIGN KEY (space_id, conversation_id) REFERENCES inbox.conversation (space_id, id),
	FOREIGN KEY (space_id, channel_id) REFERENCES inbox.channel (space_id, id) ON DELETE CASCADE,
	FOREIGN KEY (sender_agent_id) REFERENCES inbox.agent (id) ON DELETE SET NULL
);
CREATE INDEX message_contact_time_idx ON inbox.message (space_id, contact_id, created_at, id);
CREATE INDEX message_conversation_idx ON inbox.message (space_id, conversation_id, created_at);
CREATE UNIQUE INDEX message_external_idx ON inbox.message (space_id, channel_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX message_unread_idx ON inbox.message (space_id, contact_id) WHERE direction = 'incoming' AND read_at IS NULL;
CREATE INDEX message_pending_idx ON inbox.message (id) WHERE status = 'pending';
-- the messages quoting a message, cleared when it is deleted (reply_to_id has
-- no foreign key: Citus refuses a self-reference that sets NULL)
CREATE INDEX message_reply_to_idx ON inbox.message (space_id, reply_to_id) WHERE reply_to_id IS NOT NULL;
COMMENT ON TABLE inbox.message IS 'A message from a contact (incoming) or to a contact (outgoing)';
COMMENT ON COLUMN inbox.message.sender_kind IS
	'who sent it: contact (incoming); user, automation, ai, away_message, greeting_message, dialogflow, facebook_inbox, whatsapp_echo, message_tag, broadcast, api (outgoing)';
COMMENT ON COLUMN inbox.message.external_id IS 'the platform''s id of the message; unique per channel';
COMMENT ON COLUMN inbox.message.reply_to_external_id IS 'the platform id of the message an incoming message quotes';
COMMENT ON COLUMN inbox.message.reply_to_id IS 'the quoted message, a message of the same contact, when it was found (maintained; cleared when the quoted message is deleted)';
COMMENT ON COLUMN inbox.message.status IS
	'received (incoming); pending, sent, delivered, read or failed (outgoing; moves forward only)';
COMMENT ON COLUMN inbox.message.read_at IS
	'outgoing: when the contact read it; incoming: when the team read it (mark_read or a reply)';
COMMENT ON COLUMN inbox.message.created_at IS 'when the message was sent or received';

CREATE TABLE inbox.event (
	id				bigserial,
	space_id		bigint NOT NULL,		/* its contact's space (rules); goes with the contact */
	contact_id		bigint NOT NULL,
	conversation_id	bigint,
	kind			text NOT NULL,
	actor_kind		text NOT NULL,
	actor_agent_id	bigint,
	target_agent_id	bigint,
	reference		text,
	source_url		text,
	data			jsonb,
	created_at		timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (space_id, id),
	FOREIGN KEY (space_id, contact_id) REFERENCES inbox.contact (space_id, id) ON DELETE CASCADE,
	FOREIGN KEY (space_id, conversation_id) REFERENCES inbox.conversation (space_id, id) ON DELETE CASCADE,
	FOREIGN KEY (actor_agent_id) REFERENCES inbox.agent (id) ON DELETE SET NULL,
	FOREIGN KEY (target_agent_id) REFERENCES inbox.agent (id) ON DELETE SET NULL,
	FOREIGN KEY (kind, actor_kind) REFERENCES inbox.event_kind ON UPDATE CASCADE
);
CREATE INDEX event_contact_time_idx ON inbox.event (space_id, contact_id, created_at, id);
CREATE INDEX event_conversation_idx ON inbox.event (space_id, conversation_id);
COMMENT ON TABLE inbox.event IS 'A conversation event (assignment, open, close, snooze, ...) shown in history';
COMMENT ON COLUMN inbox.event.conversation_id IS 'the conversation open when the event happened, if any';
COMMENT ON COLUMN inbox.event.target_agent_id IS 'the agent an assignment event is about';

-- internal notes of the team on a contact: a table of their own, so that
-- nothing that reads messages (the delivery of pending messages, the unread
-- count, the last message, the messaging window, exports) ever sees one
CREATE TABLE inbox.comment (
	id				bigserial,
	space_id		bigint NOT NULL,		/* its contact's space (rules); goes with the contact */
	contact_id		bigint NOT NULL,
	conversation_id	bigint,
	author_agent_id	bigint,
	body			text NOT NULL,
	mentions		bigint[] NOT NULL DEFAULT '{}',
	created_at		timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (space_id, id),
	FOREIGN KEY (space_id, contact_id) REFERENCES inbox.contact (space_id, id) ON DELETE CASCADE,
	FOREIGN KEY (space_id, conversation_id) REFERENCES inbox.conversation (space_id, id) ON DELETE CASCADE,
	FOREIGN KEY (author_agent_id) REFERENCES inbox.agent (id) ON DELETE SET NULL
);
CREATE INDEX comment_contact_time_idx ON inbox.comment (space_id, contact_id, created_at, id);
CREATE INDEX comment_conversation_idx ON inbox.comment (space_id, conversation_id);
COMMENT ON TABLE inbox.comment IS
	'An internal note of an agent on a contact (add_comment()): shown in history, never sent to the contact';

CREATE TABLE inbox.view (
	id				bigserial,
	space_id		bigint NOT NULL REFERENCES inbox.space ON DELETE CASCADE,
	owner_agent_id	bigint,
	name			text NOT NULL CHECK (name <> ''),
	filter			jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(filter) = 'object'),
	created_at		timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (space_id, id),
	FOREIGN KEY (space_id, owner_agent_id) REFERENCES inbox.agent (space_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE inbox.view IS 'A saved custom view of contacts; owner_agent_id NULL = shared with the space';

CREATE TABLE inbox.view_count (
	space_id		bigint NOT NULL REFERENCES inbox.space ON DELETE CASCADE,
	view			text NOT NULL CHECK (view IN ('all', 'mine', 'unassigned')),
	agent_id		bigint NOT NULL DEFAULT 0,
	shard			integer NOT NULL,
	contacts		bigint NOT NULL DEFAULT 0,
	unread_contacts	bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (space_id, view, agent_id, shard)
);
COMMENT ON TABLE inbox.view_count IS
	'Counts of the built-in views, kept as contacts change (maintained; summed over shards by view_counts())';
COMMENT ON COLUMN inbox.view_count.agent_id IS 'the agent of a "mine" count; 0 for the others';

CREATE TABLE inbox.contact_merge (
	id						bigserial,
	space_id				bigint NOT NULL REFERENCES inbox.space ON DELETE CASCADE,
	keep_id					bigint NOT NULL,
	merged_id				bigint NOT NULL,
	actor_kind				text NOT NULL,
	actor_agent_id			bigint,
	merged_contact			jsonb NOT NULL,
	channels				jsonb NOT NULL,
	conversations			bigint[] NOT NULL,
	messages				bigint[] NOT NULL,
	events					bigint[] NOT NULL,
	absorbed_conversation	jsonb,
	absorbed_messages		bigint[],
	absorbed_events			bigint[],
	merged_at				timestamptz NOT NULL DEFAULT now(),
	undone_at				timestamptz,
	comments				bigint[] NOT NULL DEFAULT '{}',
	absorbed_comments		bigint[],
	PRIMARY KEY (space_id, id),
	FOREIGN KEY (space_id, keep_id) REFERENCES inbox.contact (space_id, id) ON DELETE CASCADE,
	FOREIGN KEY (space_id, merged_id) REFERENCES inbox.contact (space_id, id) ON DELETE CASCADE,
	FOREIGN KEY (actor_agent_id) REFERENCES inbox.agent (id) ON DELETE SET NULL
);
CREATE INDEX contact_merge_pair_idx ON inbox.contact_merge (space_id, keep_id, merged_id);
CREATE INDEX contact_merge_merged_idx ON inbox.contact_merge (space_id, merged_id);
COMMENT ON TABLE inbox.contact_merge IS
	'What merge_contacts() changed, so that unmerge_contacts() can restore both contacts (maintained)';
COMMENT ON COLUMN inbox.contact_merge.merged_contact IS 'the merged contact''s row before the merge';
COMMENT ON COLUMN inbox.contact_merge.channels IS 'the merged contact''s channel identities, [[channel_id, external_id], ...]';
COMMENT ON COLUMN inbox.contact_merge.absorbed_conversation IS
	'the older of two open conversations, whose messages and events went to the newer one';

/*
 * ------------------------------------------------------------------
 * Automation: the agents' assignment state and activity
 *
 * Rows of a space (distributed with the others on a Citus cluster), so
 * that the rules may write them: the agent table is a reference table,
 * which a rule on a shard cannot write.  Two tables, as they are written
 * under different locks: assignment state under the space's assignment
 * lock (assignment_policy.c), activity by any API call without one.
 * ------------------------------------------------------------------
 */

CREATE TABLE inbox.agent_state (
	space_id			bigint NOT NULL,
	agent_id			bigint NOT NULL,
	open_count			integer NOT NULL DEFAULT 0,
	last_assigned_at	timestamptz,
	PRIMARY KEY (space_id, agent_id),
	FOREIGN KEY (space_id, agent_id) REFERENCES inbox.agent (space_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE inbox.agent_state IS
	'An agent''s automatic-assignment state in a space whose assignment is not manual (maintained)';

CREATE TABLE inbox.agent_activity (
	space_id	bigint NOT NULL,
	agent_id	bigint NOT NULL,
	active_at	timestamptz NOT NULL,
	PRIMARY KEY (space_id, agent_id),
	FOREIGN KEY (space_id, agent_id) REFERENCES inbox.agent (space_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE inbox.agent_activity IS
	'When an agent last called the API as itself, to the minute (maintained; auto_away_after reads it)';

/*
 * ------------------------------------------------------------------
 * Rules: C trigger functions
 * ------------------------------------------------------------------
 */

CREATE FUNCTION inbox.contact_before_write() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_contact_before_write' LANGUAGE C;
CREATE FUNCTION inbox.contact_after_update() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_contact_after_update' LANGUAGE C;
CREATE FUNCTION inbox.conversation_before_write() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_conversation_before_write' LANGUAGE C;
CREATE FUNCTION inbox.conversation_after_write() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_conversation_after_write' LANGUAGE C;
CREATE FUNCTION inbox.message_before_write() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_message_before_write' LANGUAGE C;
CREATE FUNCTION inbox.message_after_write() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_message_after_write' LANGUAGE C;
CREATE FUNCTION inbox.event_before_change() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_event_before_change' LANGUAGE C;
CREATE FUNCTION inbox.event_before_insert() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_event_before_insert' LANGUAGE C;
CREATE FUNCTION inbox.event_after_insert() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_event_after_insert' LANGUAGE C;
CREATE FUNCTION inbox.contact_channel_after_insert() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_contact_channel_after_insert' LANGUAGE C;
CREATE FUNCTION inbox.comment_before_write() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_comment_before_write' LANGUAGE C;
CREATE FUNCTION inbox.message_after_change() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_message_after_change' LANGUAGE C;
CREATE FUNCTION inbox.contact_channel_before_write() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_contact_channel_before_write' LANGUAGE C;

CREATE TRIGGER contact_before_write BEFORE INSERT OR UPDATE ON inbox.contact
	FOR EACH ROW EXECUTE FUNCTION inbox.contact_before_write();
CREATE TRIGGER contact_after_update AFTER UPDATE ON inbox.contact
	FOR EACH ROW EXECUTE FUNCTION inbox.contact_after_update();
CREATE TRIGGER conversation_before_write BEFORE INSERT OR UPDATE ON inbox.conversation
	FOR EACH ROW EXECUTE FUNCTION inbox.conversation_before_write();
CREATE TRIGGER conversation_after_insert AFTER INSERT ON inbox.conversation
	FOR EACH ROW EXECUTE FUNCTION inbox.conversation_after_write();
CREATE TRIGGER conversation_after_delete AFTER DELETE ON inbox.conversation
	FOR EACH ROW WHEN (OLD.closed_at IS NULL)
	EXECUTE FUNCTION inbox.conversation_after_write();
CREATE TRIGGER conversation_after_close AFTER UPDATE OF closed_at ON inbox.conversation
	FOR EACH ROW WHEN (OLD.closed_at IS NULL AND NEW.closed_at IS NOT NULL)
	EXECUTE FUNCTION inbox.conversation_after_write();
CREATE TRIGGER message_before_write BEFORE INSERT OR UPDATE ON inbox.message
	FOR EACH ROW EXECUTE FUNCTION inbox.message_before_write();
CREATE TRIGGER message_after_write AFTER INSERT OR DELETE ON inbox.message
	FOR EACH ROW EXECUTE FUNCTION inbox.message_after_write();
CREATE TRIGGER message_after_change AFTER UPDATE OF status, body, content ON inbox.message
	FOR EACH ROW EXECUTE FUNCTION inbox.message_after_change();
CREATE TRIGGER message_after_read AFTER UPDATE OF read_at ON inbox.message
	FOR EACH ROW
	WHEN (OLD.direction = 'incoming' AND (OLD.read_at IS NULL) <> (NEW.read_at IS NULL))
	EXECUTE FUNCTION inbox.message_after_write();
CREATE TRIGGER event_before_change BEFORE UPDATE OR DELETE ON inbox.event
	FOR EACH ROW EXECUTE FUNCTION inbox.event_before_change();
CREATE TRIGGER event_before_insert BEFORE INSERT ON inbox.event
	FOR EACH ROW EXECUTE FUNCTION inbox.event_before_insert();
CREATE TRIGGER event_after_insert AFTER INSERT ON inbox.event
	FOR EACH ROW WHEN (NEW.kind IN ('bot_status_on', 'bot_status_off'))
	EXECUTE FUNCTION inbox.event_after_insert();
CREATE TRIGGER contact_channel_before_write BEFORE INSERT OR UPDATE ON inbox.contact_channel
	FOR EACH ROW EXECUTE FUNCTION inbox.contact_channel_before_write();
CREATE TRIGGER contact_channel_after_insert AFTER INSERT ON inbox.contact_channel
	FOR EACH ROW EXECUTE FUNCTION inbox.contact_channel_after_insert();
CREATE TRIGGER comment_before_write BEFORE INSERT OR UPDATE ON inbox.comment
	FOR EACH ROW EXECUTE FUNCTION inbox.comment_before_write();

CREATE FUNCTION inbox.contact_counts() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_contact_counts' LANGUAGE C;
CREATE FUNCTION inbox.view_before_write() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_view_before_write' LANGUAGE C;

CREATE TRIGGER contact_counts AFTER INSERT OR DELETE ON inbox.contact
	FOR EACH ROW EXECUTE FUNCTION inbox.contact_counts();

-- automation settings and availability: the rules of the space they concern
-- (on a Citus cluster these reference tables fire them on every node, and
-- each acts only for the spaces whose rows it holds)
CREATE FUNCTION inbox.space_after_update() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_space_after_update' LANGUAGE C;
CREATE FUNCTION inbox.agent_after_write() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_agent_after_write' LANGUAGE C;
CREATE TRIGGER space_after_update
	AFTER UPDATE OF auto_close_after, assignment, assignment_cap, auto_away_after ON inbox.space
	FOR EACH ROW EXECUTE FUNCTION inbox.space_after_update();
CREATE TRIGGER agent_after_write AFTER INSERT OR UPDATE OF status OR DELETE ON inbox.agent
	FOR EACH ROW EXECUTE FUNCTION inbox.agent_after_write();
-- an agent's open count that goes down may be a free seat: the waiting contacts take it
CREATE FUNCTION inbox.agent_state_after_update() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_agent_state_after_update' LANGUAGE C;
CREATE TRIGGER agent_state_after_update AFTER UPDATE OF open_count ON inbox.agent_state
	FOR EACH ROW EXECUTE FUNCTION inbox.agent_state_after_update();
CREATE TRIGGER view_before_write BEFORE INSERT OR UPDATE ON inbox.view
	FOR EACH ROW EXECUTE FUNCTION inbox.view_before_write();

/*
 * ------------------------------------------------------------------
 * Notifications: every committed change, on channel inbox_<space_id>
 * ------------------------------------------------------------------
 */

CREATE FUNCTION inbox.notify_change() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_notify_change' LANGUAGE C;

CREATE TRIGGER notify_change AFTER INSERT OR UPDATE OR DELETE ON inbox.contact
	FOR EACH ROW EXECUTE FUNCTION inbox.notify_change('contact');
CREATE TRIGGER notify_change AFTER INSERT OR UPDATE OR DELETE ON inbox.conversation
	FOR EACH ROW EXECUTE FUNCTION inbox.notify_change('conversation');
CREATE TRIGGER notify_change AFTER INSERT OR UPDATE OR DELETE ON inbox.message
	FOR EACH ROW EXECUTE FUNCTION inbox.notify_change('message');
CREATE TRIGGER notify_change AFTER INSERT OR UPDATE OR DELETE ON inbox.event
	FOR EACH ROW EXECUTE FUNCTION inbox.notify_change('event');
CREATE TRIGGER notify_change AFTER INSERT OR UPDATE OR DELETE ON inbox.comment
	FOR EACH ROW EXECUTE FUNCTION inbox.notify_change('comment');

-- every backend keeps the channels it has read (channel_cache.c); a change
-- of a channel or channel kind empties the caches, even during a restore or
-- on a logical replication subscriber
CREATE FUNCTION inbox.channel_cache_invalidate() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_channel_cache_invalidate' LANGUAGE C;
CREATE TRIGGER channel_cache_invalidate AFTER INSERT OR UPDATE OR DELETE ON inbox.channel
	FOR EACH ROW EXECUTE FUNCTION inbox.channel_cache_invalidate();
CREATE TRIGGER channel_cache_invalidate_truncate AFTER TRUNCATE ON inbox.channel
	FOR EACH STATEMENT EXECUTE FUNCTION inbox.channel_cache_invalidate();
CREATE TRIGGER channel_cache_invalidate AFTER INSERT OR UPDATE OR DELETE ON inbox.channel_kind
	FOR EACH ROW EXECUTE FUNCTION inbox.channel_cache_invalidate();
CREATE TRIGGER channel_cache_invalidate_truncate AFTER TRUNCATE ON inbox.channel_kind
	FOR EACH STATEMENT EXECUTE FUNCTION inbox.channel_cache_invalidate();
ALTER TABLE inbox.channel ENABLE ALWAYS TRIGGER channel_cache_invalidate;
ALTER TABLE inbox.channel ENABLE ALWAYS TRIGGER channel_cache_invalidate_truncate;
ALTER TABLE inbox.channel_kind ENABLE ALWAYS TRIGGER channel_cache_invalidate;
ALTER TABLE inbox.channel_kind ENABLE ALWAYS TRIGGER channel_cache_invalidate_truncate;

-- search_text and phone_digits follow the name, e-mail and phone, also in a
-- restore (of a dump of 1.0, which has no data for them)
CREATE FUNCTION inbox.contact_search_columns() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_contact_search_columns' LANGUAGE C;
CREATE TRIGGER contact_search_columns BEFORE INSERT OR UPDATE ON inbox.contact
	FOR EACH ROW EXECUTE FUNCTION inbox.contact_search_columns();
ALTER TABLE inbox.contact ENABLE ALWAYS TRIGGER contact_search_columns;

/*
 * ------------------------------------------------------------------
 * API
 * ------------------------------------------------------------------
 */

CREATE FUNCTION inbox.create_space(name text) RETURNS bigint
	AS 'MODULE_PATHNAME', 'inbox_create_space' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.create_space(text) IS 'Create a workspace; returns its id';

CREATE FUNCTION inbox.create_agent(space bigint, name text, email text DEFAULT NULL) RETURNS bigint
	AS 'MODULE_PATHNAME', 'inbox_create_agent' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.create_agent(bigint, text, text) IS 'Add a team member to a space; returns the agent id';

CREATE FUNCTION inbox.create_channel(space bigint, kind text, name text) RETURNS bigint
	AS 'MODULE_PATHNAME', 'inbox_create_channel' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.create_channel(bigint, text, text) IS
	'Connect a channel of a kind in inbox.channel_kind to a space; returns the channel id';

CREATE FUNCTION inbox.receive_message(space bigint, channel bigint, contact_ref text, body text,
		external_id text DEFAULT NULL, reply_to text DEFAULT NULL, content jsonb DEFAULT NULL,
		at timestamptz DEFAULT now(), profile jsonb DEFAULT NULL) RETURNS bigint
	AS 'MODULE_PATHNAME', 'inbox_receive_message' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.receive_message(bigint, bigint, text, text, text, text, jsonb, timestamptz, jsonb) IS
	'Record a message a contact sent on a channel (contact_ref = the sender''s id there); an unknown sender becomes a contact. Idempotent per external_id. Returns the message id';

CREATE FUNCTION inbox.send_message(space bigint, contact bigint, channel bigint, body text, agent bigint DEFAULT NULL,
		sender_kind text DEFAULT 'user', content jsonb DEFAULT NULL) RETURNS bigint
	AS 'MODULE_PATHNAME', 'inbox_send_message' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.send_message(bigint, bigint, bigint, text, bigint, text, jsonb) IS
	'Queue an outgoing message to a contact on one of its channels (status pending); returns the message id';

CREATE FUNCTION inbox.set_message_status(space bigint, message bigint, status text, at timestamptz DEFAULT now(),
		error text DEFAULT NULL) RETURNS text
	AS 'MODULE_PATHNAME', 'inbox_set_message_status' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.set_message_status(bigint, bigint, text, timestamptz, text) IS
	'Record a delivery report (sent, delivered, read, failed) of an outgoing message; returns the resulting status, which never moves back';

CREATE FUNCTION inbox.assign(space bigint, contact bigint, assignee bigint, actor_kind text DEFAULT 'user',
		actor_agent bigint DEFAULT NULL) RETURNS void
	AS 'MODULE_PATHNAME', 'inbox_assign' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.assign(bigint, bigint, bigint, text, bigint) IS
	'Assign a contact to an agent (NULL = unassign); opens a conversation if none is open';

CREATE FUNCTION inbox.open_conversation(space bigint, contact bigint, actor_kind text, actor_agent bigint DEFAULT NULL,
		reference text DEFAULT NULL, source_url text DEFAULT NULL) RETURNS bigint
	AS 'MODULE_PATHNAME', 'inbox_open_conversation' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.open_conversation(bigint, bigint, text, bigint, text, text) IS
	'Open a conversation for a contact ("mark pending"); returns the open conversation id (the existing one if already open)';

CREATE FUNCTION inbox.close_conversation(space bigint, contact bigint, actor_kind text, actor_agent bigint DEFAULT NULL,
		category text DEFAULT NULL, summary text DEFAULT NULL) RETURNS bigint
	AS 'MODULE_PATHNAME', 'inbox_close_conversation' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.close_conversation(bigint, bigint, text, bigint, text, text) IS
	'Close the open conversation of a contact ("mark done"); unassigns the contact; returns the conversation id';

CREATE FUNCTION inbox.mark_read(space bigint, contact bigint, agent bigint) RETURNS integer
	AS 'MODULE_PATHNAME', 'inbox_mark_read' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.mark_read(bigint, bigint, bigint) IS
	'Mark every incoming message of a contact read; returns how many were unread';

CREATE FUNCTION inbox.snooze(space bigint, contact bigint, until timestamptz, agent bigint) RETURNS void
	AS 'MODULE_PATHNAME', 'inbox_snooze' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.snooze(bigint, bigint, timestamptz, bigint) IS
	'Snooze a contact until a time in the future: it leaves every list until then, or until it writes or is unsnoozed';

CREATE FUNCTION inbox.unsnooze(space bigint, contact bigint, agent bigint) RETURNS void
	AS 'MODULE_PATHNAME', 'inbox_unsnooze' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.unsnooze(bigint, bigint, bigint) IS
	'End a contact''s snooze early; does nothing (and records no event) when the contact is not snoozed';

CREATE FUNCTION inbox.configure_space(space bigint, auto_close_after interval DEFAULT NULL,
		unassign_on_close boolean DEFAULT NULL, assignment text DEFAULT NULL, assignment_cap integer DEFAULT NULL,
		auto_away_after interval DEFAULT NULL) RETURNS void
	AS 'MODULE_PATHNAME', 'inbox_configure_space' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.configure_space(bigint, interval, boolean, text, integer, interval) IS
	'Set a space''s automation: auto-close, unassign on close, automatic assignment and its cap, auto-away; only the settings given change';

CREATE FUNCTION inbox.set_agent_status(space bigint, agent bigint, status text) RETURNS void
	AS 'MODULE_PATHNAME', 'inbox_set_agent_status' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.set_agent_status(bigint, bigint, text) IS
	'Set an agent''s availability: online, busy or offline';

-- what the background worker does, for an external inbox-worker where it cannot run
CREATE FUNCTION inbox.wake_due_snoozes(max integer DEFAULT 1000) RETURNS integer
	AS 'MODULE_PATHNAME', 'inbox_wake_due_snoozes' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.wake_due_snoozes(integer) IS
	'Unsnooze up to max contacts whose snooze time has come (event contact_unsnoozed, actor system); safe with concurrent callers; returns how many';

CREATE FUNCTION inbox.next_snooze_due() RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'inbox_next_snooze_due' LANGUAGE C STABLE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.next_snooze_due() IS
	'When the next snooze ends (NULL when no contact is snoozed); a change is announced by NOTIFY inbox_snooze';

CREATE FUNCTION inbox.notify_relay_queue() RETURNS bigint
	AS 'MODULE_PATHNAME', 'inbox_notify_relay_queue' LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.notify_relay_queue() IS
	'Notifications of this database committed but not yet sent by its background worker (inbox.notify_relay); 0 when the relay is idle or off';

CREATE FUNCTION inbox.record_event(space bigint, contact bigint, kind text, actor_kind text, actor_agent bigint DEFAULT NULL,
		reference text DEFAULT NULL, source_url text DEFAULT NULL, data jsonb DEFAULT NULL) RETURNS bigint
	AS 'MODULE_PATHNAME', 'inbox_record_event' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.record_event(bigint, bigint, text, text, bigint, text, text, jsonb) IS
	'Record a conversation event of a kind in inbox.event_kind; returns the event id';

CREATE FUNCTION inbox.view_counts(space bigint, agent bigint)
RETURNS TABLE (view text, name text, contacts bigint, unread_contacts bigint)
	AS 'MODULE_PATHNAME', 'inbox_view_counts' LANGUAGE C STABLE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.view_counts(bigint, bigint) IS
	'Per view (all, mine, unassigned, then each custom view the agent sees): its contacts and those with unread messages';

CREATE FUNCTION inbox.contact_list(space bigint, agent bigint, view text DEFAULT 'all',
		search text DEFAULT NULL, cursor text DEFAULT NULL, page_size integer DEFAULT 50)
RETURNS TABLE (contact_id bigint, name text, conversation_open boolean, origin_channel_id bigint,
			   last_channel_id bigint, unread_count integer, last_message_at timestamptz,
			   last_message_direction text, assignee_id bigint, snoozed_until timestamptz,
			   channel_kind text, assignee_name text, last_message_preview text, last_message_status text,
			   tags text[], cursor text)
	AS 'MODULE_PATHNAME', 'inbox_contact_list' LANGUAGE C STABLE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.contact_list(bigint, bigint, text, text, text, integer) IS
	'A page of the contacts of a view (all, mine, unassigned or a custom view id), newest message first; search matches name, e-mail or phone; pass the last row''s cursor for the next page';

CREATE FUNCTION inbox.history(space bigint, contact bigint, before text DEFAULT NULL, page_size integer DEFAULT 50)
RETURNS TABLE (item text, id bigint, at timestamptz, conversation_id bigint, direction text,
			   sender_kind text, sender_label text, sender_agent_id bigint, body text, content jsonb,
			   status text, sent_at timestamptz, delivered_at timestamptz, read_at timestamptz,
			   failed_at timestamptz, error text, reply_to_id bigint, reply_to_snippet text,
			   event_kind text, event_label text, actor_kind text, actor_agent_id bigint,
			   target_agent_id bigint, reference text, source_url text, data jsonb, cursor text)
	AS 'MODULE_PATHNAME', 'inbox_history' LANGUAGE C STABLE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.history(bigint, bigint, text, integer) IS
	'A page of a contact''s messages and events in time order (the newest, or those before the cursor of an earlier page''s first row)';

CREATE FUNCTION inbox.merge_contacts(space bigint, keep bigint, merge bigint, actor_kind text DEFAULT 'user',
		actor_agent bigint DEFAULT NULL) RETURNS void
	AS 'MODULE_PATHNAME', 'inbox_merge_contacts' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.merge_contacts(bigint, bigint, bigint, text, bigint) IS
	'Merge contact "merge" into "keep" (same person): channels, conversations, messages and events move; one open conversation stays; undo with unmerge_contacts()';

CREATE FUNCTION inbox.unmerge_contacts(space bigint, keep bigint, merged bigint, actor_kind text DEFAULT 'user',
		actor_agent bigint DEFAULT NULL) RETURNS void
	AS 'MODULE_PATHNAME', 'inbox_unmerge_contacts' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION inbox.unmerge_contacts(bigint, bigint, bigint, text, bigint) IS
	'Undo the last merge of "merged" into "keep": both contacts as they were; messages that came since on the merged contact''s channels go with it';

-- an agent's day: the contact's details, its own views, notes for the team
CREATE FUNCTION inbox.update_contact(space bigint, contact bigint, agent bigint, first_name text DEFAULT NULL,
		last_name text DEFAULT NULL, email text DEFAULT NULL, phone text DEFAULT NULL, tags text[] DEFAULT NULL,
		custom jsonb DEFAULT NULL) RETURNS void
	AS 'MODULE_PATHNAME', 'inbox_update_contact' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION inbox.save_view(space bigint, agent bigint, name text, filter jsonb, shared boolean DEFAULT false,
		view bigint DEFAULT NULL) RETURNS bigint
	AS 'MODULE_PATHNAME', 'inbox_save_view' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION inbox.delete_view(space bigint, agent bigint, view bigint) RETURNS void
	AS 'MODULE_PATHNAME', 'inbox_delete_view' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION inbox.add_comment(space bigint, contact bigint, agent bigint, body text,
		mentions bigint[] DEFAULT NULL) RETURNS bigint
	AS 'MODULE_PATHNAME', 'inbox_add_comment' LANGUAGE C
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

/*
 * ------------------------------------------------------------------
 * Integrity check
 * ------------------------------------------------------------------
 */

-- what a list shows of a message; the rules keep it in the contact row
CREATE FUNCTION inbox.message_preview(body text, content jsonb) RETURNS text
	AS 'MODULE_PATHNAME', 'inbox_message_preview' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION inbox.message_preview(text, jsonb) IS
	'What a list row shows of a message (contact.last_message_preview): the first 100 characters of body when it shows something (not empty or only white space), else the "type" of content (e.g. image), else NULL';


CREATE FUNCTION inbox.check_integrity()
RETURNS TABLE (invariant text, violations bigint, example text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	-- every join names the space, so that on a Citus cluster each part runs
	-- on the nodes that hold the spaces (colocated joins)
	SELECT i.invariant, count(*), min(i.example)
	FROM (
		SELECT 'one open conversation per contact' AS invariant, 'contact ' || contact_id AS example
		FROM inbox.conversation WHERE closed_at IS NULL GROUP BY space_id, contact_id HAVING count(*) > 1
	UNION ALL
		SELECT 'a message belongs to a conversation of its own contact', 'message ' || m.id
		FROM inbox.message m JOIN inbox.conversation c ON c.space_id = m.space_id AND c.id = m.conversation_id
		WHERE c.contact_id <> m.contact_id
	UNION ALL
		SELECT 'no message lands in a closed conversation', 'message ' || m.id
		FROM inbox.message m JOIN inbox.conversation c ON c.space_id = m.space_id AND c.id = m.conversation_id
		WHERE c.closed_at IS NOT NULL AND m.created_at > c.closed_at
	UNION ALL
		SELECT 'incoming and user messages belong to a conversation', 'message ' || id
		FROM inbox.message
		WHERE conversation_id IS NULL AND (direction = 'incoming' OR sender_kind = 'user')
	UNION ALL
		SELECT 'an assigned contact has an open conversation (unless its space keeps assignees on close)', 'contact ' || ct.id
		FROM inbox.contact ct JOIN inbox.space s ON s.id = ct.space_id
		LEFT JOIN inbox.conversation c ON c.space_id = ct.space_id AND c.contact_id = ct.id AND c.closed_at IS NULL
		WHERE ct.assignee_id IS NOT NULL AND s.unassign_on_close AND c.id IS NULL
	UNION ALL
		SELECT 'an auto-close wait runs while a user has the last word', 'conversation ' || c.id
		FROM inbox.conversation c
		LEFT JOIN LATERAL (SELECT m.sender_kind, m.created_at FROM inbox.message m
						   WHERE m.space_id = c.space_id AND m.conversation_id = c.id
							 AND (m.direction = 'incoming' OR m.sender_kind = 'user')
						   ORDER BY m.created_at DESC, m.id DESC LIMIT 1) n ON true
		WHERE (c.closed_at IS NOT NULL AND (c.auto_close_from IS NOT NULL OR c.auto_close_at IS NOT NULL))
		   OR (c.closed_at IS NULL AND ((c.auto_close_from IS NOT NULL) <> coalesce(n.sender_kind = 'user', false)
										OR c.auto_close_from < n.created_at))
	UNION ALL
		SELECT 'auto_close_at is auto_close_from plus the space''s auto_close_after', 'conversation ' || c.id
		FROM inbox.conversation c JOIN inbox.space s ON s.id = c.space_id
		WHERE c.auto_close_at IS DISTINCT FROM c.auto_close_from + s.auto_close_after
	UNION ALL
		SELECT 'an agent''s open_count is its open assigned contacts (spaces that assign)', 'agent ' || a.id
		FROM inbox.agent a JOIN inbox.space s ON s.id = a.space_id AND s.assignment <> 'manual'
		LEFT JOIN inbox.agent_state st ON st.space_id = a.space_id AND st.agent_id = a.id
		LEFT JOIN (SELECT space_id, assignee_id, count(*) AS n FROM inbox.contact
				   WHERE assignee_id IS NOT NULL AND open_conversation_id IS NOT NULL
				   GROUP BY space_id, assignee_id) o ON o.space_id = a.space_id AND o.assignee_id = a.id
		WHERE coalesce(st.open_count, 0) <> coalesce(o.n, 0)
	UNION ALL
		SELECT 'unread_count equals the unread incoming messages', 'contact ' || ct.id
		FROM inbox.contact ct
		LEFT JOIN (SELECT space_id, contact_id, count(*) AS unread FROM inbox.message
				   WHERE direction = 'incoming' AND read_at IS NULL GROUP BY space_id, contact_id) u
			ON u.space_id = ct.space_id AND u.contact_id = ct.id
		WHERE ct.unread_count <> coalesce(u.unread, 0)
	UNION ALL
		SELECT 'last_message_* describe the newest message', 'contact ' || ct.id
		FROM inbox.contact ct
		LEFT JOIN (SELECT DISTINCT ON (space_id, contact_id) space_id, contact_id, id, created_at, direction, channel_id,
						  inbox.message_preview(body, content) AS preview, status
				   FROM inbox.message ORDER BY space_id, contact_id, created_at DESC, id DESC) n
			ON n.space_id = ct.space_id AND n.contact_id = ct.id
		WHERE (ct.last_message_id, ct.last_message_at, ct.last_message_direction, ct.last_channel_id,
			   ct.last_message_preview, ct.last_message_status)
			  IS DISTINCT FROM (n.id, n.created_at, n.direction, n.channel_id, n.preview, n.status)
	UNION ALL
		SELECT 'rows of a contact share its space', x.example
		FROM (SELECT space_id, contact_id, 'message ' || id AS example FROM inbox.message
			  UNION ALL SELECT space_id, contact_id, 'conversation ' || id FROM inbox.conversation
			  UNION ALL SELECT space_id, contact_id, 'event ' || id FROM inbox.event
			  UNION ALL SELECT space_id, contact_id, 'identity on channel ' || channel_id FROM inbox.contact_channel
			  UNION ALL SELECT space_id, contact_id, 'comment ' || id FROM inbox.comment) x
		LEFT JOIN inbox.contact ct ON ct.space_id = x.space_id AND ct.id = x.contact_id
		WHERE ct.id IS NULL
	UNION ALL
		SELECT 'a contact''s agents and channels are of its space', 'contact ' || ct.id
		FROM inbox.contact ct
		WHERE EXISTS (SELECT 1 FROM inbox.agent a WHERE a.id = ct.assignee_id AND a.space_id <> ct.space_id)
		   OR EXISTS (SELECT 1 FROM inbox.channel ch WHERE ch.id IN (ct.origin_channel_id, ct.last_channel_id)
					  AND ch.space_id <> ct.space_id)
	UNION ALL
		SELECT 'a message''s channel is in its space', 'message ' || m.id
		FROM inbox.message m
		LEFT JOIN inbox.channel ch ON ch.space_id = m.space_id AND ch.id = m.channel_id
		WHERE ch.id IS NULL
	UNION ALL
		SELECT 'a message''s agent is of its space', 'message ' || m.id
		FROM inbox.message m JOIN inbox.agent a ON a.id = m.sender_agent_id
		WHERE a.space_id <> m.space_id
	UNION ALL
		SELECT 'the agents of conversations, events and merges are of their space', x.example
		FROM (SELECT space_id, opened_by_agent AS agent_id, 'conversation ' || id AS example FROM inbox.conversation
			  UNION ALL SELECT space_id, closed_by_agent, 'conversation ' || id FROM inbox.conversation
			  UNION ALL SELECT space_id, actor_agent_id, 'event ' || id FROM inbox.event
			  UNION ALL SELECT space_id, target_agent_id, 'event ' || id FROM inbox.event
			  UNION ALL SELECT space_id, actor_agent_id, 'merge ' || id FROM inbox.contact_merge) x
		JOIN inbox.agent a ON a.id = x.agent_id
		WHERE a.space_id <> x.space_id
	UNION ALL
		SELECT 'a message quotes a message of its own contact', 'message ' || m.id
		FROM inbox.message m
		LEFT JOIN inbox.message q ON q.space_id = m.space_id AND q.id = m.reply_to_id
		WHERE m.reply_to_id IS NOT NULL AND q.contact_id IS DISTINCT FROM m.contact_id
	UNION ALL
		SELECT 'a comment belongs to a conversation of its own contact', 'comment ' || n.id
		FROM inbox.comment n JOIN inbox.conversation c ON c.space_id = n.space_id AND c.id = n.conversation_id
		WHERE c.contact_id <> n.contact_id
	UNION ALL
		SELECT 'a comment''s author and mentioned agents are of its space', 'comment ' || x.id
		FROM (SELECT DISTINCT n.id FROM inbox.comment n
			  JOIN inbox.agent a ON (a.id = n.author_agent_id OR a.id = ANY (n.mentions)) AND a.space_id <> n.space_id) x
	UNION ALL
		SELECT 'a merged contact owns no comment', 'contact ' || ct.id
		FROM inbox.contact ct
		WHERE ct.merged_into IS NOT NULL
		  AND EXISTS (SELECT FROM inbox.comment x WHERE x.space_id = ct.space_id AND x.contact_id = ct.id)
	UNION ALL
		SELECT 'an event belongs to a conversation of its own contact', 'event ' || e.id
		FROM inbox.event e JOIN inbox.conversation c ON c.space_id = e.space_id AND c.id = e.conversation_id
		WHERE c.contact_id <> e.contact_id
	UNION ALL
		SELECT 'every conversation has its conversation_opened event', 'conversation ' || c.id
		FROM inbox.conversation c
		WHERE NOT EXISTS (SELECT 1 FROM inbox.event e
						  WHERE e.space_id = c.space_id AND e.conversation_id = c.id AND e.kind = 'conversation_opened')
	UNION ALL
		SELECT 'every closed conversation has its conversation_closed event', 'conversation ' || c.id
		FROM inbox.conversation c
		WHERE c.closed_at IS NOT NULL
		  AND NOT EXISTS (SELECT 1 FROM inbox.event e
						  WHERE e.space_id = c.space_id AND e.conversation_id = c.id AND e.kind = 'conversation_closed')
	UNION ALL
		SELECT 'a message''s status agrees with its direction and timestamps', 'message ' || id
		FROM inbox.message
		WHERE (direction = 'incoming') <> (status = 'received')
		   OR (status = 'sent' AND sent_at IS NULL)
		   OR (status = 'delivered' AND delivered_at IS NULL)
		   OR (status = 'read' AND direction = 'outgoing' AND read_at IS NULL)
		   OR (status = 'failed' AND failed_at IS NULL)
	UNION ALL
		SELECT 'a merged contact owns no identity, conversation, message or event', 'contact ' || ct.id
		FROM inbox.contact ct
		WHERE ct.merged_into IS NOT NULL
		  AND (EXISTS (SELECT FROM inbox.contact_channel x WHERE x.space_id = ct.space_id AND x.contact_id = ct.id)
			   OR EXISTS (SELECT FROM inbox.conversation x WHERE x.space_id = ct.space_id AND x.contact_id = ct.id)
			   OR EXISTS (SELECT FROM inbox.message x WHERE x.space_id = ct.space_id AND x.contact_id = ct.id)
			   OR EXISTS (SELECT FROM inbox.event x WHERE x.space_id = ct.space_id AND x.contact_id = ct.id))
	UNION ALL
		SELECT 'search columns follow the name, e-mail and phone', 'contact ' || id
		FROM inbox.contact
		WHERE search_text IS DISTINCT FROM lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(email, ''))
		   OR phone_digits IS DISTINCT FROM regexp_replace(phone, '[^0-9]', '', 'g')
	UNION ALL
		SELECT 'open_conversation_id is the open conversation', 'contact ' || ct.id
		FROM inbox.contact ct
		LEFT JOIN inbox.conversation c ON c.space_id = ct.space_id AND c.contact_id = ct.id AND c.closed_at IS NULL
		WHERE ct.open_conversation_id IS DISTINCT FROM c.id
	UNION ALL
		SELECT 'view counts equal the views', 'space ' || k.space_id || ' view ' || k.view
		FROM (SELECT space_id, view, agent_id, sum(contacts) AS contacts, sum(unread_contacts) AS unread
			  FROM inbox.view_count GROUP BY 1, 2, 3) k
		FULL JOIN (
			SELECT ct.space_id, v.view, CASE v.view WHEN 'mine' THEN ct.assignee_id ELSE 0 END AS agent_id,
				   count(*) AS contacts, count(*) FILTER (WHERE ct.unread_count > 0) AS unread
			FROM inbox.contact ct
			CROSS JOIN LATERAL (VALUES ('all'), ('mine'), ('unassigned')) v (view)
			WHERE ct.last_message_at IS NOT NULL AND ct.snoozed_until IS NULL AND ct.merged_into IS NULL
			  AND (v.view = 'all'
				   OR (v.view = 'mine' AND ct.assignee_id IS NOT NULL)
				   OR (v.view = 'unassigned' AND ct.assignee_id IS NULL AND ct.open_conversation_id IS NOT NULL))
			GROUP BY 1, 2, 3) r USING (space_id, view, agent_id)
		WHERE coalesce(k.contacts, 0) <> coalesce(r.contacts, 0) OR coalesce(k.unread, 0) <> coalesce(r.unread, 0)
	) i
	GROUP BY i.invariant
	ORDER BY i.invariant
$$;
COMMENT ON FUNCTION inbox.check_integrity() IS
	'One row per violated invariant of the inbox (with how many rows violate it and one example); no rows when healthy';

/*
 * ------------------------------------------------------------------
 * Scale out with Citus (README, "Scale out with Citus")
 *
 * On a Citus cluster the catalogues, the spaces, their admins, agents and
 * channels are reference tables (a copy on every node), and the tables of
 * a space are distributed by space_id, colocated with inbox.contact: all
 * rows of a space live on one node, every statement of the rules names
 * the space, and an API call runs on that node in one local transaction.
 * Without Citus none of this is used.
 * ------------------------------------------------------------------
 */

-- the tables of a space, in the order Citus distributes them (a table
-- after those it refers to)
CREATE FUNCTION inbox.space_tables() RETURNS regclass[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ARRAY['inbox.contact', 'inbox.contact_channel', 'inbox.conversation', 'inbox.message',
				 'inbox.event', 'inbox.comment', 'inbox.view', 'inbox.view_count', 'inbox.contact_merge',
				 'inbox.agent_state', 'inbox.agent_activity']::regclass[]
$$;
COMMENT ON FUNCTION inbox.space_tables() IS
	'The tables whose rows belong to a space, distributed by space_id on a Citus cluster (inbox.distribute())';

CREATE FUNCTION inbox.use_node_id_range() RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	grp		bigint := 0;
	lo		bigint;
	hi		bigint;
	seq		text;
	last	bigint;
BEGIN
	IF to_regclass('pg_catalog.pg_dist_local_group') IS NOT NULL THEN
		SELECT groupid INTO grp FROM pg_catalog.pg_dist_local_group;
	END IF;
	lo := (grp << 48) + 1;
	hi := (grp + 1) << 48;
	FOREACH seq IN ARRAY ARRAY['space_id_seq', 'agent_id_seq', 'channel_id_seq', 'contact_id_seq',
							   'conversation_id_seq', 'message_id_seq', 'event_id_seq', 'view_id_seq',
							   'contact_merge_id_seq', 'comment_id_seq']
	LOOP
		-- ids already drawn in the range go on from there
		SELECT coalesce(last_value, start_value - 1) INTO last
		FROM pg_catalog.pg_sequences WHERE schemaname = 'inbox' AND sequencename = seq;
		EXECUTE format('ALTER SEQUENCE inbox.%I MINVALUE %s MAXVALUE %s START %s RESTART %s',
					   seq, lo, hi, lo, greatest(lo, least(last + 1, hi)));
	END LOOP;
	RETURN format('ids %s to %s', lo, hi);
END
$$;
COMMENT ON FUNCTION inbox.use_node_id_range() IS
	'Make this node draw the ids of every inbox table from its own range: group g of a Citus cluster (pg_dist_local_group) from g * 2^48 + 1 to (g + 1) * 2^48, the coordinator from 1; run on every node by inbox.distribute(); returns the range';

CREATE FUNCTION inbox.distribute(shard_count integer DEFAULT NULL) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t		regclass;
	f		regprocedure;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
		RAISE EXCEPTION 'inbox.distribute() needs the citus extension'
			USING ERRCODE = 'feature_not_supported',
				  HINT = 'On a single server there is nothing to distribute.';
	END IF;
	IF (SELECT groupid FROM pg_catalog.pg_dist_local_group) <> 0 THEN
		RAISE EXCEPTION 'inbox.distribute() runs on the coordinator'
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF shard_count IS NOT NULL THEN
		PERFORM pg_catalog.set_config('citus.shard_count', shard_count::text, true);
	END IF;
	-- the rules are triggers, and the tables refer to each other before they
	-- are all distributed
	PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
	PERFORM pg_catalog.set_config('citus.enable_local_reference_table_foreign_keys', 'off', true);

	FOREACH t IN ARRAY ARRAY['inbox.channel_kind', 'inbox.event_kind', 'inbox.sender_kind', 'inbox.space',
							 'inbox.space_admin', 'inbox.agent', 'inbox.channel']::regclass[]
	LOOP
		IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition WHERE logicalrelid = t) THEN
			PERFORM pg_catalog.create_reference_table(t);
		END IF;
	END LOOP;
	FOREACH t IN ARRAY inbox.space_tables()
	LOOP
		IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition WHERE logicalrelid = t) THEN
			PERFORM pg_catalog.create_distributed_table(t, 'space_id',
				colocate_with => CASE WHEN t = 'inbox.contact'::regclass THEN 'default' ELSE 'inbox.contact' END);
		END IF;
	END LOOP;
	-- every API function that takes a space runs on the space's node when it
	-- is called on its own (in a transaction block the coordinator runs it,
	-- each statement on the space's node: forced delegation would refuse the
	-- rules' joins of a space's rows with reference tables); those that
	-- write a reference table (agent, channel, space) stay on the coordinator
	FOR f IN
		SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
		WHERE p.pronamespace = 'inbox'::regnamespace AND p.proargnames[1] = 'space' AND p.prokind = 'f'
		  AND p.proname NOT IN ('space_node', 'role_sees_contact', 'create_agent', 'create_channel',
								'configure_space', 'set_agent_status')
	LOOP
		PERFORM pg_catalog.create_distributed_function(f, 'space', colocate_with => 'inbox.contact');
	END LOOP;
	PERFORM pg_catalog.run_command_on_all_nodes('SELECT inbox.use_node_id_range()');
END
$$;
COMMENT ON FUNCTION inbox.distribute(integer) IS
	'On a Citus coordinator: make the catalogues, spaces, admins, agents and channels reference tables, distribute the tables of a space by space_id (colocated with inbox.contact, shard_count shards, default citus.shard_count), run every space-first API function on the node of its space, and give every node its own id range; idempotent (run it again after adding a node). 0A000 without Citus';

CREATE FUNCTION inbox.space_node(space bigint) RETURNS TABLE (host text, port integer)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF to_regclass('pg_catalog.pg_dist_partition') IS NULL
	   OR NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition WHERE logicalrelid = 'inbox.contact'::regclass) THEN
		RETURN;
	END IF;
	RETURN QUERY
		SELECT n.nodename::text, n.nodeport
		FROM pg_catalog.pg_dist_placement p
		JOIN pg_catalog.pg_dist_node n ON n.groupid = p.groupid
		WHERE p.shardid = pg_catalog.get_shard_id_for_distribution_column('inbox.contact', space)
		  AND n.isactive AND n.noderole = 'primary';
END
$$;
COMMENT ON FUNCTION inbox.space_node(bigint) IS
	'The node (host, port) that holds a space''s rows on a Citus cluster, where its notifications are sent (inbox-worker listen --space connects there); no row when the tables are not distributed (every notification comes from this server)';

/*
 * ------------------------------------------------------------------
 * pg_dump: the tables users fill are dumped with their data
 * ------------------------------------------------------------------
 */

SELECT pg_catalog.pg_extension_config_dump('inbox.space', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.space_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.space_admin', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.agent', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.agent_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.channel', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.channel_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.contact', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.contact_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.contact_channel', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.conversation', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.conversation_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.message', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.message_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.event', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.view', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.view_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.view_count', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.contact_merge', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.contact_merge_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.comment', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.comment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.agent_state', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.agent_activity', '');

/*
 * The catalogues too, as the user edited them.  A dump is restored with
 * session_replication_role = replica (README, "Backup and restore"): the
 * rows are copied as they were, no rule fires again.  A CREATE EXTENSION
 * run by such a restore leaves the catalogues empty for the dump to fill.
 */
SELECT pg_catalog.pg_extension_config_dump('inbox.channel_kind', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.event_kind', '');
SELECT pg_catalog.pg_extension_config_dump('inbox.sender_kind', '');
DELETE FROM inbox.channel_kind WHERE current_setting('session_replication_role') = 'replica';
DELETE FROM inbox.event_kind WHERE current_setting('session_replication_role') = 'replica';
DELETE FROM inbox.sender_kind WHERE current_setting('session_replication_role') = 'replica';

/*
 * ------------------------------------------------------------------
 * Security: roles, grants and row-level security
 * ------------------------------------------------------------------
 *
 * inbox_admin: reads and writes every row of the spaces inbox.space_admin
 * grants it (not new spaces, not the catalogues) and calls the whole API.
 * inbox_agent: reads the rows of its agent's space (inbox.agent.db_role)
 * and calls the API; it writes through the API only.  The API functions
 * run as the extension's owner (SECURITY DEFINER, search_path pinned) and
 * check their caller in C (security.c).  The owner and superusers pass
 * row-level security; nobody else does.  Roles are cluster-wide: they are
 * made here only when absent and stay after DROP EXTENSION.
 */

DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'inbox_admin') THEN
		CREATE ROLE inbox_admin NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'inbox_agent') THEN
		CREATE ROLE inbox_agent NOLOGIN;
	END IF;
END
$$;
COMMENT ON ROLE inbox_admin IS 'inbox: reads and writes every row of the spaces inbox.space_admin grants to the member role';
COMMENT ON ROLE inbox_agent IS 'inbox: reads its agent''s space (inbox.agent.db_role) and calls the API; no direct table writes';

-- what the policies ask: the current role's spaces (admin, member = admin
-- or agent, all_contacts = not limited to assigned contacts) and agents.
-- The policies call them directly, without subqueries (which Citus does
-- not accept in policies of distributed tables); each keeps its answer
-- for the statement that calls it.
-- They have no SET clause: a policy calls them for every row it filters, and
-- PostgreSQL would apply and undo the settings at each call.  Their C code
-- pins search_path and turns citus.allow_nested_distributed_execution on
-- around their look-ups (on a Citus cluster the policies are evaluated on
-- the shards, where a query of another table is refused unless it is on;
-- without Citus the setting is a placeholder that nothing reads).
CREATE FUNCTION inbox.role_spaces(scope text) RETURNS bigint[]
	AS 'MODULE_PATHNAME', 'inbox_role_spaces' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION inbox.role_spaces(text) IS
	'The spaces of current_user: admin (inbox.space_admin), member (admin or agent) or all_contacts (admin, or agent not limited to assigned contacts); used by the row-level security policies';
CREATE FUNCTION inbox.role_agents() RETURNS bigint[]
	AS 'MODULE_PATHNAME', 'inbox_role_agents' LANGUAGE C STABLE;
COMMENT ON FUNCTION inbox.role_agents() IS
	'The agents bound to current_user (inbox.agent.db_role); used by the row-level security policies';
CREATE FUNCTION inbox.role_sees_contact(space bigint, contact bigint) RETURNS boolean
	AS 'MODULE_PATHNAME', 'inbox_role_sees_contact' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION inbox.role_sees_contact(bigint, bigint) IS
	'Whether current_user sees a contact of a space: a member of the space, not limited to assigned contacts or the contact assigned to it or to nobody; used by the row-level security policies of the rows of a contact';

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA inbox FROM PUBLIC;
GRANT EXECUTE ON FUNCTION inbox.role_spaces(text), inbox.role_agents(), inbox.role_sees_contact(bigint, bigint) TO PUBLIC;
-- the rules call it as whoever writes a message (an admin's DELETE recounts its contact)
GRANT EXECUTE ON FUNCTION inbox.message_preview(text, jsonb) TO PUBLIC;
GRANT USAGE ON SCHEMA inbox TO inbox_admin, inbox_agent;

-- catalogues: readable by every role that may use the schema, edited by the owner
GRANT SELECT ON inbox.channel_kind, inbox.event_kind, inbox.sender_kind TO PUBLIC;

GRANT SELECT ON inbox.space, inbox.agent, inbox.channel, inbox.contact, inbox.contact_channel,
	inbox.conversation, inbox.message, inbox.event, inbox.view, inbox.view_count, inbox.contact_merge,
	inbox.agent_state, inbox.agent_activity
	TO inbox_agent, inbox_admin;
GRANT INSERT, UPDATE, DELETE ON inbox.agent, inbox.channel, inbox.contact, inbox.contact_channel,
	inbox.conversation, inbox.message, inbox.event, inbox.view, inbox.view_count, inbox.contact_merge,
	inbox.agent_state, inbox.agent_activity
	TO inbox_admin;
GRANT SELECT ON inbox.comment TO inbox_agent, inbox_admin;
GRANT INSERT, UPDATE, DELETE ON inbox.comment TO inbox_admin;
GRANT UPDATE, DELETE ON inbox.space TO inbox_admin;
GRANT SELECT ON inbox.space_admin TO inbox_admin;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA inbox TO inbox_admin;

-- the API: what every agent does, and what belongs to the space's admins
GRANT EXECUTE ON FUNCTION
	inbox.send_message(bigint, bigint, bigint, text, bigint, text, jsonb),
	inbox.assign(bigint, bigint, bigint, text, bigint),
	inbox.open_conversation(bigint, bigint, text, bigint, text, text),
	inbox.close_conversation(bigint, bigint, text, bigint, text, text),
	inbox.mark_read(bigint, bigint, bigint),
	inbox.snooze(bigint, bigint, timestamptz, bigint),
	inbox.unsnooze(bigint, bigint, bigint),
	inbox.record_event(bigint, bigint, text, text, bigint, text, text, jsonb),
	inbox.view_counts(bigint, bigint),
	inbox.contact_list(bigint, bigint, text, text, text, integer),
	inbox.history(bigint, bigint, text, integer),
	inbox.merge_contacts(bigint, bigint, bigint, text, bigint),
	inbox.unmerge_contacts(bigint, bigint, bigint, text, bigint),
	inbox.update_contact(bigint, bigint, bigint, text, text, text, text, text[], jsonb),
	inbox.save_view(bigint, bigint, text, jsonb, boolean, bigint),
	inbox.delete_view(bigint, bigint, bigint),
	inbox.add_comment(bigint, bigint, bigint, text, bigint[]),
	inbox.set_agent_status(bigint, bigint, text)
	TO inbox_agent, inbox_admin;
GRANT EXECUTE ON FUNCTION
	inbox.create_agent(bigint, text, text),
	inbox.create_channel(bigint, text, text),
	inbox.receive_message(bigint, bigint, text, text, text, text, jsonb, timestamptz, jsonb),
	inbox.set_message_status(bigint, bigint, text, timestamptz, text),
	inbox.check_integrity(),
	inbox.notify_relay_queue(),
	inbox.configure_space(bigint, interval, boolean, text, integer, interval)
	TO inbox_admin;
GRANT EXECUTE ON FUNCTION inbox.space_node(bigint), inbox.space_tables() TO inbox_agent, inbox_admin;
-- inbox.distribute() and inbox.use_node_id_range(): the owner's
-- create_space, wake_due_snoozes and next_snooze_due: the owner's, granted by
-- hand (e.g. to the role of an external inbox-worker snooze)

ALTER TABLE inbox.space ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbox.space_admin ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbox.agent ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbox.channel ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbox.contact ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbox.contact_channel ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbox.conversation ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbox.message ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbox.event ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbox.view ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbox.view_count ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbox.contact_merge ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbox.comment ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbox.agent_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbox.agent_activity ENABLE ROW LEVEL SECURITY;

-- reading: the role's spaces; a contact's rows follow the contact, so that an
-- agent limited to assigned contacts sees their rows only
CREATE POLICY member_read ON inbox.space FOR SELECT
	USING (id = ANY (inbox.role_spaces('member')));
CREATE POLICY admin_read ON inbox.space_admin FOR SELECT
	USING (space_id = ANY (inbox.role_spaces('admin')));
CREATE POLICY member_read ON inbox.agent FOR SELECT
	USING (space_id = ANY (inbox.role_spaces('member')));
CREATE POLICY member_read ON inbox.channel FOR SELECT
	USING (space_id = ANY (inbox.role_spaces('member')));
CREATE POLICY member_read ON inbox.contact FOR SELECT
	USING (space_id = ANY (inbox.role_spaces('all_contacts'))
		   OR (space_id = ANY (inbox.role_spaces('member'))
			   AND (assignee_id IS NULL OR assignee_id = ANY (inbox.role_agents()))));
CREATE POLICY member_read ON inbox.contact_channel FOR SELECT
	USING (space_id = ANY (inbox.role_spaces('all_contacts')) OR inbox.role_sees_contact(space_id, contact_id));
CREATE POLICY member_read ON inbox.conversation FOR SELECT
	USING (space_id = ANY (inbox.role_spaces('all_contacts')) OR inbox.role_sees_contact(space_id, contact_id));
CREATE POLICY member_read ON inbox.message FOR SELECT
	USING (space_id = ANY (inbox.role_spaces('all_contacts')) OR inbox.role_sees_contact(space_id, contact_id));
CREATE POLICY member_read ON inbox.event FOR SELECT
	USING (space_id = ANY (inbox.role_spaces('all_contacts')) OR inbox.role_sees_contact(space_id, contact_id));
CREATE POLICY member_read ON inbox.comment FOR SELECT
	USING (space_id = ANY (inbox.role_spaces('all_contacts')) OR inbox.role_sees_contact(space_id, contact_id));
CREATE POLICY member_read ON inbox.view FOR SELECT
	USING (space_id = ANY (inbox.role_spaces('admin'))
		   OR (space_id = ANY (inbox.role_spaces('member'))
			   AND (owner_agent_id IS NULL OR owner_agent_id = ANY (inbox.role_agents()))));
-- counts and merge records are of every contact: not for agents limited to assigned ones
CREATE POLICY member_read ON inbox.view_count FOR SELECT
	USING (space_id = ANY (inbox.role_spaces('all_contacts')));
CREATE POLICY member_read ON inbox.contact_merge FOR SELECT
	USING (space_id = ANY (inbox.role_spaces('all_contacts')));
-- the team's availability and load: every member of the space
CREATE POLICY member_read ON inbox.agent_state FOR SELECT
	USING (space_id = ANY (inbox.role_spaces('member')));
CREATE POLICY member_read ON inbox.agent_activity FOR SELECT
	USING (space_id = ANY (inbox.role_spaces('member')));

-- writing: the spaces the role administers (agents have no write grant at all)
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['agent', 'channel', 'contact', 'contact_channel', 'conversation',
							 'message', 'event', 'view', 'view_count', 'contact_merge', 'comment',
							 'agent_state', 'agent_activity']
	LOOP
		EXECUTE format('CREATE POLICY admin_insert ON inbox.%I FOR INSERT'
					   ' WITH CHECK (space_id = ANY (inbox.role_spaces(''admin'')))', t);
		EXECUTE format('CREATE POLICY admin_update ON inbox.%I FOR UPDATE'
					   ' USING (space_id = ANY (inbox.role_spaces(''admin'')))'
					   ' WITH CHECK (space_id = ANY (inbox.role_spaces(''admin'')))', t);
		EXECUTE format('CREATE POLICY admin_delete ON inbox.%I FOR DELETE'
					   ' USING (space_id = ANY (inbox.role_spaces(''admin'')))', t);
	END LOOP;
END
$$;
CREATE POLICY admin_update ON inbox.space FOR UPDATE
	USING (id = ANY (inbox.role_spaces('admin')))
	WITH CHECK (id = ANY (inbox.role_spaces('admin')));
CREATE POLICY admin_delete ON inbox.space FOR DELETE
	USING (id = ANY (inbox.role_spaces('admin')));

/*
 * ------------------------------------------------------------------
 * Comments: \d+ and \df+ explain every table, column and function
 * ------------------------------------------------------------------
 */


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
	'the space of the contact and the channel; every INSERT names it (23502 without)';
COMMENT ON COLUMN inbox.contact_channel.created_at IS 'when the identity was recorded';

/*
 * ------------------------------------------------------------------
 * Conversations, messages and events
 * ------------------------------------------------------------------
 */

COMMENT ON COLUMN inbox.conversation.id IS 'conversation id (inbox.conversation_id_seq)';
COMMENT ON COLUMN inbox.conversation.space_id IS 'the contact''s space; every INSERT names it (23502 without); cannot be changed';
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
COMMENT ON COLUMN inbox.message.space_id IS 'the contact''s space; every INSERT names it (23502 without); cannot be changed';
COMMENT ON COLUMN inbox.message.contact_id IS 'the contact the message is from or to; cannot be changed';
COMMENT ON COLUMN inbox.message.conversation_id IS
	'the contact''s open conversation when the message was written (an incoming or user message opens one if none; other outgoing messages may have none); maintained, cannot be changed';
COMMENT ON COLUMN inbox.message.channel_id IS
	'the channel the message came or goes on; the contact must have an identity on it (23503); cannot be changed';
COMMENT ON COLUMN inbox.message.direction IS 'incoming (from the contact) or outgoing (to the contact); cannot be changed';
COMMENT ON COLUMN inbox.message.sender_agent_id IS
	'the agent who sent it: required for sender_kind user, NULL for incoming messages; cannot be changed';
COMMENT ON COLUMN inbox.message.body IS 'the text of the message; NULL when it has only content (without content it must not be empty or only white space: 22023)';
COMMENT ON COLUMN inbox.message.content IS
	'the platform''s content as a JSON object (media, buttons, ...; "type" names its kind, which the contact list shows when there is no body); {"template": "<name>"} or {"tag": "<tag>"} lets an outgoing message out of a closed messaging window where the channel kind allows it';
COMMENT ON COLUMN inbox.message.sent_at IS
	'when the platform reported the message sent (the first report''s time; kept when the status is already further)';
COMMENT ON COLUMN inbox.message.delivered_at IS
	'when the platform reported the message delivered (the first report''s time; kept when the status is already further)';
COMMENT ON COLUMN inbox.message.failed_at IS 'when the platform reported the message failed';
COMMENT ON COLUMN inbox.message.error IS 'the platform''s error for a failed message (set_message_status(..., error => ...))';

COMMENT ON COLUMN inbox.event.id IS 'event id (inbox.event_id_seq); record_event() returns it';
COMMENT ON COLUMN inbox.event.space_id IS 'the contact''s space; every INSERT names it (23502 without)';
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
	'details as a JSON object: {"until": time} for snooze events, {"merged": id} for merge events, {"channel": id} for channel_added, {"fields": [names]} for contact_updated, anything for record_event()';
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
COMMENT ON COLUMN inbox.contact_merge.comments IS 'ids of the merged contact''s comments before the merge';
COMMENT ON COLUMN inbox.contact_merge.absorbed_comments IS
	'ids of the comments of the absorbed conversation; NULL when none was absorbed';

COMMENT ON COLUMN inbox.comment.id IS 'comment id (inbox.comment_id_seq); add_comment() returns it';
COMMENT ON COLUMN inbox.comment.space_id IS 'the contact''s space; every INSERT names it (23502 without)';
COMMENT ON COLUMN inbox.comment.contact_id IS 'the contact the note is about (not merged into another: 55000)';
COMMENT ON COLUMN inbox.comment.conversation_id IS
	'the contact''s open conversation when the note was written, if any (maintained)';
COMMENT ON COLUMN inbox.comment.author_agent_id IS 'the agent who wrote the note; NULL once that agent is deleted';
COMMENT ON COLUMN inbox.comment.body IS 'the text of the note, not empty or only white space (22023); never sent to the contact';
COMMENT ON COLUMN inbox.comment.mentions IS
	'the agents of the space the note mentions, each once; each is notified when the note is written ({"op": "mention"})';
COMMENT ON COLUMN inbox.comment.created_at IS 'when the note was written; not more than 5 minutes ahead of the clock (22023)';

COMMENT ON COLUMN inbox.agent_state.space_id IS 'the agent''s space';
COMMENT ON COLUMN inbox.agent_state.agent_id IS 'the agent';
COMMENT ON COLUMN inbox.agent_state.open_count IS
	'the agent''s assigned contacts with an open conversation, what assignment_cap limits (maintained while the space''s assignment is not manual; counted again when it is turned on)';
COMMENT ON COLUMN inbox.agent_state.last_assigned_at IS
	'when a contact was last assigned to the agent (round_robin takes the agent assigned least recently; NULL = not since assignment was turned on)';
COMMENT ON COLUMN inbox.agent_activity.space_id IS 'the agent''s space';
COMMENT ON COLUMN inbox.agent_activity.agent_id IS 'the agent';
COMMENT ON COLUMN inbox.agent_activity.active_at IS
	'when the agent last called the API as itself (an agent argument, or a role bound to it); each session records it at most once per inbox.activity_interval';

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
COMMENT ON SEQUENCE inbox.comment_id_seq IS 'Ids of inbox.comment';

/*
 * ------------------------------------------------------------------
 * Trigger functions (the rules; not called directly)
 * ------------------------------------------------------------------
 */

COMMENT ON FUNCTION inbox.contact_before_write() IS
	'Trigger BEFORE INSERT OR UPDATE on inbox.contact: a contact is inserted unassigned, id and space_id never change, maintained columns are refused (22023; unread_count may be reset to 0), an assignee and the origin channel must be of the space (P0002), a snooze set by UPDATE must be in the future and any snooze time written finite and before the year 10000 (22023)';
COMMENT ON FUNCTION inbox.contact_after_update() IS
	'Trigger AFTER UPDATE on inbox.contact: a new assignee writes assigned or unassigned (opening a conversation first if none), a reset of unread_count marks the incoming messages read, a snooze change writes contact_snoozed or contact_unsnoozed; then the change of the contact''s view membership is added to inbox.view_count';
COMMENT ON FUNCTION inbox.conversation_before_write() IS
	'Trigger BEFORE INSERT OR UPDATE on inbox.conversation: one open conversation per contact and a closed one stays closed (55000), it is inserted open, its opening columns never change, opened_at, closed_at and first_response_at are finite times before the year 10000, closed_at is not before opened_at and an open conversation names no closer (closed_by_kind, closed_by_agent come with closed_at) (22023), the opening and closing actor default to inbox.actor_kind / inbox.actor_agent, its contact and agents are of its space (P0002; 23502 without space_id)';
COMMENT ON FUNCTION inbox.conversation_after_write() IS
	'Trigger AFTER INSERT, AFTER UPDATE OF closed_at (a close) and AFTER DELETE of an open conversation: keeps contact.open_conversation_id, writes conversation_opened, or on a close writes conversation_closed and unassigns the contact; deleting an open conversation (only an empty one can be deleted) unassigns its contact as a close does, writing unassigned for the inbox.actor_kind actor in no conversation';
COMMENT ON FUNCTION inbox.message_before_write() IS
	'Trigger BEFORE INSERT OR UPDATE on inbox.message: its contact, channel and agent are of its space (P0002; 23502 without space_id), locks the contact, puts the message in the open conversation (opening one for incoming and user messages), resolves reply-to (a reply_to_id given must be a message of the contact: 23503), checks the identity (23503) and the messaging window of every outgoing message but the echoes whatsapp_echo and facebook_inbox (55000), refuses a body empty or only white space without content and a time more than 5 minutes ahead of the clock (22023); its time and the times of its status reports are finite and before the year 10000 (22023); on UPDATE the status moves forward only, the time of the status cannot be cleared (sent_at of a sent message, delivered_at, read_at of an outgoing read one, failed_at) and fixed columns are refused (22023)';
COMMENT ON FUNCTION inbox.message_after_change() IS
	'Trigger AFTER UPDATE OF status, body, content on inbox.message: when the message is its contact''s newest, the contact''s last_message_status and last_message_preview follow it';
COMMENT ON FUNCTION inbox.message_after_write() IS
	'Trigger AFTER INSERT, DELETE and UPDATE OF read_at on inbox.message: keeps the contact''s unread_count and last_message_*, clears reply_to_id of the messages quoting a deleted one, assigns an unassigned contact to a replying user, ends a snooze on an incoming message, sets conversation.first_response_at';
COMMENT ON FUNCTION inbox.event_before_insert() IS
	'Trigger BEFORE INSERT on inbox.event: (kind, actor_kind) must be in inbox.event_kind (22023), created_at a finite time before the year 10000 (22023), its contact and agents in its space (P0002), its contact not merged (55000); fills the open conversation';
COMMENT ON FUNCTION inbox.event_after_insert() IS
	'Trigger AFTER INSERT of a bot_status_on or bot_status_off event: sets the contact''s bot_active';
COMMENT ON FUNCTION inbox.event_before_change() IS
	'Trigger BEFORE UPDATE OR DELETE on inbox.event: events are history, so a change or a direct delete is refused (55000); deleting the contact or conversation still takes its events along';
COMMENT ON FUNCTION inbox.comment_before_write() IS
	'Trigger BEFORE INSERT OR UPDATE on inbox.comment: its contact (not merged: 55000), author and mentioned agents are of its space (P0002; 23502 without space_id), the body is not empty or only white space and the time not more than 5 minutes ahead (22023), mentions are kept once each, the open conversation is filled in; a comment is not changed afterwards (55000; merges move it, a deleted author is cleared); a DELETE removes it';
COMMENT ON FUNCTION inbox.contact_channel_before_write() IS
	'Trigger BEFORE INSERT OR UPDATE on inbox.contact_channel: contact and channel are of its space (P0002), the contact is not merged (55000)';
COMMENT ON FUNCTION inbox.contact_channel_after_insert() IS
	'Trigger AFTER INSERT on inbox.contact_channel: an identity added to a contact that already has one writes channel_added ({"channel": id}) for the current actor';
COMMENT ON FUNCTION inbox.channel_cache_invalidate() IS
	'Trigger AFTER each row written and each TRUNCATE of inbox.channel or inbox.channel_kind (enabled always): every session forgets the channels it keeps in memory, when the change commits';
COMMENT ON FUNCTION inbox.contact_search_columns() IS
	'Trigger BEFORE INSERT OR UPDATE on inbox.contact (enabled always): search_text and phone_digits follow the name, e-mail and phone; a direct write of them is replaced';
COMMENT ON FUNCTION inbox.contact_counts() IS
	'Trigger AFTER INSERT OR DELETE on inbox.contact: adds the change of the contact''s view membership to inbox.view_count (contact_after_update does it for an UPDATE)';
COMMENT ON FUNCTION inbox.view_before_write() IS
	'Trigger BEFORE INSERT OR UPDATE on inbox.view: the owner is an agent of the space (P0002) and the filter is a JSON object that uses only known keys and values (22023)';
COMMENT ON FUNCTION inbox.space_after_update() IS
	'Trigger AFTER UPDATE of a space''s automation settings: a changed auto_close_after moves the conversations'' auto_close_at, assignment turned on counts the agents'' open contacts again, a raised cap or assignment turned on assigns the waiting contacts, a changed auto_away_after wakes the background worker';
COMMENT ON FUNCTION inbox.agent_after_write() IS
	'Trigger AFTER INSERT, UPDATE OF status and DELETE on inbox.agent: a status change notifies ({"op": "agent", "agent": id}); an agent that is online now, or the others when one is deleted, take the waiting contacts of a space that assigns';
COMMENT ON FUNCTION inbox.agent_state_after_update() IS
	'Trigger AFTER UPDATE OF open_count on inbox.agent_state: a count that went down (a close, an unassignment, a deleted contact) lets the waiting contacts take the seats there are';
COMMENT ON FUNCTION inbox.notify_change() IS
	'Trigger AFTER INSERT, UPDATE OR DELETE on contact, conversation, message, event and comment (argument: the table name): records the change, sent at commit with pg_notify on channel inbox_<space_id> (ids only, one per contact and op; one "mention" per agent a new comment mentions); nothing when inbox.notify is off';

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
COMMENT ON FUNCTION inbox.receive_message(bigint, bigint, text, text, text, text, jsonb, timestamptz, jsonb) IS
	'Record a message a contact sent on a channel (contact_ref = the sender''s id there; an unknown sender becomes a contact, or an identity of the one contact whose e-mail or phone its profile names); returns the message id, the stored one when external_id was already received on the channel. 22023 bad argument (empty contact_ref, neither body nor content, a body empty or only white space without content, unknown profile key, id over 1024 bytes, at infinite, from the year 10000 or more than 5 minutes ahead of the clock), P0002 unknown channel, 42501 caller not an admin of the space';
COMMENT ON FUNCTION inbox.send_message(bigint, bigint, bigint, text, bigint, text, jsonb) IS
	'Queue an outgoing message (status pending) to a contact on a channel it has an identity on; a user message opens a conversation if none and assigns an unassigned contact to agent; returns the message id. 22023 bad sender_kind, user without agent, neither body nor content, a body empty or only white space without content; P0002 unknown contact, channel or agent; 23503 no identity on the channel; 55000 messaging window closed for any sender kind but the echoes whatsapp_echo and facebook_inbox (use a template or allowed tag in content) or contact merged; 42501 agent not the caller''s own';
COMMENT ON FUNCTION inbox.set_message_status(bigint, bigint, text, timestamptz, text) IS
	'Record a delivery report (sent, delivered, read, or failed with error) of an outgoing message; returns the resulting status, which never moves back. 22023 unknown status, error without failed, a status the channel kind does not report, or at infinite or from the year 10000; P0002 unknown message; 55000 an incoming message; 42501 caller not an admin of the space';
COMMENT ON FUNCTION inbox.assign(bigint, bigint, bigint, text, bigint) IS
	'Assign a contact to an agent of its space (assignee NULL = unassign), writing assigned or unassigned; opens a conversation if none is open; returns nothing. 22023 unknown actor_kind; P0002 unknown contact or agent; 55000 contact merged; 42501 actor_agent not the caller''s own';
COMMENT ON FUNCTION inbox.open_conversation(bigint, bigint, text, bigint, text, text) IS
	'Open a conversation for a contact ("mark pending"), writing conversation_opened with reference and source_url; returns its id, or that of the conversation already open (then nothing is written). 22023 NULL or unknown actor_kind; P0002 unknown contact or agent; 55000 contact merged; 42501 actor_agent not the caller''s own';
COMMENT ON FUNCTION inbox.close_conversation(bigint, bigint, text, bigint, text, text) IS
	'Close a contact''s open conversation ("mark done") with category and summary, writing conversation_closed and, if it was assigned, unassigned; returns the conversation id. 55000 no open conversation; 22023 NULL or unknown actor_kind; P0002 unknown contact or agent; 42501 actor_agent not the caller''s own';
COMMENT ON FUNCTION inbox.mark_read(bigint, bigint, bigint) IS
	'Mark every incoming message of a contact read (unread_count becomes 0), for agent; returns how many were unread. 22023 NULL contact or agent; P0002 unknown contact or agent; 42501 agent not the caller''s own';
COMMENT ON FUNCTION inbox.snooze(bigint, bigint, timestamptz, bigint) IS
	'Leave a contact out of every list and count until a future time, writing contact_snoozed (actor user); it comes back then, on unsnooze() or on an incoming message; returns nothing. 22023 until not later than the clock, infinite or from the year 10000; P0002 unknown contact or agent; 55000 contact merged; 42501 agent not the caller''s own';
COMMENT ON FUNCTION inbox.unsnooze(bigint, bigint, bigint) IS
	'End a contact''s snooze early, writing contact_unsnoozed (actor user); a contact that is not snoozed is left alone, without event or error; returns nothing. P0002 unknown contact or agent; 55000 contact merged; 42501 agent not the caller''s own';
COMMENT ON FUNCTION inbox.wake_due_snoozes(integer) IS
	'Unsnooze up to max contacts whose snooze time has come (contact_unsnoozed, actor system); safe with concurrent callers; returns how many. For an external inbox-worker snooze, granted to nobody by default; 22023 when max is not positive';
COMMENT ON FUNCTION inbox.configure_space(bigint, interval, boolean, text, integer, interval) IS
	'Set the automation of a space; only the settings given (not NULL) change (turn one off with UPDATE inbox.space SET ... = NULL); returns nothing. 22023 an interval not positive or over 100 years, an unknown assignment (manual, round_robin, least_open), a negative cap; P0002 unknown space; 42501 caller not an admin of the space';
COMMENT ON FUNCTION inbox.set_agent_status(bigint, bigint, text) IS
	'Set an agent''s status (online, busy, offline), notifying {"op": "agent"} when it changes; an agent coming online takes waiting contacts, and counts as acting; returns nothing. 22023 unknown status; P0002 unknown agent; 42501 agent not the caller''s own';
COMMENT ON FUNCTION inbox.record_event(bigint, bigint, text, text, bigint, text, text, jsonb) IS
	'Record an event from outside (survey, bot status, channel event, page change, ...) in the contact''s open conversation, if any; returns the event id. 22023 (kind, actor_kind) not in inbox.event_kind, a kind inbox writes itself (use its function), or data not an object; P0002 unknown contact or agent; 55000 contact merged; 42501 actor_agent not the caller''s own';
COMMENT ON FUNCTION inbox.view_counts(bigint, bigint) IS
	'One row per view: all, mine (when agent is given), unassigned, then each custom view the agent sees (view = its id), with its contacts and those with unread messages. 22023 NULL space; P0002 unknown space or agent; 42501 agent not the caller''s own';
COMMENT ON FUNCTION inbox.contact_list(bigint, bigint, text, text, text, integer) IS
	'A page of the contacts of a view (all, mine, unassigned or a custom view''s id), newest message first, each row with what a list draws (the last channel''s kind, the assignee''s name, the newest message''s preview and status, the tags); search matches name, e-mail or phone; pass the last row''s cursor for the next page. 22023 unknown view, mine without agent, bad cursor, page_size not 1 to 1000; P0002 unknown space, agent or view; 42501 agent not the caller''s own';
COMMENT ON FUNCTION inbox.history(bigint, bigint, text, integer) IS
	'A page of a contact''s messages, events and comments (item comment: the author''s name as sender_label, {"mentions": [...]} as data), oldest first within the page: the newest page_size items, or those before the cursor of an earlier page''s first row. 22023 bad cursor or page_size not 1 to 1000; P0002 unknown contact';
COMMENT ON FUNCTION inbox.merge_contacts(bigint, bigint, bigint, text, bigint) IS
	'Merge contact merge into keep (one person): identities, conversations, messages and events move to keep, the newer of two open conversations absorbs the older, contact_merged is written; returns nothing. 22023 a contact with itself or unknown actor_kind; P0002 unknown contact or contacts of two spaces; 55000 either contact already merged; 42501 actor_agent not the caller''s own';
COMMENT ON FUNCTION inbox.unmerge_contacts(bigint, bigint, bigint, text, bigint) IS
	'Undo the last merge of merged into keep: both contacts as they were, and messages that came since on a channel only merged had go back with it; writes contact_unmerged; returns nothing. 22023 a contact with itself or unknown actor_kind; P0002 unknown contact; 55000 merged is not merged into keep; 42501 actor_agent not the caller''s own';
COMMENT ON FUNCTION inbox.update_contact(bigint, bigint, bigint, text, text, text, text, text[], jsonb) IS
	'Change a contact''s details for agent: only the fields given change ('''' clears a text field, tags replace the list, each tag once, custom merges key by key and a key given as JSON null is removed); when something changed, writes contact_updated (actor user, data {"fields": [the changed fields]}); returns nothing. 22023 NULL space, contact or agent, a text field over 1024 bytes, tags not a list of non-empty texts up to 1024 bytes, custom not an object; P0002 unknown contact or agent; 55000 contact merged; 42501 agent not the caller''s own';
COMMENT ON FUNCTION inbox.save_view(bigint, bigint, text, jsonb, boolean, bigint) IS
	'Save a custom view: a new one (view NULL) or a change of view, private to agent or, with shared, for the whole space; returns the view id. 22023 NULL or empty name, filter not an object or with an unknown key or value, NULL shared; P0002 unknown space, agent or view, or a private view of another agent; 42501 agent not the caller''s own, or a shared view saved or changed by a caller who is not an admin of the space';
COMMENT ON FUNCTION inbox.delete_view(bigint, bigint, bigint) IS
	'Delete a custom view: agent''s own private view, or a shared one (admins only); returns nothing. 22023 NULL space, agent or view; P0002 unknown space, agent or view, or a private view of another agent; 42501 agent not the caller''s own, or a shared view by a caller who is not an admin of the space';
COMMENT ON FUNCTION inbox.add_comment(bigint, bigint, bigint, text, bigint[]) IS
	'Add an internal note by agent on a contact, in its open conversation if any: never sent to the contact, shown in history() as item comment with the author''s name; each agent in mentions is notified ({"op": "mention", "contact": .., "comment": .., "agent": ..}); returns the comment id. 22023 NULL space, contact or agent, a body NULL, empty or only white space, a NULL in mentions; P0002 unknown contact or agent, a mentioned agent that is not of the space; 55000 contact merged; 42501 agent not the caller''s own';
