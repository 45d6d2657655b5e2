--
-- channels: one person on several channels (channel_added).
--
-- Proves:
--  * a sender unknown on a channel whose profile names the e-mail (any case)
--    or the phone number (any formatting) of exactly one contact of the space
--    becomes a further identity of that contact, with channel_added (actor
--    contact, the channel in data), not a second contact;
--  * no match, an ambiguous match (two contacts), a contact of another space
--    or a contact merged away gives a new contact, without the event;
--  * an identity added by a plain INSERT writes channel_added for the actor of
--    the transaction; a contact's first identity writes nothing.
--
\set VERBOSITY sqlstate
SET client_min_messages = warning;

SELECT inbox.create_space('channels') AS space \gset
SELECT inbox.create_space('elsewhere') AS other_space \gset
SELECT inbox.create_channel(:space, 'whatsapp_cloud', 'wa') AS wa \gset
SELECT inbox.create_channel(:space, 'facebook', 'fb') AS fb \gset
SELECT inbox.create_channel(:space, 'email', 'mail') AS mail \gset
SELECT inbox.create_channel(:space, 'webchat', 'web') AS web \gset
SELECT inbox.create_channel(:other_space, 'webchat', 'web2') AS web2 \gset

CREATE FUNCTION pg_temp.contact_of(message_id bigint) RETURNS bigint LANGUAGE sql AS
$$ SELECT contact_id FROM inbox.message WHERE id = message_id $$;

SELECT pg_temp.contact_of(inbox.receive_message(:space, :wa, '14155550100', 'hi on WhatsApp',
       profile => '{"first_name": "Maria", "phone": "+1 (415) 555-0100", "email": "Maria@Example.com"}')) AS maria \gset

-- Messenger, same e-mail in another case: the same contact
SELECT pg_temp.contact_of(inbox.receive_message(:space, :fb, 'psid-1', 'hi on Messenger',
       profile => '{"email": "maria@example.COM"}')) = :maria AS same_contact;
-- e-mail channel, the phone number written differently: the same contact
SELECT pg_temp.contact_of(inbox.receive_message(:space, :mail, 'maria.g@work.test', 'hi by mail',
       profile => '{"phone": "1-415-555-0100"}')) = :maria AS same_contact;
SELECT count(*) AS identities FROM inbox.contact_channel WHERE contact_id = :maria;
SELECT kind, actor_kind, data ->> 'channel' IN (:fb::text, :mail::text) AS new_channel,
       conversation_id IS NOT NULL AS in_open_conversation
FROM inbox.event WHERE contact_id = :maria AND kind = 'channel_added' ORDER BY id;
SELECT count(*) AS contacts FROM inbox.contact WHERE space_id = :space;

-- nothing to match on, or an unknown e-mail: a new contact, no event
SELECT pg_temp.contact_of(inbox.receive_message(:space, :web, 'visitor-1', 'hello')) <> :maria AS new_contact;
SELECT pg_temp.contact_of(inbox.receive_message(:space, :web, 'visitor-2', 'hello',
       profile => '{"email": "someone@else.test"}')) <> :maria AS new_contact;
-- too few digits to be sure: a new contact
SELECT pg_temp.contact_of(inbox.receive_message(:space, :web, 'visitor-3', 'hello',
       profile => '{"phone": "0100"}')) <> :maria AS new_contact;

-- two contacts share an e-mail: no guess
UPDATE inbox.contact SET email = 'shared@family.test' WHERE id IN
	(SELECT contact_id FROM inbox.contact_channel WHERE external_id IN ('visitor-1', 'visitor-2'));
SELECT pg_temp.contact_of(inbox.receive_message(:space, :wa, '4420794600', 'who am I',
       profile => '{"email": "shared@family.test"}')) AS m \gset
SELECT :m NOT IN (SELECT contact_id FROM inbox.contact_channel WHERE external_id IN ('visitor-1', 'visitor-2')) AS new_contact;

-- another space is never matched
SELECT pg_temp.contact_of(inbox.receive_message(:other_space, :web2, 'stranger', 'hello',
       profile => '{"email": "maria@example.com"}')) <> :maria AS new_contact;

-- a contact merged away is not matched: the one it was merged into is
SELECT pg_temp.contact_of(inbox.receive_message(:space, :web, 'visitor-4', 'hello',
       profile => '{"email": "twin@example.com"}')) AS twin \gset
SELECT inbox.merge_contacts(:space, :maria, :twin);
UPDATE inbox.contact SET email = 'twin@example.com' WHERE id = :maria;
SELECT pg_temp.contact_of(inbox.receive_message(:space, :fb, 'psid-2', 'hello',
       profile => '{"email": "twin@example.com"}')) = :maria AS into_the_kept_one;

-- an identity added by hand, by an automation
BEGIN;
SET LOCAL inbox.actor_kind = 'automation';
INSERT INTO inbox.contact_channel (space_id, contact_id, channel_id, external_id)
SELECT :space, contact_id, :web, 'maria-web' FROM inbox.contact_channel WHERE external_id = 'visitor-3';
COMMIT;
SELECT e.kind, e.actor_kind, (e.data ->> 'channel')::bigint = :web AS web
FROM inbox.event e JOIN inbox.contact_channel cc ON cc.contact_id = e.contact_id
WHERE cc.external_id = 'visitor-3' AND e.kind = 'channel_added';

SELECT * FROM inbox.check_integrity();
