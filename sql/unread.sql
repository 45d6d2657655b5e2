--
-- unread: rule 5, contact.unread_count.
--
-- Proves:
--  * each incoming message adds 1 to unread_count (a webhook retry adds nothing);
--  * automated outgoing messages leave it alone;
--  * mark_read() resets it to 0, marks the incoming messages read (read_at) and
--    returns how many were unread; a second call returns 0;
--  * an outgoing user message resets it to 0 and marks the messages read;
--  * a plain UPDATE inbox.contact SET unread_count = 0 does what mark_read does;
--  * a plain UPDATE of one message's read_at marks it read or unread, and the
--    count follows (-1 / +1);
--  * an incoming message inserted already read (history import) is not unread;
--  * deleting an unread message takes it off the count;
--  * unread_count is maintained: any other direct value is refused (22023), also
--    on INSERT; mark_read errors: unknown contact / agent (P0002), an agent of
--    another space (P0002), NULL (22023); each writes nothing.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('unread') AS space \gset
SELECT inbox.create_agent(:space, 'Alice') AS alice \gset
SELECT inbox.create_channel(:space, 'telegram', 'Telegram') AS tg \gset
SELECT inbox.create_space('elsewhere') AS other_space \gset
SELECT inbox.create_agent(:other_space, 'Mallory') AS mallory \gset

-- three messages in, one of them delivered twice by the platform
SELECT inbox.receive_message(:space, :tg, 'tg-nina', 'one', external_id => 'n1') AS m \gset
SELECT contact_id AS nina FROM inbox.message WHERE id = :m \gset
SELECT unread_count FROM inbox.contact WHERE id = :nina;
SELECT inbox.receive_message(:space, :tg, 'tg-nina', 'two', external_id => 'n2') IS NOT NULL AS received;
SELECT inbox.receive_message(:space, :tg, 'tg-nina', 'two', external_id => 'n2') IS NOT NULL AS retried;
SELECT inbox.receive_message(:space, :tg, 'tg-nina', 'three') IS NOT NULL AS received;
SELECT unread_count FROM inbox.contact WHERE id = :nina;

-- an automated reply does not read them
SELECT inbox.send_message(:space, :nina, :tg, 'We will answer soon', sender_kind => 'away_message') IS NOT NULL AS sent;
SELECT unread_count FROM inbox.contact WHERE id = :nina;

-- Alice opens the contact: three were unread, now none
SELECT inbox.mark_read(:space, :nina, :alice) AS were_unread;
SELECT unread_count FROM inbox.contact WHERE id = :nina;
SELECT count(*) FILTER (WHERE read_at IS NULL) AS unread_messages,
	   count(*) FILTER (WHERE read_at IS NOT NULL) AS read_messages
FROM inbox.message WHERE contact_id = :nina AND direction = 'incoming';
SELECT inbox.mark_read(:space, contact => :nina, agent => :alice) AS were_unread;

-- two more; Alice replies: the reply reads them
SELECT inbox.receive_message(:space, :tg, 'tg-nina', 'four') IS NOT NULL AS received;
SELECT inbox.receive_message(:space, :tg, 'tg-nina', 'five') IS NOT NULL AS received;
SELECT unread_count FROM inbox.contact WHERE id = :nina;
SELECT inbox.send_message(:space, :nina, :tg, 'Hi Nina', :alice) IS NOT NULL AS sent;
SELECT unread_count FROM inbox.contact WHERE id = :nina;
SELECT count(*) AS unread_messages FROM inbox.message
WHERE contact_id = :nina AND direction = 'incoming' AND read_at IS NULL;

-- a plain UPDATE resetting the count marks the messages read
SELECT inbox.receive_message(:space, :tg, 'tg-nina', 'six') IS NOT NULL AS received;
SELECT inbox.receive_message(:space, :tg, 'tg-nina', 'seven') IS NOT NULL AS received;
UPDATE inbox.contact SET unread_count = 0 WHERE id = :nina;
SELECT unread_count FROM inbox.contact WHERE id = :nina;
SELECT count(*) AS unread_messages FROM inbox.message
WHERE contact_id = :nina AND direction = 'incoming' AND read_at IS NULL;

-- marking one message read or unread by a plain UPDATE of read_at is allowed,
-- and the count follows: one less, then one more (a new read time of a read
-- message changes nothing)
SELECT inbox.receive_message(:space, :tg, 'tg-nina', 'read me') AS one \gset
SELECT inbox.receive_message(:space, :tg, 'tg-nina', 'and me') IS NOT NULL AS received;
SELECT unread_count FROM inbox.contact WHERE id = :nina;
UPDATE inbox.message SET read_at = now() WHERE id = :one;
SELECT unread_count FROM inbox.contact WHERE id = :nina;
UPDATE inbox.message SET read_at = now() + interval '1 second' WHERE id = :one;
SELECT unread_count FROM inbox.contact WHERE id = :nina;
UPDATE inbox.message SET read_at = NULL WHERE id = :one;
SELECT unread_count FROM inbox.contact WHERE id = :nina;
SELECT unread_count = (SELECT count(*) FROM inbox.message m WHERE m.contact_id = c.id
					   AND m.direction = 'incoming' AND m.read_at IS NULL) AS count_matches_messages
FROM inbox.contact c WHERE id = :nina;
SELECT inbox.mark_read(:space, :nina, :alice) AS were_unread;

-- a message imported already read does not count
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body, read_at)
VALUES (:space, :nina, :tg, 'incoming', 'imported from the old system', now());
SELECT unread_count FROM inbox.contact WHERE id = :nina;

-- deleting an unread message takes it off the count
SELECT inbox.receive_message(:space, :tg, 'tg-nina', 'eight') AS eight \gset
SELECT inbox.receive_message(:space, :tg, 'tg-nina', 'spam') AS spam \gset
SELECT unread_count FROM inbox.contact WHERE id = :nina;
DELETE FROM inbox.message WHERE id = :spam;
SELECT unread_count FROM inbox.contact WHERE id = :nina;

-- errors: each writes nothing, nor undoes the message before them in their transaction
BEGIN;
SELECT inbox.receive_message(:space, :tg, 'tg-nina', 'nine') IS NOT NULL AS received;
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
-- unread_count is maintained: only a reset to 0 is allowed (22023)
UPDATE inbox.contact SET unread_count = 5 WHERE id = :nina;
UPDATE inbox.contact SET unread_count = unread_count + 1 WHERE id = :nina;
INSERT INTO inbox.contact (space_id, first_name, unread_count) VALUES (:space, 'Omar', 2);
-- mark_read: unknown contact or agent (P0002), agent of another space (P0002), NULLs (22023)
SELECT inbox.mark_read(:space, -1, :alice);
SELECT inbox.mark_read(:space, :nina, -1);
SELECT inbox.mark_read(:space, :nina, :mallory);
SELECT inbox.mark_read(:space, :nina, NULL);
SELECT inbox.mark_read(:space, NULL, :alice);
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
SELECT unread_count FROM inbox.contact WHERE id = :nina;

SELECT * FROM inbox.check_integrity();
