-- test/bench/views_generate.sql: a populated inbox for the views benchmark.
--
-- Usage: psql -v space_name=... -v contacts=N -v per_contact=M -v agents=A -f views_generate.sql
--
-- Writes in bulk with the rules' triggers off (session_replication_role =
-- replica), then sets every maintained column and count in set-based
-- statements, so a million contacts take minutes, not the hours the API
-- would.  The result passes inbox.check_integrity() (the benchmark checks).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET synchronous_commit = off;

SELECT inbox.create_space(:'space_name') AS space \gset
SELECT min(id) AS first_agent FROM (SELECT inbox.create_agent(:space, 'Agent ' || g) AS id FROM generate_series(1, :agents) g) a \gset
SELECT inbox.create_channel(:space, 'whatsapp_cloud', 'WhatsApp') AS ch1 \gset
SELECT inbox.create_channel(:space, 'facebook', 'Messenger') AS ch2 \gset
SELECT inbox.create_channel(:space, 'webchat', 'Web') AS ch3 \gset
SELECT inbox.create_channel(:space, 'email', 'Mail') AS ch4 \gset

BEGIN;
SET LOCAL session_replication_role = replica;

-- contacts: names from small vocabularies, e-mail and a phone in varied formatting
CREATE TEMP TABLE gen_contact AS
SELECT nextval('inbox.contact_id_seq') AS id, g AS n,
	   (ARRAY['Maria','John','Ana','Yuki','Lee','Oliver','Sofia','Mateo','Aisha','Chen','Liam','Emma','Noah','Olga','Ravi','Fatima','Lucas','Mia','Ethan','Zoe','Hugo','Ines','Omar','Leila','Ivan','Nina','Pablo','Sara','Tomas','Elena','Kenji','Hana','Diego','Lucia','Marco','Giulia','Pierre','Camille','Lars','Freya','Arjun','Priya','Kwame','Amara','Jonas','Lena','Felix','Clara','Sven','Ingrid','Rafael','Beatriz','Tariq','Yasmin','Dmitri','Anya','Kofi','Ama','Mehmet','Elif'])[1 + g % 60] AS first_name,
	   (ARRAY['Garcia','Smith','Lima','Tanaka','Park','Brown','Rossi','Martin','Khan','Wang','Muller','Silva','Novak','Dubois','Kowalski','Haddad','Nguyen','Okafor','Jensen','Lopez','Johnson','Williams','Jones','Miller','Davis','Wilson','Anderson','Thomas','Taylor','Moore','Jackson','White','Harris','Clark','Lewis','Robinson','Walker','Young','Allen','King','Wright','Scott','Torres','Hill','Flores','Green','Adams','Nelson','Baker','Hall','Rivera','Campbell','Mitchell','Carter','Roberts','Schmidt','Schneider','Fischer','Weber','Meyer','Wagner','Becker','Schulz','Hoffmann','Bernard','Petit','Durand','Leroy','Moreau','Simon','Laurent','Lefebvre','Michel','Bianchi','Romano','Colombo','Ricci','Marino','Greco','Bruno','Gallo','Conti','Costa','Santos','Oliveira','Souza','Pereira','Ferreira','Alves','Ivanov','Petrov','Sidorov','Yilmaz','Kaya','Demir','Sahin','Celik','Sato','Suzuki','Takahashi'])[1 + (g / 60) % 100] AS last_name,
	   :ch1 + g % 4 AS channel,
	   -- the last message within 90 days, independent of the name
	   now() - (abs(hashint4(g + 7919)) % 129600) * interval '1 minute' AS last_at,
	   abs(hashint4(g)) AS h		-- decides open / assigned / unread, independent of the name
FROM generate_series(1, :contacts) g;

INSERT INTO inbox.contact (id, space_id, first_name, last_name, email, phone, origin_channel_id, created_at)
SELECT id, :space, first_name, last_name,
	   lower(first_name || '.' || last_name || n || '@example.com'),
	   CASE n % 3 WHEN 0 THEN '+1 (415) ' || lpad(((n / 10000) % 1000)::text, 3, '0') || '-' || lpad((n % 10000)::text, 4, '0')
				  WHEN 1 THEN '1415' || lpad((n % 10000000)::text, 7, '0')
				  ELSE '+44 20 ' || lpad((n % 100000000)::text, 8, '0') END,
	   channel, last_at - interval '90 days'
FROM gen_contact;

INSERT INTO inbox.contact_channel (contact_id, channel_id, space_id, external_id, last_incoming_at)
SELECT id, channel, :space, 'ext-' || id, last_at FROM gen_contact;

-- two conversations per contact: an older closed one and a newer one, open for 40%
CREATE TEMP TABLE gen_conv AS
SELECT c.id AS contact_id, nextval('inbox.conversation_id_seq') AS id, k,
	   c.last_at - (2 - k) * interval '10 days' AS opened_at,
	   CASE WHEN k = 1 OR c.h % 5 >= 2 THEN c.last_at + interval '1 minute' - (2 - k) * interval '10 days' END AS closed_at,
	   c.n, c.h
FROM gen_contact c, generate_series(1, 2) k;

INSERT INTO inbox.conversation (id, space_id, contact_id, opened_at, opened_by_kind, closed_at, closed_by_kind)
SELECT id, :space, contact_id, opened_at, 'contact', closed_at, CASE WHEN closed_at IS NOT NULL THEN 'user' END
FROM gen_conv;

-- messages: per_contact per contact, half in each conversation, alternating direction
INSERT INTO inbox.message (space_id, contact_id, conversation_id, channel_id, direction, sender_kind,
						   sender_agent_id, body, status, sent_at, delivered_at, read_at, created_at)
SELECT :space, v.contact_id, v.id, c.channel,
	   CASE WHEN i % 2 = 1 THEN 'incoming' ELSE 'outgoing' END,
	   CASE WHEN i % 2 = 1 THEN 'contact' ELSE 'user' END,
	   CASE WHEN i % 2 = 1 THEN NULL ELSE :first_agent + c.n % :agents END,
	   'message ' || i || ' of contact ' || c.n,
	   CASE WHEN i % 2 = 1 THEN 'received' ELSE 'delivered' END,
	   CASE WHEN i % 2 = 0 THEN v.opened_at + i * interval '1 second' END,
	   CASE WHEN i % 2 = 0 THEN v.opened_at + i * interval '1 second' END,
	   -- incoming messages are read except the last one of contacts with unread (a third)
	   CASE WHEN i % 2 = 1 AND NOT (v.k = 2 AND i = :per_contact / 2 - (:per_contact / 2 + 1) % 2 AND c.h % 3 = 0)
			THEN v.opened_at + i * interval '1 second' END,
	   v.opened_at + i * interval '1 second'
FROM gen_conv v JOIN gen_contact c ON c.id = v.contact_id,
	 generate_series(1, :per_contact / 2) i;

INSERT INTO inbox.event (space_id, contact_id, conversation_id, kind, actor_kind, created_at)
SELECT :space, contact_id, id, 'conversation_opened', 'contact', opened_at FROM gen_conv
UNION ALL
SELECT :space, contact_id, id, 'conversation_closed', 'user', closed_at FROM gen_conv WHERE closed_at IS NOT NULL;

-- open conversations: assigned to an agent for half of them
UPDATE inbox.contact ct SET
	open_conversation_id = v.id,
	assignee_id = CASE WHEN v.h % 7 < 4 THEN :first_agent + (v.h / 7) % :agents END
FROM gen_conv v WHERE v.contact_id = ct.id AND v.closed_at IS NULL;

-- the maintained columns, from the messages
UPDATE inbox.contact ct SET
	(last_message_id, last_message_at, last_message_direction, last_channel_id, last_message_preview,
	 last_message_status) =
		(SELECT m.id, m.created_at, m.direction, m.channel_id, inbox.message_preview(m.body, m.content), m.status
		 FROM inbox.message m
		 WHERE m.space_id = ct.space_id AND m.contact_id = ct.id ORDER BY m.created_at DESC, m.id DESC LIMIT 1),
	unread_count = (SELECT count(*) FROM inbox.message m
					WHERE m.space_id = ct.space_id AND m.contact_id = ct.id AND m.direction = 'incoming' AND m.read_at IS NULL)
WHERE ct.space_id = :space;

-- the counts of the built-in views
INSERT INTO inbox.view_count (space_id, view, agent_id, shard, contacts, unread_contacts)
SELECT :space, v.view, CASE v.view WHEN 'mine' THEN ct.assignee_id ELSE 0 END, 0,
	   count(*), count(*) FILTER (WHERE ct.unread_count > 0)
FROM inbox.contact ct
CROSS JOIN LATERAL (VALUES ('all'), ('mine'), ('unassigned')) v (view)
WHERE ct.space_id = :space AND ct.last_message_at IS NOT NULL
  AND (v.view = 'all' OR (v.view = 'mine' AND ct.assignee_id IS NOT NULL)
	   OR (v.view = 'unassigned' AND ct.assignee_id IS NULL AND ct.open_conversation_id IS NOT NULL))
GROUP BY 1, 2, 3
ON CONFLICT (space_id, view, agent_id, shard) DO UPDATE
SET contacts = inbox.view_count.contacts + excluded.contacts,
	unread_contacts = inbox.view_count.unread_contacts + excluded.unread_contacts;
COMMIT;
