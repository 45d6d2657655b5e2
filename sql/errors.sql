--
-- errors: bad input to every API function raises a documented SQLSTATE and
-- writes nothing (spec "Errors" and "Bad input", doc/behaviour.md).
--
-- Proves, for create_space, create_agent, create_channel, receive_message,
-- send_message, assign, open_conversation and close_conversation:
--  * NULL or empty required arguments, unknown kinds and enums, JSON of the
--    wrong shape: 22023;
--  * unknown ids (space, agent, channel, contact): P0002;
--  * an agent or channel of another space: P0002;
--  * sending to a contact with no identity on the channel: 23503;
--  * an outgoing message quoting a message: 22023;
--  * an external_id already used on the channel by another contact's message: 22023;
--  * after all of them, every inbox table is exactly as before;
--  * PREPARE TRANSACTION of a transaction that changed the inbox prepares
--    (its notifications wait in the worker's ring for COMMIT PREPARED);
--    without the worker's relay it is refused (0A000: no notification leaves
--    a prepared transaction) and rolls back; with inbox.notify off it
--    prepares and commits.
-- (set_message_status, mark_read and record_event errors are in message_status,
-- unread and events.)
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('errors') AS space \gset
SELECT inbox.create_agent(:space, 'Alice') AS alice \gset
SELECT inbox.create_channel(:space, 'telegram', 'Telegram') AS tg \gset
SELECT inbox.create_space('elsewhere') AS other_space \gset
SELECT inbox.create_agent(:other_space, 'Mallory') AS mallory \gset
SELECT inbox.create_channel(:other_space, 'telegram', 'Other telegram') AS other_tg \gset
SELECT inbox.create_channel(:space, 'sms', 'SMS') AS sms \gset
SELECT inbox.receive_message(:space, :tg, 'tg-tom', 'Hi', external_id => 'x-1') AS tom_message \gset
SELECT contact_id AS tom FROM inbox.message WHERE id = :tom_message \gset
-- Uma is a contact of the other space, on its channel
SELECT inbox.receive_message(:other_space, :other_tg, 'tg-uma', 'Hi') AS m \gset
SELECT contact_id AS uma FROM inbox.message WHERE id = :m \gset

-- every error below runs in one transaction after a message that must stay
BEGIN;
SELECT inbox.receive_message(:other_space, :other_tg, 'tg-uma', 'Still there?') IS NOT NULL AS received;
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on

-- create_space: name NULL or empty (22023)
SELECT inbox.create_space(NULL);
SELECT inbox.create_space('');

-- create_agent: space NULL (22023), unknown space (P0002), name NULL or empty (22023)
SELECT inbox.create_agent(NULL, 'Zoe');
SELECT inbox.create_agent(-1, 'Zoe');
SELECT inbox.create_agent(:space, NULL);
SELECT inbox.create_agent(:space, '');

-- create_channel: unknown kind (22023), NULL / empty kind or name (22023), unknown space (P0002)
SELECT inbox.create_channel(:space, 'pigeon', 'Carrier pigeon');
SELECT inbox.create_channel(:space, 'Telegram', 'Telegram');
SELECT inbox.create_channel(:space, NULL, 'Telegram');
SELECT inbox.create_channel(:space, 'telegram', '');
SELECT inbox.create_channel(NULL, 'telegram', 'Telegram');
SELECT inbox.create_channel(-1, 'telegram', 'Telegram');

-- receive_message: NULL channel, NULL or empty contact_ref (22023)
SELECT inbox.receive_message(:space, NULL, 'tg-tom', 'hi');
SELECT inbox.receive_message(:space, :tg, NULL, 'hi');
SELECT inbox.receive_message(:space, :tg, '', 'hi');
-- ... neither body nor content (22023)
SELECT inbox.receive_message(:space, :tg, 'tg-tom', NULL);
-- ... empty external_id or reply_to, NULL at (22023)
SELECT inbox.receive_message(:space, :tg, 'tg-tom', 'hi', external_id => '');
SELECT inbox.receive_message(:space, :tg, 'tg-tom', 'hi', reply_to => '');
SELECT inbox.receive_message(:space, :tg, 'tg-tom', 'hi', at => NULL);
-- ... content or profile that is not a JSON object (22023)
SELECT inbox.receive_message(:space, :tg, 'tg-tom', 'hi', content => '[1, 2]');
SELECT inbox.receive_message(:space, :tg, 'tg-tom', 'hi', content => '"text"');
SELECT inbox.receive_message(:space, :tg, 'tg-new', 'hi', profile => '["Zoe"]');
-- ... a profile key that is not a contact field, or not a string (22023)
SELECT inbox.receive_message(:space, :tg, 'tg-new', 'hi', profile => '{"nickname": "Zo"}');
SELECT inbox.receive_message(:space, :tg, 'tg-new', 'hi', profile => '{"first_name": 42}');
SELECT inbox.receive_message(:space, :tg, 'tg-tom', 'hi', profile => '{"email": {"home": "a@b.test"}}');
-- ... unknown channel (P0002)
SELECT inbox.receive_message(:space, -1, 'tg-tom', 'hi');
-- ... an external id already used on the channel by another contact's message (22023)
SELECT inbox.receive_message(:space, :tg, 'tg-someone-else', 'hi', external_id => 'x-1');

-- send_message: NULL contact or channel (22023), unknown contact / channel / agent (P0002)
SELECT inbox.send_message(:space, NULL, :tg, 'hi', :alice);
SELECT inbox.send_message(:space, :tom, NULL, 'hi', :alice);
SELECT inbox.send_message(:space, -1, :tg, 'hi', :alice);
SELECT inbox.send_message(:space, :tom, -1, 'hi', :alice);
SELECT inbox.send_message(:space, :tom, :tg, 'hi', -1);
-- ... an agent or a channel of another space (P0002)
SELECT inbox.send_message(:space, :tom, :tg, 'hi', :mallory);
SELECT inbox.send_message(:space, :tom, :other_tg, 'hi', :alice);
SELECT inbox.send_message(:space, :uma, :tg, 'hi', :alice);
-- ... a user message without its agent, unknown / NULL / empty / incoming sender kind (22023)
SELECT inbox.send_message(:space, :tom, :tg, 'hi');
SELECT inbox.send_message(:space, :tom, :tg, 'hi', :alice, 'robot');
SELECT inbox.send_message(:space, :tom, :tg, 'hi', :alice, NULL);
SELECT inbox.send_message(:space, :tom, :tg, 'hi', :alice, '');
SELECT inbox.send_message(:space, :tom, :tg, 'hi', NULL, 'contact');
-- ... neither body nor content, content not an object (22023)
SELECT inbox.send_message(:space, :tom, :tg, NULL, :alice);
SELECT inbox.send_message(:space, :tom, :tg, 'hi', :alice, content => '[]');
-- ... Tom has no identity on a channel he never wrote on (23503)
SELECT inbox.send_message(:space, :tom, :sms, 'hi', :alice);
-- ... an outgoing message cannot quote (22023)
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body, reply_to_external_id)
VALUES (:space, :tom, :tg, 'outgoing', :alice, 'as you said:', 'x-1');
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body, reply_to_id)
VALUES (:space, :tom, :tg, 'outgoing', :alice, 'as you said:', :tom_message);
-- ... an unknown direction (22023)
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body) VALUES (:space, :tom, :tg, 'sideways', 'hi');
-- ... an unknown status (22023)
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body, status) VALUES (:space, :tom, :tg, 'incoming', 'hi', 'bounced');
-- the checks of the columns' domains (23514): a platform id over 1024 bytes,
-- an empty sender id, custom fields that are not an object
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body, external_id) VALUES (:space, :tom, :tg, 'incoming', 'hi', repeat('x', 1025));
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body, reply_to_external_id) VALUES (:space, :tom, :tg, 'incoming', 'hi', repeat('é', 513));
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id) VALUES (:space, :tom, :tg, '');
UPDATE inbox.contact SET custom = '[1, 2]' WHERE id = :tom;

-- assign / open_conversation / close_conversation: NULL contact or actor kind (22023)
SELECT inbox.assign(:space, NULL, :alice);
SELECT inbox.assign(:space, :tom, :alice, NULL);
SELECT inbox.open_conversation(:space, NULL, 'user');
SELECT inbox.open_conversation(:space, :tom, NULL);
SELECT inbox.open_conversation(:space, :tom, '');
SELECT inbox.close_conversation(:space, NULL, 'user');
SELECT inbox.close_conversation(:space, :tom, NULL);
-- ... an actor agent that is unknown (P0002) or of another space (P0002)
SELECT inbox.open_conversation(:space, :tom, 'user', -1);
SELECT inbox.close_conversation(:space, :tom, 'user', :mallory);
-- ... an assignee of another space (P0002)
SELECT inbox.assign(:space, :uma, :alice);
-- ... an identity of a contact on a channel of another space (P0002)
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id) VALUES (:space, :tom, :other_tg, 'tg-tom');
-- ... an identity on an unknown channel, or of an unknown contact (P0002)
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id) VALUES (:space, :tom, -1, 'tg-tom');
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id) VALUES (:space, -1, :tg, 'tg-nobody');

\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;

-- and the contact is as it was
SELECT * FROM regress.contact(:tom);
SELECT * FROM regress.messages(:tom);

-- ids longer than a key can hold, and times outside what the rules can compute with,
-- after a message of Tom's in the same transaction
BEGIN;
SELECT inbox.receive_message(:space, :tg, 'tg-tom', 'One more thing') IS NOT NULL AS received;
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
SELECT inbox.receive_message(:space, :tg, repeat('x', 1025), 'too long a sender id');
SELECT inbox.receive_message(:space, :tg, 'long-ids', 'too long a message id', external_id => repeat('x', 1025));
SELECT inbox.receive_message(:space, :tg, 'long-ids', 'too long a quote', reply_to => repeat('x', 1025));
SELECT inbox.receive_message(:space, :tg, 'far-future', 'from the end of time', at => '294276-12-31 23:59:59+00');
SELECT inbox.receive_message(:space, :tg, 'far-future', 'from infinity', at => 'infinity');
-- ... nor an identity's last incoming time written directly (the messaging window is added to it)
UPDATE inbox.contact_channel SET last_incoming_at = '294276-12-31 23:59:59+00' WHERE contact_id = :tom AND channel_id = :tg;
UPDATE inbox.contact_channel SET last_incoming_at = 'infinity' WHERE contact_id = :tom AND channel_id = :tg;
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id, last_incoming_at) VALUES (:space, :tom, :sms, 'sms-tom', '-infinity');
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;

-- two-phase commit (Citus prepares a transaction that wrote on several
-- nodes on each of them): PostgreSQL sends no notification from a prepared
-- transaction, so inbox hands them to the database's background worker at
-- PREPARE, which sends them once COMMIT PREPARED is done.  Without the
-- worker's relay (inbox.notify_relay off) PREPARE is refused (0A000) and the
-- transaction rolls back; with inbox.notify off it prepares and commits.
-- First the worker of this database is waited for (it serves the database
-- once it reports idle).
DO $$
BEGIN
	FOR i IN 1..200 LOOP
		PERFORM pg_stat_clear_snapshot();
		EXIT WHEN EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'inbox worker'
						  AND datname = current_database() AND state = 'idle');
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;
BEGIN;
SELECT inbox.receive_message(:space, :tg, 'tg-tom', 'two-phase') IS NOT NULL AS received;
PREPARE TRANSACTION 'regress_inbox_errors';
SELECT count(*) AS two_phase_messages FROM inbox.message WHERE body = 'two-phase';
COMMIT PREPARED 'regress_inbox_errors';
SELECT count(*) AS two_phase_messages FROM inbox.message WHERE body = 'two-phase';
BEGIN;
SET LOCAL inbox.notify_relay = off;
SELECT inbox.receive_message(:space, :tg, 'tg-tom', 'two-phase, no relay') IS NOT NULL AS received;
PREPARE TRANSACTION 'regress_inbox_errors';
SELECT count(*) AS two_phase_messages FROM inbox.message WHERE body = 'two-phase, no relay';
BEGIN;
SET LOCAL inbox.notify = off;
SELECT inbox.receive_message(:space, :tg, 'tg-tom', 'two-phase, quietly') IS NOT NULL AS received;
PREPARE TRANSACTION 'regress_inbox_errors';
COMMIT PREPARED 'regress_inbox_errors';
SELECT count(*) AS two_phase_messages FROM inbox.message WHERE body = 'two-phase, quietly';

SELECT * FROM inbox.check_integrity();
