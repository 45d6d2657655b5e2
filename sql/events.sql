--
-- events: rule 7 (events belong to the conversation open when they happen),
-- rule 12 (events with reference and source_url) and record_event().
--
-- Proves:
--  * record_event() on a contact with an open conversation puts the event in
--    it; with none open, conversation_id is NULL; it returns the event id and
--    stores actor agent, reference, source_url and data;
--  * open_conversation() with a reference code and a source URL stores both on
--    the conversation and on its `conversation_opened` event;
--  * `channel_event` (actor channel) and `page_change` (actor contact) carry a
--    reference / source_url; bot_status_on / bot_status_off set contact.bot_active;
--  * a plain INSERT INTO inbox.event gets the open conversation too;
--  * errors, each writing nothing: a kind inbox writes itself (assigned,
--    conversation_opened, ...), an unknown kind, a kind/actor pair not in
--    inbox.event_kind, an unknown actor kind, NULL or empty arguments, data that
--    is not a JSON object, an event in a conversation of another contact
--    (22023); unknown contact or agent, an agent of another space (P0002).
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('events') AS space \gset
SELECT inbox.create_agent(:space, 'Alice') AS alice \gset
SELECT inbox.create_channel(:space, 'facebook', 'Facebook page') AS fb \gset
SELECT inbox.create_channel(:space, 'webchat', 'Site chat') AS web \gset
SELECT inbox.create_space('elsewhere') AS other_space \gset
SELECT inbox.create_agent(:other_space, 'Mallory') AS mallory \gset

-- Sam clicked an ad: the channel reports the referral before Sam writes
INSERT INTO inbox.contact (space_id, first_name) VALUES (:space, 'Sam') RETURNING id AS sam \gset
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id) VALUES (:space, :sam, :fb, 'psid-77');
SELECT inbox.record_event(:space, :sam, 'channel_event', 'channel', reference => 'AD-2026-SPRING',
						  source_url => 'https://fb.test/ads/2026-spring',
						  data => '{"type": "referral"}') AS ev \gset
SELECT kind, actor_kind, conversation_id, reference, source_url, data
FROM inbox.event WHERE id = :ev;

-- Alice opens a conversation for the lead, with its reference and source URL
SELECT inbox.open_conversation(:space, :sam, 'user', :alice, reference => 'AD-2026-SPRING',
							   source_url => 'https://fb.test/ads/2026-spring') AS conv \gset
SELECT * FROM regress.conversations(:sam);

-- events while it is open belong to it
SELECT inbox.record_event(:space, :sam, 'bot_status_on', 'automation') IS NOT NULL AS recorded;
SELECT bot_active FROM inbox.contact WHERE id = :sam;
SELECT inbox.record_event(:space, :sam, 'survey_started', 'automation', data => '{"survey": "nps"}') IS NOT NULL AS recorded;
SELECT inbox.record_event(:space, contact => :sam, kind => 'bot_status_off', actor_kind => 'user', actor_agent => :alice) IS NOT NULL AS recorded;
SELECT bot_active FROM inbox.contact WHERE id = :sam;
SELECT * FROM regress.events(:sam);

-- a plain INSERT of an event joins the open conversation as well
INSERT INTO inbox.event (space_id, contact_id, kind, actor_kind, data)
VALUES (:space, :sam, 'survey_completed', 'contact', '{"score": 9}')
RETURNING conversation_id = :conv AS in_open_conversation;

-- after the close, events belong to no conversation
SELECT inbox.close_conversation(:space, :sam, 'user', :alice) = :conv AS closed;
SELECT inbox.record_event(:space, :sam, 'survey_failed', 'system') AS late \gset
SELECT conversation_id IS NULL AS no_conversation FROM inbox.event WHERE id = :late;
SELECT * FROM regress.events(:sam);

-- a web chat visitor browses: page_change with the page's URL
SELECT inbox.receive_message(:space, :web, 'visitor-9', 'Do you ship abroad?') AS m \gset
SELECT contact_id AS visitor FROM inbox.message WHERE id = :m \gset
BEGIN;
SELECT inbox.record_event(:space, :visitor, 'page_change', 'contact', source_url => 'https://shop.test/shipping') IS NOT NULL AS recorded;
SELECT * FROM regress.events(:visitor);

-- errors: each writes nothing, nor undoes the event recorded before them in their transaction
SELECT regress.fingerprint() AS before \gset
\set ON_ERROR_ROLLBACK on
-- kinds inbox writes itself (22023)
SELECT inbox.record_event(:space, :sam, 'assigned', 'user', :alice);
SELECT inbox.record_event(:space, :sam, 'unassigned', 'user');
SELECT inbox.record_event(:space, :sam, 'conversation_opened', 'user');
SELECT inbox.record_event(:space, :sam, 'conversation_closed', 'user');
-- unknown kind, a pair not in inbox.event_kind, unknown actor kind (22023)
SELECT inbox.record_event(:space, :sam, 'moon_landing', 'user');
SELECT inbox.record_event(:space, :sam, 'channel_event', 'user');
SELECT inbox.record_event(:space, :sam, 'page_change', 'robot');
INSERT INTO inbox.event (space_id, contact_id, kind, actor_kind) VALUES (:space, :sam, 'channel_event', 'user');
-- NULL or empty arguments (22023)
SELECT inbox.record_event(:space, NULL, 'channel_event', 'channel');
SELECT inbox.record_event(:space, :sam, NULL, 'channel');
SELECT inbox.record_event(:space, :sam, 'channel_event', NULL);
SELECT inbox.record_event(:space, :sam, '', 'channel');
-- data must be a JSON object (22023)
SELECT inbox.record_event(:space, :sam, 'channel_event', 'channel', data => '[1, 2]');
SELECT inbox.record_event(:space, :sam, 'channel_event', 'channel', data => '"text"');
-- an event in a conversation of another contact (22023)
INSERT INTO inbox.event (space_id, contact_id, conversation_id, kind, actor_kind)
SELECT :space, :visitor, :conv, 'page_change', 'contact';
-- unknown contact or agent (P0002), an agent of another space (P0002)
SELECT inbox.record_event(:space, -1, 'channel_event', 'channel');
SELECT inbox.record_event(:space, :sam, 'bot_status_on', 'user', -1);
SELECT inbox.record_event(:space, :sam, 'bot_status_on', 'user', :mallory);
\set ON_ERROR_ROLLBACK off
COMMIT;
SELECT regress.fingerprint() = :'before' AS nothing_written;

-- a deleted agent: the history stays, without the agent (ON DELETE SET NULL
-- of conversations, messages and events, which otherwise never change)
SELECT inbox.create_agent(:space, 'Bob') AS bob \gset
SELECT inbox.receive_message(:space, :web, 'visitor-bob', 'anyone there?') AS asked \gset
SELECT contact_id AS asker FROM inbox.message WHERE id = :asked \gset
SELECT inbox.send_message(:space, :asker, :web, 'Bob here', :bob) AS answered \gset
SELECT inbox.record_event(:space, :asker, 'bot_status_on', 'user', :bob) IS NOT NULL AS recorded;
SELECT inbox.close_conversation(:space, :asker, 'user', :bob) IS NOT NULL AS closed;
-- and one contact still assigned to Bob
SELECT inbox.receive_message(:space, :web, 'visitor-bob-2', 'me too') AS asked2 \gset
SELECT contact_id AS asker2 FROM inbox.message WHERE id = :asked2 \gset
SELECT inbox.assign(:space, :asker2, :bob, 'user', :alice);
SELECT count(*) AS events_before FROM inbox.event WHERE contact_id = :asker \gset
SELECT count(*) FILTER (WHERE actor_agent_id = :bob) AS by_bob,
       count(*) FILTER (WHERE target_agent_id = :bob) AS to_bob
FROM inbox.event WHERE contact_id = :asker;
DELETE FROM inbox.agent WHERE id = :bob;
SELECT sender_agent_id IS NULL AS sender_cleared, body FROM inbox.message WHERE id = :answered;
SELECT count(*) = :events_before AS events_kept,
       count(*) FILTER (WHERE actor_agent_id = :bob OR target_agent_id = :bob) AS naming_bob
FROM inbox.event WHERE contact_id = :asker;
SELECT closed_at IS NOT NULL AS still_closed, opened_by_agent, closed_by_agent, closed_by_kind
FROM inbox.conversation WHERE contact_id = :asker;
-- Bob's contact: unassigned, with an unassigned event that names no agent
SELECT c.assignee_id, e.kind, e.target_agent_id
FROM inbox.contact c JOIN inbox.event e ON e.contact_id = c.id
WHERE c.id = :asker2 ORDER BY e.id DESC LIMIT 1;
-- a row that names a live agent still cannot be changed
UPDATE inbox.event SET actor_agent_id = NULL WHERE contact_id = :sam AND actor_agent_id = :alice;

SELECT * FROM inbox.check_integrity();
