--
-- history: a contact's messages and events in time order.
--
-- Proves:
--  * messages and events interleave by time; at one timestamp the event
--    (conversation_opened) reads before the message that caused it;
--  * every row carries its conversation, sender kind and label (the agent's
--    name for user, the contact's name for incoming, the catalogue's
--    wording for the other sender kinds, {space} = the space's name),
--    status and status timestamps, error, reply-to snippet ("unknown
--    message" when the quoted message was not found), event kind, label
--    and actor, reference and source_url;
--  * pages go back in time with the cursor of a page's first row: disjoint,
--    complete, each page oldest first;
--  * errors: unknown contact, bad cursor, bad page size.
--
\set VERBOSITY sqlstate
SET client_min_messages = warning;

SELECT inbox.create_space('Acme') AS space \gset
SELECT inbox.create_agent(:space, 'Ana Lima') AS ana \gset
SELECT inbox.create_channel(:space, 'telegram', 'tg') AS tg \gset

SELECT inbox.receive_message(:space, :tg, 'u1', 'Where is my order?', external_id => 'e1', at => '2026-01-01 08:00+00',
       profile => '{"first_name": "Maria", "last_name": "Garcia"}') AS m1 \gset
SELECT contact_id AS c FROM inbox.message WHERE id = :m1 \gset
SELECT inbox.receive_message(:space, :tg, 'u1', 'I mean this one', external_id => 'e2', reply_to => 'e1', at => '2026-01-01 08:01+00') > 0;
SELECT inbox.receive_message(:space, :tg, 'u1', 'and that one', external_id => 'e3', reply_to => 'gone', at => '2026-01-01 08:02+00') > 0;
SELECT inbox.record_event(:space, :c, 'page_change', 'contact', source_url => 'https://acme.test/orders') > 0;

-- every sender kind, in the order sent (sent now: after the messages above)
SELECT inbox.send_message(:space, :c, :tg, 'On its way', :ana) AS r1 \gset
SELECT inbox.send_message(:space, :c, :tg, 'body of ' || k, sender_kind => k) > 0
FROM unnest(ARRAY['automation', 'ai', 'away_message', 'greeting_message', 'dialogflow', 'facebook_inbox',
                  'whatsapp_echo', 'message_tag', 'broadcast', 'api']) k;
SELECT inbox.set_message_status(:space, :r1, 'sent', at => '2026-02-01 10:00+00');
SELECT inbox.set_message_status(:space, :r1, 'failed', at => '2026-02-01 10:01+00', error => 'blocked by user');
SELECT inbox.close_conversation(:space, :c, 'user', :ana, category => 'shipping') > 0;

SELECT item, conversation_id IS NOT NULL AS in_conv, direction, sender_kind, sender_label, body, status,
       sent_at, failed_at, error, reply_to_id IS NOT NULL AS quotes, reply_to_snippet,
       event_kind, event_label, actor_kind, actor_agent_id = :ana AS by_ana, source_url
FROM inbox.history(:space, :c);

-- pages of 4, going back in time: together they are the whole history, once
CREATE TEMP TABLE seen (page int, n int, item text, id bigint);
SELECT cursor AS before FROM inbox.history(:space, :c, page_size => 4) LIMIT 1 \gset
INSERT INTO seen SELECT 1, row_number() OVER (), item, id FROM inbox.history(:space, :c, page_size => 4);
INSERT INTO seen SELECT 2, row_number() OVER (), item, id FROM inbox.history(:space, :c, :'before', page_size => 4);
SELECT cursor AS before FROM inbox.history(:space, :c, :'before', page_size => 4) LIMIT 1 \gset
INSERT INTO seen SELECT 3, row_number() OVER (), item, id FROM inbox.history(:space, :c, :'before', page_size => 4);
SELECT cursor AS before FROM inbox.history(:space, :c, :'before', page_size => 4) LIMIT 1 \gset
INSERT INTO seen SELECT 4, row_number() OVER (), item, id FROM inbox.history(:space, :c, :'before', page_size => 4);
SELECT cursor AS before FROM inbox.history(:space, :c, :'before', page_size => 4) LIMIT 1 \gset
INSERT INTO seen SELECT 5, row_number() OVER (), item, id FROM inbox.history(:space, :c, :'before', page_size => 4);
SELECT page, count(*) FROM seen GROUP BY page ORDER BY page;
-- no item twice, none missing, and pages read back give the full order
SELECT count(*) = count(DISTINCT (item, id)) AS disjoint,
       count(*) = (SELECT count(*) FROM inbox.history(:space, :c, page_size => 1000)) AS complete
FROM seen;
SELECT array_agg(item || id ORDER BY page DESC, n) = (SELECT array_agg(item || id) FROM inbox.history(:space, :c, page_size => 1000)) AS same_order
FROM seen;

-- errors
SELECT * FROM inbox.history(:space, 999999);                       -- unknown contact
SELECT * FROM inbox.history(:space, NULL);
SELECT * FROM inbox.history(:space, :c, 'not a cursor');
SELECT * FROM inbox.history(:space, :c, '1.7.1');                  -- item order must be 0 or 1
SELECT * FROM inbox.history(:space, :c, page_size => 0);
SELECT * FROM inbox.history(:space, :c, page_size => NULL);

SELECT * FROM inbox.check_integrity();
