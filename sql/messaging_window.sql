--
-- messaging_window: rule 11, the business may write freely only within the
-- channel kind's window after the contact's last incoming message on that
-- channel, whoever sends the message.
--
-- Proves:
--  * inside the window (WhatsApp: 24 hours) a user message is sent;
--  * outside it, a user message is refused with 55000 and writes nothing;
--  * outside it, a WhatsApp template ({"template": "<name>"}) is sent;
--  * Messenger's human_agent tag is allowed up to 7 days, not after (55000);
--    a tag the kind allows at any age (account_update) always passes; an
--    unknown tag does not;
--  * every outgoing message inbox delivers is held to the window, whoever
--    sends it (user, automation, ai, away_message, greeting_message,
--    dialogflow, broadcast, api, message_tag): outside it each is 55000,
--    through the API and by INSERT; a template or an allowed tag lets each
--    out as it lets a user's; the echoes of messages already sent elsewhere
--    (whatsapp_echo, facebook_inbox) are recorded outside the window;
--  * a new incoming message reopens the window;
--  * a contact who never wrote on the channel cannot be written to freely (55000);
--  * channel kinds without a window (telegram) have no limit;
--  * the window is data: changing inbox.channel_kind changes the rule;
--  * a plain INSERT of a user message follows the same rule: accepted inside
--    the window, as a template, with an allowed tag, and after a plain INSERT
--    of an incoming message reopened the window; refused (55000) otherwise.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('messaging_window') AS space \gset
SELECT inbox.create_agent(:space, 'Alice') AS alice \gset
SELECT inbox.create_channel(:space, 'whatsapp_cloud', 'WhatsApp') AS wa \gset
SELECT inbox.create_channel(:space, 'facebook', 'Messenger') AS fb \gset
SELECT inbox.create_channel(:space, 'telegram', 'Telegram') AS tg \gset

-- Xena wrote on WhatsApp 2 hours ago: inside the window
SELECT inbox.receive_message(:space, :wa, '+34600000001', 'Hi', at => now() - interval '2 hours') AS m \gset
SELECT contact_id AS xena FROM inbox.message WHERE id = :m \gset
SELECT inbox.send_message(:space, :xena, :wa, 'Hi Xena', :alice) IS NOT NULL AS sent;
-- ... and by a plain INSERT of a user message
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body)
VALUES (:space, :xena, :wa, 'outgoing', :alice, 'Typed by hand') RETURNING sender_kind, status;

-- Yuri wrote 30 hours ago: the window is closed for a user
SELECT inbox.receive_message(:space, :wa, '+34600000002', 'Hi', at => now() - interval '30 hours') AS m \gset
SELECT contact_id AS yuri FROM inbox.message WHERE id = :m \gset
-- an echo of a message the business sent from its phone is recorded; in the
-- same transaction every message inbox would deliver is refused (55000),
-- through the API and by INSERT, whoever sends it, and undoes nothing before it
BEGIN;
SELECT inbox.send_message(:space, :yuri, :wa, 'Sent from the phone', sender_kind => 'whatsapp_echo') IS NOT NULL AS recorded;
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
SELECT inbox.send_message(:space, :yuri, :wa, 'Sorry for the delay', :alice);
SELECT inbox.send_message(:space, :yuri, :wa, 'Survey', sender_kind => 'automation');
SELECT inbox.send_message(:space, :yuri, :wa, 'I am a bot', sender_kind => 'ai');
SELECT inbox.send_message(:space, :yuri, :wa, 'We are away', sender_kind => 'away_message');
SELECT inbox.send_message(:space, :yuri, :wa, 'Welcome', sender_kind => 'greeting_message');
SELECT inbox.send_message(:space, :yuri, :wa, 'Rate us', sender_kind => 'dialogflow');
SELECT inbox.send_message(:space, :yuri, :wa, 'Sale!', sender_kind => 'broadcast');
SELECT inbox.send_message(:space, :yuri, :wa, 'From our CRM', sender_kind => 'api');
SELECT inbox.send_message(:space, :yuri, :wa, 'Tagged', sender_kind => 'message_tag');
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body)
VALUES (:space, :yuri, :wa, 'outgoing', :alice, 'Sorry for the delay');
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_kind, body)
VALUES (:space, :yuri, :wa, 'outgoing', 'broadcast', 'Sale!');
-- a tag is not for WhatsApp
SELECT inbox.send_message(:space, :yuri, :wa, 'Sorry for the delay', :alice, content => '{"tag": "human_agent"}');
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
-- ... but an approved template may be sent, by anyone, through the API and by INSERT
SELECT inbox.send_message(:space, :yuri, :wa, NULL, :alice, content => '{"template": "order_update"}') IS NOT NULL AS sent;
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, content)
VALUES (:space, :yuri, :wa, 'outgoing', :alice, '{"template": "order_update"}') RETURNING sender_kind, status;
SELECT inbox.send_message(:space, :yuri, :wa, NULL, sender_kind => 'broadcast', content => '{"template": "sale"}') IS NOT NULL AS sent;
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_kind, content)
VALUES (:space, :yuri, :wa, 'outgoing', 'automation', '{"template": "survey"}') RETURNING sender_kind, status;
-- Yuri writes again: the window is open again
SELECT inbox.receive_message(:space, :wa, '+34600000002', 'Hello?') IS NOT NULL AS received;
SELECT inbox.send_message(:space, :yuri, :wa, 'Hi Yuri', :alice) IS NOT NULL AS sent;

-- Eli wrote 30 hours ago, then again by a plain INSERT: that reopens the window
SELECT inbox.receive_message(:space, :wa, '+34600000005', 'Hi', at => now() - interval '30 hours') AS m \gset
SELECT contact_id AS eli FROM inbox.message WHERE id = :m \gset
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body) VALUES (:space, :eli, :wa, 'incoming', 'Still there?');
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body)
VALUES (:space, :eli, :wa, 'outgoing', :alice, 'Yes, Eli') RETURNING sender_kind, status;

-- Messenger: human_agent up to 7 days; Zed's message and the refusals in one
-- transaction, which keeps the message
BEGIN;
SELECT inbox.receive_message(:space, :fb, 'psid-zed', 'Hi', at => now() - interval '3 days') AS m \gset
SELECT contact_id AS zed FROM inbox.message WHERE id = :m \gset
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
SELECT inbox.send_message(:space, :zed, :fb, 'Hi Zed', :alice);
SELECT inbox.send_message(:space, :zed, :fb, 'Hi Zed', :alice, content => '{"tag": "no_such_tag"}');
SELECT inbox.send_message(:space, :zed, :fb, 'Hi Zed', :alice, content => '{"template": "hello"}');
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
SELECT inbox.send_message(:space, :zed, :fb, 'Hi Zed', :alice, content => '{"tag": "human_agent"}') IS NOT NULL AS sent;
SELECT inbox.send_message(:space, :zed, :fb, 'Tagged by the API', sender_kind => 'message_tag', content => '{"tag": "human_agent"}') IS NOT NULL AS sent;
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body, content)
VALUES (:space, :zed, :fb, 'outgoing', :alice, 'Typed, tagged', '{"tag": "human_agent"}') RETURNING sender_kind, status;

BEGIN;
SELECT inbox.receive_message(:space, :fb, 'psid-ann', 'Hi', at => now() - interval '8 days') AS m \gset
SELECT contact_id AS ann FROM inbox.message WHERE id = :m \gset
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
SELECT inbox.send_message(:space, :ann, :fb, 'Hi Ann', :alice, content => '{"tag": "human_agent"}');
SELECT inbox.send_message(:space, :ann, :fb, 'Hi Ann', sender_kind => 'automation');
SELECT inbox.send_message(:space, :ann, :fb, 'Hi Ann', sender_kind => 'message_tag', content => '{"tag": "human_agent"}');
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
SELECT inbox.send_message(:space, :ann, :fb, 'Your account was updated', :alice,
						  content => '{"tag": "account_update"}') IS NOT NULL AS sent;
-- an agent answered Ann in the page's own inbox: the echo is recorded
SELECT inbox.send_message(:space, :ann, :fb, 'Answered on Facebook', sender_kind => 'facebook_inbox') IS NOT NULL AS recorded;
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_kind, body, status)
VALUES (:space, :ann, :fb, 'outgoing', 'facebook_inbox', 'Also answered there', 'sent') RETURNING sender_kind, status;

-- a contact who never wrote on WhatsApp (imported): only a template; the
-- import and the refusal in one transaction, which keeps the import
BEGIN;
INSERT INTO inbox.contact (space_id, first_name) VALUES (:space, 'Bea') RETURNING id AS bea \gset
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id) VALUES (:space, :bea, :wa, '+34600000003');
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
SELECT inbox.send_message(:space, :bea, :wa, 'Hello Bea', :alice);
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body)
VALUES (:space, :bea, :wa, 'outgoing', :alice, 'Hello Bea');
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
SELECT inbox.send_message(:space, :bea, :wa, NULL, :alice, content => '{"template": "welcome"}') IS NOT NULL AS sent;

-- Telegram has no window, for anyone
SELECT inbox.receive_message(:space, :tg, 'tg-cy', 'Hi', at => now() - interval '90 days') AS m \gset
SELECT contact_id AS cy FROM inbox.message WHERE id = :m \gset
SELECT inbox.send_message(:space, :cy, :tg, 'Hi Cy, sorry for the wait', :alice) IS NOT NULL AS sent;
SELECT inbox.send_message(:space, :cy, :tg, 'Sale!', sender_kind => 'broadcast') IS NOT NULL AS sent;

-- the window is data: a 48-hour WhatsApp window lets a user answer a 30-hour-old message
SELECT inbox.receive_message(:space, :wa, '+34600000004', 'Hi', at => now() - interval '30 hours') AS m \gset
SELECT contact_id AS dov FROM inbox.message WHERE id = :m \gset
BEGIN;
UPDATE inbox.channel_kind SET "window" = '48 hours' WHERE kind = 'whatsapp_cloud';
SELECT inbox.send_message(:space, :dov, :wa, 'Hi Dov', :alice) IS NOT NULL AS sent;
ROLLBACK;

SELECT * FROM inbox.check_integrity();
