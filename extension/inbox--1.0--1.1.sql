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

-- search_text and phone_digits keep their values and are kept by
-- contact_before_write
ALTER TABLE inbox.contact ALTER COLUMN search_text DROP EXPRESSION;
ALTER TABLE inbox.contact ALTER COLUMN phone_digits DROP EXPRESSION;
COMMENT ON COLUMN inbox.contact.search_text IS 'lower-case name and e-mail, for search (kept by the contact''s trigger)';
COMMENT ON COLUMN inbox.contact.phone_digits IS 'the digits of phone, for search in any formatting (kept by the contact''s trigger)';
COMMENT ON FUNCTION inbox.contact_before_write() IS
	'Trigger BEFORE INSERT OR UPDATE on inbox.contact: a contact is inserted unassigned, id and space_id never change, maintained columns are refused (22023; unread_count may be reset to 0), an assignee must be of the space (P0002), a snooze set by UPDATE must be in the future (22023); search_text and phone_digits follow the name, e-mail and phone';

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
-- of a channel or channel kind empties the caches, even during a restore
CREATE FUNCTION inbox.channel_cache_invalidate() RETURNS trigger
	AS 'MODULE_PATHNAME', 'inbox_channel_cache_invalidate' LANGUAGE C;
CREATE TRIGGER channel_cache_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON inbox.channel
	FOR EACH STATEMENT EXECUTE FUNCTION inbox.channel_cache_invalidate();
CREATE TRIGGER channel_cache_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON inbox.channel_kind
	FOR EACH STATEMENT EXECUTE FUNCTION inbox.channel_cache_invalidate();
ALTER TABLE inbox.channel ENABLE ALWAYS TRIGGER channel_cache_invalidate;
ALTER TABLE inbox.channel_kind ENABLE ALWAYS TRIGGER channel_cache_invalidate;
COMMENT ON FUNCTION inbox.channel_cache_invalidate() IS
	'Trigger AFTER each statement writing inbox.channel or inbox.channel_kind (enabled always): every session forgets the channels it keeps in memory, when the change commits';
REVOKE ALL ON FUNCTION inbox.channel_cache_invalidate() FROM PUBLIC;
