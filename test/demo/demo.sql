-- test/demo/demo.sql: a small demo space for trying inbox in psql (inbox 2.0:
-- every call names the space first).
-- Three agents, five channels, eight contacts with a day of conversations:
-- open and closed, assigned and unassigned, unread, delivery reports, events.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

SELECT inbox.create_space('Acme Support') AS space \gset
SELECT inbox.create_agent(:space, 'Ana Lima', 'ana@acme.test') AS ana \gset
SELECT inbox.create_agent(:space, 'Ben Okafor', 'ben@acme.test') AS ben \gset
SELECT inbox.create_agent(:space, 'Chloe Martin', 'chloe@acme.test') AS chloe \gset

SELECT inbox.create_channel(:space, 'whatsapp_cloud', 'WhatsApp +1 415 555 0100') AS wa \gset
SELECT inbox.create_channel(:space, 'facebook', 'Acme on Messenger') AS fb \gset
SELECT inbox.create_channel(:space, 'telegram', '@acme_bot') AS tg \gset
SELECT inbox.create_channel(:space, 'webchat', 'acme.test chat') AS web \gset
SELECT inbox.create_channel(:space, 'email', 'support@acme.test') AS mail \gset

-- Maria writes on WhatsApp; Ana answers (and so gets her); delivered and read.
SELECT inbox.receive_message(:space, :wa, '14155550111', 'Hi, my order #1042 has not arrived',
       external_id => 'wamid.1', at => now() - interval '5 hours',
       profile => '{"first_name": "Maria", "last_name": "Garcia", "phone": "+1 (415) 555-0111"}')
       AS m1 \gset
SELECT contact_id AS maria FROM inbox.message WHERE id = :m1 \gset
SELECT inbox.send_message(:space, :maria, :wa, 'Sorry Maria, let me check that for you.', :ana) AS r1 \gset
SELECT inbox.set_message_status(:space, :r1, 'sent');
SELECT inbox.set_message_status(:space, :r1, 'delivered');
SELECT inbox.set_message_status(:space, :r1, 'read');
SELECT inbox.receive_message(:space, :wa, '14155550111', 'Thanks!', external_id => 'wamid.2');

-- John wrote on Messenger from an ad (reference), nobody answered yet: unassigned, unread.
SELECT inbox.receive_message(:space, :fb, 'psid-7781', 'Is the blue jacket still in stock?',
       at => now() - interval '3 hours',
       profile => '{"first_name": "John", "last_name": "Smith", "email": "john.smith@example.com"}')
       AS m2 \gset
SELECT contact_id AS john FROM inbox.message WHERE id = :m2 \gset
SELECT inbox.record_event(:space, :john, 'channel_event', 'channel', reference => 'ad-spring-sale',
       source_url => 'https://facebook.com/ads/123');
SELECT inbox.receive_message(:space, :fb, 'psid-7781', 'Size M please', at => now() - interval '170 minutes');

-- Yuki on Telegram: answered by Ben, then marked done (closed, unassigned).
SELECT inbox.receive_message(:space, :tg, 'tg:5512', 'How do I reset my password?',
       at => now() - interval '2 days', profile => '{"first_name": "Yuki"}') AS m3 \gset
SELECT contact_id AS yuki FROM inbox.message WHERE id = :m3 \gset
SELECT inbox.send_message(:space, :yuki, :tg, 'Use "Forgot password" on the login page.', :ben) AS r3 \gset
SELECT inbox.set_message_status(:space, :r3, 'sent');
SELECT inbox.close_conversation(:space, :yuki, 'user', :ben, category => 'account', summary => 'password reset');

-- Web chat visitor browsing pages, then assigned to Chloe by an automation.
SELECT inbox.receive_message(:space, :web, 'visitor-42', 'Do you ship to Canada?',
       at => now() - interval '40 minutes') AS m4 \gset
SELECT contact_id AS visitor FROM inbox.message WHERE id = :m4 \gset
SELECT inbox.record_event(:space, :visitor, 'page_change', 'contact', source_url => 'https://acme.test/shipping');
SELECT inbox.assign(:space, :visitor, :chloe, 'automation');

-- An e-mail thread: an automation acknowledges, the mail bounces.
SELECT inbox.receive_message(:space, :mail, 'lee@example.org', 'Invoice request for March',
       at => now() - interval '90 minutes',
       profile => '{"first_name": "Lee", "last_name": "Park", "email": "lee@example.org"}') AS m5 \gset
SELECT contact_id AS lee FROM inbox.message WHERE id = :m5 \gset
SELECT inbox.send_message(:space, :lee, :mail, 'We received your request and will reply within a day.',
       sender_kind => 'automation') AS r5 \gset
SELECT inbox.set_message_status(:space, :r5, 'failed', error => '550 mailbox unavailable');

-- Three more contacts with a quick question each; Ben already read one.
SELECT inbox.receive_message(:space, :wa, '447700900123', 'Opening hours on Sunday?',
       at => now() - interval '25 minutes', profile => '{"first_name": "Oliver", "phone": "+44 7700 900123"}');
SELECT inbox.receive_message(:space, :tg, 'tg:9001', 'Can I change my delivery address?',
       at => now() - interval '15 minutes', profile => '{"first_name": "Sofia"}') AS m6 \gset
SELECT contact_id AS sofia FROM inbox.message WHERE id = :m6 \gset
SELECT inbox.assign(:space, :sofia, :ben);
SELECT inbox.mark_read(:space, :sofia, :ben);
SELECT inbox.receive_message(:space, :web, 'visitor-77', 'Hello? Anyone there?', at => now() - interval '2 minutes');

SELECT count(*) AS contacts FROM inbox.contact WHERE space_id = :space;
