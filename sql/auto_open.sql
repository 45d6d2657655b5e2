--
-- auto_open: rule 1, an incoming message for a contact with no open
-- conversation opens one.
--
-- Proves:
--  * the first message ever of a new contact opens a conversation (opened by
--    the contact, no agent), writes `conversation_opened` (actor contact,
--    "Conversation Opened") in it, and the message belongs to it; the
--    conversation opens at the message's time;
--  * further incoming messages join the open conversation and open nothing;
--  * a message after the conversation was closed opens a second one;
--  * a plain INSERT INTO inbox.message of an incoming message does the same
--    (sender_kind defaults to contact, status to received);
--  * a message cannot be put into a closed conversation or one that is not
--    the contact's open conversation (55000); an incoming message on a
--    channel where the contact has no identity is refused (23503); each
--    refusal, inside a transaction, writes nothing and undoes nothing the
--    transaction wrote before it.
-- The race (two first messages at once open one conversation) is staged by the
-- isolation specs first_message_same_sender and second_message_opens_once.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('auto_open') AS space \gset
SELECT inbox.create_agent(:space, 'Alice') AS alice \gset
SELECT inbox.create_channel(:space, 'telegram', 'Telegram') AS tg \gset
SELECT inbox.create_channel(:space, 'sms', 'SMS') AS sms \gset

-- the first message ever of a new contact
SELECT inbox.receive_message(:space, :tg, 'tg-1', 'Hi!', at => now() - interval '1 hour') AS m1 \gset
SELECT contact_id AS dana FROM inbox.message WHERE id = :m1 \gset
SELECT * FROM regress.conversations(:dana);
SELECT * FROM regress.events(:dana);
SELECT * FROM regress.messages(:dana);
-- the conversation opened when the message was sent, and so did its event
SELECT c.opened_at = m.created_at AS opened_at_message_time,
	   e.created_at = m.created_at AS event_at_message_time
FROM inbox.message m
JOIN inbox.conversation c ON c.id = m.conversation_id
JOIN inbox.event e ON e.conversation_id = c.id AND e.kind = 'conversation_opened'
WHERE m.id = :m1;

-- more messages join the open conversation; nothing else is opened
SELECT inbox.receive_message(:space, :tg, 'tg-1', 'Are you there?') AS m2 \gset
SELECT inbox.receive_message(:space, :tg, 'tg-1', 'Hello??') AS m3 \gset
SELECT * FROM regress.conversations(:dana);
SELECT count(*) AS events FROM inbox.event WHERE contact_id = :dana;

-- after the conversation is closed, the next message opens a new one
SELECT inbox.close_conversation(:space, :dana, 'user', :alice) AS first_conversation \gset
SELECT inbox.receive_message(:space, :tg, 'tg-1', 'One more question') AS m4 \gset
SELECT * FROM regress.conversations(:dana);
SELECT * FROM regress.events(:dana);
SELECT * FROM regress.messages(:dana);

-- plain INSERT: a contact made by hand, with its identity on SMS, writes in
INSERT INTO inbox.contact (space_id, first_name) VALUES (:space, 'Eve') RETURNING id AS eve \gset
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id) VALUES (:space, :eve, :sms, '+1 555 0100');
SELECT * FROM regress.conversations(:eve);
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body)
VALUES (:space, :eve, :sms, 'incoming', 'Text from Eve') RETURNING sender_kind, status;
SELECT * FROM regress.conversations(:eve);
SELECT * FROM regress.events(:eve);
SELECT * FROM regress.messages(:eve);

-- in one transaction: naming the open conversation is allowed; a message put
-- into a closed conversation (55000) or into a conversation of another contact
-- (55000) is refused, writes nothing and undoes nothing before it
BEGIN;
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body, conversation_id)
SELECT :space, :dana, :tg, 'incoming', 'explicitly in the open conversation', id
FROM inbox.conversation WHERE contact_id = :dana AND closed_at IS NULL;
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
-- into a closed conversation (55000)
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body, conversation_id)
VALUES (:space, :dana, :tg, 'incoming', 'into the past', :first_conversation);
-- into a conversation of another contact (55000)
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body, conversation_id)
SELECT :space, :eve, :sms, 'incoming', 'into Dana''s conversation', id
FROM inbox.conversation WHERE contact_id = :dana AND closed_at IS NULL;
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
SELECT * FROM regress.conversations(:dana);

-- refused, after a message of Dana's in the same transaction: Dana has no
-- identity on SMS (23503); an incoming message is sent by the contact, with
-- no agent and no other sender kind (22023)
BEGIN;
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body) VALUES (:space, :dana, :tg, 'incoming', 'on Telegram');
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
-- no identity on SMS (23503)
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body) VALUES (:space, :dana, :sms, 'incoming', 'hi');
-- a sender kind other than contact, or an agent (22023)
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_kind, body)
VALUES (:space, :dana, :tg, 'incoming', 'user', 'hi');
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body)
VALUES (:space, :dana, :tg, 'incoming', :alice, 'hi');
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
SELECT body, channel FROM regress.messages(:dana) OFFSET 4;

SELECT count(*) AS open_conversations FROM inbox.conversation
WHERE contact_id IN (:dana, :eve) AND closed_at IS NULL;
SELECT * FROM inbox.check_integrity();
