--
-- event_kinds: every event kind and actor of the catalogue can be produced.
--
-- Proves:
--  * each (kind, actor kind) pair of inbox.event_kind is written by the API call
--    that causes it, by a plain table write with that actor, or by record_event;
--  * history shows each with the catalogue's label (the seed's wording);
--  * an event kind / actor pair that is not in the catalogue is refused (22023),
--    as are kinds inbox writes itself when passed to record_event;
--  * events cannot be changed or deleted by hand (55000), only with their contact.
--
\set VERBOSITY sqlstate
SET client_min_messages = warning;

SELECT inbox.create_space('events') AS space \gset
SELECT inbox.create_agent(:space, 'Ana') AS ana \gset
SELECT inbox.create_agent(:space, 'Ben') AS ben \gset
SELECT inbox.create_channel(:space, 'webchat', 'web') AS web \gset
SELECT inbox.create_channel(:space, 'telegram', 'tg') AS tg \gset
SELECT inbox.receive_message(:space, :web, 'visitor', 'hello', profile => '{"email": "v@example.com"}') AS m \gset
SELECT contact_id AS c FROM inbox.message WHERE id = :m \gset

-- assigned / unassigned by each actor that may (system, as the automatic
-- assignment does it: a plain write with that actor)
SELECT inbox.assign(:space, :c, :ana, k), inbox.assign(:space, :c, NULL, k) FROM unnest('{user,automation,bot,api}'::text[]) k;
BEGIN;
SELECT inbox.assign(:space, :c, :ben);
SET LOCAL inbox.actor_kind = 'system';
UPDATE inbox.contact SET assignee_id = NULL WHERE id = :c;
UPDATE inbox.contact SET assignee_id = :ana WHERE id = :c;
UPDATE inbox.contact SET assignee_id = NULL WHERE id = :c;
COMMIT;
-- conversations closed and opened by each actor (the first was opened by the contact's message);
-- closed by the system as auto-close does it, then opened again
SELECT inbox.close_conversation(:space, :c, k) > 0, inbox.open_conversation(:space, :c, k) > 0
FROM unnest('{user,automation,bot,api}'::text[]) k;
SELECT inbox.close_conversation(:space, :c, 'system') > 0, inbox.open_conversation(:space, :c, 'user') > 0;
-- snoozes: set and ended by a user, ended by a message, ended by the clock
SELECT inbox.snooze(:space, :c, now() + interval '1 day', :ana), inbox.unsnooze(:space, :c, :ana);
SELECT inbox.snooze(:space, :c, now() + interval '1 day', :ana);
SELECT inbox.receive_message(:space, :web, 'visitor', 'I am back') > 0;
SELECT inbox.snooze(:space, :c, clock_timestamp() + interval '1 second', :ana);
SELECT pg_sleep(1.2);
-- woken here, or by the background worker (which may still be committing it)
SELECT set_config('regress.snoozed', :'c', false) IS NOT NULL AS noted;
DO $$
BEGIN
	FOR i IN 1..200 LOOP
		PERFORM inbox.wake_due_snoozes();
		EXIT WHEN (SELECT snoozed_until IS NULL FROM inbox.contact
				   WHERE id = current_setting('regress.snoozed')::bigint);
		PERFORM pg_sleep(0.05);
	END LOOP;
END $$;
SELECT snoozed_until FROM inbox.contact WHERE id = :c;
-- the contact's details, changed by an agent
SELECT inbox.update_contact(:space, :c, :ana, first_name => 'Vic');
-- merges by each actor
SELECT inbox.receive_message(:space, :tg, 'someone', 'hi') AS m \gset
SELECT contact_id AS other FROM inbox.message WHERE id = :m \gset
SELECT inbox.merge_contacts(:space, :c, :other, k), inbox.unmerge_contacts(:space, :c, :other, k)
FROM unnest('{user,automation,api}'::text[]) k;
-- a known person on a new channel (actor contact), and identities added by hand
SELECT inbox.receive_message(:space, :tg, 'visitor-tg', 'hi from telegram', profile => '{"email": "V@example.com"}') > 0;
BEGIN;
SET LOCAL inbox.actor_kind = 'user';
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id)
SELECT :space, :c, inbox.create_channel(:space, 'sms', 'sms-user'), '+1555000001';
SET LOCAL inbox.actor_kind = 'automation';
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id)
SELECT :space, :c, inbox.create_channel(:space, 'sms', 'sms-automation'), '+1555000002';
SET LOCAL inbox.actor_kind = 'api';
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id)
SELECT :space, :c, inbox.create_channel(:space, 'sms', 'sms-api'), '+1555000003';
SET LOCAL inbox.actor_kind = 'system';
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id)
SELECT :space, :c, inbox.create_channel(:space, 'sms', 'sms-system'), '+1555000004';
COMMIT;
-- the rest come from outside inbox: record_event
SELECT count(inbox.record_event(:space, :c, k.kind, k.actor_kind,
			reference => CASE WHEN k.kind = 'channel_event' THEN 'ref-1' END,
			source_url => CASE WHEN k.kind IN ('channel_event', 'page_change') THEN 'https://acme.test/p' END)) AS recorded
FROM inbox.event_kind k
WHERE k.kind IN ('broadcast_sent', 'survey_started', 'survey_canceled', 'survey_completed', 'survey_failed',
				 'bot_status_on', 'bot_status_off', 'channel_event', 'page_change');

-- every pair of the catalogue was produced ...
SELECT k.kind, k.actor_kind AS missing_actor
FROM inbox.event_kind k
WHERE NOT EXISTS (SELECT FROM inbox.event e WHERE e.contact_id = :c AND e.kind = k.kind AND e.actor_kind = k.actor_kind)
ORDER BY 1, 2;
-- ... and history labels each as the catalogue does
SELECT h.event_kind, h.actor_kind, h.event_label
FROM inbox.history(:space, :c, page_size => 1000) h
JOIN inbox.event_kind k ON k.kind = h.event_kind AND k.actor_kind = h.actor_kind
WHERE h.item = 'event' AND h.event_label IS DISTINCT FROM k.label;
SELECT count(DISTINCT (h.event_kind, h.actor_kind)) = (SELECT count(*) FROM inbox.event_kind) AS every_pair_in_history
FROM inbox.history(:space, :c, page_size => 1000) h WHERE h.item = 'event';
-- reference and source_url are kept
SELECT kind, reference, source_url FROM inbox.event
WHERE contact_id = :c AND kind IN ('channel_event', 'page_change') ORDER BY kind;
-- bot status events set the contact's bot flag
SELECT inbox.record_event(:space, :c, 'bot_status_on', 'bot') > 0 AS recorded;
SELECT bot_active FROM inbox.contact WHERE id = :c;
SELECT inbox.record_event(:space, :c, 'bot_status_off', 'user') > 0 AS recorded;
SELECT bot_active FROM inbox.contact WHERE id = :c;

-- refused: a pair not in the catalogue, an unknown kind, a kind inbox writes itself
SELECT inbox.record_event(:space, :c, 'broadcast_sent', 'user');
SELECT inbox.record_event(:space, :c, 'page_change', 'bot');
SELECT inbox.record_event(:space, :c, 'invented', 'user');
SELECT inbox.record_event(:space, :c, 'assigned', 'user');
INSERT INTO inbox.event (space_id, contact_id, kind, actor_kind) VALUES (:space, :c, 'survey_started', 'contact');

-- events are history: not changed, not deleted by hand; deleting a contact takes them along
UPDATE inbox.event SET kind = 'page_change' WHERE contact_id = :c AND kind = 'channel_event';
DELETE FROM inbox.event WHERE contact_id = :c AND kind = 'conversation_opened';
SELECT count(*) > 0 AS has_events FROM inbox.event WHERE contact_id = :c;
DELETE FROM inbox.contact WHERE id = :c;
SELECT count(*) AS events_left FROM inbox.event WHERE contact_id = :c;

SELECT * FROM inbox.check_integrity();
