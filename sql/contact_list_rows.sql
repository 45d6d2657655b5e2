--
-- contact_list_rows: a row of contact_list carries what a list row draws,
-- without another query.
--
-- Proves:
--  * channel_kind is the kind of the contact's last channel, and follows it
--    when the contact writes on another channel;
--  * assignee_name is the assignee's name: it follows an assignment, an
--    unassignment and a rename of the agent;
--  * last_message_preview is the first 100 characters (not bytes) of the
--    newest message's body, or its content's type when it has no body (or a
--    body of white space only); last_message_status is that message's status,
--    and follows its delivery reports;
--  * tags are the contact's tags, and follow update_contact;
--  * the preview and status are kept in the contact row (a page stays one
--    scan of the view's index): they follow a plain UPDATE of the newest
--    message's status or body, not of an older message's; deleting the
--    newest message brings back the one before; a plain UPDATE of them is
--    refused (22023, maintained); inbox.message_preview() is what they show;
--  * every view (all, mine, unassigned, a custom view) and every way of
--    searching (a short word, a word of 6 letters or more, a phone number)
--    gives the same rows with the same columns, the cursor last.
--
\set VERBOSITY sqlstate

SELECT inbox.create_space('list rows') AS space \gset
SELECT inbox.create_agent(:space, 'Ana') AS ana \gset
SELECT inbox.create_channel(:space, 'whatsapp_cloud', 'WhatsApp') AS wa \gset
SELECT inbox.create_channel(:space, 'telegram', 'Telegram') AS tg \gset

-- the new columns of the result, in order
SELECT string_agg(a.name, ', ' ORDER BY a.n) AS columns
FROM pg_proc p, unnest(p.proargnames, p.proargmodes) WITH ORDINALITY a (name, mode, n)
WHERE p.oid = 'inbox.contact_list(bigint, bigint, text, text, text, integer)'::regprocedure AND a.mode = 't';

SELECT inbox.receive_message(:space, :wa, '+44 20 7946 0001', 'Hello, is anyone there?', at => now() - interval '3 minutes',
       profile => '{"first_name": "Olga", "email": "olga.petrova@example.com", "phone": "+44 20 7946 0001"}') AS m \gset
SELECT contact_id AS olga FROM inbox.message WHERE id = :m \gset

-- one row, as a list shows it
CREATE TEMP VIEW row_of_olga AS
SELECT name, channel_kind, assignee_name, last_message_preview, last_message_status, tags
FROM inbox.contact_list(:space, NULL) WHERE contact_id = :olga;

SELECT * FROM row_of_olga;
-- Ana replies: assigned to her, the reply is the newest, pending
SELECT inbox.send_message(:space, :olga, :wa, 'Yes, Ana here. How can I help?', :ana) AS reply \gset
SELECT * FROM row_of_olga;
-- its delivery reports move the status on
SELECT inbox.set_message_status(:space, :reply, 'sent');
SELECT last_message_status FROM row_of_olga;
SELECT inbox.set_message_status(:space, :reply, 'read');
SELECT last_message_status FROM row_of_olga;
-- the agent's new name shows
UPDATE inbox.agent SET name = 'Ana Lima' WHERE id = :ana;
SELECT assignee_name FROM row_of_olga;
-- tags follow update_contact
SELECT inbox.update_contact(:space, :olga, :ana, tags => '{vip,returns}');
SELECT tags FROM row_of_olga;

-- she writes on Telegram, a long text: the channel kind follows, the preview
-- is its first 100 characters (each ü one character, two bytes)
SELECT inbox.receive_message(:space, :tg, 'olga-tg', repeat('ü', 60) || repeat('x', 60),
       profile => '{"phone": "+44 20 7946 0001"}') IS NOT NULL AS received;
SELECT channel_kind, length(last_message_preview) AS characters, octet_length(last_message_preview) AS bytes,
	   last_message_preview = repeat('ü', 60) || repeat('x', 40) AS first_100, last_message_status
FROM row_of_olga;
-- a picture without text: its content's type; a body of white space only: the same
SELECT inbox.receive_message(:space, :tg, 'olga-tg', NULL, content => '{"type": "image", "url": "https://cdn.test/1.jpg"}') IS NOT NULL AS received;
SELECT last_message_preview FROM row_of_olga;
SELECT inbox.receive_message(:space, :tg, 'olga-tg', E' \n', content => '{"type": "sticker"}') IS NOT NULL AS received;
SELECT last_message_preview FROM row_of_olga;
-- a report of an older message changes nothing: Ana answers on Telegram,
-- Olga writes again, then the answer is reported sent (what Telegram reports)
SELECT inbox.send_message(:space, :olga, :tg, 'Got it', :ana) AS older \gset
SELECT inbox.receive_message(:space, :tg, 'olga-tg', 'Thanks!') AS newest \gset
SELECT inbox.set_message_status(:space, :older, 'sent');
SELECT last_message_preview, last_message_status FROM row_of_olga;
-- the newest message edited by hand: the preview follows
UPDATE inbox.message SET body = 'Thanks a lot!' WHERE id = :newest;
SELECT last_message_preview FROM row_of_olga;
-- the newest deleted: the one before shows, with its status, and its plain
-- UPDATE of status is followed
DELETE FROM inbox.message WHERE id = :newest;
SELECT last_message_preview, last_message_status FROM row_of_olga;
UPDATE inbox.message SET status = 'failed', failed_at = now(), error = 'blocked by the user' WHERE id = :older;
SELECT last_message_status FROM row_of_olga;
-- they are the message rules' to write
UPDATE inbox.contact SET last_message_preview = 'typed' WHERE id = :olga;
UPDATE inbox.contact SET last_message_status = 'read' WHERE id = :olga;
INSERT INTO inbox.contact (space_id, first_name, last_message_status) VALUES (:space, 'Typed', 'read');
-- what a preview is
SELECT b AS body, c AS content, inbox.message_preview(b, c) AS preview
FROM (VALUES ('Hello', NULL::jsonb), (E'  \u00a0', '{"type": "video"}'), (NULL, '{"type": "audio", "url": "x"}'),
			 (NULL, '{"template": "welcome"}'), ('', NULL), (NULL, '{"type": 7}')) v (b, c);
SELECT length(inbox.message_preview(repeat(' ', 500) || 'x', NULL)) AS spaces_then_x,
	   inbox.message_preview(repeat(' ', 5000), '{"type": "file"}') AS long_blank,
	   length(inbox.message_preview(repeat('日本', 1000000), NULL)) AS two_million_characters;

-- unassigned: no name
SELECT inbox.assign(:space, :olga, NULL, 'user', :ana);
SELECT assignee_name IS NULL AS no_assignee FROM row_of_olga;

-- a second contact, and the same rows through every view and every search
SELECT inbox.receive_message(:space, :wa, '+44 20 7946 0002', 'Order 1234?', profile => '{"first_name": "Olaf", "last_name": "Hansen"}') AS m \gset
SELECT contact_id AS olaf FROM inbox.message WHERE id = :m \gset
SELECT inbox.send_message(:space, :olaf, :wa, 'On its way', :ana) IS NOT NULL AS sent;
SELECT inbox.save_view(:space, :ana, 'Everyone', '{}') AS everyone \gset
CREATE TEMP TABLE listed (way text, contact_id bigint, name text, channel_kind text, assignee_name text,
						  last_message_preview text, last_message_status text, tags text[], has_cursor boolean);
INSERT INTO listed
SELECT 'all', contact_id, name, channel_kind, assignee_name, last_message_preview, last_message_status, tags, cursor IS NOT NULL
FROM inbox.contact_list(:space, :ana, 'all')
UNION ALL
SELECT 'mine', contact_id, name, channel_kind, assignee_name, last_message_preview, last_message_status, tags, cursor IS NOT NULL
FROM inbox.contact_list(:space, :ana, 'mine')
UNION ALL
SELECT 'unassigned', contact_id, name, channel_kind, assignee_name, last_message_preview, last_message_status, tags, cursor IS NOT NULL
FROM inbox.contact_list(:space, :ana, 'unassigned')
UNION ALL
SELECT 'custom', contact_id, name, channel_kind, assignee_name, last_message_preview, last_message_status, tags, cursor IS NOT NULL
FROM inbox.contact_list(:space, :ana, :'everyone')
UNION ALL
SELECT 'short search', contact_id, name, channel_kind, assignee_name, last_message_preview, last_message_status, tags, cursor IS NOT NULL
FROM inbox.contact_list(:space, :ana, search => 'ol')
UNION ALL
SELECT 'long search', contact_id, name, channel_kind, assignee_name, last_message_preview, last_message_status, tags, cursor IS NOT NULL
FROM inbox.contact_list(:space, :ana, search => 'petrova')
UNION ALL
SELECT 'long search', contact_id, name, channel_kind, assignee_name, last_message_preview, last_message_status, tags, cursor IS NOT NULL
FROM inbox.contact_list(:space, :ana, search => 'hansen')
UNION ALL
SELECT 'phone search', contact_id, name, channel_kind, assignee_name, last_message_preview, last_message_status, tags, cursor IS NOT NULL
FROM inbox.contact_list(:space, :ana, search => '+44 20 7946');
SELECT way, name, channel_kind, assignee_name, last_message_preview, last_message_status, tags, has_cursor
FROM listed ORDER BY way, name;
-- each contact's row is the same whichever way it was listed
SELECT name, count(DISTINCT (channel_kind, assignee_name, last_message_preview, last_message_status, tags)) AS versions
FROM listed GROUP BY name ORDER BY name;

SELECT * FROM inbox.check_integrity();
