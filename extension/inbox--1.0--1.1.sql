/*
 * extension/inbox--1.0--1.1.sql: from inbox 1.0 to 1.1.
 *
 * test/upgrade checks that a 1.0 install with data, upgraded with
 * ALTER EXTENSION inbox UPDATE, has the objects of a fresh 1.1 install.
 */

\echo Use "ALTER EXTENSION inbox UPDATE TO '1.1'" to load this file. \quit

-- ingest speed (issue 10): PostgreSQL parses generated columns and trigger
-- WHEN clauses again for every statement, and every message updates its
-- contact; the contact's triggers now do this work in C

-- the checks of the columns a message writes: PostgreSQL reads a table's
-- CHECK constraints again for every statement, and every message updates
-- its contact and identity.
-- - A message's direction and status, and the contact's maintained columns,
--   are checked by the rules' triggers (22023) before any CHECK could fail.
ALTER TABLE inbox.message DROP CONSTRAINT message_direction_check,
	DROP CONSTRAINT message_status_check;
ALTER TABLE inbox.contact DROP CONSTRAINT contact_unread_count_check,
	DROP CONSTRAINT contact_last_message_direction_check;
-- - The others become domains, checked when a value is assigned with
--   expressions PostgreSQL keeps for the session.  The domains get their
--   checks after the columns their type, so that no table is rewritten,
--   only scanned.
CREATE DOMAIN inbox.platform_id AS text;
CREATE DOMAIN inbox.sender_id AS inbox.platform_id;
CREATE DOMAIN inbox.json_object AS jsonb;
ALTER TABLE inbox.contact DROP CONSTRAINT contact_custom_check,
	ALTER COLUMN custom TYPE inbox.json_object;
ALTER TABLE inbox.contact_channel DROP CONSTRAINT contact_channel_external_id_check,
	ALTER COLUMN external_id TYPE inbox.sender_id;
ALTER TABLE inbox.message DROP CONSTRAINT message_external_id_check,
	DROP CONSTRAINT message_reply_to_external_id_check,
	ALTER COLUMN external_id TYPE inbox.platform_id,
	ALTER COLUMN reply_to_external_id TYPE inbox.platform_id;
ALTER DOMAIN inbox.platform_id ADD CONSTRAINT platform_id_check CHECK (octet_length(VALUE) <= 1024);
ALTER DOMAIN inbox.sender_id ADD CONSTRAINT sender_id_check CHECK (VALUE <> '');
ALTER DOMAIN inbox.json_object ADD CONSTRAINT json_object_check CHECK (jsonb_typeof(VALUE) = 'object');
COMMENT ON DOMAIN inbox.platform_id IS 'an id given by a messaging platform, up to 1024 bytes';
COMMENT ON DOMAIN inbox.sender_id IS 'a non-empty platform id of a sender';
COMMENT ON DOMAIN inbox.json_object IS 'a JSON object';

-- search_text and phone_digits keep their values and are kept by a trigger
-- of their own, enabled ALWAYS so that a restore computes them too
ALTER TABLE inbox.contact ALTER COLUMN search_text DROP EXPRESSION;
ALTER TABLE inbox.contact ALTER COLUMN phone_digits DROP EXPRESSION;
COMMENT ON COLUMN inbox.contact.search_text IS 'lower-case name and e-mail, for search (kept by the contact''s trigger)';
COMMENT ON COLUMN inbox.contact.phone_digits IS 'the digits of phone, for search in any formatting (kept by the contact''s trigger)';
CREATE FUNCTION inbox.contact_search_columns() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_contact_search_columns' LANGUAGE C;
CREATE TRIGGER contact_search_columns BEFORE INSERT OR UPDATE ON inbox.contact
	FOR EACH ROW EXECUTE FUNCTION inbox.contact_search_columns();
ALTER TABLE inbox.contact ENABLE ALWAYS TRIGGER contact_search_columns;
COMMENT ON FUNCTION inbox.contact_search_columns() IS
	'Trigger BEFORE INSERT OR UPDATE on inbox.contact (enabled always): search_text and phone_digits follow the name, e-mail and phone; a direct write of them is replaced';
REVOKE ALL ON FUNCTION inbox.contact_search_columns() FROM PUBLIC;

-- one AFTER UPDATE trigger without WHEN: the function tests what changed
-- and then counts the views
DROP TRIGGER contact_counts_update ON inbox.contact;
DROP TRIGGER contact_after_update ON inbox.contact;
CREATE TRIGGER contact_after_update AFTER UPDATE ON inbox.contact
	FOR EACH ROW EXECUTE FUNCTION inbox.contact_after_update();
COMMENT ON FUNCTION inbox.contact_after_update() IS
	'Trigger AFTER UPDATE on inbox.contact: a new assignee writes assigned or unassigned (opening a conversation first if none), a reset of unread_count marks the incoming messages read, a snooze change writes contact_snoozed or contact_unsnoozed; then the change of the contact''s view membership is added to inbox.view_count';
COMMENT ON FUNCTION inbox.contact_counts() IS
	'Trigger AFTER INSERT OR DELETE on inbox.contact: adds the change of the contact''s view membership to inbox.view_count (contact_after_update does it for an UPDATE)';

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

COMMENT ON FUNCTION inbox.channel_cache_invalidate() IS
	'Trigger AFTER each row written and each TRUNCATE of inbox.channel or inbox.channel_kind (enabled always): every session forgets the channels it keeps in memory, when the change commits';
REVOKE ALL ON FUNCTION inbox.channel_cache_invalidate() FROM PUBLIC;

-- check_integrity() also checks the search columns
CREATE OR REPLACE FUNCTION inbox.check_integrity()
RETURNS TABLE (invariant text, violations bigint, example text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT i.invariant, count(*), min(i.example)
	FROM (
		SELECT 'one open conversation per contact' AS invariant, 'contact ' || contact_id AS example
		FROM inbox.conversation WHERE closed_at IS NULL GROUP BY contact_id HAVING count(*) > 1
	UNION ALL
		SELECT 'a message belongs to a conversation of its own contact', 'message ' || m.id
		FROM inbox.message m JOIN inbox.conversation c ON c.id = m.conversation_id
		WHERE c.contact_id <> m.contact_id
	UNION ALL
		SELECT 'no message lands in a closed conversation', 'message ' || m.id
		FROM inbox.message m JOIN inbox.conversation c ON c.id = m.conversation_id
		WHERE c.closed_at IS NOT NULL AND m.created_at > c.closed_at
	UNION ALL
		SELECT 'incoming and user messages belong to a conversation', 'message ' || id
		FROM inbox.message
		WHERE conversation_id IS NULL AND (direction = 'incoming' OR sender_kind = 'user')
	UNION ALL
		SELECT 'an assigned contact has an open conversation', 'contact ' || ct.id
		FROM inbox.contact ct
		WHERE ct.assignee_id IS NOT NULL
		  AND NOT EXISTS (SELECT 1 FROM inbox.conversation c WHERE c.contact_id = ct.id AND c.closed_at IS NULL)
	UNION ALL
		SELECT 'unread_count equals the unread incoming messages', 'contact ' || ct.id
		FROM inbox.contact ct
		WHERE ct.unread_count <> (SELECT count(*) FROM inbox.message m
								  WHERE m.contact_id = ct.id AND m.direction = 'incoming' AND m.read_at IS NULL)
	UNION ALL
		SELECT 'last_message_* describe the newest message', 'contact ' || ct.id
		FROM inbox.contact ct
		LEFT JOIN LATERAL (SELECT m.id, m.created_at, m.direction, m.channel_id FROM inbox.message m
						   WHERE m.contact_id = ct.id ORDER BY m.created_at DESC, m.id DESC LIMIT 1) n ON true
		WHERE (ct.last_message_id, ct.last_message_at, ct.last_message_direction, ct.last_channel_id)
			  IS DISTINCT FROM (n.id, n.created_at, n.direction, n.channel_id)
	UNION ALL
		SELECT 'rows of a contact share its space', 'contact ' || ct.id
		FROM inbox.contact ct
		WHERE EXISTS (SELECT 1 FROM inbox.message m WHERE m.contact_id = ct.id AND m.space_id <> ct.space_id)
		   OR EXISTS (SELECT 1 FROM inbox.conversation c WHERE c.contact_id = ct.id AND c.space_id <> ct.space_id)
		   OR EXISTS (SELECT 1 FROM inbox.event e WHERE e.contact_id = ct.id AND e.space_id <> ct.space_id)
		   OR EXISTS (SELECT 1 FROM inbox.contact_channel cc WHERE cc.contact_id = ct.id AND cc.space_id <> ct.space_id)
	UNION ALL
		SELECT 'a message''s channel is in its space', 'message ' || m.id
		FROM inbox.message m JOIN inbox.channel ch ON ch.id = m.channel_id
		WHERE ch.space_id <> m.space_id
	UNION ALL
		SELECT 'an event belongs to a conversation of its own contact', 'event ' || e.id
		FROM inbox.event e JOIN inbox.conversation c ON c.id = e.conversation_id
		WHERE c.contact_id <> e.contact_id
	UNION ALL
		SELECT 'every conversation has its conversation_opened event', 'conversation ' || c.id
		FROM inbox.conversation c
		WHERE NOT EXISTS (SELECT 1 FROM inbox.event e
						  WHERE e.conversation_id = c.id AND e.kind = 'conversation_opened')
	UNION ALL
		SELECT 'every closed conversation has its conversation_closed event', 'conversation ' || c.id
		FROM inbox.conversation c
		WHERE c.closed_at IS NOT NULL
		  AND NOT EXISTS (SELECT 1 FROM inbox.event e
						  WHERE e.conversation_id = c.id AND e.kind = 'conversation_closed')
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
		  AND (EXISTS (SELECT FROM inbox.contact_channel x WHERE x.contact_id = ct.id)
			   OR EXISTS (SELECT FROM inbox.conversation x WHERE x.contact_id = ct.id)
			   OR EXISTS (SELECT FROM inbox.message x WHERE x.contact_id = ct.id)
			   OR EXISTS (SELECT FROM inbox.event x WHERE x.contact_id = ct.id))
	UNION ALL
		SELECT 'search columns follow the name, e-mail and phone', 'contact ' || id
		FROM inbox.contact
		WHERE search_text IS DISTINCT FROM lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(email, ''))
		   OR phone_digits IS DISTINCT FROM regexp_replace(phone, '[^0-9]', '', 'g')
	UNION ALL
		SELECT 'open_conversation_id is the open conversation', 'contact ' || ct.id
		FROM inbox.contact ct
		LEFT JOIN inbox.conversation c ON c.contact_id = ct.id AND c.closed_at IS NULL
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
