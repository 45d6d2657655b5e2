--
-- space_first: the contract of inbox 2.0, where every call and every row
-- names its space (spec "inbox 2.0").
--
-- Proves:
--  * every space-first API function given an id of another space (contact,
--    channel, message, agent) refuses it with P0002 and the very message it
--    gives for an id that does not exist (no leak of what another space
--    has), for the extension's owner and for an admin of the space; a NULL
--    space is 22023; nothing is written;
--  * the C functions refuse the 1.x SQL objects, which call them with one
--    argument less (0A000, hint ALTER EXTENSION inbox UPDATE), reading no
--    argument; nothing is written;
--  * a plain INSERT must name space_id (23502: nothing fills it in), and a
--    space_id that is not the contact's is P0002;
--  * a row naming an agent or a channel of another space is refused (P0002):
--    an assignee, an origin channel, the agents who open or close a
--    conversation, a message's channel and sender, an event's agents, a
--    view's owner, an identity's channel, the actor of a plain write
--    (inbox.actor_agent); a reply_to_id that is not a message of the
--    contact is 23503;
--  * check_integrity() finds rows that break the keys 2.0 leaves to the
--    rules (agents and channels of another space, a quote of another
--    contact's message, a row in another space than its contact); healthy
--    again after the rollback.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('space first') AS a \gset
SELECT inbox.create_agent(:a, 'Ada') AS ada \gset
SELECT inbox.create_channel(:a, 'telegram', 'Telegram A') AS ch_a \gset
SELECT inbox.create_space('the other space') AS b \gset
SELECT inbox.create_agent(:b, 'Bo') AS bo \gset
SELECT inbox.create_channel(:b, 'telegram', 'Telegram B') AS ch_b \gset

-- Ann and Abe write to space A, Bea and Ben to space B; each gets a reply
SELECT inbox.receive_message(:a, :ch_a, 'ann', 'hi from Ann', external_id => 'ann-1') AS m_ann \gset
SELECT contact_id AS ann FROM inbox.message WHERE id = :m_ann \gset
SELECT inbox.receive_message(:a, :ch_a, 'abe', 'hi from Abe') AS m \gset
SELECT contact_id AS abe FROM inbox.message WHERE id = :m \gset
SELECT inbox.receive_message(:b, :ch_b, 'bea', 'hi from Bea', external_id => 'bea-1') AS m_bea \gset
SELECT contact_id AS bea FROM inbox.message WHERE id = :m_bea \gset
SELECT inbox.receive_message(:b, :ch_b, 'ben', 'hi from Ben') AS m \gset
SELECT contact_id AS ben FROM inbox.message WHERE id = :m \gset
SELECT inbox.send_message(:a, :ann, :ch_a, 'hello Ann', :ada) AS out_a \gset
SELECT inbox.send_message(:b, :bea, :ch_b, 'hello Bea', :bo) AS out_b \gset
SELECT inbox.merge_contacts(:b, :bea, :ben);

-- the outcome of a statement: ok, or its SQLSTATE and message with the id
-- given shown as N and the space as S, so that two outcomes compare
CREATE FUNCTION pg_temp.outcome(statement text, id bigint, space bigint) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ' ' || regexp_replace(regexp_replace(SQLERRM, '\m' || id || '\M', 'N', 'g'),
											 '\m' || space || '\M', 'S', 'g');
END
$$;

-- each call of space A, {id} an id of space B ("other") or of nothing (999999999)
CREATE TEMP TABLE calls (name text, statement text, other bigint);
INSERT INTO calls VALUES
	('receive_message: channel', 'SELECT inbox.receive_message({space}, {id}, ''ann'', ''hi'')', :ch_b),
	('send_message: contact', format('SELECT inbox.send_message({space}, {id}, %s, ''hi'', %s)', :ch_a, :ada), :bea),
	('send_message: channel', format('SELECT inbox.send_message({space}, %s, {id}, ''hi'', %s)', :ann, :ada), :ch_b),
	('send_message: agent', format('SELECT inbox.send_message({space}, %s, %s, ''hi'', {id})', :ann, :ch_a), :bo),
	('set_message_status: message', 'SELECT inbox.set_message_status({space}, {id}, ''sent'')', :out_b),
	('assign: contact', format('SELECT inbox.assign({space}, {id}, %s)', :ada), :bea),
	('assign: assignee', format('SELECT inbox.assign({space}, %s, {id})', :ann), :bo),
	('assign: actor agent', format('SELECT inbox.assign({space}, %s, %s, ''user'', {id})', :ann, :ada), :bo),
	('open_conversation: contact', 'SELECT inbox.open_conversation({space}, {id}, ''user'')', :bea),
	('open_conversation: actor agent', format('SELECT inbox.open_conversation({space}, %s, ''user'', {id})', :ann), :bo),
	('close_conversation: contact', 'SELECT inbox.close_conversation({space}, {id}, ''user'')', :bea),
	('close_conversation: actor agent', format('SELECT inbox.close_conversation({space}, %s, ''user'', {id})', :ann), :bo),
	('snooze: contact', format('SELECT inbox.snooze({space}, {id}, now() + interval ''1 day'', %s)', :ada), :bea),
	('snooze: agent', format('SELECT inbox.snooze({space}, %s, now() + interval ''1 day'', {id})', :ann), :bo),
	('unsnooze: contact', format('SELECT inbox.unsnooze({space}, {id}, %s)', :ada), :bea),
	('mark_read: contact', format('SELECT inbox.mark_read({space}, {id}, %s)', :ada), :bea),
	('mark_read: agent', format('SELECT inbox.mark_read({space}, %s, {id})', :ann), :bo),
	('merge_contacts: keep', format('SELECT inbox.merge_contacts({space}, {id}, %s)', :abe), :bea),
	('merge_contacts: merge', format('SELECT inbox.merge_contacts({space}, %s, {id})', :ann), :bea),
	('unmerge_contacts: merged', format('SELECT inbox.unmerge_contacts({space}, %s, {id})', :ann), :ben),
	('record_event: contact', 'SELECT inbox.record_event({space}, {id}, ''page_change'', ''contact'')', :bea),
	('record_event: actor agent', format('SELECT inbox.record_event({space}, %s, ''bot_status_on'', ''user'', {id})', :ann), :bo),
	('history: contact', 'SELECT inbox.history({space}, {id})', :bea);
GRANT SELECT ON calls TO PUBLIC;

-- every refusal below runs in one transaction, after a message that must stay
BEGIN;
SELECT inbox.receive_message(:a, :ch_a, 'ann', 'one more') IS NOT NULL AS received;
SELECT regress.fingerprint() AS before \gset

-- as the owner: an id of space B is not found, exactly as an unknown id
SELECT name, pg_temp.outcome(replace(replace(statement, '{space}', :'a'), '{id}', other::text), other, :a) AS other_space,
	   pg_temp.outcome(replace(replace(statement, '{space}', :'a'), '{id}', other::text), other, :a)
	   = pg_temp.outcome(replace(replace(statement, '{space}', :'a'), '{id}', '999999999'), 999999999, :a) AS as_unknown
FROM calls ORDER BY name;

-- a NULL space (22023)
SELECT name, pg_temp.outcome(replace(replace(statement, '{space}', 'NULL'), '{id}', other::text), other, :a) AS null_space
FROM calls ORDER BY name;

-- as an admin of space A (not the owner: the checks of security.c run first)
CREATE ROLE regress_inbox_space_first;
GRANT inbox_admin TO regress_inbox_space_first;
INSERT INTO inbox.space_admin (space_id, db_role) VALUES (:a, 'regress_inbox_space_first');
SELECT regress.fingerprint() AS before \gset
SET ROLE regress_inbox_space_first;
SELECT name, pg_temp.outcome(replace(replace(statement, '{space}', :'a'), '{id}', other::text), other, :a) AS other_space,
	   pg_temp.outcome(replace(replace(statement, '{space}', :'a'), '{id}', other::text), other, :a)
	   = pg_temp.outcome(replace(replace(statement, '{space}', :'a'), '{id}', '999999999'), 999999999, :a) AS as_unknown
FROM calls ORDER BY name;
RESET ROLE;
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
DELETE FROM inbox.space_admin WHERE db_role = 'regress_inbox_space_first';
DROP ROLE regress_inbox_space_first;

--
-- The 1.x SQL objects with the 2.0 library: each API function as 1.x declared
-- it, one argument less, calling the same C function
--
CREATE FUNCTION regress.receive_message_1x(channel bigint, contact_ref text, body text,
		external_id text DEFAULT NULL, reply_to text DEFAULT NULL, content jsonb DEFAULT NULL,
		at timestamptz DEFAULT now(), profile jsonb DEFAULT NULL) RETURNS bigint
	AS '$libdir/inbox', 'inbox_receive_message' LANGUAGE C;
CREATE FUNCTION regress.send_message_1x(contact bigint, channel bigint, body text, agent bigint DEFAULT NULL,
		sender_kind text DEFAULT 'user', content jsonb DEFAULT NULL) RETURNS bigint
	AS '$libdir/inbox', 'inbox_send_message' LANGUAGE C;
CREATE FUNCTION regress.set_message_status_1x(message bigint, status text, at timestamptz DEFAULT now(),
		error text DEFAULT NULL) RETURNS text
	AS '$libdir/inbox', 'inbox_set_message_status' LANGUAGE C;
CREATE FUNCTION regress.assign_1x(contact bigint, assignee bigint, actor_kind text DEFAULT 'user',
		actor_agent bigint DEFAULT NULL) RETURNS void
	AS '$libdir/inbox', 'inbox_assign' LANGUAGE C;
CREATE FUNCTION regress.open_conversation_1x(contact bigint, actor_kind text, actor_agent bigint DEFAULT NULL,
		reference text DEFAULT NULL, source_url text DEFAULT NULL) RETURNS bigint
	AS '$libdir/inbox', 'inbox_open_conversation' LANGUAGE C;
CREATE FUNCTION regress.close_conversation_1x(contact bigint, actor_kind text, actor_agent bigint DEFAULT NULL,
		category text DEFAULT NULL, summary text DEFAULT NULL) RETURNS bigint
	AS '$libdir/inbox', 'inbox_close_conversation' LANGUAGE C;
CREATE FUNCTION regress.mark_read_1x(contact bigint, agent bigint) RETURNS integer
	AS '$libdir/inbox', 'inbox_mark_read' LANGUAGE C;
CREATE FUNCTION regress.snooze_1x(contact bigint, until timestamptz, agent bigint) RETURNS void
	AS '$libdir/inbox', 'inbox_snooze' LANGUAGE C;
CREATE FUNCTION regress.unsnooze_1x(contact bigint, agent bigint) RETURNS void
	AS '$libdir/inbox', 'inbox_unsnooze' LANGUAGE C;
CREATE FUNCTION regress.record_event_1x(contact bigint, kind text, actor_kind text, actor_agent bigint DEFAULT NULL,
		reference text DEFAULT NULL, source_url text DEFAULT NULL, data jsonb DEFAULT NULL) RETURNS bigint
	AS '$libdir/inbox', 'inbox_record_event' LANGUAGE C;
-- (history's rows are never made: the call is refused before)
CREATE FUNCTION regress.history_1x(contact bigint, before text DEFAULT NULL, page_size integer DEFAULT 50)
RETURNS SETOF text
	AS '$libdir/inbox', 'inbox_history' LANGUAGE C;
CREATE FUNCTION regress.merge_contacts_1x(keep bigint, merge bigint, actor_kind text DEFAULT 'user',
		actor_agent bigint DEFAULT NULL) RETURNS void
	AS '$libdir/inbox', 'inbox_merge_contacts' LANGUAGE C;
CREATE FUNCTION regress.unmerge_contacts_1x(keep bigint, merged bigint, actor_kind text DEFAULT 'user',
		actor_agent bigint DEFAULT NULL) RETURNS void
	AS '$libdir/inbox', 'inbox_unmerge_contacts' LANGUAGE C;

-- the outcome of a statement with the hint of its error
CREATE FUNCTION pg_temp.refusal(statement text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	hint text;
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
	RETURN SQLSTATE || ' ' || SQLERRM || ' (' || hint || ')';
END
$$;

BEGIN;
SELECT inbox.receive_message(:a, :ch_a, 'ann', 'and another') IS NOT NULL AS received;
SELECT regress.fingerprint() AS before \gset
SELECT f AS function, pg_temp.refusal(s) AS outcome
FROM (VALUES
	('receive_message', format('SELECT regress.receive_message_1x(%s, ''ann'', ''hi'')', :ch_a)),
	('send_message', format('SELECT regress.send_message_1x(%s, %s, ''hi'', %s)', :ann, :ch_a, :ada)),
	('set_message_status', format('SELECT regress.set_message_status_1x(%s, ''sent'')', :out_a)),
	('assign', format('SELECT regress.assign_1x(%s, %s)', :ann, :ada)),
	('open_conversation', format('SELECT regress.open_conversation_1x(%s, ''user'')', :abe)),
	('close_conversation', format('SELECT regress.close_conversation_1x(%s, ''user'')', :ann)),
	('mark_read', format('SELECT regress.mark_read_1x(%s, %s)', :ann, :ada)),
	('snooze', format('SELECT regress.snooze_1x(%s, now() + interval ''1 day'', %s)', :ann, :ada)),
	('unsnooze', format('SELECT regress.unsnooze_1x(%s, %s)', :ann, :ada)),
	('record_event', format('SELECT regress.record_event_1x(%s, ''page_change'', ''contact'')', :ann)),
	('history', format('SELECT count(*) FROM regress.history_1x(%s)', :ann)),
	('merge_contacts', format('SELECT regress.merge_contacts_1x(%s, %s)', :ann, :abe)),
	('unmerge_contacts', format('SELECT regress.unmerge_contacts_1x(%s, %s)', :bea, :ben))) c (f, s)
ORDER BY f;
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
DROP FUNCTION regress.receive_message_1x, regress.send_message_1x, regress.set_message_status_1x,
	regress.assign_1x, regress.open_conversation_1x, regress.close_conversation_1x, regress.mark_read_1x,
	regress.snooze_1x, regress.unsnooze_1x, regress.record_event_1x, regress.history_1x,
	regress.merge_contacts_1x, regress.unmerge_contacts_1x;

--
-- Rows name their space, and only what is of it
--
-- Abe has no open conversation; Abe's identity, the open conversation of
-- Ann and Ann's first message are what the rows below refer to
SELECT inbox.close_conversation(:a, :abe, 'user') IS NOT NULL AS closed;
SELECT id AS conv_ann FROM inbox.conversation WHERE contact_id = :ann AND closed_at IS NULL \gset
BEGIN;
SELECT inbox.receive_message(:a, :ch_a, 'ann', 'still here') IS NOT NULL AS received;
SELECT regress.fingerprint() AS before \gset
\set VERBOSITY default
\set ON_ERROR_ROLLBACK on
-- no space_id: refused as a NOT NULL column is (23502), by the rules first
INSERT INTO inbox.message (contact_id, channel_id, direction, body) VALUES (:ann, :ch_a, 'incoming', 'no space');
\set VERBOSITY sqlstate
INSERT INTO inbox.conversation (contact_id, opened_by_kind) VALUES (:abe, 'user');
INSERT INTO inbox.event (contact_id, kind, actor_kind) VALUES (:ann, 'page_change', 'contact');
INSERT INTO inbox.contact_channel (contact_id, channel_id, external_id) VALUES (:abe, :ch_a, 'abe-2');
INSERT INTO inbox.contact (first_name) VALUES ('Nobody');
INSERT INTO inbox.view (name) VALUES ('nowhere');
-- the space of another contact: the contact is not found there (P0002)
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body) VALUES (:b, :ann, :ch_a, 'incoming', 'wrong space');
INSERT INTO inbox.conversation (space_id, contact_id, opened_by_kind) VALUES (:b, :abe, 'user');
INSERT INTO inbox.event (space_id, contact_id, kind, actor_kind) VALUES (:b, :ann, 'page_change', 'contact');
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id) VALUES (:b, :abe, :ch_a, 'abe-2');
-- agents and channels of space B named by rows of space A (P0002)
UPDATE inbox.contact SET assignee_id = :bo WHERE id = :ann;
INSERT INTO inbox.contact (space_id, first_name, origin_channel_id) VALUES (:a, 'Cy', :ch_b);
UPDATE inbox.contact SET origin_channel_id = :ch_b WHERE id = :ann;
INSERT INTO inbox.conversation (space_id, contact_id, opened_by_kind, opened_by_agent) VALUES (:a, :abe, 'user', :bo);
UPDATE inbox.conversation SET closed_at = now(), closed_by_kind = 'user', closed_by_agent = :bo WHERE id = :conv_ann;
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body) VALUES (:a, :ann, :ch_b, 'incoming', 'via B');
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body) VALUES (:a, :ann, :ch_a, 'outgoing', :bo, 'by Bo');
INSERT INTO inbox.event (space_id, contact_id, kind, actor_kind, actor_agent_id) VALUES (:a, :ann, 'survey_canceled', 'user', :bo);
INSERT INTO inbox.event (space_id, contact_id, kind, actor_kind, target_agent_id) VALUES (:a, :ann, 'survey_started', 'automation', :bo);
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id) VALUES (:a, :abe, :ch_b, 'abe-2');
INSERT INTO inbox.view (space_id, owner_agent_id, name) VALUES (:a, :bo, 'Bo''s');
-- a plain write whose actor (inbox.actor_agent) is an agent of space B: its event is refused
SET LOCAL inbox.actor_agent = :'bo';
UPDATE inbox.contact SET assignee_id = NULL WHERE id = :ann;
RESET inbox.actor_agent;
-- a quote that is not one of the contact's messages (23503): another contact's, or none
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body, reply_to_id) VALUES (:a, :abe, :ch_a, 'incoming', 'quoting Ann', :m_ann);
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body, reply_to_id) VALUES (:a, :ann, :ch_a, 'incoming', 'quoting nothing', 999999999);
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
-- a quote of one of her own messages is taken
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body, reply_to_id)
VALUES (:a, :ann, :ch_a, 'incoming', 'quoting myself', :m_ann) RETURNING reply_to_id = :m_ann AS quotes_her_message;

--
-- check_integrity() finds what the keys of 2.0 no longer hold (written with
-- the rules and keys off, as a restore runs, then rolled back)
--
BEGIN;
SET LOCAL session_replication_role = replica;
-- a channel of space B as Ann's origin; Ann's first message on it, quoting
-- nothing there is; Ada's reply sent by Bo, quoting Bea's message
UPDATE inbox.contact SET origin_channel_id = :ch_b WHERE id = :ann;
UPDATE inbox.message SET channel_id = :ch_b, reply_to_id = 999999999 WHERE id = :m_ann;
UPDATE inbox.message SET sender_agent_id = :bo, reply_to_id = :m_bea WHERE id = :out_a;
-- Bo opened Ann's conversation and closed Abe's
UPDATE inbox.conversation SET opened_by_agent = :bo WHERE id = :conv_ann;
UPDATE inbox.event SET actor_agent_id = :bo WHERE contact_id = :abe AND kind = 'conversation_closed';
-- Abe's identity in space B
UPDATE inbox.contact_channel SET space_id = :b WHERE contact_id = :abe;
SELECT invariant, violations FROM inbox.check_integrity();
ROLLBACK;
SELECT * FROM inbox.check_integrity();
