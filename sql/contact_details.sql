--
-- contact_details: an agent updates the contact's details while answering it
-- (update_contact, the seed's fifth section).
--
-- Proves:
--  * only the fields given change; '' clears a text field; tags replace the
--    list (each tag once, in the order first given; '{}' removes them all);
--    custom merges key by key, and a key given as JSON null is removed;
--  * a call that changes something writes one contact_updated event (actor
--    user, the agent, label "Contact Updated", in the open conversation) whose
--    data names exactly the fields that changed; a call that changes nothing
--    (no field, the same values, removing a key that is not there) writes
--    nothing at all;
--  * search follows the new name, e-mail and phone;
--  * a role bound to an agent updates the contacts of its space as that agent,
--    not as another one (42501, with a hint), and still may not UPDATE the
--    table (42501); an admin of the space updates for any of its agents;
--  * the maintained columns are still refused to a plain UPDATE (22023), and
--    contact_updated is inbox's own: record_event refuses it (22023);
--  * bad calls write nothing: NULL space, contact or agent, a field over 1024
--    bytes, a NULL, empty or too long tag, tags of two dimensions, custom not
--    an object (22023); an unknown contact or agent, or one of another space
--    (P0002); a contact merged into another (55000).
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('contact details') AS space \gset
SELECT inbox.create_space('elsewhere') AS other_space \gset
SELECT inbox.create_agent(:space, 'Ana') AS ana \gset
SELECT inbox.create_agent(:space, 'Ben') AS ben \gset
SELECT inbox.create_agent(:other_space, 'Zed') AS zed \gset
SELECT inbox.create_channel(:space, 'telegram', 'tg') AS tg \gset
SELECT inbox.create_channel(:other_space, 'telegram', 'tg') AS other_tg \gset

SELECT inbox.receive_message(:space, :tg, 'maria', 'Hi, I moved', at => now() - interval '1 minute',
       profile => '{"first_name": "Maria", "email": "maria@old.example", "phone": "+1 415 555 0100"}') AS m \gset
SELECT contact_id AS maria FROM inbox.message WHERE id = :m \gset
SELECT inbox.receive_message(:other_space, :other_tg, 'zoe', 'Hi') AS m \gset
SELECT contact_id AS zoe FROM inbox.message WHERE id = :m \gset
UPDATE inbox.contact SET tags = '{lead}', custom = '{"plan": "free", "city": "Lisbon"}' WHERE id = :maria;

-- the contact's details and its contact_updated events
CREATE TEMP VIEW details AS
SELECT first_name, last_name, email, phone, tags, custom FROM inbox.contact WHERE id = :maria;
CREATE TEMP VIEW updates AS
SELECT e.data -> 'fields' AS fields, e.actor_kind, a.name AS agent, k.label,
	   e.conversation_id = c.open_conversation_id AS in_open_conversation
FROM inbox.event e
JOIN inbox.contact c ON c.id = e.contact_id
JOIN inbox.event_kind k ON k.kind = e.kind AND k.actor_kind = e.actor_kind
LEFT JOIN inbox.agent a ON a.id = e.actor_agent_id
WHERE e.contact_id = :maria AND e.kind = 'contact_updated' ORDER BY e.id;

-- Ana adds the last name and a new e-mail; the rest stays
SELECT inbox.update_contact(:space, :maria, :ana, last_name => 'Lima', email => 'maria@new.example');
SELECT * FROM details;
-- tags replace the list, each tag once; custom merges: plan changes, vip is
-- added, city is removed (null), what is not named stays
SELECT inbox.update_contact(:space, :maria, :ana, tags => '{vip,gold,vip}',
       custom => '{"plan": "gold", "vip": true, "city": null}');
SELECT * FROM details;
-- '' clears a text field; '{}' removes every tag
SELECT inbox.update_contact(:space, :maria, :ana, phone => '', tags => '{}');
SELECT * FROM details;
SELECT * FROM updates;

-- search follows the new details: the new e-mail and last name find her, the old e-mail does not
SELECT name FROM inbox.contact_list(:space, :ana, search => 'maria@new');
SELECT name FROM inbox.contact_list(:space, :ana, search => 'lima');
SELECT count(*) FROM inbox.contact_list(:space, :ana, search => 'maria@old');
SELECT inbox.update_contact(:space, :maria, :ana, phone => '+351 912 345 678');
SELECT name FROM inbox.contact_list(:space, :ana, search => '912345678');

-- calls that change nothing write nothing: no field, the same values, a
-- removed key that is not there, an empty custom
SELECT regress.fingerprint() AS before \gset
SELECT inbox.update_contact(:space, :maria, :ana);
SELECT inbox.update_contact(:space, :maria, :ana, first_name => 'Maria', last_name => 'Lima',
       email => 'maria@new.example', custom => '{"plan": "gold", "city": null}', tags => '{}');
SELECT inbox.update_contact(:space, :maria, :ana, custom => '{}');
SELECT regress.fingerprint() = :'before' AS nothing_written;
SELECT count(*) AS contact_updated_events FROM inbox.event WHERE contact_id = :maria AND kind = 'contact_updated';

-- a contact without an open conversation: the event belongs to none
SELECT inbox.close_conversation(:space, :maria, 'user', :ana) IS NOT NULL AS closed;
SELECT inbox.update_contact(:space, :maria, :ana, custom => '{"note": "called back"}');
SELECT e.data, e.conversation_id IS NULL AS no_conversation
FROM inbox.event e WHERE e.contact_id = :maria AND e.kind = 'contact_updated' ORDER BY e.id DESC LIMIT 1;

--
-- roles: an agent acts as itself, an admin for any agent of its space
--
CREATE ROLE regress_details_ana;
CREATE ROLE regress_details_admin;
GRANT inbox_agent TO regress_details_ana;
GRANT inbox_admin TO regress_details_admin;
UPDATE inbox.agent SET db_role = 'regress_details_ana' WHERE id = :ana;
INSERT INTO inbox.space_admin (space_id, db_role) VALUES (:space, 'regress_details_admin');

SET ROLE regress_details_ana;
SELECT inbox.update_contact(:space, :maria, :ana, first_name => 'María');
-- not as Ben: 42501, and the hint says why
SELECT regress.refusal(format('SELECT inbox.update_contact(%s, %s, %s, first_name => %L)',
	   :space, :maria, :ben, 'Mary')) AS refusal;
-- nor in another space, nor by a plain UPDATE
SELECT inbox.update_contact(:other_space, :zoe, :ana, first_name => 'Zoé');
UPDATE inbox.contact SET first_name = 'Mary' WHERE id = :maria;
RESET ROLE;

SET ROLE regress_details_admin;
SELECT inbox.update_contact(:space, :maria, :ben, custom => '{"vip": false}');
SELECT inbox.update_contact(:other_space, :zoe, :zed, first_name => 'Zoé');
RESET ROLE;
SELECT first_name, custom FROM inbox.contact WHERE id = :maria;
SELECT fields, agent FROM updates;

DELETE FROM inbox.space_admin WHERE db_role = 'regress_details_admin';
UPDATE inbox.agent SET db_role = NULL WHERE id = :ana;
DROP ROLE regress_details_ana, regress_details_admin;

--
-- what update_contact does not touch stays refused to a plain UPDATE, and its
-- event is its own
--
UPDATE inbox.contact SET unread_count = 5 WHERE id = :maria;
UPDATE inbox.contact SET last_message_at = now() WHERE id = :maria;
SELECT inbox.record_event(:space, :maria, 'contact_updated', 'user', :ana);

--
-- bad calls, in one transaction after work that must stay: each writes nothing
--
BEGIN;
SELECT inbox.update_contact(:space, :maria, :ana, last_name => 'Lima-Santos');
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
-- NULL space, contact or agent (22023)
SELECT inbox.update_contact(NULL, :maria, :ana, first_name => 'X');
SELECT inbox.update_contact(:space, NULL, :ana, first_name => 'X');
SELECT inbox.update_contact(:space, :maria, NULL, first_name => 'X');
-- a field over 1024 bytes, bad tags, custom not an object (22023)
SELECT inbox.update_contact(:space, :maria, :ana, email => repeat('x', 1025));
SELECT inbox.update_contact(:space, :maria, :ana, first_name => repeat('é', 600));
SELECT inbox.update_contact(:space, :maria, :ana, tags => ARRAY['vip', NULL]);
SELECT inbox.update_contact(:space, :maria, :ana, tags => '{vip,""}');
SELECT inbox.update_contact(:space, :maria, :ana, tags => ARRAY[repeat('t', 1025)]);
SELECT inbox.update_contact(:space, :maria, :ana, tags => '{{a,b},{c,d}}');
SELECT inbox.update_contact(:space, :maria, :ana, custom => '[1, 2]');
SELECT inbox.update_contact(:space, :maria, :ana, custom => '"gold"');
-- unknown contact or agent, or one of another space (P0002)
SELECT inbox.update_contact(:space, 999999999, :ana, first_name => 'X');
SELECT inbox.update_contact(:space, :zoe, :ana, first_name => 'X');
SELECT inbox.update_contact(:space, :maria, 999999999, first_name => 'X');
SELECT inbox.update_contact(:space, :maria, :zed, first_name => 'X');
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
SELECT last_name FROM inbox.contact WHERE id = :maria;

-- a contact merged into another: its details are the kept contact's business (55000)
SELECT inbox.receive_message(:space, :tg, 'maria-2', 'me again') AS m \gset
SELECT contact_id AS maria2 FROM inbox.message WHERE id = :m \gset
SELECT inbox.merge_contacts(:space, :maria, :maria2, 'user', :ana);
SELECT inbox.update_contact(:space, :maria2, :ana, first_name => 'X');

SELECT * FROM inbox.check_integrity();
