--
-- comments_mentions: agents leave internal notes on a contact for each other
-- (add_comment), mentioning agents (their notifications: the isolation spec
-- comment_vs_merge).
--
-- Proves:
--  * add_comment returns the note's id and keeps its author, body and
--    mentions (each agent once, in the order first given), in the contact's
--    open conversation (none when none is open);
--  * a note is never a message: no message row, the unread count, the last
--    message and the list row stay as they were, and no pending outgoing
--    message (what inbox-worker deliver claims) appears;
--  * history() shows it as item "comment" with the author's name, its body and
--    {"mentions": [...]}, in time order with the messages and events; its
--    cursor pages back from it;
--  * a plain INSERT by an admin follows the same rules; a note is history (an
--    UPDATE is 55000) that an admin may delete; a deleted author leaves the
--    note without author;
--  * an agent writes notes as itself (as another agent: 42501), reads the notes
--    of its space only, and may not write the table (42501); an admin writes
--    for any agent of its space;
--  * merge_contacts moves the notes to the kept contact, unmerge_contacts
--    brings them back;
--  * bad calls write nothing: NULL space, contact or agent, a body NULL, empty
--    or only white space (also Unicode spaces), a NULL mention or mentions of
--    two dimensions (22023); an unknown contact or agent, a mentioned agent
--    that does not exist or is of another space (P0002); a merged contact
--    (55000).
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('comments') AS space \gset
SELECT inbox.create_space('other') AS other_space \gset
SELECT inbox.create_agent(:space, 'Ana') AS ana \gset
SELECT inbox.create_agent(:space, 'Ben') AS ben \gset
SELECT inbox.create_agent(:space, 'Cy') AS cy \gset
SELECT inbox.create_agent(:other_space, 'Zed') AS zed \gset
SELECT inbox.create_channel(:space, 'whatsapp_cloud', 'wa') AS wa \gset
SELECT inbox.create_channel(:other_space, 'telegram', 'tg') AS other_tg \gset

SELECT inbox.receive_message(:space, :wa, '+1 555 0001', 'My order is late', at => now() - interval '2 minutes',
       profile => '{"first_name": "Rosa"}') AS m1 \gset
SELECT contact_id AS rosa FROM inbox.message WHERE id = :m1 \gset
SELECT inbox.send_message(:space, :rosa, :wa, 'Looking into it', :ana) AS m2 \gset
SELECT inbox.receive_message(:other_space, :other_tg, 'zoe', 'hi') AS m \gset
SELECT contact_id AS zoe FROM inbox.message WHERE id = :m \gset

-- what a note must not touch
CREATE TEMP VIEW untouched AS
SELECT (SELECT count(*) FROM inbox.message WHERE contact_id = :rosa) AS messages,
	   (SELECT count(*) FROM inbox.message WHERE status = 'pending' AND direction = 'outgoing') AS pending_outgoing,
	   c.unread_count, c.last_message_id, l.last_message_preview, l.last_message_status
FROM inbox.contact c
JOIN inbox.contact_list(:space, :ana) l ON l.contact_id = c.id
WHERE c.id = :rosa;
SELECT * FROM untouched \gset before_

-- Ana asks Ben and Cy (Ben twice) about the order
SELECT inbox.add_comment(:space, :rosa, :ana, 'Ben, can you check the warehouse? Cy FYI',
       mentions => ARRAY[:ben, :cy, :ben]) AS note1 \gset
SELECT n.body, a.name AS author, n.mentions = ARRAY[:ben, :cy]::bigint[] AS ben_then_cy,
	   n.conversation_id = c.open_conversation_id AS in_open_conversation
FROM inbox.comment n JOIN inbox.agent a ON a.id = n.author_agent_id JOIN inbox.contact c ON c.id = n.contact_id
WHERE n.id = :note1;
SELECT inbox.add_comment(:space, :rosa, :ben, 'Shipped this morning') AS note2 \gset

-- a note is no message
SELECT messages = :before_messages AS same_messages, pending_outgoing = :before_pending_outgoing AS nothing_to_deliver,
	   unread_count = :before_unread_count AS same_unread, last_message_id = :before_last_message_id AS same_last,
	   last_message_preview = :'before_last_message_preview' AS same_preview,
	   last_message_status = :'before_last_message_status' AS same_status
FROM untouched;

-- history: the notes after the messages and events, with their authors
SELECT item, coalesce(body, event_kind) AS what, sender_label, sender_agent_id = :ben AS by_ben,
	   (SELECT string_agg(a.name, ', ' ORDER BY m.n) FROM jsonb_array_elements_text(h.data -> 'mentions') WITH ORDINALITY m (agent, n)
		JOIN inbox.agent a ON a.id = m.agent::bigint) AS mentions
FROM inbox.history(:space, :rosa) h;
-- a page before the second note: everything but it
SELECT cursor AS at_note2 FROM inbox.history(:space, :rosa) WHERE item = 'comment' AND id = :note2 \gset
SELECT item, coalesce(body, event_kind) AS what FROM inbox.history(:space, :rosa, before => :'at_note2');
SELECT item, coalesce(body, event_kind) AS what FROM inbox.history(:space, :rosa, before => :'at_note2', page_size => 1);

-- with no open conversation, a note belongs to none
SELECT inbox.close_conversation(:space, :rosa, 'user', :ana) IS NOT NULL AS closed;
SELECT inbox.add_comment(:space, :rosa, :ana, 'Closed: refund next week') AS note3 \gset
SELECT conversation_id IS NULL AS no_conversation FROM inbox.comment WHERE id = :note3;

--
-- roles
--
CREATE ROLE regress_notes_ana;
CREATE ROLE regress_notes_zed;
CREATE ROLE regress_notes_admin;
GRANT inbox_agent TO regress_notes_ana, regress_notes_zed;
GRANT inbox_admin TO regress_notes_admin;
UPDATE inbox.agent SET db_role = 'regress_notes_ana' WHERE id = :ana;
UPDATE inbox.agent SET db_role = 'regress_notes_zed' WHERE id = :zed;
INSERT INTO inbox.space_admin (space_id, db_role) VALUES (:space, 'regress_notes_admin');

SET ROLE regress_notes_ana;
SELECT inbox.add_comment(:space, :rosa, :ana, 'Called her back', mentions => ARRAY[:cy]) IS NOT NULL AS added;
SELECT inbox.add_comment(:space, :rosa, :ben, 'As Ben');
SELECT inbox.add_comment(:other_space, :zoe, :ana, 'Elsewhere');
INSERT INTO inbox.comment (space_id, contact_id, author_agent_id, body) VALUES (:space, :rosa, :ana, 'typed');
DELETE FROM inbox.comment WHERE id = :note1;
SELECT count(*) AS notes_ana_sees FROM inbox.comment;
RESET ROLE;

SET ROLE regress_notes_zed;
SELECT count(*) AS notes_zed_sees FROM inbox.comment;
SELECT count(*) FROM inbox.history(:space, :rosa);
RESET ROLE;

SET ROLE regress_notes_admin;
SELECT inbox.add_comment(:space, :rosa, :cy, 'For Cy, by the admin') IS NOT NULL AS added;
-- a plain INSERT follows the rules: mentions once each, agents of the space, a body
INSERT INTO inbox.comment (space_id, contact_id, author_agent_id, body, mentions)
VALUES (:space, :rosa, :cy, 'Typed by the admin', ARRAY[:ana, :ana]) RETURNING mentions = ARRAY[:ana]::bigint[] AS ana_once;
INSERT INTO inbox.comment (space_id, contact_id, author_agent_id, body) VALUES (:space, :rosa, :cy, ' ');
INSERT INTO inbox.comment (space_id, contact_id, author_agent_id, body, mentions) VALUES (:space, :rosa, :cy, 'x', ARRAY[:zed]);
INSERT INTO inbox.comment (space_id, contact_id, body) VALUES (:space, :rosa, 'nobody wrote this');
INSERT INTO inbox.comment (contact_id, author_agent_id, body) VALUES (:rosa, :cy, 'no space');
-- a note is history: not changed, but an admin may delete it
UPDATE inbox.comment SET body = 'rewritten' WHERE id = :note2;
DELETE FROM inbox.comment WHERE id = :note3;
RESET ROLE;
SELECT n.body, a.name AS author FROM inbox.comment n LEFT JOIN inbox.agent a ON a.id = n.author_agent_id
WHERE n.contact_id = :rosa ORDER BY n.id;

DELETE FROM inbox.space_admin WHERE db_role = 'regress_notes_admin';
UPDATE inbox.agent SET db_role = NULL WHERE id IN (:ana, :zed);
DROP ROLE regress_notes_ana, regress_notes_zed, regress_notes_admin;

-- Cy leaves the team: the notes stay, without their author
DELETE FROM inbox.agent WHERE id = :cy;
SELECT item, body, sender_label, sender_agent_id FROM inbox.history(:space, :rosa)
WHERE item = 'comment' AND body LIKE '%admin%';

--
-- merging moves the notes to the kept contact, unmerging brings them back
--
SELECT inbox.receive_message(:space, :wa, '+1 555 0002', 'Rosa here, new phone') AS m \gset
SELECT contact_id AS rosa2 FROM inbox.message WHERE id = :m \gset
SELECT inbox.add_comment(:space, :rosa2, :ben, 'Same person as Rosa?') AS note4 \gset
SELECT inbox.merge_contacts(:space, :rosa, :rosa2, 'user', :ana);
SELECT contact_id = :rosa AS with_rosa FROM inbox.comment WHERE id = :note4;
SELECT count(*) AS notes_in_history FROM inbox.history(:space, :rosa) WHERE item = 'comment';
SELECT inbox.unmerge_contacts(:space, :rosa, :rosa2, 'user', :ana);
SELECT contact_id = :rosa2 AS back_with_rosa2 FROM inbox.comment WHERE id = :note4;
SELECT count(*) AS notes_in_history FROM inbox.history(:space, :rosa) WHERE item = 'comment';

--
-- bad calls, after work that must stay: each writes nothing
--
BEGIN;
SELECT inbox.add_comment(:space, :rosa, :ana, 'Kept') IS NOT NULL AS added;
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
-- NULL space, contact or agent; a body that shows nothing; bad mentions (22023)
SELECT inbox.add_comment(NULL, :rosa, :ana, 'x');
SELECT inbox.add_comment(:space, NULL, :ana, 'x');
SELECT inbox.add_comment(:space, :rosa, NULL, 'x');
SELECT inbox.add_comment(:space, :rosa, :ana, NULL);
SELECT inbox.add_comment(:space, :rosa, :ana, '');
SELECT inbox.add_comment(:space, :rosa, :ana, E' \t\n ');
SELECT inbox.add_comment(:space, :rosa, :ana, E'\u00a0\u200b\u3000');
SELECT inbox.add_comment(:space, :rosa, :ana, 'x', mentions => ARRAY[:ben, NULL]);
SELECT inbox.add_comment(:space, :rosa, :ana, 'x', mentions => ARRAY[ARRAY[:ben], ARRAY[:ana]]);
-- unknown or other space's ids (P0002)
SELECT inbox.add_comment(:space, 999999999, :ana, 'x');
SELECT inbox.add_comment(:space, :zoe, :ana, 'x');
SELECT inbox.add_comment(:space, :rosa, 999999999, 'x');
SELECT inbox.add_comment(:space, :rosa, :zed, 'x');
SELECT inbox.add_comment(:space, :rosa, :ana, 'x', mentions => ARRAY[999999999]);
SELECT inbox.add_comment(:space, :rosa, :ana, 'x', mentions => ARRAY[:ben, :zed]);
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;

-- a merged contact takes no notes: they go to the one it was merged into (55000)
SELECT inbox.merge_contacts(:space, :rosa, :rosa2, 'user', :ana);
SELECT inbox.add_comment(:space, :rosa2, :ana, 'x');

SELECT * FROM inbox.check_integrity();
