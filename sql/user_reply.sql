--
-- user_reply: rule 2, an outgoing message sent by a user to a contact with no
-- open conversation opens one; other outgoing kinds never open one.
--
-- Proves:
--  * an agent replying to a contact whose conversation was closed opens a new
--    conversation, opened by `user` with that agent (event conversation_opened,
--    "Marked Pending (Manual)"), and the reply belongs to it;
--  * a reply while a conversation is open joins it;
--  * broadcast / automation / ai messages attach to the open conversation when
--    there is one, and open none when there is none (conversation_id NULL);
--  * an agent may write first to a contact that never wrote (a contact and
--    identity inserted by hand): that opens the contact's first conversation;
--  * a plain INSERT of an outgoing message is a user message by default and
--    follows the same rule; without its agent it is refused (22023);
--  * the first user reply of a conversation sets its first_response_at;
--  * sending on a channel where the contact has no identity is refused (23503)
--    and writes nothing.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('user_reply') AS space \gset
SELECT inbox.create_agent(:space, 'Alice') AS alice \gset
SELECT inbox.create_agent(:space, 'Bob') AS bob \gset
SELECT inbox.create_channel(:space, 'telegram', 'Telegram') AS tg \gset
SELECT inbox.create_channel(:space, 'email', 'Support mail') AS mail \gset

-- Frank wrote, and his conversation was closed
SELECT inbox.receive_message(:space, :tg, 'tg-frank', 'Thanks, all good') AS m1 \gset
SELECT contact_id AS frank FROM inbox.message WHERE id = :m1 \gset
SELECT inbox.close_conversation(:space, :frank, 'user', :alice) IS NOT NULL AS closed;

-- a broadcast to Frank opens nothing: the message has no conversation
SELECT inbox.send_message(:space, :frank, :tg, 'Our summer sale starts today', sender_kind => 'broadcast') AS b1 \gset
SELECT inbox.send_message(:space, :frank, :tg, 'Rate us!', sender_kind => 'automation') AS a1 \gset
SELECT * FROM regress.conversations(:frank);
SELECT * FROM regress.messages(:frank);

-- Bob writes to Frank: a new conversation, opened by Bob
SELECT inbox.send_message(:space, :frank, :tg, 'Hi Frank, a follow-up on your order', :bob) AS r1 \gset
SELECT * FROM regress.conversations(:frank);
SELECT kind, actor, label, actor_agent, conversation FROM regress.events(:frank)
WHERE kind = 'conversation_opened';
SELECT c.opened_at = m.created_at AS opened_at_reply_time,
	   c.first_response_at = m.created_at AS first_response_is_the_reply
FROM inbox.message m JOIN inbox.conversation c ON c.id = m.conversation_id WHERE m.id = :r1;

-- while it is open, replies and automated messages join it; first_response_at stays
SELECT inbox.send_message(:space, :frank, :tg, 'Anything else?', :alice) AS r2 \gset
SELECT inbox.send_message(:space, :frank, :tg, 'Ask our AI assistant', sender_kind => 'ai') AS ai1 \gset
SELECT * FROM regress.conversations(:frank);
SELECT * FROM regress.messages(:frank);
SELECT c.first_response_at = m.created_at AS first_response_unchanged
FROM inbox.message m JOIN inbox.conversation c ON c.id = m.conversation_id WHERE m.id = :r1;

-- Gina never wrote: she was imported with her e-mail identity; Alice writes first
INSERT INTO inbox.contact (space_id, first_name, email) VALUES (:space, 'Gina', 'gina@example.test')
RETURNING id AS gina \gset
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id) VALUES (:space, :gina, :mail, 'gina@example.test');
SELECT inbox.send_message(:space, :gina, :mail, 'Welcome to Acme, Gina', :alice) IS NOT NULL AS sent;
SELECT * FROM regress.conversations(:gina);
SELECT * FROM regress.events(:gina);
SELECT * FROM regress.contact(:gina);

-- plain INSERT of an outgoing message: a user message by default, opens a conversation
INSERT INTO inbox.contact (space_id, first_name) VALUES (:space, 'Hugo') RETURNING id AS hugo \gset
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id) VALUES (:space, :hugo, :mail, 'hugo@example.test');
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body)
VALUES (:space, :hugo, :mail, 'outgoing', :bob, 'Hello Hugo') RETURNING sender_kind, status;
SELECT * FROM regress.conversations(:hugo);
SELECT * FROM regress.messages(:hugo);

-- errors write nothing, nor undo a reply written before them in their transaction
BEGIN;
SELECT inbox.send_message(:space, :frank, :tg, 'One more thing, Frank', :alice) IS NOT NULL AS sent;
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
-- a plain INSERT of a user message needs its agent (22023)
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body) VALUES (:space, :hugo, :mail, 'outgoing', 'who am I?');
-- Frank has no identity on the e-mail channel (23503), through the API and by INSERT
SELECT inbox.send_message(:space, :frank, :mail, 'Hi Frank', :alice);
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body)
VALUES (:space, :frank, :mail, 'outgoing', :alice, 'Hi Frank');
SELECT inbox.send_message(:space, :frank, :mail, 'Newsletter', sender_kind => 'broadcast');
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;

SELECT * FROM inbox.check_integrity();
