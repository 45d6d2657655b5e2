--
-- plain_writes: direct INSERT / UPDATE / DELETE on the tables keep the
-- invariants of check_integrity(): each write that would break one is
-- refused with 22023 and a message naming the problem, or followed by the
-- rules so that the invariant holds.
--
-- Proves:
--  * deleting the open conversation of an assigned contact unassigns it as a
--    close does: `unassigned` (target the assignee) for the actor of
--    inbox.actor_kind, in no conversation (none is open, and the deleted one
--    took its events along); the contact is in neither "mine" nor
--    "unassigned"; an unassigned contact's open conversation is deleted
--    without an event; a conversation that has messages cannot be deleted
--    (23503, the messages' foreign key) and its contact stays assigned;
--  * an open conversation names no closer: closed_by_kind / closed_by_agent
--    written by an INSERT or by an UPDATE that does not close it are 22023
--    (they come with closed_at, whose close checks the agent's space);
--  * an UPDATE that clears the time of a message's status (sent_at of a sent
--    message, delivered_at of a delivered one, read_at of an outgoing read
--    one, failed_at of a failed one) is refused (22023) naming the message,
--    status and column, also when a late report keeps the old status; the
--    time may move, the times of other statuses may be cleared, and an
--    incoming message's read_at still marks it unread;
--  * times that are infinite, -infinite or from the year 10000 on are refused
--    (22023, naming the column): a conversation's opened_at, closed_at and
--    first_response_at, an event's created_at, a message's status times (also
--    through set_message_status), a snooze (snooze(), UPDATE and INSERT of
--    snoozed_until); 9999-12-31 23:59:59.999999 UTC is still accepted;
--  * a view filter that is a JSON array or scalar is refused by inbox (22023),
--    naming its type, before any key of it is read;
--  * check_integrity() is empty at the end.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('plain writes') AS space \gset
SELECT inbox.create_agent(:space, 'Ana') AS ana \gset
SELECT inbox.create_agent(:space, 'Ben') AS ben \gset
SELECT inbox.create_channel(:space, 'webchat', 'Web') AS web \gset

-- the outcome of a statement: ok, or its SQLSTATE, message and hint; ids in
-- the message are shown as <id> (they depend on the files run before)
CREATE FUNCTION pg_temp.try(statement text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	hint text;
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
	RETURN SQLSTATE || ': '
		|| regexp_replace(SQLERRM, '\m(message|conversation|event|contact|agent|space) [0-9]+', '\1 <id>', 'g')
		|| coalesce(nullif(E'\nhint: ' || hint, E'\nhint: '), '');
END
$$;

--
-- Deleting an open conversation
--
-- Mia wrote, was answered and closed; assigning her to Ana opens an empty
-- conversation, which is then deleted by hand
SELECT inbox.receive_message(:space, :web, 'mia', 'Where is my parcel?') AS m \gset
SELECT contact_id AS mia FROM inbox.message WHERE id = :m \gset
SELECT inbox.close_conversation(:space, :mia, 'user', :ana) IS NOT NULL AS closed;
SELECT inbox.assign(:space, :mia, :ana);
SELECT open_conversation_id AS opened FROM inbox.contact WHERE id = :mia \gset
SELECT * FROM regress.contact(:mia);
DELETE FROM inbox.conversation WHERE space_id = :space AND id = :opened;
-- unassigned, with no open conversation, and the event says so
SELECT assignee_id IS NULL AS unassigned, open_conversation_id IS NULL AS no_open_conversation
FROM inbox.contact WHERE id = :mia;
SELECT * FROM regress.events(:mia);
SELECT view, contacts FROM inbox.view_counts(:space, :ana);
SELECT * FROM inbox.check_integrity();

-- the event is for the actor the transaction names
BEGIN;
SET LOCAL inbox.actor_kind = 'automation';
SELECT inbox.assign(:space, :mia, :ben, 'automation');
DELETE FROM inbox.conversation WHERE space_id = :space AND contact_id = :mia AND closed_at IS NULL;
COMMIT;
SELECT kind, actor, target_agent, conversation FROM regress.events(:mia) OFFSET 3;

-- an unassigned contact's empty open conversation goes without an event
-- (its conversation_opened goes with it)
SELECT count(*) AS events_before FROM regress.events(:mia) \gset
SELECT inbox.open_conversation(:space, :mia, 'user', :ana) IS NOT NULL AS opened;
DELETE FROM inbox.conversation WHERE space_id = :space AND contact_id = :mia AND closed_at IS NULL;
SELECT assignee_id IS NULL AS unassigned, open_conversation_id IS NULL AS no_open_conversation
FROM inbox.contact WHERE id = :mia;
SELECT count(*) = :events_before AS no_event FROM regress.events(:mia);

-- a conversation with messages stays (23503), and so does its assignee
SELECT inbox.receive_message(:space, :web, 'mia', 'Any news?') IS NOT NULL AS received;
SELECT inbox.assign(:space, :mia, :ben);
SELECT pg_temp.try(format($$DELETE FROM inbox.conversation WHERE space_id = %s AND contact_id = %s AND closed_at IS NULL$$,
					  :space, :mia)) AS delete_with_messages;
SELECT * FROM regress.contact(:mia);
SELECT * FROM inbox.check_integrity();

-- an open conversation names no closer: closed_by_* come with closed_at
-- (an agent of another space named there broke check_integrity)
SELECT inbox.create_space('plain writes, elsewhere') AS elsewhere \gset
SELECT inbox.create_agent(:elsewhere, 'Zed') AS zed \gset
SELECT pg_temp.try(format($$UPDATE inbox.conversation SET closed_by_agent = %s WHERE space_id = %s AND contact_id = %s AND closed_at IS NULL$$,
					  :zed, :space, :mia)) AS closer_of_open;
SELECT pg_temp.try(format($$UPDATE inbox.conversation SET closed_by_kind = 'automation' WHERE space_id = %s AND contact_id = %s AND closed_at IS NULL$$,
					  :space, :mia)) AS closer_kind_of_open;
SELECT inbox.close_conversation(:space, :mia, 'user', :ben) IS NOT NULL AS closed;
SELECT pg_temp.try(format($$INSERT INTO inbox.conversation (space_id, contact_id, opened_by_kind, closed_by_kind, closed_by_agent) VALUES (%s, %s, 'user', 'user', %s)$$,
					  :space, :mia, :ben)) AS insert_with_closer;
-- with closed_at, the closer is checked as a close's: an agent of the space
SELECT inbox.assign(:space, :mia, :ben);
SELECT pg_temp.try(format($$UPDATE inbox.conversation SET closed_at = now(), closed_by_kind = 'user', closed_by_agent = %s WHERE space_id = %s AND contact_id = %s AND closed_at IS NULL$$,
					  :zed, :space, :mia)) AS close_by_other_space;
SELECT inbox.receive_message(:space, :web, 'mia', 'Still there?') IS NOT NULL AS received;
SELECT * FROM inbox.check_integrity();

--
-- The time of a message's status
--
SELECT inbox.send_message(:space, :mia, :web, 'It ships today', :ben) AS out \gset
SELECT inbox.set_message_status(:space, :out, 'sent');
SELECT inbox.set_message_status(:space, :out, 'delivered');
-- clearing the time of the status: refused, naming status and column
SELECT pg_temp.try(format($$UPDATE inbox.message SET delivered_at = NULL WHERE space_id = %s AND id = %s$$,
					  :space, :out)) AS clear_delivered_at;
-- a late "sent" keeps "delivered": its time is still needed
SELECT pg_temp.try(format($$UPDATE inbox.message SET status = 'sent', delivered_at = NULL WHERE space_id = %s AND id = %s$$,
					  :space, :out)) AS late_sent_clearing_delivered_at;
-- the time may move; the time of an earlier status may go
SELECT pg_temp.try(format($$UPDATE inbox.message SET delivered_at = delivered_at - interval '1 second' WHERE space_id = %s AND id = %s$$,
					  :space, :out)) AS move_delivered_at;
SELECT pg_temp.try(format($$UPDATE inbox.message SET sent_at = NULL WHERE space_id = %s AND id = %s$$,
					  :space, :out)) AS clear_sent_at;
-- read, sent and failed alike
SELECT inbox.set_message_status(:space, :out, 'read');
SELECT pg_temp.try(format($$UPDATE inbox.message SET read_at = NULL WHERE space_id = %s AND id = %s$$,
					  :space, :out)) AS clear_read_at;
SELECT inbox.send_message(:space, :mia, :web, 'Tracking number follows', :ben) AS sent \gset
SELECT inbox.set_message_status(:space, :sent, 'sent');
SELECT pg_temp.try(format($$UPDATE inbox.message SET sent_at = NULL WHERE space_id = %s AND id = %s$$,
					  :space, :sent)) AS clear_sent_at;
SELECT inbox.send_message(:space, :mia, :web, 'Sorry for the wait', :ben) AS failed \gset
SELECT inbox.set_message_status(:space, :failed, 'failed', error => 'user blocked the page');
SELECT pg_temp.try(format($$UPDATE inbox.message SET failed_at = NULL WHERE space_id = %s AND id = %s$$,
					  :space, :failed)) AS clear_failed_at;
-- a pending message has no report to keep a time of
SELECT inbox.send_message(:space, :mia, :web, 'One more thing', :ben) AS pending \gset
SELECT pg_temp.try(format($$UPDATE inbox.message SET sent_at = NULL WHERE space_id = %s AND id = %s$$,
					  :space, :pending)) AS clear_pending_sent_at;
-- an incoming message's read_at is the team's: clearing it marks it unread
SELECT inbox.receive_message(:space, :web, 'mia', 'Thanks!') AS thanks \gset
SELECT inbox.mark_read(:space, :mia, :ben);
SELECT pg_temp.try(format($$UPDATE inbox.message SET read_at = NULL WHERE space_id = %s AND id = %s$$,
					  :space, :thanks)) AS mark_incoming_unread;
SELECT unread_count FROM regress.contact(:mia);
SELECT body, status, sent_at IS NOT NULL AS sent_at, delivered_at IS NOT NULL AS delivered_at,
	   read_at IS NOT NULL AS read_at, failed_at IS NOT NULL AS failed_at
FROM inbox.message WHERE contact_id = :mia AND direction = 'outgoing' ORDER BY id;
SELECT * FROM inbox.check_integrity();

--
-- Times that are not finite, or from the year 10000 on
--
SELECT id AS open FROM inbox.conversation WHERE contact_id = :mia AND closed_at IS NULL \gset
SELECT t AS bad, pg_temp.try(format($$UPDATE inbox.conversation SET closed_at = %L WHERE space_id = %s AND id = %s$$,
									t, :space, :open)) AS close_at
FROM unnest(ARRAY['infinity', '-infinity', '10000-01-01 00:00:00+00']) t;
SELECT pg_temp.try(format($$UPDATE inbox.conversation SET first_response_at = 'infinity' WHERE space_id = %s AND id = %s$$,
					  :space, :open)) AS first_response_at;
-- Leo has no conversation yet: one inserted with an infinite opening
SELECT inbox.receive_message(:space, :web, 'leo', 'Hello') AS m \gset
SELECT contact_id AS leo FROM inbox.message WHERE id = :m \gset
SELECT inbox.close_conversation(:space, :leo, 'user', :ana) IS NOT NULL AS closed;
SELECT t AS bad, pg_temp.try(format($$INSERT INTO inbox.conversation (space_id, contact_id, opened_by_kind, opened_at) VALUES (%s, %s, 'user', %L)$$,
									:space, :leo, t)) AS open_at
FROM unnest(ARRAY['infinity', '-infinity', '10000-01-01 00:00:00+00']) t;
-- events
SELECT t AS at, pg_temp.try(format($$INSERT INTO inbox.event (space_id, contact_id, kind, actor_kind, created_at) VALUES (%s, %s, 'page_change', 'contact', %L)$$,
								   :space, :leo, t)) AS event
FROM unnest(ARRAY['infinity', '-infinity', '10000-01-01 00:00:00+00', '9999-12-31 23:59:59.999999+00']) t;
-- the status times of a message, by UPDATE, INSERT and set_message_status
SELECT pg_temp.try(format($$UPDATE inbox.message SET delivered_at = 'infinity' WHERE space_id = %s AND id = %s$$,
					  :space, :out)) AS update_delivered_at;
SELECT pg_temp.try(format($$INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_kind, body, status, sent_at)
						   VALUES (%s, %s, %s, 'outgoing', 'api', 'x', 'sent', '-infinity')$$,
					  :space, :mia, :web)) AS insert_sent_at;
SELECT pg_temp.try(format($$SELECT inbox.set_message_status(%s, %s, 'delivered', at => '10000-01-01 00:00:00+00')$$,
					  :space, :sent)) AS report_at;
-- snoozes, by snooze(), UPDATE and INSERT
SELECT pg_temp.try(format($$SELECT inbox.snooze(%s, %s, 'infinity', %s)$$, :space, :leo, :ana)) AS snooze;
SELECT pg_temp.try(format($$UPDATE inbox.contact SET snoozed_until = '10000-01-01 00:00:00+00' WHERE space_id = %s AND id = %s$$,
					  :space, :leo)) AS update_snoozed_until;
SELECT pg_temp.try(format($$INSERT INTO inbox.contact (space_id, first_name, snoozed_until) VALUES (%s, 'Zoe', 'infinity')$$,
					  :space)) AS insert_snoozed_until;
-- what history shows is finite
SELECT count(*) AS items, count(*) FILTER (WHERE NOT isfinite(at)) AS infinite
FROM inbox.history(:space, :leo);
SELECT * FROM inbox.check_integrity();

--
-- View filters that are no JSON object
--
SELECT f AS filter, pg_temp.try(format($$INSERT INTO inbox.view (space_id, name, filter) VALUES (%s, 'odd', %L)$$,
									   :space, f)) AS insert_view
FROM unnest(ARRAY['[]', '[{"conversation": "open"}]', '3', '"open"', 'true', 'null']) f;
INSERT INTO inbox.view (space_id, name, filter) VALUES (:space, 'everyone', '{}') RETURNING id AS everyone \gset
SELECT pg_temp.try(format($$UPDATE inbox.view SET filter = '["tags"]' WHERE space_id = %s AND id = %s$$,
					  :space, :everyone)) AS update_view;
SELECT name, filter FROM inbox.view WHERE space_id = :space;

SELECT * FROM inbox.check_integrity();
