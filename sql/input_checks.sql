--
-- input_checks: what people write says something, and times are times the
-- inbox can keep.
--
-- Proves:
--  * a message whose body is empty or only white space (spaces, tabs, line
--    breaks, Unicode spaces, zero-width characters), with no content, is 22023:
--    through receive_message, send_message (any sender kind) and a plain
--    INSERT, and an UPDATE that empties a body; with content, a message may
--    have no body, or an empty one; a body with one visible character passes;
--  * a snooze to a time that is not finite (infinity, -infinity) or from the
--    year 10000 is 22023: through snooze(), a plain UPDATE and a plain INSERT
--    of a contact; a snooze in a week still works;
--  * a message time more than 5 minutes ahead of the clock is 22023: the `at`
--    of receive_message and the created_at of a plain INSERT, incoming or
--    outgoing; 4 minutes ahead (a sender's clock running fast) passes;
--  * every refusal writes nothing.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('input checks') AS space \gset
SELECT inbox.create_agent(:space, 'Ana') AS ana \gset
SELECT inbox.create_channel(:space, 'telegram', 'tg') AS tg \gset
SELECT inbox.receive_message(:space, :tg, 'kim', 'hello') AS m \gset
SELECT contact_id AS kim FROM inbox.message WHERE id = :m \gset

BEGIN;
SELECT inbox.receive_message(:space, :tg, 'kim', 'still there?') IS NOT NULL AS received;
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
-- bodies that show nothing, without content (22023)
SELECT inbox.receive_message(:space, :tg, 'kim', '');
SELECT inbox.receive_message(:space, :tg, 'kim', '   ');
SELECT inbox.receive_message(:space, :tg, 'kim', E'\t\r\n');
SELECT inbox.receive_message(:space, :tg, 'kim', E'\u00a0\u2003\u3000');
SELECT inbox.receive_message(:space, :tg, 'kim', E'\u200b\ufeff');
SELECT inbox.receive_message(:space, :tg, 'kim', NULL);
SELECT inbox.receive_message(:space, :tg, 'new-sender', ' ');
SELECT inbox.send_message(:space, :kim, :tg, '', :ana);
SELECT inbox.send_message(:space, :kim, :tg, '  ', :ana);
SELECT inbox.send_message(:space, :kim, :tg, E'\n', sender_kind => 'automation');
SELECT inbox.send_message(:space, :kim, :tg, E'\u2060', sender_kind => 'api');
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body) VALUES (:space, :kim, :tg, 'incoming', ' ');
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body)
VALUES (:space, :kim, :tg, 'outgoing', :ana, '');
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body) VALUES (:space, :kim, :tg, 'incoming', NULL);
UPDATE inbox.message SET body = '  ' WHERE id = :m;
-- snoozes to a time that is not finite or from the year 10000 (22023)
SELECT inbox.snooze(:space, :kim, 'infinity', :ana);
SELECT inbox.snooze(:space, :kim, '-infinity', :ana);
SELECT inbox.snooze(:space, :kim, '10000-01-01 00:00+00', :ana);
UPDATE inbox.contact SET snoozed_until = 'infinity' WHERE id = :kim;
INSERT INTO inbox.contact (space_id, first_name, snoozed_until) VALUES (:space, 'Ghost', 'infinity');
-- message times more than 5 minutes ahead (22023)
SELECT inbox.receive_message(:space, :tg, 'kim', 'from tomorrow', at => now() + interval '1 day');
SELECT inbox.receive_message(:space, :tg, 'kim', 'from later', at => clock_timestamp() + interval '6 minutes');
SELECT inbox.receive_message(:space, :tg, 'new-sender', 'from the future', at => now() + interval '1 year');
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body, created_at)
VALUES (:space, :kim, :tg, 'incoming', 'typed', now() + interval '1 day');
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body, created_at)
VALUES (:space, :kim, :tg, 'outgoing', :ana, 'typed', now() + interval '1 hour');
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
SELECT count(*) AS contacts FROM inbox.contact WHERE space_id = :space;

-- what passes: a visible character among spaces, content without a body (or
-- with an empty one), a clock 4 minutes fast, a snooze in a week
SELECT inbox.receive_message(:space, :tg, 'kim', E' \u00a0.\n') IS NOT NULL AS received;
SELECT inbox.receive_message(:space, :tg, 'kim', NULL, content => '{"type": "image"}') IS NOT NULL AS received;
SELECT inbox.send_message(:space, :kim, :tg, '', :ana, content => '{"type": "sticker"}') IS NOT NULL AS sent;
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body, content)
VALUES (:space, :kim, :tg, 'incoming', ' ', '{"type": "location"}') RETURNING status;
SELECT inbox.receive_message(:space, :tg, 'kim', 'my clock is fast', at => clock_timestamp() + interval '4 minutes') AS fast \gset
SELECT created_at > now() AS ahead_of_now FROM inbox.message WHERE id = :fast;
SELECT inbox.snooze(:space, :kim, now() + interval '7 days', :ana);
SELECT snoozed_until > now() AS snoozed FROM inbox.contact WHERE id = :kim;
SELECT inbox.unsnooze(:space, :kim, :ana);

SELECT * FROM inbox.check_integrity();
