--
-- custom_views: agents keep views of their own, admins share views with the
-- space (save_view, delete_view).
--
-- Proves:
--  * save_view saves a private view of the agent (returns its id): the agent
--    counts and lists it, the other agents of the space neither count nor list
--    it (P0002); with view => id it changes the agent's own view, keeping the id;
--  * a shared view is an admin's: saved by an admin it is every agent's; an
--    agent saving, changing or deleting a shared view gets 42501 (with a hint);
--    an admin may make an agent's view shared;
--  * an agent acts as itself: saving or deleting a view as another agent is
--    42501; another agent's private view is not found (P0002) to change or
--    delete, also for an admin acting for the wrong agent;
--  * delete_view removes the view; then it is not found (P0002);
--  * agents still may not INSERT into inbox.view (42501);
--  * filters are checked as today (22023 naming the bad key or value), and the
--    other bad arguments write nothing: NULL or empty name, NULL filter or one
--    that is not an object, NULL shared, NULL view to delete (22023); unknown
--    or other space's space, agent or view (P0002).
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('custom views') AS space \gset
SELECT inbox.create_space('other') AS other_space \gset
SELECT inbox.create_agent(:space, 'Ana') AS ana \gset
SELECT inbox.create_agent(:space, 'Ben') AS ben \gset
SELECT inbox.create_agent(:other_space, 'Zed') AS zed \gset
SELECT inbox.create_channel(:space, 'telegram', 'tg') AS tg \gset
SELECT inbox.create_channel(:other_space, 'telegram', 'tg') AS other_tg \gset

-- three contacts: a VIP assigned to Ana, a gold lead, and one with nothing
SELECT inbox.receive_message(:space, :tg, 'u1', 'hi', at => now() - interval '3 minutes', profile => '{"first_name": "Vera"}') AS m \gset
SELECT contact_id AS vera FROM inbox.message WHERE id = :m \gset
SELECT inbox.receive_message(:space, :tg, 'u2', 'hi', at => now() - interval '2 minutes', profile => '{"first_name": "Gil"}') AS m \gset
SELECT contact_id AS gil FROM inbox.message WHERE id = :m \gset
SELECT inbox.receive_message(:space, :tg, 'u3', 'hi', at => now() - interval '1 minute', profile => '{"first_name": "Noor"}') AS m \gset
SELECT contact_id AS noor FROM inbox.message WHERE id = :m \gset
SELECT inbox.update_contact(:space, :vera, :ana, tags => '{vip}');
SELECT inbox.update_contact(:space, :gil, :ana, custom => '{"plan": "gold"}');
SELECT inbox.assign(:space, :vera, :ana, 'user', :ana);
SELECT inbox.receive_message(:other_space, :other_tg, 'z1', 'hi') IS NOT NULL AS received;

CREATE ROLE regress_views_ana;
CREATE ROLE regress_views_ben;
CREATE ROLE regress_views_admin;
GRANT inbox_agent TO regress_views_ana, regress_views_ben;
GRANT inbox_admin TO regress_views_admin;
UPDATE inbox.agent SET db_role = 'regress_views_ana' WHERE id = :ana;
UPDATE inbox.agent SET db_role = 'regress_views_ben' WHERE id = :ben;
INSERT INTO inbox.space_admin (space_id, db_role) VALUES (:space, 'regress_views_admin');


--
-- Ana's own views
--
SET ROLE regress_views_ana;
SELECT inbox.save_view(:space, :ana, 'My VIPs', '{"tags": ["vip"]}') AS vips \gset
SELECT name, owner_agent_id = :ana AS hers, filter FROM inbox.view WHERE id = :vips;
SELECT coalesce(string_agg(name, ', ' ORDER BY last_message_at DESC), '-') AS my_vips FROM inbox.contact_list(:space, :ana, :'vips');
SELECT view = :'vips' AS the_view, name, contacts FROM inbox.view_counts(:space, :ana) WHERE view NOT IN ('all', 'mine', 'unassigned');
-- she changes it: same id, new name and filter
SELECT inbox.save_view(:space, :ana, 'Gold plans', '{"custom": {"plan": "gold"}}', view => :vips) = :vips AS same_view;
SELECT name, filter FROM inbox.view WHERE id = :vips;
SELECT coalesce(string_agg(name, ', ' ORDER BY last_message_at DESC), '-') AS gold FROM inbox.contact_list(:space, :ana, :'vips');
-- she may not share a view: 42501, and the hint says who may
SELECT regress.refusal(format('SELECT inbox.save_view(%s, %s, %L, %L, shared => true)',
	   :space, :ana, 'For all', '{}')) AS refusal;
-- nor save a view as Ben, nor write the table
SELECT inbox.save_view(:space, :ben, 'Ben''s', '{}');
INSERT INTO inbox.view (space_id, owner_agent_id, name) VALUES (:space, :ana, 'typed');
RESET ROLE;

--
-- Ben does not see Ana's view
--
SET ROLE regress_views_ben;
SELECT count(*) AS views_ben_sees FROM inbox.view;
SELECT view FROM inbox.view_counts(:space, :ben) WHERE view NOT IN ('all', 'mine', 'unassigned');
SELECT * FROM inbox.contact_list(:space, :ben, :'vips');
SELECT inbox.save_view(:space, :ben, 'Taken', '{}', view => :vips);
SELECT inbox.delete_view(:space, :ben, :vips);
SELECT inbox.save_view(:space, :ben, 'Mine', '{"unread": true}') AS bens \gset
RESET ROLE;

--
-- a shared view, saved by the admin
--
SET ROLE regress_views_admin;
SELECT inbox.save_view(:space, :ana, 'Unassigned leads', '{"assignee": "none"}', shared => true) AS shared \gset
SELECT name, owner_agent_id IS NULL AS shared FROM inbox.view WHERE id = :shared;
-- for the wrong agent, an agent's view is not found
SELECT inbox.save_view(:space, :ana, 'x', '{}', view => :bens);
SELECT inbox.delete_view(:space, :ana, :bens);
RESET ROLE;

SET ROLE regress_views_ben;
SELECT view = :'shared' AS is_shared, name, contacts FROM inbox.view_counts(:space, :ben) WHERE view NOT IN ('all', 'mine', 'unassigned') ORDER BY view;
SELECT coalesce(string_agg(name, ', ' ORDER BY last_message_at DESC), '-') AS unassigned_leads FROM inbox.contact_list(:space, :ben, :'shared');
-- Ben may use it, not change or delete it
SELECT inbox.save_view(:space, :ben, 'Renamed', '{}', view => :shared);
SELECT inbox.save_view(:space, :ben, 'Renamed', '{}', shared => false, view => :shared);
SELECT inbox.delete_view(:space, :ben, :shared);
RESET ROLE;

SET ROLE regress_views_ana;
SELECT name FROM inbox.view ORDER BY name;
-- her own view goes: then it is not found
SELECT inbox.delete_view(:space, :ana, :vips);
SELECT * FROM inbox.contact_list(:space, :ana, :'vips');
SELECT inbox.delete_view(:space, :ana, :vips);
RESET ROLE;

-- the admin makes Ben's view shared, renames the shared one, deletes it
SET ROLE regress_views_admin;
SELECT inbox.save_view(:space, :ben, 'Unread', '{"unread": true}', shared => true, view => :bens) = :bens AS same_view;
SELECT inbox.save_view(:space, :ana, 'Leads', '{"assignee": "none", "conversation": "open"}', shared => true, view => :shared) = :shared AS same_view;
SELECT name, owner_agent_id IS NULL AS shared, filter FROM inbox.view WHERE space_id = :space ORDER BY name;
SELECT inbox.delete_view(:space, :ana, :shared);
RESET ROLE;
SELECT name FROM inbox.view WHERE space_id = :space ORDER BY name;

DELETE FROM inbox.space_admin WHERE db_role = 'regress_views_admin';
UPDATE inbox.agent SET db_role = NULL WHERE id IN (:ana, :ben);
DROP ROLE regress_views_ana, regress_views_ben, regress_views_admin;

--
-- bad calls, after work that must stay: each writes nothing
--
SELECT format('{"channels": [%s]}', :other_tg) AS filter_of_other_channel \gset
BEGIN;
SELECT inbox.save_view(:space, :ana, 'Kept', '{}') AS kept \gset
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
-- filters are checked as for an INSERT into inbox.view (22023)
SELECT inbox.save_view(:space, :ana, 'x', '{"colour": "red"}');
SELECT inbox.save_view(:space, :ana, 'x', '{"conversation": "pending"}');
SELECT inbox.save_view(:space, :ana, 'x', :'filter_of_other_channel');
SELECT inbox.save_view(:space, :ana, 'x', '{"unread": "yes"}', view => :kept);
-- the other arguments (22023)
SELECT inbox.save_view(:space, :ana, NULL, '{}');
SELECT inbox.save_view(:space, :ana, '', '{}');
SELECT inbox.save_view(:space, :ana, 'x', NULL);
SELECT inbox.save_view(:space, :ana, 'x', '["tags"]');
SELECT inbox.save_view(:space, :ana, 'x', '{}', shared => NULL);
SELECT inbox.save_view(NULL, :ana, 'x', '{}');
SELECT inbox.save_view(:space, NULL, 'x', '{}');
SELECT inbox.delete_view(:space, :ana, NULL);
-- unknown or other space's ids (P0002)
SELECT inbox.save_view(999999999, :ana, 'x', '{}');
SELECT inbox.save_view(:space, 999999999, 'x', '{}');
SELECT inbox.save_view(:space, :zed, 'x', '{}');
SELECT inbox.save_view(:space, :ana, 'x', '{}', view => 999999999);
SELECT inbox.delete_view(:space, :ana, 999999999);
SELECT inbox.delete_view(:other_space, :zed, :kept);
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;

SELECT * FROM inbox.check_integrity();
