--
-- security: who may see and do what (roles, grants, row-level security and
-- the API's checks of its caller), run as separate non-superuser roles.
--
-- Proves:
--  * the extension made the roles inbox_admin and inbox_agent; the API
--    functions are SECURITY DEFINER with search_path pinned;
--  * an agent role of space 1 cannot read, list, count, search, change or get
--    ids of space 2, through tables or functions: ids of space 2 are "not
--    found" (P0002), like ids that do not exist;
--  * an agent cannot act as another agent (42501); an admin of the space can;
--  * an agent cannot write tables (42501); an admin writes rows of its own
--    spaces only (a row, contact, channel or assignee of another space is
--    42501 or P0002), and the rules (C triggers) still run for its writes;
--  * agents_see_only_assigned limits an agent to the contacts assigned to it
--    or to nobody, with their messages, conversations and events; the
--    policies' helpers (role_spaces, role_agents, role_sees_contact) answer
--    for the current role;
--  * a role bound to no agent gets 42501 from the API and sees no rows; a
--    role without grants gets 42501 from tables and functions.
--
\set VERBOSITY sqlstate

SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname IN ('inbox_admin', 'inbox_agent') ORDER BY 1;

-- the API runs as the owner with a pinned search_path; only the policy helpers
-- (called for every row a policy filters, they pin their settings in C around
-- their few look-ups), check_integrity (which runs as its caller, under
-- row-level security), notify_relay_queue, message_preview (which reads
-- nothing: a list row's preview of a message) and the Citus helpers (the
-- owner's, or reading catalogues only) do not
SELECT p.proname, p.prosecdef, p.proconfig
FROM pg_proc p
WHERE p.pronamespace = 'inbox'::regnamespace AND p.prorettype <> 'trigger'::regtype
  AND NOT (p.prosecdef AND p.proconfig = '{"search_path=pg_catalog, pg_temp"}')
ORDER BY 1;

-- row-level security is on for every data table, off for the catalogues
SELECT c.relname, c.relrowsecurity
FROM pg_class c
WHERE c.relnamespace = 'inbox'::regnamespace AND c.relkind = 'r'
ORDER BY 1;

-- roles are cluster-wide: names no other test uses
CREATE ROLE regress_inbox_ann;			-- agent Ann of space 1
CREATE ROLE regress_inbox_bob;			-- agent Bob of space 1
CREATE ROLE regress_inbox_cid;			-- agent Cid of space 2
CREATE ROLE regress_inbox_admin;		-- admin of space 1
CREATE ROLE regress_inbox_unbound;		-- has inbox_agent, bound to no agent
CREATE ROLE regress_inbox_outsider;		-- no grants at all
GRANT inbox_agent TO regress_inbox_ann, regress_inbox_bob, regress_inbox_cid, regress_inbox_unbound;
GRANT inbox_admin TO regress_inbox_admin;

SELECT inbox.create_space('Security One') AS s1 \gset
SELECT inbox.create_space('Security Two') AS s2 \gset
SELECT inbox.create_agent(:s1, 'Ann') AS ann \gset
SELECT inbox.create_agent(:s1, 'Bob') AS bob \gset
SELECT inbox.create_agent(:s2, 'Cid') AS cid \gset
UPDATE inbox.agent SET db_role = 'regress_inbox_ann' WHERE id = :ann;
UPDATE inbox.agent SET db_role = 'regress_inbox_bob' WHERE id = :bob;
UPDATE inbox.agent SET db_role = 'regress_inbox_cid' WHERE id = :cid;
INSERT INTO inbox.space_admin (space_id, db_role) VALUES (:s1, 'regress_inbox_admin');
SELECT inbox.create_channel(:s1, 'telegram', 'Telegram One') AS ch1 \gset
SELECT inbox.create_channel(:s2, 'telegram', 'Telegram Two') AS ch2 \gset

-- space 1: Alice (assigned to Ann), Bea (assigned to Bob), Carl (unassigned)
SELECT inbox.receive_message(:s1, :ch1, 'alice', 'hi from Alice', profile => '{"first_name": "Alice", "phone": "+1 415 555 0101"}') AS m_alice \gset
SELECT contact_id AS alice FROM inbox.message WHERE id = :m_alice \gset
SELECT inbox.receive_message(:s1, :ch1, 'bea', 'hi from Bea', profile => '{"first_name": "Bea"}') AS m_bea \gset
SELECT contact_id AS bea FROM inbox.message WHERE id = :m_bea \gset
SELECT inbox.receive_message(:s1, :ch1, 'carl', 'hi from Carl', profile => '{"first_name": "Carl"}') AS m_carl \gset
SELECT contact_id AS carl FROM inbox.message WHERE id = :m_carl \gset
SELECT inbox.assign(:s1, :alice, :ann);
SELECT inbox.assign(:s1, :bea, :bob);
-- space 2: Zed, with a phone number and a custom view
SELECT inbox.receive_message(:s2, :ch2, 'zed', 'secret of space two', profile => '{"first_name": "Zed", "phone": "+1 415 555 0199"}') AS m_zed \gset
SELECT contact_id AS zed FROM inbox.message WHERE id = :m_zed \gset
INSERT INTO inbox.view (space_id, name, filter) VALUES (:s2, 'Space two view', '{"unread": true}') RETURNING id AS v2 \gset

-- Ann acts once first: her own reads below then write nothing (a session
-- records an agent's activity at most once a minute, inbox.agent_activity)
SET ROLE regress_inbox_ann;
SELECT count(*) > 0 AS listed FROM inbox.contact_list(:s1, :ann);
RESET ROLE;
-- every refusal of the agent below runs in one transaction, after a message of
-- Zed's that must stay
BEGIN;
SELECT inbox.receive_message(:s2, :ch2, 'zed', 'another secret') IS NOT NULL AS received;
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on

--
-- An agent of space 1
--
SET ROLE regress_inbox_ann;

-- tables: only space 1's rows
SELECT name, agents_see_only_assigned FROM inbox.space;
SELECT name FROM inbox.agent ORDER BY name;
SELECT name FROM inbox.channel ORDER BY name;
SELECT first_name FROM inbox.contact ORDER BY first_name;
SELECT body FROM inbox.message ORDER BY body;
SELECT 'channel' AS tbl, count(*) FROM inbox.contact_channel WHERE space_id <> :s1
UNION ALL SELECT 'conversation', count(*) FROM inbox.conversation WHERE space_id <> :s1
UNION ALL SELECT 'event', count(*) FROM inbox.event WHERE space_id <> :s1
UNION ALL SELECT 'view', count(*) FROM inbox.view WHERE space_id <> :s1
UNION ALL SELECT 'view_count', count(*) FROM inbox.view_count WHERE space_id <> :s1
UNION ALL SELECT 'contact_merge', count(*) FROM inbox.contact_merge WHERE space_id <> :s1;
-- even by id
SELECT count(*) FROM inbox.contact WHERE id = :zed;
SELECT count(*) FROM inbox.message WHERE id = :m_zed;
-- the catalogues are readable by all
SELECT count(*) > 0 AS readable FROM inbox.channel_kind;
-- the admins of a space are the admins' business
SELECT * FROM inbox.space_admin;

-- lists, counts and searches of space 2: not found
SELECT * FROM inbox.contact_list(:s2, NULL);
SELECT * FROM inbox.view_counts(:s2, NULL);
SELECT name FROM inbox.contact_list(:s1, :ann, search => 'zed');
SELECT name FROM inbox.contact_list(:s1, :ann, search => '415 555 0199');
SELECT name FROM inbox.contact_list(:s1, :ann, view => :'v2');
-- its own space
SELECT name, conversation_open FROM inbox.contact_list(:s1, :ann) ORDER BY name;
SELECT name FROM inbox.contact_list(:s1, :ann, search => '415 555 0101');
SELECT view, contacts, unread_contacts FROM inbox.view_counts(:s1, :ann);

-- functions given ids of space 2: not found, nothing written
SELECT count(*) FROM inbox.history(:s2, :zed);
SELECT inbox.send_message(:s2, :zed, :ch2, 'x', :ann);
SELECT inbox.send_message(:s1, :alice, :ch2, 'x', :ann);
SELECT inbox.assign(:s2, :zed, :ann, 'user', :ann);
SELECT inbox.assign(:s1, :alice, :cid, 'user', :ann);
SELECT inbox.open_conversation(:s2, :zed, 'user', :ann);
SELECT inbox.close_conversation(:s2, :zed, 'user', :ann);
SELECT inbox.mark_read(:s2, :zed, :ann);
SELECT inbox.snooze(:s2, :zed, now() + interval '1 hour', :ann);
SELECT inbox.unsnooze(:s2, :zed, :ann);
SELECT inbox.record_event(:s2, :zed, 'page_change', 'contact');
SELECT inbox.merge_contacts(:s1, :alice, :zed, 'user', :ann);
SELECT inbox.view_counts(:s1, :cid);

-- acting as another agent of the same space: refused
SELECT inbox.send_message(:s1, :alice, :ch1, 'as Bob', :bob);
SELECT inbox.assign(:s1, :carl, :ann, 'user', :bob);
SELECT inbox.close_conversation(:s1, :alice, 'user', :bob);
SELECT inbox.mark_read(:s1, :alice, :bob);
SELECT inbox.snooze(:s1, :alice, now() + interval '1 hour', :bob);
SELECT * FROM inbox.contact_list(:s1, :bob, 'mine');
SELECT * FROM inbox.view_counts(:s1, :bob);

-- what admins and the owner do: no grant
SELECT inbox.receive_message(:s1, :ch1, 'mallory', 'fake');
SELECT inbox.set_message_status(:s1, :m_alice, 'sent');
SELECT inbox.create_agent(:s1, 'Eve');
SELECT inbox.create_space('Mine now');
SELECT inbox.wake_due_snoozes();
-- no direct table writes
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_kind, body)
	VALUES (:s1, :alice, :ch1, 'incoming', 'contact', 'typed');
UPDATE inbox.contact SET assignee_id = NULL WHERE id = :alice;
DELETE FROM inbox.event;
UPDATE inbox.space SET agents_see_only_assigned = false;

RESET ROLE;
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;

-- as itself, the agent works through the API
SET ROLE regress_inbox_ann;
SELECT inbox.send_message(:s1, :alice, :ch1, 'hello Alice', :ann) IS NOT NULL AS sent;
SELECT inbox.mark_read(:s1, :carl, :ann);
SELECT inbox.assign(:s1, :carl, :ann, 'user', :ann);
SELECT inbox.assign(:s1, :carl, NULL, 'user', :ann);
SELECT item, coalesce(body, event_kind) AS what, sender_label, event_label
FROM inbox.history(:s1, :alice) ORDER BY at, id;
RESET ROLE;

--
-- The agent of space 2 sees only space 2
--
SET ROLE regress_inbox_cid;
SELECT name FROM inbox.space;
SELECT first_name FROM inbox.contact;
SELECT name FROM inbox.contact_list(:s2, :cid);
SELECT inbox.role_sees_contact(:s2, :zed) AS sees_zed, inbox.role_sees_contact(:s1, :alice) AS sees_alice;
SELECT count(*) FROM inbox.history(:s1, :alice);
RESET ROLE;

--
-- The admin of space 1
--
SET ROLE regress_inbox_admin;
SELECT name FROM inbox.space;
SELECT count(*) AS admin_rows FROM inbox.space_admin;
SELECT first_name FROM inbox.contact ORDER BY first_name;
-- acts for any agent of its space, and does what agents may not
SELECT inbox.send_message(:s1, :bea, :ch1, 'Bob, by the admin', :bob) IS NOT NULL AS sent;
SELECT inbox.receive_message(:s1, :ch1, 'dora', 'hi from Dora', profile => '{"first_name": "Dora"}') IS NOT NULL AS received;
SELECT inbox.create_agent(:s1, 'Dan') IS NOT NULL AS created;
-- but nothing of space 2
SELECT inbox.receive_message(:s2, :ch2, 'zed', 'fake');
SELECT inbox.create_agent(:s2, 'Eve');
SELECT inbox.create_channel(:s2, 'telegram', 'mine');
SELECT inbox.set_message_status(:s2, :m_zed, 'sent');
SELECT inbox.send_message(:s2, :zed, :ch2, 'x', :cid);
SELECT count(*) FROM inbox.history(:s2, :zed);
-- direct writes: its own space, with the rules of the triggers
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_kind, body)
	VALUES (:s1, :carl, :ch1, 'incoming', 'contact', 'typed by the admin');
SELECT unread_count, last_message_direction FROM inbox.contact WHERE id = :carl;
SET inbox.actor_agent = :'bob';
UPDATE inbox.contact SET assignee_id = :bob WHERE id = :carl;
RESET inbox.actor_agent;
SELECT e.kind, e.actor_kind, a.name AS actor_agent
FROM inbox.event e LEFT JOIN inbox.agent a ON a.id = e.actor_agent_id
WHERE e.contact_id = :carl ORDER BY e.id;
UPDATE inbox.contact SET assignee_id = NULL WHERE id = :carl;
-- never another space's rows, never a row moved to another space
UPDATE inbox.contact SET tags = '{stolen}' WHERE id = :zed;
DELETE FROM inbox.message WHERE id = :m_zed;
INSERT INTO inbox.channel (space_id, kind, name) VALUES (:s2, 'telegram', 'planted');
UPDATE inbox.channel SET space_id = :s2 WHERE id = :ch1;
-- an assignee of another space: the admin cannot see that agent (P0002, like any id of another space)
UPDATE inbox.contact SET assignee_id = :cid WHERE id = :carl;
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_kind, body)
	VALUES (:s1, :carl, :ch2, 'incoming', 'contact', 'through the channel of space two');
INSERT INTO inbox.space_admin (space_id, db_role) VALUES (:s2, 'regress_inbox_admin');
INSERT INTO inbox.space (name) VALUES ('Mine now');
-- the catalogues belong to the owner
UPDATE inbox.channel_kind SET "window" = NULL WHERE kind = 'whatsapp_cloud';
-- the admin turns on assigned-only for its space (and cannot for space 2)
UPDATE inbox.space SET agents_see_only_assigned = true WHERE id = :s1;
UPDATE inbox.space SET agents_see_only_assigned = true WHERE id = :s2;
RESET ROLE;
SELECT first_name, tags FROM inbox.contact WHERE id = :zed;
SELECT count(*) AS zed_message_kept FROM inbox.message WHERE id = :m_zed;
SELECT count(*) AS space_two_channels FROM inbox.channel WHERE space_id = :s2;

--
-- agents_see_only_assigned: Ann sees Alice (hers) and Carl, Dora (nobody's)
--
SET ROLE regress_inbox_ann;
SELECT first_name FROM inbox.contact ORDER BY first_name;
SELECT name FROM inbox.contact_list(:s1, :ann) ORDER BY name;
SELECT name FROM inbox.contact_list(:s1, NULL) ORDER BY name;
SELECT name FROM inbox.contact_list(:s1, :ann, search => 'bea');
SELECT view, contacts FROM inbox.view_counts(:s1, :ann);
SELECT DISTINCT c.first_name FROM inbox.message m JOIN inbox.contact c ON c.id = m.contact_id ORDER BY 1;
SELECT count(*) AS bea_rows FROM (
	SELECT contact_id FROM inbox.message WHERE contact_id = :bea
	UNION ALL SELECT contact_id FROM inbox.conversation WHERE contact_id = :bea
	UNION ALL SELECT contact_id FROM inbox.event WHERE contact_id = :bea
	UNION ALL SELECT contact_id FROM inbox.contact_channel WHERE contact_id = :bea) r;
SELECT count(*) AS counts_rows FROM inbox.view_count;
-- what the policies ask, for Ann: her one space, where she is limited, her agent,
-- and the contacts she sees (each asked once per statement)
SELECT inbox.role_spaces('member') = ARRAY[:s1]::bigint[] AS member_of_space_one,
	   inbox.role_spaces('all_contacts') = '{}' AS limited,
	   inbox.role_agents() = ARRAY[:ann]::bigint[] AS her_agent;
SELECT c.who, inbox.role_sees_contact(c.space, c.id) AS sees
FROM (VALUES ('Alice, hers', :s1, :alice), ('Bea, Bob''s', :s1, :bea), ('Carl, nobody''s', :s1, :carl),
			 ('Zed, of space two', :s2, :zed), ('Alice, named in space two', :s2, :alice),
			 ('no such contact', :s1, 999999999)) c (who, space, id);
-- Bea is Bob's: not found for Ann
SELECT count(*) FROM inbox.history(:s1, :bea);
SELECT inbox.send_message(:s1, :bea, :ch1, 'x', :ann);
SELECT inbox.mark_read(:s1, :bea, :ann);
-- Ann takes Carl: still hers to see
SELECT inbox.assign(:s1, :carl, :ann, 'user', :ann);
SELECT name FROM inbox.contact_list(:s1, :ann, 'mine') ORDER BY name;
RESET ROLE;

SET ROLE regress_inbox_bob;
SELECT first_name FROM inbox.contact ORDER BY first_name;
SELECT count(*) FROM inbox.history(:s1, :carl);
RESET ROLE;

-- the admin still sees every contact of its space
SET ROLE regress_inbox_admin;
SELECT name FROM inbox.contact_list(:s1, NULL) ORDER BY name;
RESET ROLE;

--
-- A role with inbox_agent but bound to no agent, and a role without grants
--
SET ROLE regress_inbox_unbound;
SELECT count(*) FROM inbox.contact;
SELECT count(*) FROM inbox.space;
SELECT * FROM inbox.contact_list(:s1, NULL);
SELECT * FROM inbox.view_counts(:s1, NULL);
SELECT count(*) FROM inbox.history(:s1, :alice);
SELECT inbox.assign(:s1, :alice, NULL);
RESET ROLE;

SET ROLE regress_inbox_outsider;
SELECT count(*) FROM inbox.contact;
SELECT * FROM inbox.contact_list(:s1, NULL);
SELECT inbox.receive_message(:s1, :ch1, 'x', 'x');
RESET ROLE;

-- a scan of many contacts' rows by Ann, limited to assigned contacts: she sees
-- the rows of exactly the contacts that are hers or nobody's (past a few
-- hundred contacts looked up one by one, the policy reads those she sees at
-- once); 300 more contacts, every third of them Bob's
SELECT count(*) AS written FROM (
	SELECT inbox.receive_message(:s1, :ch1, 'many-' || g, 'hello') AS m FROM generate_series(1, 300) g) w;
SELECT count(*) AS assigned FROM (
	SELECT inbox.assign(:s1, c.contact_id, :bob) FROM inbox.contact_channel c
	WHERE c.space_id = :s1 AND c.external_id LIKE 'many-%' AND substr(c.external_id, 6)::int % 3 = 0) a;
SELECT count(*) FILTER (WHERE c.assignee_id IS NULL OR c.assignee_id = :ann) AS messages_ann_sees,
	   count(*) FILTER (WHERE c.assignee_id = :bob) AS messages_of_bob
FROM inbox.message m JOIN inbox.contact c ON c.space_id = m.space_id AND c.id = m.contact_id
WHERE m.space_id = :s1 \gset
SELECT count(*) FILTER (WHERE c.assignee_id IS NULL OR c.assignee_id = :ann) AS events_ann_sees,
	   count(*) FILTER (WHERE c.assignee_id = :bob) AS events_of_bob
FROM inbox.event e JOIN inbox.contact c ON c.space_id = e.space_id AND c.id = e.contact_id
WHERE e.space_id = :s1 \gset
SELECT :messages_of_bob > 100 AND :events_of_bob > 100 AS bob_has_many;
SET ROLE regress_inbox_ann;
SELECT count(*) = :messages_ann_sees AS sees_hers_and_nobodys, count(*) FILTER (WHERE m.contact_id = :bea) AS of_bea
FROM inbox.message m;
SELECT count(*) = :events_ann_sees AS sees_hers_and_nobodys FROM inbox.event;
RESET ROLE;

-- roles are cluster-wide: drop them (the bindings are names, not dependencies)
DELETE FROM inbox.space_admin WHERE db_role = 'regress_inbox_admin';
UPDATE inbox.agent SET db_role = NULL WHERE db_role::text LIKE 'regress_inbox_%';
DROP ROLE regress_inbox_ann, regress_inbox_bob, regress_inbox_cid, regress_inbox_admin,
	regress_inbox_unbound, regress_inbox_outsider;

SELECT * FROM inbox.check_integrity();
