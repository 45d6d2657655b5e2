--
-- channel_kinds: every row of the shipped channel_kind catalogue, as data.
--
-- Proves, for each channel kind:
--  * the messaging window: a user reply 1 hour before the window ends is sent, one
--    1 hour after it is refused (55000); kinds without a window take both;
--  * outside the window: a template is taken where the kind accepts templates, and
--    the human_agent tag up to 7 days where the kind allows it;
--  * status coverage: each of sent, delivered, read, failed is taken only if the kind
--    reports it (else 22023);
--  * reply-to: a quoted id is resolved only on kinds with reply_to.
--
\set VERBOSITY sqlstate
SET client_min_messages = warning;

SELECT inbox.create_space('kinds') AS space \gset
SELECT inbox.create_agent(:space, 'Ana') AS ana \gset

-- the outcome of a statement: ok or its SQLSTATE
CREATE FUNCTION pg_temp.try(statement text, VARIADIC args text[] DEFAULT '{}') RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE statement USING args[1], args[2], args[3];
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END
$$;

CREATE TEMP TABLE kind_result (kind text PRIMARY KEY, in_window text, after_window text, template text,
							   tag_6_days text, sent text, delivered text, read text, failed text, reply_to text);

DO $$
DECLARE
	k record;
	space bigint := (SELECT id FROM inbox.space WHERE name = 'kinds');
	agent bigint := (SELECT id FROM inbox.agent WHERE space_id = space);
	ch bigint;
	c bigint;
	m bigint;
	r kind_result;
	w interval;
BEGIN
	FOR k IN SELECT * FROM inbox.channel_kind ORDER BY kind LOOP
		r := NULL;
		r.kind := k.kind;
		w := coalesce(k."window", interval '24 hours');
		ch := inbox.create_channel(space, k.kind, k.kind);
		-- the contact last wrote an hour before the window closes: inside it
		m := inbox.receive_message(space, ch, 'in-' || k.kind, 'hi', external_id => 'q-' || k.kind,
								   at => now() - w + interval '1 hour');
		c := (SELECT contact_id FROM inbox.message WHERE id = m);
		r.in_window := pg_temp.try(format('SELECT inbox.send_message(%s, %s, %s, %L, %s)', space, c, ch, 'reply', agent));
		-- another contact last wrote an hour after the window closed
		m := inbox.receive_message(space, ch, 'out-' || k.kind, 'hi', at => now() - w - interval '1 hour');
		c := (SELECT contact_id FROM inbox.message WHERE id = m);
		r.after_window := pg_temp.try(format('SELECT inbox.send_message(%s, %s, %s, %L, %s)', space, c, ch, 'late reply', agent));
		r.template := pg_temp.try(format('SELECT inbox.send_message(%s, %s, %s, %L, %s, content => %L)',
										 space, c, ch, 'template', agent, '{"template": "order_update"}'));
		-- six days after: the human_agent tag
		m := inbox.receive_message(space, ch, 'old-' || k.kind, 'hi', at => now() - interval '6 days');
		c := (SELECT contact_id FROM inbox.message WHERE id = m);
		r.tag_6_days := pg_temp.try(format('SELECT inbox.send_message(%s, %s, %s, %L, %s, content => %L)',
										   space, c, ch, 'tagged', agent, '{"tag": "human_agent"}'));
		-- status reports, each on a fresh outgoing message of the contact inside the window
		c := (SELECT contact_id FROM inbox.contact_channel WHERE channel_id = ch AND external_id = 'in-' || k.kind);
		r.sent := pg_temp.try(format('SELECT inbox.set_message_status(%s, %s, %L)', space, inbox.send_message(space, c, ch, 's', agent), 'sent'));
		r.delivered := pg_temp.try(format('SELECT inbox.set_message_status(%s, %s, %L)', space, inbox.send_message(space, c, ch, 'd', agent), 'delivered'));
		r.read := pg_temp.try(format('SELECT inbox.set_message_status(%s, %s, %L)', space, inbox.send_message(space, c, ch, 'r', agent), 'read'));
		r.failed := pg_temp.try(format('SELECT inbox.set_message_status(%s, %s, %L, error => %L)', space, inbox.send_message(space, c, ch, 'f', agent), 'failed', 'rejected'));
		-- a reply quoting the first message
		m := inbox.receive_message(space, ch, 'in-' || k.kind, 'about that', reply_to => 'q-' || k.kind);
		r.reply_to := CASE WHEN (SELECT reply_to_id FROM inbox.message WHERE id = m) IS NOT NULL THEN 'resolved' ELSE 'kept as given' END;
		INSERT INTO kind_result SELECT r.*;
	END LOOP;
END
$$;

SELECT k."window", r.* FROM kind_result r JOIN inbox.channel_kind k USING (kind) ORDER BY r.kind;

-- the same outcomes, derived from the catalogue: nothing above is special-cased in code
SELECT r.kind
FROM kind_result r JOIN inbox.channel_kind k USING (kind)
WHERE r.in_window <> 'ok'
   OR r.after_window <> CASE WHEN k."window" IS NULL THEN 'ok' ELSE '55000' END
   OR r.template <> CASE WHEN k."window" IS NULL OR k.templates THEN 'ok' ELSE '55000' END
   OR r.tag_6_days <> CASE WHEN k."window" IS NULL OR k."window" >= interval '6 days' OR k.window_tags ? 'human_agent' THEN 'ok' ELSE '55000' END
   OR r.sent <> CASE WHEN 'sent' = ANY (k.statuses) THEN 'ok' ELSE '22023' END
   OR r.delivered <> CASE WHEN 'delivered' = ANY (k.statuses) THEN 'ok' ELSE '22023' END
   OR r.read <> CASE WHEN 'read' = ANY (k.statuses) THEN 'ok' ELSE '22023' END
   OR r.failed <> CASE WHEN 'failed' = ANY (k.statuses) THEN 'ok' ELSE '22023' END
   OR r.reply_to <> CASE WHEN k.reply_to THEN 'resolved' ELSE 'kept as given' END;

SELECT * FROM inbox.check_integrity();
