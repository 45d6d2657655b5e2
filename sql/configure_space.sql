--
-- configure_space: a space's automation settings (columns of inbox.space).
--
-- Proves:
--  * a new space has the defaults: no auto-close, unassign on close, manual
--    assignment without a cap, no auto-away;
--  * configure_space() changes only the settings it is given, and returns
--    nothing; a setting is turned off by a plain UPDATE to NULL, and a plain
--    UPDATE sets the others too;
--  * bad values are 22023 with a message naming the value: an unknown
--    assignment, a negative cap, an interval of zero, negative or over 100
--    years; each writes nothing, nor undoes the work before it in its
--    transaction; a plain UPDATE with such a value meets the table's checks
--    (23514);
--  * a NULL space is 22023, an unknown space P0002; only the space's admins
--    may call it (42501 for an agent's role; an admin of the space may).
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('configure') AS space \gset
SELECT inbox.create_agent(:space, 'Ann') AS ann \gset

CREATE FUNCTION regress.settings(bigint)
RETURNS TABLE (auto_close_after interval, unassign_on_close boolean, assignment text,
			   assignment_cap integer, auto_away_after interval)
LANGUAGE sql AS $$
	SELECT auto_close_after, unassign_on_close, assignment, assignment_cap, auto_away_after
	FROM inbox.space WHERE id = $1
$$;

-- the defaults
SELECT * FROM regress.settings(:space);

-- each call changes what it names, nothing else
SELECT inbox.configure_space(:space, auto_close_after => '24 hours');
SELECT * FROM regress.settings(:space);
SELECT inbox.configure_space(:space, assignment => 'round_robin', assignment_cap => 5);
SELECT * FROM regress.settings(:space);
SELECT inbox.configure_space(:space, unassign_on_close => false, auto_away_after => '15 minutes');
SELECT * FROM regress.settings(:space);
SELECT inbox.configure_space(:space, assignment => 'least_open', assignment_cap => 0);
SELECT * FROM regress.settings(:space);
-- nothing given: nothing changes
SELECT regress.fingerprint() AS before \gset
SELECT inbox.configure_space(:space);
SELECT regress.fingerprint() = :'before' AS nothing_written;

-- off, and back, by plain UPDATE
UPDATE inbox.space SET auto_close_after = NULL, assignment_cap = NULL, auto_away_after = NULL WHERE id = :space;
SELECT * FROM regress.settings(:space);
UPDATE inbox.space SET assignment = 'manual', unassign_on_close = true, auto_close_after = '2 days' WHERE id = :space;
SELECT * FROM regress.settings(:space);

-- bad values: 22023 naming the value, and nothing written
BEGIN;
SELECT inbox.configure_space(:space, auto_away_after => '1 hour');
SELECT regress.fingerprint() AS before \gset
SELECT regress.error_of(format('SELECT inbox.configure_space(%s, assignment => %L)', :space, 'random'));
SELECT regress.error_of(format('SELECT inbox.configure_space(%s, assignment => %L)', :space, ''));
SELECT regress.error_of(format('SELECT inbox.configure_space(%s, assignment_cap => -1)', :space));
SELECT regress.error_of(format('SELECT inbox.configure_space(%s, auto_close_after => %L)', :space, '0 seconds'));
SELECT regress.error_of(format('SELECT inbox.configure_space(%s, auto_close_after => %L)', :space, '-2 hours'));
SELECT regress.error_of(format('SELECT inbox.configure_space(%s, auto_away_after => %L)', :space, '-1 day'));
SELECT regress.error_of(format('SELECT inbox.configure_space(%s, auto_away_after => %L)', :space, '101 years'));
-- a bad value among good ones: none of them is written
SELECT regress.error_of(format('SELECT inbox.configure_space(%s, auto_close_after => %L, assignment => %L)',
							   :space, '1 hour', 'fastest'));
\set ON_ERROR_ROLLBACK on
-- the same by plain UPDATE: the table's checks (23514)
UPDATE inbox.space SET assignment = 'random' WHERE id = :space;
UPDATE inbox.space SET assignment_cap = -1 WHERE id = :space;
UPDATE inbox.space SET auto_close_after = '0 seconds' WHERE id = :space;
UPDATE inbox.space SET auto_away_after = '-1 minute' WHERE id = :space;
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
SELECT * FROM regress.settings(:space);

-- the space: given (22023), existing (P0002)
SELECT inbox.configure_space(NULL, auto_close_after => '1 hour');
SELECT inbox.configure_space(-1, auto_close_after => '1 hour');

-- admins only: an agent's role is refused (42501), an admin of the space may
CREATE ROLE regress_inbox_configure_agent;
CREATE ROLE regress_inbox_configure_admin;
GRANT inbox_agent TO regress_inbox_configure_agent;
GRANT inbox_admin TO regress_inbox_configure_admin;
UPDATE inbox.agent SET db_role = 'regress_inbox_configure_agent' WHERE id = :ann;
INSERT INTO inbox.space_admin (space_id, db_role) VALUES (:space, 'regress_inbox_configure_admin');
SET ROLE regress_inbox_configure_agent;
SELECT inbox.configure_space(:space, assignment => 'round_robin');
SET ROLE regress_inbox_configure_admin;
SELECT inbox.configure_space(:space, assignment => 'round_robin');
RESET ROLE;
SELECT assignment FROM regress.settings(:space);

-- leave the space manual, and the roles gone
UPDATE inbox.space SET assignment = 'manual', auto_close_after = NULL, auto_away_after = NULL WHERE id = :space;
UPDATE inbox.agent SET db_role = NULL WHERE id = :ann;
DELETE FROM inbox.space_admin WHERE space_id = :space;
DROP ROLE regress_inbox_configure_agent;
DROP ROLE regress_inbox_configure_admin;

SELECT * FROM inbox.check_integrity();
