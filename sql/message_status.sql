--
-- message_status: rule 9, the status of an outgoing message moves forward only.
--
-- Proves:
--  * send_message starts at `pending`; set_message_status moves it through
--    sent -> delivered -> read, records each report's time, and returns the
--    resulting status;
--  * a report out of order (delivered after read, sent after delivered) records
--    its timestamp but does not move the status back; a repeated report keeps
--    the first timestamp;
--  * `failed` (with its error) is accepted from pending or sent and is final;
--    after delivered it only records failed_at;
--  * incoming messages have status `received`;
--  * a plain UPDATE of message.status follows the same rule (the status never
--    moves back, the report's time is filled in), and an INSERT of an outgoing
--    message already sent gets its sent_at;
--  * errors, each writing nothing: unknown status, a status the channel kind
--    does not report, `received` for an outgoing message, an error with a
--    status other than failed, NULL arguments (22023); unknown message (P0002);
--    a status report on an incoming message (55000); changing a message's
--    fixed columns (22023).
-- The race of two reports at once is staged by the isolation spec status_reports_race.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('message_status') AS space \gset
SELECT inbox.create_agent(:space, 'Alice') AS alice \gset
SELECT inbox.create_channel(:space, 'webchat', 'Site chat') AS web \gset
SELECT inbox.create_channel(:space, 'telegram', 'Telegram') AS tg \gset

SELECT inbox.receive_message(:space, :web, 'visitor-1', 'Hello') AS incoming \gset
SELECT contact_id AS rita FROM inbox.message WHERE id = :incoming \gset
SELECT status FROM inbox.message WHERE id = :incoming;

-- which report times a message has
CREATE FUNCTION regress.reports(bigint)
RETURNS TABLE (status text, sent boolean, delivered boolean, read boolean, failed boolean, error text)
LANGUAGE sql AS $$
	SELECT status, sent_at IS NOT NULL, delivered_at IS NOT NULL, read_at IS NOT NULL,
		   failed_at IS NOT NULL, error
	FROM inbox.message WHERE id = $1
$$;

-- in order
SELECT inbox.send_message(:space, :rita, :web, 'in order', :alice) AS a \gset
SELECT * FROM regress.reports(:a);
SELECT inbox.set_message_status(:space, :a, 'sent');
SELECT inbox.set_message_status(:space, :a, 'delivered');
SELECT inbox.set_message_status(:space, message => :a, status => 'read');
SELECT * FROM regress.reports(:a);

-- out of order: read first, then the late delivered and sent reports
SELECT inbox.send_message(:space, :rita, :web, 'out of order', :alice) AS b \gset
SELECT inbox.set_message_status(:space, :b, 'read', at => '2026-01-01 10:03+00');
SELECT inbox.set_message_status(:space, :b, 'delivered', at => '2026-01-01 10:02+00');
SELECT inbox.set_message_status(:space, :b, 'sent', at => '2026-01-01 10:01+00');
SELECT * FROM regress.reports(:b);
SELECT sent_at = '2026-01-01 10:01+00' AS sent_at_kept,
	   delivered_at = '2026-01-01 10:02+00' AS delivered_at_kept,
	   read_at = '2026-01-01 10:03+00' AS read_at_kept
FROM inbox.message WHERE id = :b;
-- the same report again keeps the first time
SELECT inbox.set_message_status(:space, :b, 'delivered', at => '2026-01-01 11:00+00');
SELECT delivered_at = '2026-01-01 10:02+00' AS first_delivered_at_kept FROM inbox.message WHERE id = :b;

-- failed from pending, with the platform's error; final afterwards
SELECT inbox.send_message(:space, :rita, :web, 'fails at once', :alice) AS c \gset
SELECT inbox.set_message_status(:space, :c, 'failed', error => 'recipient blocked the page');
SELECT inbox.set_message_status(:space, :c, 'sent');
SELECT inbox.set_message_status(:space, :c, 'read');
SELECT * FROM regress.reports(:c);

-- failed from sent
SELECT inbox.send_message(:space, :rita, :web, 'fails after sent', :alice) AS d \gset
SELECT inbox.set_message_status(:space, :d, 'sent');
SELECT inbox.set_message_status(:space, :d, 'failed', error => 'timeout');
SELECT * FROM regress.reports(:d);

-- a failure reported after delivery does not make it failed
SELECT inbox.send_message(:space, :rita, :web, 'delivered, then a stray failure', :alice) AS e \gset
SELECT inbox.set_message_status(:space, :e, 'delivered');
SELECT inbox.set_message_status(:space, :e, 'failed');
SELECT status, delivered_at IS NOT NULL AS delivered, failed_at IS NOT NULL AS failed FROM inbox.message WHERE id = :e;

-- plain UPDATE: forward only too, and the report time is filled in
SELECT inbox.send_message(:space, :rita, :web, 'updated by hand', :alice) AS f \gset
UPDATE inbox.message SET status = 'delivered' WHERE id = :f;
UPDATE inbox.message SET status = 'sent' WHERE id = :f;
UPDATE inbox.message SET status = 'pending' WHERE id = :f;
SELECT * FROM regress.reports(:f);
-- the body may be edited; the rest of a message is fixed
UPDATE inbox.message SET body = 'updated by hand (typo fixed)' WHERE id = :f;
SELECT body FROM inbox.message WHERE id = :f;

-- an outgoing message inserted as already sent gets its sent_at
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_kind, body, status)
VALUES (:space, :rita, :web, 'outgoing', 'api', 'sent by another system', 'sent') RETURNING id AS g \gset
SELECT * FROM regress.reports(:g);

-- telegram reports only sent and failed
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id) VALUES (:space, :rita, :tg, 'tg-rita');
SELECT inbox.send_message(:space, :rita, :tg, 'on telegram', :alice) AS h \gset
BEGIN;
SELECT inbox.set_message_status(:space, :h, 'sent');

-- errors: each writes nothing, nor undoes the report before them in their transaction
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
-- unknown status (22023)
SELECT inbox.set_message_status(:space, :h, 'bounced');
UPDATE inbox.message SET status = 'bounced' WHERE id = :h;
-- a status the channel kind does not report (22023)
SELECT inbox.set_message_status(:space, :h, 'delivered');
SELECT inbox.set_message_status(:space, :h, 'read');
-- an outgoing message is never `received` (22023)
SELECT inbox.set_message_status(:space, :h, 'received');
UPDATE inbox.message SET status = 'received' WHERE id = :h;
-- an error goes with status failed only (22023)
SELECT inbox.set_message_status(:space, :h, 'sent', error => 'oops');
-- NULL arguments (22023)
SELECT inbox.set_message_status(:space, NULL, 'sent');
SELECT inbox.set_message_status(:space, :h, NULL);
SELECT inbox.set_message_status(:space, :h, 'sent', at => NULL);
UPDATE inbox.message SET status = NULL WHERE id = :h;
-- unknown message (P0002)
SELECT inbox.set_message_status(:space, -1, 'sent');
-- a status report on an incoming message (55000)
SELECT inbox.set_message_status(:space, :incoming, 'read');
UPDATE inbox.message SET status = 'read' WHERE id = :incoming;
-- the fixed columns of a message (22023)
UPDATE inbox.message SET direction = 'incoming' WHERE id = :h;
UPDATE inbox.message SET created_at = created_at - interval '1 day' WHERE id = :h;
UPDATE inbox.message SET conversation_id = NULL WHERE id = :h;
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
SELECT * FROM regress.reports(:h);

SELECT * FROM inbox.check_integrity();
