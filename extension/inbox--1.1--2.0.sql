/*
 * extension/inbox--1.1--2.0.sql: from inbox 1.1 to 2.0.
 *
 * 2.0 is shard-local by space (README, "Migrating from 1.x to 2.0"):
 * every API function takes the space first (the 1.x signatures are
 * dropped), every key of a table of a space leads with space_id, and the
 * row-level security policies call their functions without subqueries.
 * test/upgrade checks that a 1.1 install with data, upgraded with ALTER
 * EXTENSION inbox UPDATE, has the objects of a fresh 2.0 install.
 *
 * Plan it like a migration: the primary keys and unique indexes of the
 * tables of a space are rebuilt, under ACCESS EXCLUSIVE locks; run ANALYZE
 * afterwards.  Run it before distributing the tables with Citus (a 1.1
 * schema cannot be distributed).
 */

\echo Use "ALTER EXTENSION inbox UPDATE TO '2.0'" to load this file. \quit

/*
 * ------------------------------------------------------------------
 * Keys: (space_id, id) primary keys, foreign keys and unique indexes
 * leading with space_id.  A key that sets a column NULL when its row goes
 * (a deleted agent or channel) names the id alone: Citus refuses SET NULL
 * on a key that contains the distribution column.  message.reply_to_id
 * has no key: the message rules clear it when the quoted message goes.
 * ------------------------------------------------------------------
 */

-- first the foreign keys that use the id-only keys
ALTER TABLE inbox.contact
	DROP CONSTRAINT contact_assignee_id_space_id_fkey,
	DROP CONSTRAINT contact_origin_channel_id_space_id_fkey,
	DROP CONSTRAINT contact_last_channel_id_space_id_fkey,
	DROP CONSTRAINT contact_merged_into_fkey;
ALTER TABLE inbox.contact_channel
	DROP CONSTRAINT contact_channel_contact_id_fkey,
	DROP CONSTRAINT contact_channel_channel_id_fkey;
ALTER TABLE inbox.conversation
	DROP CONSTRAINT conversation_contact_id_fkey,
	DROP CONSTRAINT conversation_opened_by_agent_fkey,
	DROP CONSTRAINT conversation_closed_by_agent_fkey;
ALTER TABLE inbox.message
	DROP CONSTRAINT message_contact_id_fkey,
	DROP CONSTRAINT message_conversation_id_fkey,
	DROP CONSTRAINT message_channel_id_fkey,
	DROP CONSTRAINT message_sender_agent_id_fkey,
	DROP CONSTRAINT message_reply_to_id_fkey;
ALTER TABLE inbox.event
	DROP CONSTRAINT event_contact_id_fkey,
	DROP CONSTRAINT event_conversation_id_fkey,
	DROP CONSTRAINT event_actor_agent_id_fkey,
	DROP CONSTRAINT event_target_agent_id_fkey;
ALTER TABLE inbox.view DROP CONSTRAINT view_owner_agent_id_fkey;
ALTER TABLE inbox.contact_merge
	DROP CONSTRAINT contact_merge_keep_id_fkey,
	DROP CONSTRAINT contact_merge_merged_id_fkey,
	DROP CONSTRAINT contact_merge_actor_agent_id_fkey;

-- then the keys themselves
ALTER TABLE inbox.agent DROP CONSTRAINT agent_pkey, DROP CONSTRAINT agent_id_space_id_key,
	ADD PRIMARY KEY (space_id, id), ADD UNIQUE (id);
ALTER TABLE inbox.channel DROP CONSTRAINT channel_pkey, DROP CONSTRAINT channel_id_space_id_key,
	ADD PRIMARY KEY (space_id, id), ADD UNIQUE (id);
DROP INDEX inbox.agent_space_idx, inbox.channel_space_idx, inbox.view_space_idx;
ALTER TABLE inbox.contact DROP CONSTRAINT contact_pkey, ADD PRIMARY KEY (space_id, id);
ALTER TABLE inbox.contact_channel DROP CONSTRAINT contact_channel_pkey,
	ADD PRIMARY KEY (space_id, channel_id, external_id);
ALTER TABLE inbox.conversation DROP CONSTRAINT conversation_pkey, ADD PRIMARY KEY (space_id, id);
ALTER TABLE inbox.message DROP CONSTRAINT message_pkey, ADD PRIMARY KEY (space_id, id);
ALTER TABLE inbox.event DROP CONSTRAINT event_pkey, ADD PRIMARY KEY (space_id, id);
ALTER TABLE inbox.view DROP CONSTRAINT view_pkey, ADD PRIMARY KEY (space_id, id);
ALTER TABLE inbox.contact_merge DROP CONSTRAINT contact_merge_pkey, ADD PRIMARY KEY (space_id, id);

-- indexes that lead with the space
DROP INDEX inbox.contact_assignee_idx, inbox.contact_view_mine_idx, inbox.contact_channel_contact_idx,
	inbox.conversation_one_open_idx, inbox.conversation_contact_idx,
	inbox.message_contact_time_idx, inbox.message_conversation_idx, inbox.message_external_idx,
	inbox.message_unread_idx, inbox.event_contact_time_idx, inbox.event_conversation_idx,
	inbox.contact_merge_pair_idx, inbox.contact_merge_merged_idx;
CREATE INDEX contact_assignee_idx ON inbox.contact (space_id, assignee_id) WHERE assignee_id IS NOT NULL;
CREATE INDEX contact_view_mine_idx ON inbox.contact (space_id, assignee_id, last_message_at DESC, id DESC)
	WHERE assignee_id IS NOT NULL AND snoozed_until IS NULL AND merged_into IS NULL;
CREATE INDEX contact_channel_contact_idx ON inbox.contact_channel (space_id, contact_id, channel_id);
CREATE UNIQUE INDEX conversation_one_open_idx ON inbox.conversation (space_id, contact_id) WHERE closed_at IS NULL;
CREATE INDEX conversation_contact_idx ON inbox.conversation (space_id, contact_id, opened_at);
CREATE INDEX message_contact_time_idx ON inbox.message (space_id, contact_id, created_at, id);
CREATE INDEX message_conversation_idx ON inbox.message (space_id, conversation_id, created_at);
CREATE UNIQUE INDEX message_external_idx ON inbox.message (space_id, channel_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX message_unread_idx ON inbox.message (space_id, contact_id) WHERE direction = 'incoming' AND read_at IS NULL;
CREATE INDEX message_reply_to_idx ON inbox.message (space_id, reply_to_id) WHERE reply_to_id IS NOT NULL;
CREATE INDEX event_contact_time_idx ON inbox.event (space_id, contact_id, created_at, id);
CREATE INDEX event_conversation_idx ON inbox.event (space_id, conversation_id);
CREATE INDEX contact_merge_pair_idx ON inbox.contact_merge (space_id, keep_id, merged_id);
CREATE INDEX contact_merge_merged_idx ON inbox.contact_merge (space_id, merged_id);

-- and the foreign keys again, composite between the tables of a space
ALTER TABLE inbox.contact
	ADD FOREIGN KEY (assignee_id) REFERENCES inbox.agent (id) ON DELETE SET NULL,
	ADD FOREIGN KEY (origin_channel_id) REFERENCES inbox.channel (id) ON DELETE SET NULL,
	ADD FOREIGN KEY (last_channel_id) REFERENCES inbox.channel (id) ON DELETE SET NULL,
	ADD FOREIGN KEY (space_id, merged_into) REFERENCES inbox.contact (space_id, id);
ALTER TABLE inbox.contact_channel
	ADD FOREIGN KEY (space_id, contact_id) REFERENCES inbox.contact (space_id, id) ON DELETE CASCADE,
	ADD FOREIGN KEY (space_id, channel_id) REFERENCES inbox.channel (space_id, id) ON DELETE CASCADE;
ALTER TABLE inbox.conversation
	ADD FOREIGN KEY (space_id, contact_id) REFERENCES inbox.contact (space_id, id) ON DELETE CASCADE,
	ADD FOREIGN KEY (opened_by_agent) REFERENCES inbox.agent (id) ON DELETE SET NULL,
	ADD FOREIGN KEY (closed_by_agent) REFERENCES inbox.agent (id) ON DELETE SET NULL;
ALTER TABLE inbox.message
	ADD FOREIGN KEY (space_id, contact_id) REFERENCES inbox.contact (space_id, id) ON DELETE CASCADE,
	ADD FOREIGN KEY (space_id, conversation_id) REFERENCES inbox.conversation (space_id, id),
	ADD FOREIGN KEY (space_id, channel_id) REFERENCES inbox.channel (space_id, id) ON DELETE CASCADE,
	ADD FOREIGN KEY (sender_agent_id) REFERENCES inbox.agent (id) ON DELETE SET NULL;
ALTER TABLE inbox.event
	ADD FOREIGN KEY (space_id, contact_id) REFERENCES inbox.contact (space_id, id) ON DELETE CASCADE,
	ADD FOREIGN KEY (space_id, conversation_id) REFERENCES inbox.conversation (space_id, id) ON DELETE CASCADE,
	ADD FOREIGN KEY (actor_agent_id) REFERENCES inbox.agent (id) ON DELETE SET NULL,
	ADD FOREIGN KEY (target_agent_id) REFERENCES inbox.agent (id) ON DELETE SET NULL;
ALTER TABLE inbox.view
	ADD FOREIGN KEY (space_id, owner_agent_id) REFERENCES inbox.agent (space_id, id) ON DELETE CASCADE;
ALTER TABLE inbox.contact_merge
	ADD FOREIGN KEY (space_id, keep_id) REFERENCES inbox.contact (space_id, id) ON DELETE CASCADE,
	ADD FOREIGN KEY (space_id, merged_id) REFERENCES inbox.contact (space_id, id) ON DELETE CASCADE,
	ADD FOREIGN KEY (actor_agent_id) REFERENCES inbox.agent (id) ON DELETE SET NULL;

