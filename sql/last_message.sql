--
-- last_message: rule 6, contact.last_message_* always describe the newest message.
--
-- Proves:
--  * after each message, incoming or outgoing, last_message_id / _at /
--    _direction and last_channel_id are that message's;
--  * a message that arrives late (its `at` older than the newest) does not
--    become the last message; origin_channel_id stays the first channel;
--  * a message on another channel of the contact moves last_channel_id;
--  * of two messages with the same timestamp (one transaction), the later
--    written is the last;
--  * deleting the newest message makes the previous one the last;
--  * the columns are maintained: a direct write is refused (22023) and writes
--    nothing; they cannot be given on INSERT either.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('last_message') AS space \gset
SELECT inbox.create_agent(:space, 'Alice') AS alice \gset
SELECT inbox.create_channel(:space, 'telegram', 'Telegram') AS tg \gset
SELECT inbox.create_channel(:space, 'email', 'Mail') AS mail \gset

-- true when the contact's last_message_* are exactly those of message m
CREATE FUNCTION regress.last_is(contact bigint, m bigint) RETURNS boolean LANGUAGE sql AS $$
	SELECT (c.last_message_id, c.last_message_at, c.last_message_direction, c.last_channel_id)
		   = (x.id, x.created_at, x.direction, x.channel_id)
	FROM inbox.contact c, inbox.message x WHERE c.id = $1 AND x.id = $2
$$;

SELECT inbox.receive_message(:space, :tg, 'tg-pia', 'first', at => now() - interval '10 minutes') AS m1 \gset
SELECT contact_id AS pia FROM inbox.message WHERE id = :m1 \gset
SELECT regress.last_is(:pia, :m1) AS last_is_m1;
SELECT * FROM regress.contact(:pia);

SELECT inbox.send_message(:space, :pia, :tg, 'reply', :alice) AS m2 \gset
SELECT regress.last_is(:pia, :m2) AS last_is_m2;
SELECT * FROM regress.contact(:pia);

-- a late webhook: the message is older than the reply, the reply stays last
SELECT inbox.receive_message(:space, :tg, 'tg-pia', 'sent before the reply, delivered after',
							 at => now() - interval '5 minutes') AS m3 \gset
SELECT regress.last_is(:pia, :m2) AS last_is_still_m2;
SELECT * FROM regress.contact(:pia);

-- Pia also writes by e-mail (her identity there added by hand)
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id) VALUES (:space, :pia, :mail, 'pia@example.test');
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body)
VALUES (:space, :pia, :mail, 'incoming', 'by mail') RETURNING id AS m4 \gset
SELECT regress.last_is(:pia, :m4) AS last_is_m4;
SELECT * FROM regress.contact(:pia);
SELECT origin_channel_id = :tg AS origin_still_telegram FROM inbox.contact WHERE id = :pia;

-- two messages in one transaction share a timestamp: the later one is the last
BEGIN;
SELECT inbox.receive_message(:space, :tg, 'tg-pia', 'same instant, first') AS m5 \gset
SELECT inbox.send_message(:space, :pia, :tg, 'same instant, second', :alice) AS m6 \gset
COMMIT;
SELECT regress.last_is(:pia, :m6) AS last_is_m6;
SELECT * FROM regress.contact(:pia);
DELETE FROM inbox.message WHERE id IN (:m5, :m6);

-- deleting the newest message: the one before is the last again
BEGIN;
DELETE FROM inbox.message WHERE id = :m4;
SELECT regress.last_is(:pia, :m2) AS last_is_m2_again;
SELECT * FROM regress.contact(:pia);

-- errors: the columns are maintained (22023), nothing is written and the
-- delete before them in their transaction stays
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
UPDATE inbox.contact SET last_message_at = now() WHERE id = :pia;
UPDATE inbox.contact SET last_message_id = :m1 WHERE id = :pia;
UPDATE inbox.contact SET last_message_direction = 'incoming' WHERE id = :pia;
UPDATE inbox.contact SET last_channel_id = :mail WHERE id = :pia;
INSERT INTO inbox.contact (space_id, first_name, last_message_at) VALUES (:space, 'Quinn', now());
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
SELECT regress.last_is(:pia, :m2) AS last_is_m2_still;

SELECT * FROM inbox.check_integrity();
