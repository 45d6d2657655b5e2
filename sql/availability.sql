--
-- availability: agents' status (online, busy, offline), set_agent_status(),
-- and the activity that auto_away_after counts from.
--
-- Proves:
--  * an agent is online when added, with its activity starting then;
--  * set_agent_status() sets online, busy or offline and returns nothing;
--    the same status again changes nothing;
--  * bad input: an unknown or empty status is 22023 naming it, NULL
--    arguments 22023, an unknown agent or one of another space P0002; each
--    writes nothing; a plain UPDATE to an unknown status meets the table's
--    check (23514);
--  * an agent's role sets its own status, not another agent's (42501); an
--    admin of the space sets anyone's;
--  * an API call as an agent (an agent argument, or a role bound to it)
--    records that it acted, at most once per inbox.activity_interval per
--    session (a second call within it writes nothing, also after a refused
--    call rolled back to its savepoint); coming online counts as acting; a
--    read-only transaction records nothing.
-- Status changes notify ({"op": "agent", "agent": id}) and auto-away sets
-- idle agents offline in time: test/automation.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('availability') AS space \gset
SELECT inbox.create_space('elsewhere') AS other \gset
SELECT inbox.create_agent(:space, 'Ann') AS ann \gset
SELECT inbox.create_agent(:space, 'Bob') AS bob \gset
SELECT inbox.create_agent(:other, 'Mallory') AS mallory \gset
SELECT inbox.create_channel(:space, 'webchat', 'Web') AS web \gset

-- added online; its activity starts when it was added
SELECT a.name, a.status, v.active_at = a.created_at AS acting_since_added
FROM inbox.agent a JOIN inbox.agent_activity v ON v.space_id = a.space_id AND v.agent_id = a.id
WHERE a.space_id = :space ORDER BY a.id;

-- every status, and back
SELECT inbox.set_agent_status(:space, :ann, 'busy');
SELECT status FROM inbox.agent WHERE id = :ann;
SELECT inbox.set_agent_status(:space, :ann, 'offline');
SELECT status FROM inbox.agent WHERE id = :ann;
SELECT inbox.set_agent_status(:space, agent => :ann, status => 'online');
SELECT status FROM inbox.agent WHERE id = :ann;
-- the same status again: nothing written
SELECT regress.fingerprint() AS before \gset
SELECT inbox.set_agent_status(:space, :ann, 'online');
SELECT regress.fingerprint() = :'before' AS nothing_written;

-- bad input: 22023 naming the status, P0002 for an agent the space does not have
BEGIN;
SELECT inbox.set_agent_status(:space, :bob, 'busy');
SELECT regress.fingerprint() AS before \gset
SELECT regress.error_of(format('SELECT inbox.set_agent_status(%s, %s, %L)', :space, :ann, 'away'));
SELECT regress.error_of(format('SELECT inbox.set_agent_status(%s, %s, %L)', :space, :ann, 'Online'));
SELECT regress.error_of(format('SELECT inbox.set_agent_status(%s, %s, %L)', :space, :ann, ''));
\set ON_ERROR_ROLLBACK on
SELECT inbox.set_agent_status(:space, :ann, NULL);
SELECT inbox.set_agent_status(:space, NULL, 'busy');
SELECT inbox.set_agent_status(NULL, :ann, 'busy');
SELECT inbox.set_agent_status(:space, -1, 'busy');
SELECT inbox.set_agent_status(:space, :mallory, 'busy');
SELECT inbox.set_agent_status(-1, :ann, 'busy');
UPDATE inbox.agent SET status = 'away' WHERE id = :ann;
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
SELECT name, status FROM inbox.agent WHERE space_id = :space ORDER BY id;

-- roles: an agent sets its own status only; an admin of the space anyone's
CREATE ROLE regress_inbox_avail_ann;
CREATE ROLE regress_inbox_avail_admin;
GRANT inbox_agent TO regress_inbox_avail_ann;
GRANT inbox_admin TO regress_inbox_avail_admin;
UPDATE inbox.agent SET db_role = 'regress_inbox_avail_ann' WHERE id = :ann;
INSERT INTO inbox.space_admin (space_id, db_role) VALUES (:space, 'regress_inbox_avail_admin');
SET ROLE regress_inbox_avail_ann;
SELECT inbox.set_agent_status(:space, :ann, 'busy');
SELECT inbox.set_agent_status(:space, :bob, 'online');
SET ROLE regress_inbox_avail_admin;
SELECT inbox.set_agent_status(:space, :bob, 'online');
SELECT inbox.set_agent_status(:space, :ann, 'online');
RESET ROLE;
SELECT name, status FROM inbox.agent WHERE space_id = :space ORDER BY id;

-- activity: an API call as the agent records it (every call, with the interval 0)
SET inbox.activity_interval = 0;
SELECT inbox.receive_message(:space, :web, 'visitor', 'Hello') AS m \gset
SELECT contact_id AS c FROM inbox.message WHERE id = :m \gset
UPDATE inbox.agent_activity SET active_at = '2001-01-01' WHERE space_id = :space;
SELECT inbox.mark_read(:space, :c, :bob);
-- a role bound to an agent acts as it, also without an agent argument
SET ROLE regress_inbox_avail_ann;
SELECT count(*) AS items FROM inbox.history(:space, :c);
RESET ROLE;
SELECT name, v.active_at > '2001-01-01' AS acted
FROM inbox.agent a JOIN inbox.agent_activity v ON v.agent_id = a.id WHERE a.space_id = :space ORDER BY a.id;
-- within the interval (a minute by default) a session records an agent once
SET inbox.activity_interval = 60;
SELECT regress.fingerprint() AS before \gset
SELECT inbox.mark_read(:space, :c, :bob);
SELECT count(*) AS rows FROM inbox.contact_list(:space, :bob);
SELECT regress.fingerprint() = :'before' AS nothing_written;
-- a refused call, rolled back to its savepoint, leaves what the session
-- recorded before: the calls after it write nothing either
BEGIN;
\set ON_ERROR_ROLLBACK on
SELECT inbox.mark_read(:space, -1, :bob);
SELECT count(*) AS rows FROM inbox.contact_list(:space, :bob);
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
-- a read-only transaction records nothing (a standby serves the read API)
SET inbox.activity_interval = 0;
UPDATE inbox.agent_activity SET active_at = '2001-01-01' WHERE agent_id = :bob;
BEGIN READ ONLY;
SELECT count(*) AS rows FROM inbox.contact_list(:space, :bob);
COMMIT;
SELECT active_at FROM inbox.agent_activity WHERE agent_id = :bob;
-- coming online counts as acting (auto-away counts from there)
SELECT inbox.set_agent_status(:space, :bob, 'offline');
UPDATE inbox.agent_activity SET active_at = '2001-01-01' WHERE agent_id = :bob;
SELECT inbox.set_agent_status(:space, :bob, 'online');
SELECT active_at > '2001-01-01' AS acting_again FROM inbox.agent_activity WHERE agent_id = :bob;
RESET inbox.activity_interval;

UPDATE inbox.agent SET db_role = NULL WHERE id = :ann;
DELETE FROM inbox.space_admin WHERE space_id = :space;
DROP ROLE regress_inbox_avail_ann;
DROP ROLE regress_inbox_avail_admin;

SELECT * FROM inbox.check_integrity();
