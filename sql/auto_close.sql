--
-- auto_close: the wait of each conversation for its contact's answer, which
-- the background worker closes when the space's auto_close_after has passed
-- (conversation.auto_close_from and auto_close_at, kept by the rules).
--
-- Proves:
--  * a user's message starts the wait at its time (auto_close_at = that +
--    auto_close_after); a later one moves it; messages of other sender kinds
--    (automation, broadcast, away message, ...) neither start nor move it;
--  * an incoming message ends it; a late delivery of a message older than
--    the user's leaves it; a user message recorded late, older than the
--    contact's last message, starts none;
--  * a snooze moves it to the snooze's end, moved with the snooze; unsnooze
--    runs it from the unsnooze;
--  * where auto-close is off the wait is kept without a close time, and
--    turning it on, changing it or turning it off (configure_space or a plain
--    UPDATE) moves every waiting conversation's close time in the same
--    transaction;
--  * a close clears both; a deleted message counts the wait again;
--  * the two columns are the rules': writing them by hand is 22023;
--  * check_integrity() holds them to the messages.
-- The closing itself is the background worker's, in time: test/automation.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('auto close') AS space \gset
SELECT inbox.create_agent(:space, 'Ann') AS ann \gset
SELECT inbox.create_channel(:space, 'webchat', 'Web') AS web \gset
SELECT inbox.configure_space(:space, auto_close_after => '1 day');

-- a contact's open conversation's wait, relative to its messages
CREATE FUNCTION regress.wait(bigint)
RETURNS TABLE (waits boolean, from_last_user_message boolean, from_snooze_end boolean,
			   closes_after interval)
LANGUAGE sql AS $$
	SELECT v.auto_close_from IS NOT NULL,
		   v.auto_close_from = (SELECT max(m.created_at) FROM inbox.message m
								WHERE m.space_id = v.space_id AND m.conversation_id = v.id AND m.sender_kind = 'user'),
		   v.auto_close_from = c.snoozed_until,
		   v.auto_close_at - v.auto_close_from
	FROM inbox.conversation v JOIN inbox.contact c ON c.space_id = v.space_id AND c.id = v.contact_id
	WHERE v.contact_id = $1 AND v.closed_at IS NULL
$$;

SELECT inbox.receive_message(:space, :web, 'visitor', 'Hello') AS m \gset
SELECT contact_id AS c FROM inbox.message WHERE id = :m \gset
-- the contact had the last word: no wait
SELECT * FROM regress.wait(:c);

-- a user answers: the wait runs from the answer
SELECT inbox.send_message(:space, :c, :web, 'Hi, how can I help?', :ann) > 0 AS sent;
SELECT * FROM regress.wait(:c);
SELECT auto_close_from AS first_from FROM inbox.conversation WHERE contact_id = :c AND closed_at IS NULL \gset
-- other senders neither start nor move it
SELECT count(inbox.send_message(:space, :c, :web, 'Automated', sender_kind => k)) AS sent
FROM unnest('{automation,broadcast,away_message,ai,api}'::text[]) k;
SELECT auto_close_from = :'first_from' AS unmoved FROM inbox.conversation WHERE contact_id = :c AND closed_at IS NULL;
-- a second user message moves it
SELECT inbox.send_message(:space, :c, :web, 'Anything else?', :ann) > 0 AS sent;
SELECT (SELECT auto_close_from > :'first_from' FROM inbox.conversation WHERE contact_id = :c AND closed_at IS NULL) AS moved,
	   * FROM regress.wait(:c);

-- a late delivery of an older incoming message leaves it
SELECT inbox.receive_message(:space, :web, 'visitor', 'sent before the answer', at => now() - interval '1 hour') > 0 AS received;
SELECT * FROM regress.wait(:c);
-- the contact answers: no wait
SELECT inbox.receive_message(:space, :web, 'visitor', 'Thanks') > 0 AS received;
SELECT * FROM regress.wait(:c);
-- a user message recorded late, older than the contact's answer: still no wait
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_kind, sender_agent_id, body, created_at)
VALUES (:space, :c, :web, 'outgoing', 'user', :ann, 'an old reply', now() - interval '10 minutes');
SELECT * FROM regress.wait(:c);
-- other senders do not start one either
SELECT inbox.send_message(:space, :c, :web, 'Rate us', sender_kind => 'automation') > 0 AS sent;
SELECT * FROM regress.wait(:c);

-- snoozed: the wait runs from the snooze's end, moved with it
SELECT inbox.send_message(:space, :c, :web, 'Talk tomorrow', :ann) > 0 AS sent;
SELECT inbox.snooze(:space, :c, now() + interval '3 days', :ann);
SELECT * FROM regress.wait(:c);
SELECT inbox.snooze(:space, :c, now() + interval '2 days', :ann);
SELECT * FROM regress.wait(:c);
-- a user message during the snooze: still from the snooze's end
SELECT inbox.send_message(:space, :c, :web, 'Reminder', :ann) > 0 AS sent;
SELECT * FROM regress.wait(:c);
-- unsnoozed: from the unsnooze (the transaction's time)
BEGIN;
SELECT inbox.unsnooze(:space, :c, :ann);
SELECT auto_close_from = now() AS from_unsnooze, auto_close_at - auto_close_from AS closes_after
FROM inbox.conversation WHERE contact_id = :c AND closed_at IS NULL;
COMMIT;
-- snoozed, then the contact writes: no wait
SELECT inbox.send_message(:space, :c, :web, 'Again', :ann) > 0 AS sent;
SELECT inbox.snooze(:space, :c, now() + interval '1 day', :ann);
SELECT inbox.receive_message(:space, :web, 'visitor', 'I am here') > 0 AS received;
SELECT * FROM regress.wait(:c);

-- the setting: changed, off, on again; every waiting conversation follows at once
SELECT inbox.send_message(:space, :c, :web, 'Still there?', :ann) > 0 AS sent;
SELECT inbox.receive_message(:space, :web, 'second visitor', 'Hello') AS m2 \gset
SELECT contact_id AS c2 FROM inbox.message WHERE id = :m2 \gset
SELECT inbox.send_message(:space, :c2, :web, 'Hi', :ann) > 0 AS sent;
SELECT inbox.configure_space(:space, auto_close_after => '2 hours');
SELECT * FROM regress.wait(:c) UNION ALL SELECT * FROM regress.wait(:c2);
UPDATE inbox.space SET auto_close_after = NULL WHERE id = :space;
SELECT * FROM regress.wait(:c) UNION ALL SELECT * FROM regress.wait(:c2);
-- off: a user message keeps the wait, with no close time
SELECT inbox.send_message(:space, :c2, :web, 'Hi again', :ann) > 0 AS sent;
SELECT * FROM regress.wait(:c2);
UPDATE inbox.space SET auto_close_after = '30 minutes' WHERE id = :space;
SELECT * FROM regress.wait(:c) UNION ALL SELECT * FROM regress.wait(:c2);

-- a deleted message: the wait follows the messages left
SELECT max(id) AS last_reply FROM inbox.message WHERE contact_id = :c2 AND sender_kind = 'user' \gset
DELETE FROM inbox.message WHERE id = :last_reply;
SELECT * FROM regress.wait(:c2);
DELETE FROM inbox.message WHERE contact_id = :c2 AND sender_kind = 'user';
SELECT * FROM regress.wait(:c2);

-- a close clears it
SELECT inbox.close_conversation(:space, :c, 'user', :ann) AS closed \gset
SELECT auto_close_from, auto_close_at FROM inbox.conversation WHERE id = :closed;

-- the rules' columns: not written by hand (22023), nothing written
SELECT inbox.send_message(:space, :c2, :web, 'One more', :ann) > 0 AS sent;
BEGIN;
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
UPDATE inbox.conversation SET auto_close_at = now() WHERE contact_id = :c2 AND closed_at IS NULL;
UPDATE inbox.conversation SET auto_close_from = NULL WHERE contact_id = :c2 AND closed_at IS NULL;
INSERT INTO inbox.conversation (space_id, contact_id, opened_by_kind, auto_close_from)
VALUES (:space, :c, 'user', now());
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;

UPDATE inbox.space SET auto_close_after = NULL WHERE id = :space;
SELECT * FROM inbox.check_integrity();
