--
-- views: the built-in views, custom views, view_counts and contact_list.
--
-- Proves:
--  * "all" lists contacts with a message, newest message first; "mine" the
--    asking agent's contacts; "unassigned" open conversations without an
--    assignee; snoozed and merged-away contacts are in none of them;
--  * closing a conversation moves the contact from "mine" to neither
--    "mine" nor "unassigned" but keeps it in "all";
--  * view_counts agrees with the lists, for contacts and unread contacts,
--    after every kind of change;
--  * keyset pagination: pages are disjoint and complete, also when a contact
--    of a later page receives a message between pages;
--  * search: case-insensitive partial names and e-mails; phone numbers in any
--    formatting, matched at the start or the end of the number's digits;
--    inside a view; LIKE wildcards in the search are literal; what is
--    searched follows edits of the name, e-mail and phone, also in a restore;
--  * custom views: filters over conversation, assignee, channels, tags,
--    unread and custom fields; owned views are private; a bad filter is
--    refused naming the bad key or value;
--  * errors: unknown space, agent, view, bad cursor, bad page size.
--
\set VERBOSITY sqlstate
SET client_min_messages = warning;

SELECT inbox.create_space('views') AS space \gset
SELECT inbox.create_space('other') AS other_space \gset
SELECT inbox.create_agent(:space, 'Ana') AS ana \gset
SELECT inbox.create_agent(:space, 'Ben') AS ben \gset
SELECT inbox.create_agent(:other_space, 'Zed') AS zed \gset
SELECT inbox.create_channel(:space, 'telegram', 'tg') AS tg \gset
SELECT inbox.create_channel(:space, 'webchat', 'web') AS web \gset

-- six contacts, one message each, an hour apart: c1 oldest ... c6 newest
SELECT inbox.receive_message(:space, :tg, 'u1', 'hello', at => '2026-01-01 08:00+00',
       profile => '{"first_name": "Maria", "last_name": "García", "email": "maria@example.com", "phone": "+1 (415) 555-0100"}') AS m \gset
SELECT contact_id AS c1 FROM inbox.message WHERE id = :m \gset
SELECT inbox.receive_message(:space, :tg, 'u2', 'hello', at => '2026-01-01 09:00+00',
       profile => '{"first_name": "Mario", "last_name": "Rossi", "phone": "0044 20 7946 0958"}') AS m \gset
SELECT contact_id AS c2 FROM inbox.message WHERE id = :m \gset
SELECT inbox.receive_message(:space, :web, 'u3', 'hello', at => '2026-01-01 10:00+00',
       profile => '{"first_name": "John", "email": "john_100%@example.org"}') AS m \gset
SELECT contact_id AS c3 FROM inbox.message WHERE id = :m \gset
SELECT inbox.receive_message(:space, :web, 'u4', 'hello', at => '2026-01-01 11:00+00') AS m \gset
SELECT contact_id AS c4 FROM inbox.message WHERE id = :m \gset
SELECT inbox.receive_message(:space, :tg, 'u5', 'hello', at => '2026-01-01 12:00+00',
       profile => '{"first_name": "Yuki"}') AS m \gset
SELECT contact_id AS c5 FROM inbox.message WHERE id = :m \gset
SELECT inbox.receive_message(:space, :tg, 'u6', 'hello', at => '2026-01-01 13:00+00',
       profile => '{"first_name": "Lee"}') AS m \gset
SELECT contact_id AS c6 FROM inbox.message WHERE id = :m \gset

-- names by contact id, so the output reads without ids
CREATE TEMP VIEW who AS
SELECT id, coalesce(first_name, 'c' || (id - :c1 + 1)) AS who FROM inbox.contact WHERE space_id = :space;

-- the lists of a view, as names in list order
CREATE FUNCTION pg_temp.list(space bigint, agent bigint, view text, search text DEFAULT NULL)
RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(w.who, ', ' ORDER BY l.ordinality), '-')
	FROM inbox.contact_list(space, agent, view, search, page_size => 1000) WITH ORDINALITY l
	JOIN who w ON w.id = l.contact_id
$$;

-- every view's count next to the length of its list (they must agree)
CREATE FUNCTION pg_temp.counts(space bigint, agent bigint)
RETURNS TABLE (view text, contacts bigint, unread bigint, listed bigint, listed_unread bigint)
LANGUAGE sql AS $$
	SELECT v.view, v.contacts, v.unread_contacts,
		   (SELECT count(*) FROM inbox.contact_list(space, agent, v.view, page_size => 1000)),
		   (SELECT count(*) FROM inbox.contact_list(space, agent, v.view, page_size => 1000) WHERE unread_count > 0)
	FROM inbox.view_counts(space, agent) v
$$;

-- all six are new and unread: in "all" and "unassigned", nobody's "mine"
SELECT pg_temp.list(:space, :ana, 'all') AS "all";
SELECT pg_temp.list(:space, :ana, 'unassigned') AS unassigned;
SELECT pg_temp.list(:space, :ana, 'mine') AS mine;
SELECT * FROM pg_temp.counts(:space, :ana);

-- Ana replies to Maria (assigned, read), Ben is assigned John without a reply
SELECT inbox.send_message(:space, :c1, :tg, 'hi Maria', :ana) > 0 AS sent;
SELECT inbox.assign(:space, :c3, :ben);
SELECT pg_temp.list(:space, :ana, 'all') AS "all";
SELECT pg_temp.list(:space, :ana, 'mine') AS ana_mine, pg_temp.list(:space, :ben, 'mine') AS ben_mine;
SELECT pg_temp.list(:space, :ana, 'unassigned') AS unassigned;
SELECT * FROM pg_temp.counts(:space, :ana);
SELECT * FROM pg_temp.counts(:space, :ben);

-- closing Maria's conversation: out of "mine", not "unassigned" (nothing open), still in "all"
SELECT inbox.close_conversation(:space, :c1, 'user', :ana) > 0 AS closed;
SELECT pg_temp.list(:space, :ana, 'mine') AS ana_mine, pg_temp.list(:space, :ana, 'unassigned') AS unassigned;
SELECT c.contact_id = :c1 AS maria, c.conversation_open FROM inbox.contact_list(:space, :ana, 'all') c WHERE c.contact_id = :c1;

-- a snoozed contact is in no list and no count; a merged-away one neither
UPDATE inbox.contact SET snoozed_until = now() + interval '1 day' WHERE id = :c5;
SELECT inbox.merge_contacts(:space, :c6, :c4);
SELECT pg_temp.list(:space, :ana, 'all') AS "all", pg_temp.list(:space, :ana, 'unassigned') AS unassigned;
SELECT * FROM pg_temp.counts(:space, :ana);
UPDATE inbox.contact SET snoozed_until = NULL WHERE id = :c5;
SELECT inbox.unmerge_contacts(:space, :c6, :c4);

-- reading and new messages move the unread counts
SELECT inbox.mark_read(:space, :c2, :ana);
SELECT inbox.receive_message(:space, :web, 'u3', 'still there?', at => '2026-01-01 14:00+00') > 0 AS received;
SELECT pg_temp.list(:space, :ana, 'all') AS "all";
SELECT * FROM pg_temp.counts(:space, :ben);

-- the list row: what the contact list shows
SELECT w.who, l.conversation_open, l.origin_channel_id = :web AS origin_web, l.last_channel_id = :web AS last_web,
       l.unread_count, l.last_message_at, l.last_message_direction, l.assignee_id = :ben AS ben, l.snoozed_until
FROM inbox.contact_list(:space, :ben, 'mine') l JOIN who w ON w.id = l.contact_id;

--
-- Pagination
--
-- pages of two: disjoint, in order, complete
SELECT cursor AS p1 FROM inbox.contact_list(:space, :ana, 'all', page_size => 2) OFFSET 1 \gset
SELECT string_agg(w.who, ', ') AS page1 FROM inbox.contact_list(:space, :ana, 'all', page_size => 2) l JOIN who w ON w.id = l.contact_id;
SELECT string_agg(w.who, ', ') AS page2 FROM inbox.contact_list(:space, :ana, 'all', cursor => :'p1', page_size => 2) l JOIN who w ON w.id = l.contact_id;
SELECT cursor AS p2 FROM inbox.contact_list(:space, :ana, 'all', cursor => :'p1', page_size => 2) OFFSET 1 \gset
-- Mario (on page 3) writes before page 3 is read: he moves to the top, page 3 has the rest once
SELECT inbox.receive_message(:space, :tg, 'u2', 'hello again', at => '2026-01-01 15:00+00') > 0 AS received;
SELECT string_agg(w.who, ', ') AS page3 FROM inbox.contact_list(:space, :ana, 'all', cursor => :'p2', page_size => 2) l JOIN who w ON w.id = l.contact_id;
-- (fewer rows than the page size: the end of the list)
-- a fresh first page shows him first
SELECT string_agg(w.who, ', ') AS fresh FROM inbox.contact_list(:space, :ana, 'all', page_size => 2) l JOIN who w ON w.id = l.contact_id;

--
-- Search
--
SELECT pg_temp.list(:space, :ana, 'all', 'mari') AS "mari";            -- partial, two names
SELECT pg_temp.list(:space, :ana, 'all', 'GARCÍA') AS "GARCÍA";        -- case-insensitive, unicode
SELECT pg_temp.list(:space, :ana, 'all', 'maria garc') AS "maria garc"; -- first and last name
SELECT pg_temp.list(:space, :ana, 'all', 'example.com') AS "e-mail";
SELECT pg_temp.list(:space, :ana, 'all', '14155550100') AS "digits";
SELECT pg_temp.list(:space, :ana, 'all', '+1 415-555-0100') AS "formatted";
SELECT pg_temp.list(:space, :ana, 'all', '(415) 555-0100') AS "no country code";
SELECT pg_temp.list(:space, :ana, 'all', '555 0100') AS "local number";
SELECT pg_temp.list(:space, :ana, 'all', '+1 415') AS "beginning";
SELECT pg_temp.list(:space, :ana, 'all', '7946 0958') AS "other phone";
SELECT pg_temp.list(:space, :ana, 'all', '5550') AS "middle digits: no";
SELECT pg_temp.list(:space, :ana, 'all', '100%') AS "100%";            -- % is literal: only John's e-mail
SELECT pg_temp.list(:space, :ana, 'all', '_') AS "underscore";         -- _ is literal too
SELECT pg_temp.list(:space, :ana, 'all', 'nobody') AS "nobody";
SELECT pg_temp.list(:space, :ana, 'all', '') AS "empty = all";
SELECT pg_temp.list(:space, :ben, 'mine', 'john') AS "john in mine", pg_temp.list(:space, :ana, 'mine', 'john') AS "john not in Ana's";
-- what is searched follows an edit of the name, e-mail and phone
UPDATE inbox.contact SET last_name = 'Gómez', phone = NULL WHERE id = :c1;
SELECT pg_temp.list(:space, :ana, 'all', 'garcía') AS "old name: no", pg_temp.list(:space, :ana, 'all', 'GÓMEZ') AS "new name",
       pg_temp.list(:space, :ana, 'all', '555 0100') AS "no phone: no";
-- and a direct write of the search columns is undone
UPDATE inbox.contact SET search_text = 'nobody', phone_digits = '999' WHERE id = :c1;
SELECT search_text, phone_digits FROM inbox.contact WHERE id = :c1;
UPDATE inbox.contact SET last_name = 'García', phone = '+1 (415) 555-0100' WHERE id = :c1;
SELECT search_text, phone_digits FROM inbox.contact WHERE id = :c1;
SELECT pg_temp.list(:space, :ana, 'all', '555 0100') AS "phone again";
-- a contact written with the rules off (a restore runs with session_replication_role =
-- replica) gets its search columns too
SET session_replication_role = replica;
INSERT INTO inbox.contact (space_id, first_name, phone) VALUES (:other_space, 'Restored', '+1 (212) 555-0199')
RETURNING id AS restored, search_text, phone_digits \gset
SELECT :'search_text' AS search_text, :'phone_digits' AS phone_digits;
RESET session_replication_role;
DELETE FROM inbox.contact WHERE id = :restored;
-- check_integrity() finds search columns that do not follow (only with their trigger off)
ALTER TABLE inbox.contact DISABLE TRIGGER contact_search_columns;
UPDATE inbox.contact SET search_text = 'stale' WHERE id = :c1;
SELECT invariant, violations FROM inbox.check_integrity();
ALTER TABLE inbox.contact ENABLE ALWAYS TRIGGER contact_search_columns;
UPDATE inbox.contact SET search_text = NULL WHERE id = :c1;
SELECT search_text FROM inbox.contact WHERE id = :c1;

--
-- Custom views
--
UPDATE inbox.contact SET tags = '{vip}', custom = '{"plan": "gold", "seats": 5}' WHERE id IN (:c2, :c6);
INSERT INTO inbox.view (space_id, name, filter) VALUES (:space, 'Open on web', jsonb_build_object('conversation', 'open', 'channels', jsonb_build_array(:web))) RETURNING id AS v_web \gset
INSERT INTO inbox.view (space_id, name, filter) VALUES (:space, 'VIP gold', '{"tags": ["vip"], "custom": {"plan": "gold"}}') RETURNING id AS v_vip \gset
INSERT INTO inbox.view (space_id, name, filter) VALUES (:space, 'Unread, nobody''s', '{"unread": true, "assignee": "none"}') RETURNING id AS v_unread \gset
INSERT INTO inbox.view (space_id, owner_agent_id, name, filter) VALUES (:space, :ben, 'Ben: mine, closed', '{"assignee": "me", "conversation": "closed"}') RETURNING id AS v_ben \gset
INSERT INTO inbox.view (space_id, owner_agent_id, name, filter) VALUES (:space, :ana, 'Ana: Ben''s', jsonb_build_object('assignee', :ben)) RETURNING id AS v_ana \gset
SELECT pg_temp.list(:space, :ana, :'v_web') AS open_on_web, pg_temp.list(:space, :ana, :'v_vip') AS vip_gold,
       pg_temp.list(:space, :ana, :'v_unread') AS unread_nobodys, pg_temp.list(:space, :ana, :'v_ana') AS bens;
-- the counts: Ana sees the shared views and her own, not Ben's
SELECT v.owner_agent_id = :ana AS own, v.name, c.contacts, c.unread, c.listed, c.listed_unread
FROM pg_temp.counts(:space, :ana) c JOIN inbox.view v ON v.id::text = c.view ORDER BY v.id;
SELECT name FROM inbox.view_counts(:space, :ben) WHERE view ~ '^[0-9]+$';
-- Ben's private view is not Ana's to list
SELECT count(*) FROM inbox.contact_list(:space, :ana, :'v_ben');

-- bad filters are refused, naming the problem
\set VERBOSITY terse
INSERT INTO inbox.view (space_id, name, filter) VALUES (:space, 'bad', '{"status": "open"}');
INSERT INTO inbox.view (space_id, name, filter) VALUES (:space, 'bad', '{"conversation": "pending"}');
INSERT INTO inbox.view (space_id, name, filter) VALUES (:space, 'bad', '{"assignee": "everyone"}');
INSERT INTO inbox.view (space_id, name, filter) VALUES (:space, 'bad', '{"channels": 1}');
INSERT INTO inbox.view (space_id, name, filter) VALUES (:space, 'bad', '{"channels": [999999]}');
INSERT INTO inbox.view (space_id, name, filter) VALUES (:space, 'bad', '{"tags": "vip"}');
INSERT INTO inbox.view (space_id, name, filter) VALUES (:space, 'bad', '{"unread": "yes"}');
INSERT INTO inbox.view (space_id, name, filter) VALUES (:space, 'bad', '{"custom": {"plan": ["gold"]}}');
UPDATE inbox.view SET filter = '{"tags": [1]}' WHERE id = :v_vip;
\set VERBOSITY sqlstate
-- an agent of another space: not an assignee here, nor an owner
INSERT INTO inbox.view (space_id, name, filter) VALUES (:space, 'bad', jsonb_build_object('assignee', :zed));
INSERT INTO inbox.view (space_id, owner_agent_id, name) VALUES (:space, :zed, 'not his space');

--
-- Errors
--
SELECT * FROM inbox.contact_list(999999, NULL);                         -- unknown space
SELECT * FROM inbox.contact_list(:space, :zed);                         -- agent of another space
SELECT * FROM inbox.contact_list(:space, NULL, 'mine');                 -- "mine" needs an agent
SELECT * FROM inbox.contact_list(:space, :ana, 'starred');              -- unknown view
SELECT * FROM inbox.contact_list(:space, :ana, '999999');               -- unknown custom view
SELECT * FROM inbox.contact_list(:space, :ana, NULL);                   -- NULL view
SELECT * FROM inbox.contact_list(:space, :ana, cursor => 'abc');        -- malformed cursor
SELECT * FROM inbox.contact_list(:space, :ana, page_size => 0);         -- page size
SELECT * FROM inbox.contact_list(:space, :ana, page_size => 100000);
SELECT * FROM inbox.view_counts(999999, NULL);
SELECT * FROM inbox.view_counts(:space, :zed);
-- no agent: the views that need none
SELECT view FROM inbox.view_counts(:space, NULL);

-- a deleted space takes its counts along
SELECT count(*) > 0 AS counted FROM inbox.view_count WHERE space_id = :space;
DELETE FROM inbox.space WHERE id = :space;
SELECT count(*) AS left_over FROM inbox.view_count WHERE space_id = :space;

SELECT * FROM inbox.check_integrity();
