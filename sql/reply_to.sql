--
-- reply_to: rule 10, reply-to context of incoming messages.
--
-- Proves:
--  * on a channel kind with reply_to (telegram), an incoming message quoting an
--    earlier message's platform id gets reply_to_id = that message;
--  * the quote resolves only within the same contact and channel: another
--    contact's message with that id is not linked;
--  * an unknown quoted id is kept (reply_to_external_id) with reply_to_id NULL;
--  * on a channel kind without reply_to (sms) the quote is kept, not resolved;
--  * a plain INSERT of an incoming message resolves its quote the same way;
--  * an outgoing message cannot quote (22023), through a plain INSERT; nothing
--    is written;
--  * deleting a quoted message clears reply_to_id of the messages quoting it
--    (they keep the quoted platform id; history shows an unknown message) and
--    changes nothing else; deleting a contact whose messages quote each other
--    takes them all.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('reply_to') AS space \gset
SELECT inbox.create_agent(:space, 'Alice') AS alice \gset
SELECT inbox.create_channel(:space, 'telegram', 'Telegram') AS tg \gset
SELECT inbox.create_channel(:space, 'sms', 'SMS') AS sms \gset

SELECT inbox.receive_message(:space, :tg, 'tg-vera', 'My order is 1234', external_id => 'tg-m-1') AS quoted \gset
SELECT contact_id AS vera FROM inbox.message WHERE id = :quoted \gset
SELECT inbox.receive_message(:space, :tg, 'tg-walt', 'Walt''s message', external_id => 'tg-m-2') AS walts \gset

-- Vera quotes her own message: resolved
SELECT inbox.receive_message(:space, :tg, 'tg-vera', 'Any news on this?', reply_to => 'tg-m-1') AS r1 \gset
SELECT reply_to_id = :quoted AS quotes_her_message, reply_to_external_id FROM inbox.message WHERE id = :r1;

-- Vera quotes Walt's platform id: not her message, not linked
SELECT inbox.receive_message(:space, :tg, 'tg-vera', 'quoting someone else', reply_to => 'tg-m-2') AS r2 \gset
SELECT reply_to_id IS NULL AS not_linked, reply_to_external_id FROM inbox.message WHERE id = :r2;

-- an id the inbox never saw (an older message): kept, not linked
SELECT inbox.receive_message(:space, :tg, 'tg-vera', 'quoting an old one', reply_to => 'tg-m-0') AS r3 \gset
SELECT reply_to_id IS NULL AS not_linked, reply_to_external_id FROM inbox.message WHERE id = :r3;

-- SMS has no reply-to context: the quote is not resolved
SELECT inbox.receive_message(:space, :sms, '+1 555 0199', 'text', external_id => 'sms-1') AS s1 \gset
SELECT inbox.receive_message(:space, :sms, '+1 555 0199', 'reply to my text', reply_to => 'sms-1') AS s2 \gset
SELECT reply_to_id IS NULL AS not_linked FROM inbox.message WHERE id = :s2;

-- a plain INSERT of an incoming message resolves its quote the same way:
-- Vera's own message is linked, Walt's platform id is not
BEGIN;
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body, reply_to_external_id)
VALUES (:space, :vera, :tg, 'incoming', 'typed quote of mine', 'tg-m-1')
RETURNING reply_to_id = :quoted AS quotes_her_message, reply_to_external_id;
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body, reply_to_external_id)
VALUES (:space, :vera, :tg, 'incoming', 'typed quote of Walt''s', 'tg-m-2')
RETURNING reply_to_id IS NULL AS not_linked, reply_to_external_id;

-- an outgoing message cannot quote (22023): nothing written, and the messages
-- before it in its transaction stay
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body, reply_to_external_id)
VALUES (:space, :vera, :tg, 'outgoing', :alice, 'replying to your order', 'tg-m-1');
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body, reply_to_id)
VALUES (:space, :vera, :tg, 'outgoing', :alice, 'replying to your order', :quoted);
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;

-- the quoted message deleted: the two messages quoting it quote nothing
SELECT count(*) AS quoting FROM inbox.message WHERE reply_to_id = :quoted;
CREATE TEMP TABLE kept AS SELECT * FROM inbox.message WHERE space_id = :space AND id <> :quoted;
DELETE FROM inbox.message WHERE id = :quoted;
SELECT count(*) AS quoting FROM inbox.message WHERE reply_to_id = :quoted;
SELECT body, reply_to_id IS NULL AS quotes_nothing, reply_to_external_id FROM inbox.message WHERE id = :r1;
SELECT body, reply_to_id IS NULL AS quotes_nothing, reply_to_snippet
FROM inbox.history(:space, :vera) WHERE item = 'message' AND id = :r1;
-- and nothing else changed, in any message
SELECT count(*) AS messages, count(*) FILTER (WHERE to_jsonb(m) - 'reply_to_id' <> to_jsonb(k) - 'reply_to_id') AS changed
FROM kept k JOIN inbox.message m USING (id);
SELECT * FROM inbox.check_integrity();

-- Vera quotes her own message again; deleting Vera takes all her messages
SELECT inbox.receive_message(:space, :tg, 'tg-vera', 'a new one', external_id => 'tg-m-3') AS quoted \gset
SELECT inbox.receive_message(:space, :tg, 'tg-vera', 'about the new one', reply_to => 'tg-m-3') AS r4 \gset
SELECT reply_to_id = :quoted AS quotes_her_message FROM inbox.message WHERE id = :r4;
DELETE FROM inbox.contact WHERE id = :vera;
SELECT count(*) AS messages_left FROM inbox.message WHERE contact_id = :vera;

SELECT * FROM inbox.check_integrity();
