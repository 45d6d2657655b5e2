--
-- assignment_policy: automatic assignment (the space's assignment and
-- assignment_cap) and the queue of contacts waiting for an agent.
--
-- Proves:
--  * manual (the default) assigns nobody and keeps no agent state;
--  * round_robin gives each conversation that opens for an unassigned
--    contact to the online agent assigned least recently (event assigned,
--    actor system, label "User Assigned by System"), whoever opens it (an
--    incoming message, open_conversation(), a user's reply); least_open to
--    the one with the fewest open assigned contacts, ties to the one assigned
--    least recently;
--  * only online agents: busy and offline ones get nothing;
--  * the cap: an agent at the cap gets nothing, the contact waits
--    (unassigned, with an open conversation); a seat that frees (a close, an
--    unassignment or reassignment, an agent coming online or added, the cap
--    raised, assignment turned on) goes to the waiting contact whose
--    conversation opened first; a lower cap unassigns nobody;
--  * a user's reply to a waiting contact assigns it to that user (rule 3),
--    also beyond the cap; a manual assign() may exceed the cap too;
--  * turning assignment on counts the agents' open contacts again;
--  * unassign_on_close false keeps the assignee after a close; the contact's
--    next conversation is its assignee's again, and counts for it;
--  * an agent deleted: its contacts wait, and go to the others;
--  * the agents' open counts (inbox.agent_state) stay equal to their open
--    assigned contacts (check_integrity).
-- The races (concurrent opens never put an agent over the cap, two seats
-- freeing at once never assign one contact twice) are staged by the
-- isolation specs concurrent_opens_respect_cap and two_seats_free_at_once.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('assignment policy') AS space \gset
SELECT inbox.create_agent(:space, 'Ann') AS ann \gset
SELECT inbox.create_agent(:space, 'Bob') AS bob \gset
SELECT inbox.create_agent(:space, 'Cy') AS cy \gset
SELECT inbox.create_channel(:space, 'webchat', 'Web') AS web \gset

-- a new sender writes in; returns the new contact (the message is received
-- once, then looked up: a call in the WHERE clause would run for every row)
CREATE FUNCTION regress.writes_in(space bigint, channel bigint, sender text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	m bigint := inbox.receive_message(space, channel, sender, 'Hello');
BEGIN
	RETURN (SELECT contact_id FROM inbox.message WHERE space_id = space AND id = m);
END
$$;
-- the agents of a space: status, open count, and what they hold
CREATE FUNCTION regress.agents(bigint)
RETURNS TABLE (agent text, status text, open_count integer, open_assigned bigint)
LANGUAGE sql AS $$
	SELECT a.name, a.status, s.open_count,
		   (SELECT count(*) FROM inbox.contact c
			WHERE c.space_id = a.space_id AND c.assignee_id = a.id AND c.open_conversation_id IS NOT NULL)
	FROM inbox.agent a
	LEFT JOIN inbox.agent_state s ON s.space_id = a.space_id AND s.agent_id = a.id
	WHERE a.space_id = $1 ORDER BY a.id
$$;
-- who holds each contact of a space (by its sender id), oldest first
CREATE FUNCTION regress.holders(bigint)
RETURNS TABLE (contact text, assignee text, open boolean)
LANGUAGE sql AS $$
	SELECT cc.external_id, a.name, c.open_conversation_id IS NOT NULL
	FROM inbox.contact c
	JOIN inbox.contact_channel cc ON cc.space_id = c.space_id AND cc.contact_id = c.id
	LEFT JOIN inbox.agent a ON a.id = c.assignee_id
	WHERE c.space_id = $1 ORDER BY c.id
$$;

-- manual: nobody is assigned, nothing is kept
SELECT regress.writes_in(:space, :web, 'manual-1') AS m1 \gset
SELECT * FROM regress.holders(:space);
SELECT count(*) AS agent_states FROM inbox.agent_state WHERE space_id = :space;
SELECT inbox.close_conversation(:space, :m1, 'user') > 0 AS closed;

-- round robin: Ann, Bob, Cy, then Ann again
SELECT inbox.configure_space(:space, assignment => 'round_robin');
SELECT * FROM regress.agents(:space);
SELECT count(regress.writes_in(:space, :web, 'rr-' || g)) AS written FROM generate_series(1, 4) g;
SELECT * FROM regress.holders(:space);
SELECT e.kind, e.actor_kind, k.label, t.name AS target
FROM inbox.event e JOIN inbox.event_kind k ON k.kind = e.kind AND k.actor_kind = e.actor_kind
JOIN inbox.agent t ON t.id = e.target_agent_id
WHERE e.space_id = :space AND e.kind = 'assigned' ORDER BY e.id;
SELECT * FROM regress.agents(:space);

-- opened by open_conversation(): assigned as well, to the agent whose turn it
-- is (Bob); opened by a user's reply: the replying agent gets it (rule 3, Ann,
-- also over the cap: her own reply), not the agent whose turn it is
SELECT inbox.open_conversation(:space, :m1, 'api') > 0 AS opened;
SELECT * FROM regress.holders(:space) WHERE contact = 'manual-1';
SELECT inbox.close_conversation(:space, :m1, 'user') > 0 AS closed;
SELECT inbox.send_message(:space, :m1, :web, 'Following up', :ann) > 0 AS sent;
SELECT * FROM regress.holders(:space) WHERE contact = 'manual-1';

-- only online agents: Bob and Cy away, Ann takes everything
SELECT inbox.set_agent_status(:space, :bob, 'busy');
SELECT inbox.set_agent_status(:space, :cy, 'offline');
SELECT count(regress.writes_in(:space, :web, 'online-' || g)) AS written FROM generate_series(1, 2) g;
SELECT * FROM regress.holders(:space) WHERE contact LIKE 'online-%';

-- the cap: the only online agent, Ann, is at the cap of 4, so the next contacts wait
UPDATE inbox.space SET assignment_cap = 4 WHERE id = :space;
SELECT * FROM regress.agents(:space);
SELECT count(regress.writes_in(:space, :web, 'wait-' || g)) AS written FROM generate_series(1, 3) g;
SELECT * FROM regress.holders(:space) WHERE contact LIKE 'wait-%';
SELECT * FROM regress.agents(:space);
-- a seat frees: Ann closes one, the oldest waiting contact takes it
SELECT id AS online_1 FROM inbox.contact c JOIN inbox.contact_channel cc ON cc.contact_id = c.id
WHERE cc.space_id = :space AND cc.external_id = 'online-1' \gset
SELECT inbox.close_conversation(:space, :online_1, 'user', :ann) > 0 AS closed;
SELECT * FROM regress.holders(:space) WHERE contact LIKE 'wait-%' OR contact = 'online-1';
-- Bob comes online: he takes the rest, up to his cap
SELECT inbox.set_agent_status(:space, :bob, 'online');
SELECT * FROM regress.holders(:space) WHERE contact LIKE 'wait-%';
SELECT * FROM regress.agents(:space);

-- least open: Cy (online again, with 2) gets the next ones until he has as many as the
-- others; ties go to the one assigned least recently
UPDATE inbox.space SET assignment = 'least_open', assignment_cap = NULL WHERE id = :space;
SELECT inbox.set_agent_status(:space, :cy, 'online');
SELECT * FROM regress.agents(:space);
SELECT count(regress.writes_in(:space, :web, 'least-' || g)) AS written FROM generate_series(1, 5) g;
SELECT * FROM regress.holders(:space) WHERE contact LIKE 'least-%';
SELECT * FROM regress.agents(:space);

-- a lower cap unassigns nobody; a higher one takes waiting contacts
UPDATE inbox.space SET assignment_cap = 1 WHERE id = :space;
SELECT * FROM regress.agents(:space);
SELECT count(regress.writes_in(:space, :web, 'capped-' || g)) AS written FROM generate_series(1, 2) g;
SELECT * FROM regress.holders(:space) WHERE contact LIKE 'capped-%';
SELECT inbox.configure_space(:space, assignment_cap => 5);
SELECT * FROM regress.holders(:space) WHERE contact LIKE 'capped-%';

-- a user's reply to a waiting contact assigns it to that user, also beyond the cap
UPDATE inbox.space SET assignment_cap = 0 WHERE id = :space;
SELECT regress.writes_in(:space, :web, 'reply-1') AS reply_1 \gset
SELECT * FROM regress.holders(:space) WHERE contact = 'reply-1';
SELECT inbox.send_message(:space, :reply_1, :web, 'Ann here', :ann) > 0 AS sent;
SELECT * FROM regress.holders(:space) WHERE contact = 'reply-1';
SELECT * FROM regress.agents(:space);

-- no cap: capped-2, still waiting, is assigned; then an unassignment frees a
-- seat, which a waiting contact takes (here the one unassigned, to the agent
-- whose turn it is)
UPDATE inbox.space SET assignment_cap = NULL WHERE id = :space;
SELECT * FROM regress.holders(:space) WHERE contact = 'capped-2';
SELECT inbox.assign(:space, :reply_1, NULL, 'user', :ann);
SELECT * FROM regress.holders(:space) WHERE contact = 'reply-1';
SELECT * FROM regress.agents(:space);

-- manual: the counts are left as they were (Cy's reply-1 given to Bob), and
-- counted again when assignment is turned on
UPDATE inbox.space SET assignment = 'manual' WHERE id = :space;
SELECT inbox.assign(:space, :reply_1, :bob, 'user');
SELECT * FROM regress.agents(:space);
UPDATE inbox.space SET assignment = 'round_robin' WHERE id = :space;
SELECT * FROM regress.agents(:space);

-- the cap raised (here with a change of policy) gives the waiting contacts out;
-- an agent added online takes waiting contacts
UPDATE inbox.space SET assignment_cap = 0 WHERE id = :space;
SELECT count(regress.writes_in(:space, :web, 'new-agent-' || g)) AS written FROM generate_series(1, 2) g;
UPDATE inbox.space SET assignment_cap = NULL, assignment = 'least_open' WHERE id = :space;
SELECT * FROM regress.holders(:space) WHERE contact LIKE 'new-agent-%';
UPDATE inbox.space SET assignment_cap = 1, assignment = 'round_robin' WHERE id = :space;
SELECT regress.writes_in(:space, :web, 'for-dee') AS for_dee \gset
SELECT * FROM regress.holders(:space) WHERE contact = 'for-dee';
SELECT inbox.create_agent(:space, 'Dee') AS dee \gset
SELECT * FROM regress.holders(:space) WHERE contact = 'for-dee';

-- an agent deleted: its contacts wait, and the others take them as seats allow
UPDATE inbox.space SET assignment_cap = NULL WHERE id = :space;
SELECT inbox.set_agent_status(:space, :bob, 'offline');
SELECT inbox.set_agent_status(:space, :cy, 'offline');
SELECT count(*) AS dee_contacts FROM inbox.contact WHERE assignee_id = :dee;
DELETE FROM inbox.agent WHERE id = :dee;
SELECT * FROM regress.holders(:space) WHERE contact = 'for-dee';

-- unassign_on_close false: the assignee stays, and has the contact's next conversation
SELECT inbox.configure_space(:space, unassign_on_close => false);
SELECT id AS least_1 FROM inbox.contact c JOIN inbox.contact_channel cc ON cc.contact_id = c.id
WHERE cc.space_id = :space AND cc.external_id = 'least-1' \gset
SELECT * FROM regress.holders(:space) WHERE contact = 'least-1';
SELECT inbox.close_conversation(:space, :least_1, 'user') > 0 AS closed;
SELECT * FROM regress.holders(:space) WHERE contact = 'least-1';
SELECT kind, actor_kind FROM inbox.event WHERE contact_id = :least_1 ORDER BY id DESC LIMIT 1;
SELECT inbox.receive_message(:space, :web, 'least-1', 'Me again') > 0 AS received;
SELECT * FROM regress.holders(:space) WHERE contact = 'least-1';
SELECT * FROM regress.agents(:space);

SELECT * FROM inbox.check_integrity();
