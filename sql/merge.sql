--
-- merge: merge_contacts and unmerge_contacts.
--
-- Proves:
--  * a merge moves the merged contact's channel identities, conversations,
--    messages and events to the kept contact, marks it merged_into, leaves
--    it out of every view, and writes contact_merged on the kept contact;
--  * when both have an open conversation, the newer one absorbs the older
--    one's messages and events and stays the only open one;
--  * a new message on the merged contact's channel lands on the kept contact;
--  * unmerge restores both contacts exactly as they were (every row of both,
--    the absorbed conversation with its id), writes contact_unmerged, and the
--    message that arrived in between goes back with its channel;
--  * a merged contact takes no conversation, assignment, event, snooze or
--    message (55000), and merged_into is written by merge and unmerge only;
--  * errors: same contact, unknown contact, other space, already merged,
--    merged into a merged contact, unmerge of a pair never merged.
--
\set VERBOSITY sqlstate
SET client_min_messages = warning;

SELECT inbox.create_space('merge') AS space \gset
SELECT inbox.create_space('elsewhere') AS other_space \gset
SELECT inbox.create_agent(:space, 'Ana') AS ana \gset
SELECT inbox.create_agent(:space, 'Ben') AS ben \gset
SELECT inbox.create_channel(:space, 'telegram', 'tg') AS tg \gset
SELECT inbox.create_channel(:space, 'webchat', 'web') AS web \gset
SELECT inbox.create_channel(:other_space, 'webchat', 'web2') AS web2 \gset

-- Maria wrote on Telegram two days ago (closed since), and today (open, Ana's)
SELECT inbox.receive_message(:space, :tg, 'tg-maria', 'old question', at => now() - interval '2 days',
       profile => '{"first_name": "Maria", "email": "maria@example.com"}') AS m \gset
SELECT contact_id AS keep FROM inbox.message WHERE id = :m \gset
SELECT inbox.close_conversation(:space, :keep, 'user', :ana) > 0 AS closed;
SELECT inbox.receive_message(:space, :tg, 'tg-maria', 'new question', at => now() - interval '2 hours') > 0 AS received;
SELECT inbox.send_message(:space, :keep, :tg, 'hello Maria', :ana) > 0 AS replied;
-- the same person on web chat, an hour ago, with a tag; Ben was assigned
SELECT inbox.receive_message(:space, :web, 'visitor-9', 'me again, from the site', at => now() - interval '1 hour') AS m \gset
SELECT contact_id AS dup FROM inbox.message WHERE id = :m \gset
UPDATE inbox.contact SET tags = '{web}', custom = '{"source": "site"}' WHERE id = :dup;
SELECT inbox.assign(:space, :dup, :ben);
SELECT inbox.record_event(:space, :dup, 'page_change', 'contact', source_url => 'https://acme.test/help') > 0 AS event;

-- every row of both contacts, as they are now (ids included: a restore keeps them;
-- an identity's last_incoming_at follows later messages, so it is left out)
CREATE FUNCTION pg_temp.state(a bigint, b bigint) RETURNS text LANGUAGE sql AS $$
	SELECT md5(concat_ws('|',
		(SELECT string_agg(row(c.id, c.first_name, c.last_name, c.email, c.phone, c.custom, c.tags, c.assignee_id,
							   c.origin_channel_id, c.bot_active, c.snoozed_until, c.unread_count, c.last_message_at,
							   c.last_message_direction, c.last_message_id, c.last_channel_id, c.merged_into,
							   c.open_conversation_id)::text, ',' ORDER BY c.id)
		 FROM inbox.contact c WHERE c.id IN (a, b)),
		(SELECT string_agg(row(x.contact_id, x.channel_id, x.external_id, x.created_at)::text, ',' ORDER BY x.channel_id, x.external_id)
		 FROM inbox.contact_channel x WHERE x.contact_id IN (a, b)),
		(SELECT string_agg(x::text, ',' ORDER BY x.id) FROM inbox.conversation x WHERE x.contact_id IN (a, b)),
		(SELECT string_agg(x::text, ',' ORDER BY x.id) FROM inbox.message x WHERE x.contact_id IN (a, b)),
		(SELECT string_agg(x::text, ',' ORDER BY x.id) FROM inbox.event x
		 WHERE x.contact_id IN (a, b) AND x.kind NOT IN ('contact_merged', 'contact_unmerged'))))
$$;
SELECT pg_temp.state(:keep, :dup) AS before \gset
SELECT open_conversation_id AS dup_conversation FROM inbox.contact WHERE id = :dup \gset

SELECT count(*) FILTER (WHERE closed_at IS NULL) AS open, count(*) AS conversations
FROM inbox.conversation WHERE contact_id IN (:keep, :dup);

--
-- Merge
--
SELECT inbox.merge_contacts(:space, :keep, :dup, 'user', :ana);

-- the kept contact has everything; one open conversation: the newer one (the web
-- chat's, an hour old) absorbed Maria's two-hour-old one
SELECT (SELECT count(*) FROM inbox.contact_channel WHERE contact_id = :keep) AS identities,
       (SELECT count(*) FROM inbox.conversation WHERE contact_id = :keep) AS conversations,
       (SELECT count(*) FROM inbox.conversation WHERE contact_id = :keep AND closed_at IS NULL) AS open,
       (SELECT count(*) FROM inbox.message WHERE contact_id = :keep) AS messages,
       (SELECT count(*) FROM inbox.message m JOIN inbox.conversation v ON v.id = m.conversation_id
        WHERE m.contact_id = :keep AND v.closed_at IS NULL) AS in_open;
SELECT c.open_conversation_id = :dup_conversation AS open_is_the_newer_one,
       (SELECT count(*) FROM inbox.conversation WHERE id = :dup_conversation AND contact_id = :keep) AS moved,
       c.assignee_id = :ana AS kept_assignee, c.unread_count
FROM inbox.contact c WHERE id = :keep;
-- the merged contact: empty, unassigned, in no view
SELECT merged_into = :keep AS merged, assignee_id, unread_count, last_message_at, open_conversation_id,
       (SELECT count(*) FROM inbox.message WHERE contact_id = :dup) AS messages,
       (SELECT count(*) FROM inbox.event WHERE contact_id = :dup) AS events
FROM inbox.contact WHERE id = :dup;
SELECT count(*) AS listed FROM inbox.contact_list(:space, :ana, 'all') WHERE contact_id = :dup;
SELECT kind, actor_kind, actor_agent_id = :ana AS by_ana, data = jsonb_build_object('merged', :dup) AS data
FROM inbox.event WHERE contact_id = :keep AND kind = 'contact_merged';
SELECT * FROM inbox.check_integrity();

-- the visitor writes again on web chat: it reaches the kept contact
SELECT inbox.receive_message(:space, :web, 'visitor-9', 'are you there?') AS late \gset
SELECT contact_id = :keep AS kept FROM inbox.message WHERE id = :late;

-- errors
SELECT inbox.merge_contacts(:space, :keep, :keep);                       -- itself
SELECT inbox.merge_contacts(:space, :keep, 999999);                      -- unknown
SELECT inbox.merge_contacts(:space, :keep, :dup);                        -- already merged
-- a merged contact takes no new conversation, assignment, event or snooze
SELECT inbox.assign(:space, :dup, :ana);
SELECT inbox.open_conversation(:space, :dup, 'user');
SELECT inbox.record_event(:space, :dup, 'page_change', 'contact');
SELECT inbox.snooze(:space, :dup, now() + interval '1 day', :ana);
-- ... nor a message (55000), through the API and by INSERT
SELECT inbox.send_message(:space, :dup, :web, 'to the merged one', :ana);
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, body) VALUES (:space, :dup, :web, 'incoming', 'typed to the merged one');
UPDATE inbox.contact SET merged_into = NULL WHERE id = :dup;   -- only unmerge_contacts does that
UPDATE inbox.contact SET merged_into = :dup WHERE id = :keep;  -- only merge_contacts does that
UPDATE inbox.contact_channel SET contact_id = :dup WHERE contact_id = :keep;   -- no identity either
SELECT inbox.merge_contacts(:space, :dup, :keep);                        -- into a merged contact
SELECT inbox.merge_contacts(:space, :keep, NULL);
SELECT inbox.merge_contacts(:space, :keep, :dup, 'nobody');              -- bad actor kind
SELECT inbox.receive_message(:other_space, :web2, 'x', 'other space') AS m2 \gset
SELECT contact_id AS stranger FROM inbox.message WHERE id = :m2 \gset
SELECT inbox.merge_contacts(:space, :keep, :stranger);                   -- other space
SELECT inbox.unmerge_contacts(:space, :keep, :stranger);                 -- never merged
SELECT inbox.unmerge_contacts(:space, :dup, :keep);                      -- the wrong way round

--
-- Unmerge
--
SELECT inbox.unmerge_contacts(:space, :keep, :dup, 'user', :ana);
-- the late message went back with its channel; without it, both contacts are as they were
SELECT contact_id = :dup AS back_with_its_channel FROM inbox.message WHERE id = :late;
SELECT conversation_id = (SELECT open_conversation_id FROM inbox.contact WHERE id = :dup) AS in_its_open_conversation
FROM inbox.message WHERE id = :late;
BEGIN;
SET LOCAL inbox.notify = off;
DELETE FROM inbox.message WHERE id = :late;
SELECT pg_temp.state(:keep, :dup) = :'before' AS restored_exactly;
ROLLBACK;
SELECT kind, actor_kind FROM inbox.event WHERE contact_id = :keep AND kind LIKE 'contact_%merged' ORDER BY id;
SELECT inbox.unmerge_contacts(:space, :keep, :dup);                      -- nothing left to undo

-- the other way round: the visitor kept, Maria merged into it (her open
-- conversation, the older, is absorbed into the kept contact's), and back
SELECT pg_temp.state(:keep, :dup) AS before2 \gset
SELECT inbox.merge_contacts(:space, :dup, :keep, 'automation');
SELECT count(*) FILTER (WHERE closed_at IS NULL) AS open, count(*) AS conversations
FROM inbox.conversation WHERE contact_id = :dup;
SELECT * FROM inbox.check_integrity();
SELECT inbox.unmerge_contacts(:space, :dup, :keep, 'api');
SELECT pg_temp.state(:keep, :dup) = :'before2' AS restored_exactly;

-- a merge with no open conversation on either side
SELECT inbox.close_conversation(:space, :keep, 'user', :ana) > 0, inbox.close_conversation(:space, :dup, 'user', :ben) > 0;
SELECT pg_temp.state(:keep, :dup) AS before3 \gset
SELECT inbox.merge_contacts(:space, :keep, :dup);
SELECT count(*) FILTER (WHERE closed_at IS NULL) AS open, count(*) AS conversations
FROM inbox.conversation WHERE contact_id = :keep;
SELECT inbox.unmerge_contacts(:space, :keep, :dup);
SELECT pg_temp.state(:keep, :dup) = :'before3' AS restored_exactly;
SELECT * FROM inbox.check_integrity();
