--
-- assignment: rule 3 (a user's reply assigns an unassigned contact) and assign().
--
-- Proves:
--  * the first user reply to an unassigned contact assigns it to the replying
--    agent: event `assigned` (actor user, that agent, target that agent) in the
--    open conversation;
--  * an assigned contact keeps its assignee when another agent replies, and no
--    event is written; automated messages never assign;
--  * a plain INSERT of an outgoing user message does the same (assignee,
--    `assigned` event, unread count reset to 0);
--  * assign() writes `assigned` / `unassigned` for its actor kind and agent
--    (labels "User Assigned", "User Assigned by Automation", "User Unassigned"),
--    with the agent the event is about as target; assigning the current
--    assignee again writes nothing;
--  * assigning a contact with no open conversation opens one, for the actor of
--    the assign (rule 4, second sentence);
--  * a plain UPDATE of contact.assignee_id does the same, as `user` by default
--    or as the actor named by SET LOCAL inbox.actor_kind / inbox.actor_agent;
--  * a contact is inserted unassigned (22023 otherwise);
--  * errors, each writing nothing: unknown contact / agent (P0002), an agent of
--    another space (P0002), an actor kind that may not assign (22023), an
--    unknown actor kind (22023, also as a setting).
-- The race (two agents reply at once) is staged by the isolation spec two_agents_reply.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('assignment') AS space \gset
SELECT inbox.create_agent(:space, 'Alice') AS alice \gset
SELECT inbox.create_agent(:space, 'Bob') AS bob \gset
SELECT inbox.create_channel(:space, 'telegram', 'Telegram') AS tg \gset
SELECT inbox.create_space('elsewhere') AS other_space \gset
SELECT inbox.create_agent(:other_space, 'Mallory') AS mallory \gset

SELECT inbox.receive_message(:space, :tg, 'tg-ivan', 'Hello') AS m \gset
SELECT contact_id AS ivan FROM inbox.message WHERE id = :m \gset

-- an automated message does not assign
SELECT inbox.send_message(:space, :ivan, :tg, 'We will be with you shortly', sender_kind => 'away_message') IS NOT NULL AS sent;
SELECT assignee FROM regress.contact(:ivan);

-- Alice replies first: Ivan is hers
SELECT inbox.send_message(:space, :ivan, :tg, 'Hi Ivan, Alice here', :alice) IS NOT NULL AS sent;
SELECT assignee FROM regress.contact(:ivan);
SELECT * FROM regress.events(:ivan);

-- Bob replies too: Ivan stays Alice's, no new event
SELECT inbox.send_message(:space, :ivan, :tg, 'Bob here, joining', :bob) IS NOT NULL AS sent;
SELECT assignee FROM regress.contact(:ivan);
SELECT count(*) AS assigned_events FROM inbox.event WHERE contact_id = :ivan AND kind = 'assigned';

-- Alice hands Ivan to Bob; an automation hands him back; Alice unassigns him
SELECT inbox.assign(:space, :ivan, :bob, 'user', :alice);
SELECT inbox.assign(:space, contact => :ivan, assignee => :alice, actor_kind => 'automation');
SELECT inbox.assign(:space, :ivan, NULL, actor_agent => :alice);
SELECT assignee, open_conversation FROM regress.contact(:ivan);
SELECT * FROM regress.events(:ivan);

-- assigning the assignee again changes nothing and writes no event
SELECT inbox.assign(:space, :ivan, :bob, 'user', :bob);
SELECT regress.fingerprint() AS before \gset
SELECT inbox.assign(:space, :ivan, :bob, 'user', :bob);
SELECT regress.fingerprint() = :'before' AS nothing_written;

-- assigning a contact with no open conversation opens one, for the assign's actor
SELECT inbox.close_conversation(:space, :ivan, 'user', :bob) IS NOT NULL AS closed;
SELECT assignee, open_conversation FROM regress.contact(:ivan);
SELECT inbox.assign(:space, :ivan, :alice, 'bot');
SELECT assignee, open_conversation FROM regress.contact(:ivan);
SELECT * FROM regress.conversations(:ivan);
SELECT kind, actor, label, actor_agent, target_agent, conversation FROM regress.events(:ivan)
OFFSET 6;

-- plain UPDATE of assignee_id: the same rules, as a user by default
SELECT inbox.receive_message(:space, :tg, 'tg-judy', 'Hi') AS m \gset
SELECT contact_id AS judy FROM inbox.message WHERE id = :m \gset
UPDATE inbox.contact SET assignee_id = :bob WHERE id = :judy;
SELECT assignee FROM regress.contact(:judy);
-- ... or as the actor the transaction names
BEGIN;
SET LOCAL inbox.actor_kind = 'automation';
SET LOCAL inbox.actor_agent = :'alice';
UPDATE inbox.contact SET assignee_id = NULL WHERE id = :judy;
COMMIT;
SELECT assignee FROM regress.contact(:judy);
SELECT * FROM regress.events(:judy);
-- the setting ends with the transaction
SHOW inbox.actor_kind;

-- a plain UPDATE that assigns a contact with no open conversation opens one
INSERT INTO inbox.contact (space_id, first_name) VALUES (:space, 'Karl') RETURNING id AS karl \gset
UPDATE inbox.contact SET assignee_id = :alice WHERE id = :karl;
SELECT * FROM regress.conversations(:karl);
SELECT * FROM regress.events(:karl);

-- a plain INSERT of an outgoing user message follows the same rule: Leo wrote
-- twice, Bob's typed reply assigns him to Bob (event assigned, actor user) and
-- reads his messages; Alice's typed reply then leaves him Bob's
SELECT inbox.receive_message(:space, :tg, 'tg-leo', 'Hello?') AS m \gset
SELECT contact_id AS leo FROM inbox.message WHERE id = :m \gset
SELECT inbox.receive_message(:space, :tg, 'tg-leo', 'Anybody there?') IS NOT NULL AS received;
SELECT assignee, unread_count FROM regress.contact(:leo);
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body)
VALUES (:space, :leo, :tg, 'outgoing', :bob, 'Bob here, typed') RETURNING sender_kind;
SELECT assignee, unread_count FROM regress.contact(:leo);
SELECT * FROM regress.events(:leo);
SELECT count(*) AS unread_messages FROM inbox.message
WHERE contact_id = :leo AND direction = 'incoming' AND read_at IS NULL;
INSERT INTO inbox.message (space_id, contact_id, channel_id, direction, sender_agent_id, body)
VALUES (:space, :leo, :tg, 'outgoing', :alice, 'Alice too');
SELECT assignee FROM regress.contact(:leo);
SELECT count(*) AS assigned_events FROM inbox.event WHERE contact_id = :leo AND kind = 'assigned';

-- errors: each writes nothing, nor undoes the hand-over before it in its transaction
BEGIN;
SELECT inbox.assign(:space, :karl, :bob, 'user', :alice);
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
-- unknown contact (P0002)
SELECT inbox.assign(:space, -1, :alice);
-- unknown agent (P0002), through the API and by UPDATE
SELECT inbox.assign(:space, :judy, -1);
UPDATE inbox.contact SET assignee_id = -1 WHERE id = :judy;
-- an agent of another space (P0002), as assignee or as actor
SELECT inbox.assign(:space, :judy, :mallory);
UPDATE inbox.contact SET assignee_id = :mallory WHERE id = :judy;
SELECT inbox.assign(:space, :judy, :alice, 'user', :mallory);
-- a contact may not cause an assignment (22023: not a pair of inbox.event_kind)
SELECT inbox.assign(:space, :judy, :alice, 'contact');
-- unknown actor kind (22023), as argument and as setting
SELECT inbox.assign(:space, :judy, :alice, 'robot');
SET inbox.actor_kind = 'robot';
-- a contact is inserted unassigned (22023)
INSERT INTO inbox.contact (space_id, first_name, assignee_id) VALUES (:space, 'Lena', :alice);
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;
SELECT assignee FROM regress.contact(:karl);
SHOW inbox.actor_kind;

SELECT * FROM inbox.check_integrity();
