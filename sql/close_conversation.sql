--
-- close_conversation: rule 4 (closing unassigns), open_conversation and the
-- life cycle of a conversation.
--
-- Proves:
--  * close_conversation() closes the open conversation with its actor,
--    category and summary, returns its id, unassigns the contact and writes
--    `conversation_closed` then `unassigned`, both for the closing actor and in
--    the closed conversation;
--  * closing an unassigned contact writes only `conversation_closed`;
--  * open_conversation() reopens ("mark pending"): a new conversation and
--    `conversation_opened` for its actor; on an open conversation it returns
--    that conversation and writes nothing;
--  * a plain UPDATE ... SET closed_at = now() does the same as the function, as
--    `user` by default or as the actor of SET LOCAL inbox.actor_kind;
--  * a plain INSERT INTO inbox.conversation opens one (with its event);
--  * a conversation is never closed before its newest message;
--  * errors, each writing nothing: closing with nothing open (55000), a second
--    open conversation (55000), changing the close of a closed conversation or
--    reopening it (55000), closing before the opening (22023), inserting a
--    closed conversation (22023), an actor kind that may not close (22023),
--    unknown contact (P0002).
-- The races (close vs incoming message, assign vs close) are staged by the
-- isolation specs close_vs_incoming and assign_vs_close.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('close_conversation') AS space \gset
SELECT inbox.create_agent(:space, 'Alice') AS alice \gset
SELECT inbox.create_agent(:space, 'Bob') AS bob \gset
SELECT inbox.create_channel(:space, 'telegram', 'Telegram') AS tg \gset

SELECT inbox.receive_message(:space, :tg, 'tg-mia', 'My parcel is late') AS m \gset
SELECT contact_id AS mia FROM inbox.message WHERE id = :m \gset
SELECT inbox.send_message(:space, :mia, :tg, 'Let me check', :alice) IS NOT NULL AS sent;
SELECT assignee, open_conversation FROM regress.contact(:mia);

-- Alice marks it done
SELECT inbox.close_conversation(:space, :mia, 'user', :alice, category => 'delivery', summary => 'parcel found')
	   = conversation_id AS closed_the_open_one
FROM inbox.message WHERE id = :m;
SELECT assignee, open_conversation FROM regress.contact(:mia);
SELECT * FROM regress.conversations(:mia);
SELECT * FROM regress.events(:mia);

-- closing again: nothing is open (55000), nothing written
SELECT regress.fingerprint() AS before \gset
SELECT inbox.close_conversation(:space, :mia, 'user', :alice);
SELECT regress.fingerprint() = :'before' AS nothing_written;

-- Bob reopens it (mark pending); asking again returns the same conversation
SELECT inbox.open_conversation(:space, :mia, 'user', :bob) AS reopened \gset
SELECT regress.fingerprint() AS before \gset
SELECT inbox.open_conversation(:space, :mia, 'automation') = :reopened AS same_conversation;
SELECT regress.fingerprint() = :'before' AS nothing_written;
SELECT * FROM regress.conversations(:mia);

-- an automation closes the unassigned contact: only conversation_closed
SELECT inbox.close_conversation(:space, :mia, 'automation') = :reopened AS closed;
SELECT kind, actor, label, actor_agent, conversation FROM regress.events(:mia) OFFSET 4;

-- plain UPDATE of closed_at: the same rules, as a user by default
SELECT inbox.receive_message(:space, :tg, 'tg-mia', 'Another question') IS NOT NULL AS received;
SELECT inbox.assign(:space, :mia, :bob);
UPDATE inbox.conversation SET closed_at = now() WHERE contact_id = :mia AND closed_at IS NULL;
SELECT assignee, open_conversation FROM regress.contact(:mia);
SELECT * FROM regress.conversations(:mia);
SELECT kind, actor, label, actor_agent, target_agent, conversation FROM regress.events(:mia) OFFSET 6;

-- ... or as the actor the transaction names
SELECT inbox.send_message(:space, :mia, :tg, 'Following up', :alice) IS NOT NULL AS sent;
BEGIN;
SET LOCAL inbox.actor_kind = 'bot';
UPDATE inbox.conversation SET closed_at = now(), category = 'faq'
WHERE contact_id = :mia AND closed_at IS NULL;
COMMIT;
SELECT assignee, open_conversation FROM regress.contact(:mia);
SELECT kind, actor, label, actor_agent, target_agent, conversation FROM regress.events(:mia) OFFSET 10;

-- a plain INSERT opens a conversation, with its event
INSERT INTO inbox.conversation (space_id, contact_id, opened_by_kind, opened_by_agent, reference)
VALUES (:space, :mia, 'user', :alice, 'callback-42');
SELECT * FROM regress.conversations(:mia) OFFSET 4;
SELECT kind, actor, label, actor_agent, conversation, reference FROM regress.events(:mia) OFFSET 13;

-- a conversation is not closed before its newest message (a message stamped later)
SELECT inbox.receive_message(:space, :tg, 'tg-mia', 'sent from a fast clock', at => now() + interval '1 minute') IS NOT NULL AS received;
SELECT inbox.close_conversation(:space, :mia, 'user', :alice) AS fifth \gset
SELECT c.closed_at >= max(m.created_at) AS closed_after_newest_message
FROM inbox.conversation c JOIN inbox.message m ON m.conversation_id = c.id
WHERE c.id = :fifth GROUP BY c.closed_at;

-- errors: each writes nothing, nor undoes the reopening before it in its transaction
BEGIN;
SELECT inbox.open_conversation(:space, :mia, 'user', :alice) AS sixth \gset
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
-- a second open conversation (55000)
INSERT INTO inbox.conversation (space_id, contact_id, opened_by_kind) VALUES (:space, :mia, 'user');
-- a closed conversation stays closed: no new close, no reopening (55000)
UPDATE inbox.conversation SET closed_at = now() WHERE id = :fifth;
UPDATE inbox.conversation SET closed_by_kind = 'automation' WHERE id = :fifth;
UPDATE inbox.conversation SET closed_at = NULL, closed_by_kind = NULL WHERE id = :fifth;
-- closing before the conversation opened (22023)
UPDATE inbox.conversation SET closed_at = opened_at - interval '1 day' WHERE id = :sixth;
-- inserting a closed conversation (22023)
INSERT INTO inbox.conversation (space_id, contact_id, opened_by_kind, closed_at, closed_by_kind)
SELECT :space, id, 'user', now(), 'user' FROM inbox.contact WHERE id = :mia;
-- a contact may not mark its conversation done (22023: not a pair of inbox.event_kind)
SELECT inbox.close_conversation(:space, :mia, 'contact');
-- unknown actor kind (22023), unknown contact (P0002)
SELECT inbox.close_conversation(:space, :mia, 'robot');
SELECT inbox.open_conversation(:space, :mia, 'robot');
SELECT inbox.close_conversation(:space, -1, 'user');
SELECT inbox.open_conversation(:space, -1, 'user');
-- the id, contact and opening of a conversation are fixed (22023)
UPDATE inbox.conversation SET opened_by_kind = 'bot' WHERE id = :sixth;
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;

SELECT * FROM regress.conversations(:mia);
SELECT * FROM inbox.check_integrity();
