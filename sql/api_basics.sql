--
-- api_basics: the functions that set up an inbox and carry messages in and out.
--
-- Proves:
--  * create_space, create_agent (with and without e-mail) and create_channel
--    return the ids of the rows they write;
--  * receive_message from an unknown sender creates the contact (with its
--    profile, origin channel and identity on the channel); the next message from
--    that sender finds the same contact;
--  * the same sender id on another channel is another contact (identities are
--    per channel);
--  * profile fills only the empty fields of a known contact, never overwrites;
--  * receive_message is idempotent per external_id: a webhook retry returns the
--    stored message and writes nothing (not even the profile it carries); the
--    same external id on another channel is another message;
--  * send_message queues an outgoing message (status pending), by a user with
--    the agent, or by another sender kind without one;
--  * API functions accept named arguments as the spec writes them;
--  * the locks a retried delivery takes serve its own call only: a message
--    written later in the same transaction, after the contact's conversation
--    was closed, opens a new conversation.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('Acme') AS acme \gset
SELECT name FROM inbox.space WHERE id = :acme;

SELECT inbox.create_agent(:acme, 'Alice', 'alice@acme.test') AS alice \gset
SELECT inbox.create_agent(space => :acme, name => 'Bob') AS bob \gset
SELECT name, email, space_id = :acme AS in_acme FROM inbox.agent WHERE id IN (:alice, :bob) ORDER BY name;

SELECT inbox.create_channel(:acme, 'telegram', 'Telegram bot') AS tg \gset
SELECT inbox.create_channel(space => :acme, kind => 'webchat', name => 'Site chat') AS web \gset
SELECT name, kind, space_id = :acme AS in_acme FROM inbox.channel WHERE id IN (:tg, :web) ORDER BY name;

-- first message of an unknown sender: a contact is created, with its profile
SELECT inbox.receive_message(:acme, :tg, 'tg-100', 'Hello, is anyone there?', external_id => 'tgm-1',
							 profile => '{"first_name": "Carla", "phone": "+34 600 111 222"}') AS m1 \gset
SELECT contact_id AS carla FROM inbox.message WHERE id = :m1 \gset
SELECT first_name, last_name, email, phone, space_id = :acme AS in_acme,
	   origin_channel_id = :tg AS origin_is_telegram, assignee_id, custom, tags, bot_active
FROM inbox.contact WHERE id = :carla;
SELECT channel_id = :tg AS on_telegram, external_id, space_id = :acme AS in_acme
FROM inbox.contact_channel WHERE contact_id = :carla;
SELECT * FROM regress.messages(:carla);

-- the same sender writes again: same contact; the profile fills the empty
-- last_name and email but does not overwrite first_name or phone
SELECT inbox.receive_message(:acme, :tg, 'tg-100', 'I need help with my order', external_id => 'tgm-2',
							 profile => '{"first_name": "Carlota", "last_name": "Ruiz", "email": "carla@example.test", "phone": "999"}') AS m2 \gset
SELECT contact_id = :carla AS same_contact FROM inbox.message WHERE id = :m2;
SELECT first_name, last_name, email, phone FROM inbox.contact WHERE id = :carla;

-- an agent edits the contact; a later profile does not undo the edit
UPDATE inbox.contact SET first_name = 'Carla Maria' WHERE id = :carla;
SELECT inbox.receive_message(:acme, :tg, 'tg-100', 'Order 1234', profile => '{"first_name": "Carla"}') AS m3 \gset
SELECT first_name FROM inbox.contact WHERE id = :carla;
SELECT count(*) AS contacts_in_acme FROM inbox.contact WHERE space_id = :acme;

-- the same sender id on another channel is another person
SELECT inbox.receive_message(:acme, :web, 'tg-100', 'Hi from the site') AS w1 \gset
SELECT contact_id <> :carla AS other_contact FROM inbox.message WHERE id = :w1;
SELECT count(*) AS contacts_in_acme FROM inbox.contact WHERE space_id = :acme;

-- a webhook retried: the same external_id returns the stored message and writes nothing
SELECT regress.fingerprint() AS before \gset
SELECT inbox.receive_message(:acme, :tg, 'tg-100', 'Hello, is anyone there?', external_id => 'tgm-1') = :m1 AS same_message;
SELECT regress.fingerprint() = :'before' AS nothing_written;
SELECT unread_count FROM inbox.contact WHERE id = :carla;

-- the same external id on another channel is another message
SELECT inbox.receive_message(:acme, :web, 'site-7', 'Other site visitor', external_id => 'tgm-1') AS s7 \gset
SELECT :s7 <> :m1 AS new_message;

-- a retry that carries the sender's profile writes nothing either
SELECT regress.fingerprint() AS before \gset
SELECT inbox.receive_message(:acme, :web, 'site-7', 'Other site visitor', external_id => 'tgm-1',
							 profile => '{"first_name": "Sol"}') = :s7 AS same_message;
SELECT regress.fingerprint() = :'before' AS nothing_written;

-- a message may be content only (an attachment), without body
SELECT inbox.receive_message(:acme, :tg, 'tg-100', NULL, content => '{"image": "https://cdn.test/photo.jpg"}') AS m4 \gset
SELECT body, content FROM inbox.message WHERE id = :m4;

-- send_message: a user's reply is queued as pending, from the agent
SELECT inbox.send_message(:acme, :carla, :tg, 'Hi Carla, Alice here', :alice) AS r1 \gset
SELECT direction, sender_kind, sender_agent_id = :alice AS from_alice, status,
	   sent_at IS NULL AS not_sent_yet, conversation_id IS NOT NULL AS in_conversation
FROM inbox.message WHERE id = :r1;

-- other sender kinds need no agent
SELECT inbox.send_message(:acme, contact => :carla, channel => :tg, body => 'How did we do? (1-5)',
						  sender_kind => 'automation') AS r2 \gset
SELECT direction, sender_kind, sender_agent_id, status FROM inbox.message WHERE id = :r2;

SELECT * FROM regress.messages(:carla);
SELECT * FROM inbox.check_integrity();

-- a retry, then a close, then a plain INSERT, in one transaction: the message
-- goes to a new conversation, not to the one the retry found (and locked)
SELECT contact_id AS sol, conversation_id AS sol_conversation FROM inbox.message WHERE id = :s7 \gset
BEGIN;
SELECT inbox.receive_message(:acme, :web, 'site-7', 'Other site visitor', external_id => 'tgm-1') = :s7 AS same_message;
SELECT inbox.close_conversation(:acme, :sol, 'user', :alice) = :sol_conversation AS closed;
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body)
VALUES (:acme, :sol, :web, 'incoming', 'One more thing')
RETURNING conversation_id IS NOT NULL AND conversation_id <> :sol_conversation AS new_conversation;
SELECT count(*) AS open_conversations FROM inbox.conversation WHERE contact_id = :sol AND closed_at IS NULL;
SELECT * FROM inbox.check_integrity();
ROLLBACK;
