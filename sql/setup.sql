--
-- setup: the extension is installed with its catalogues, and the helpers the
-- other test files use to show the inbox without ids or timestamps.
--
-- Proves:
--  * inbox 2.0 is installed in schema inbox and requires pg_trgm and btree_gin (the search index);
--  * the channel kinds and event kinds of the spec are shipped as data;
--  * a fresh inbox passes inbox.check_integrity().
--
-- Conventions of every file:
--  * each file makes its own space, agents and channels (ids captured with \gset),
--    so it runs after this file alone;
--  * errors are shown by SQLSTATE only (\set VERBOSITY sqlstate), the comment
--    above each one says what it is;
--  * regress.fingerprint() is a digest of every inbox data table: a failing
--    statement runs inside a transaction, after work of that transaction that
--    must stay (psql's ON_ERROR_ROLLBACK rolls back to a savepoint taken just
--    before the statement); the fingerprint after COMMIT equal to the one
--    taken before the statement means the statement wrote nothing, left nothing
--    for commit time to write, and undid none of the work before it.  (In
--    autocommit PostgreSQL would have rolled the whole statement back anyway.)
--

SELECT e.extname, e.extversion, n.nspname AS schema, e.extrelocatable
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'inbox';

SELECT requires FROM pg_available_extension_versions WHERE name = 'inbox' AND version = '2.0';

-- the channel kinds and their platform rules
SELECT kind, reply_to, "window", window_tags, templates, statuses
FROM inbox.channel_kind ORDER BY kind;

-- the event kinds and who may cause them
SELECT kind, string_agg(actor_kind, ', ' ORDER BY actor_kind) AS actor_kinds
FROM inbox.event_kind GROUP BY kind ORDER BY kind;

CREATE SCHEMA regress;

-- a digest of every inbox table; unchanged = nothing was written
CREATE FUNCTION regress.fingerprint() RETURNS text LANGUAGE sql AS $$
	SELECT md5(concat_ws('|',
		coalesce((SELECT string_agg(t::text, ',' ORDER BY t.id) FROM inbox.space t), ''),
		coalesce((SELECT string_agg(t::text, ',' ORDER BY t.id) FROM inbox.agent t), ''),
		coalesce((SELECT string_agg(t::text, ',' ORDER BY t.id) FROM inbox.channel t), ''),
		coalesce((SELECT string_agg(t::text, ',' ORDER BY t.id) FROM inbox.contact t), ''),
		coalesce((SELECT string_agg(t::text, ',' ORDER BY t.channel_id, t.external_id) FROM inbox.contact_channel t), ''),
		coalesce((SELECT string_agg(t::text, ',' ORDER BY t.id) FROM inbox.conversation t), ''),
		coalesce((SELECT string_agg(t::text, ',' ORDER BY t.id) FROM inbox.message t), ''),
		coalesce((SELECT string_agg(t::text, ',' ORDER BY t.id) FROM inbox.event t), ''),
		coalesce((SELECT string_agg(t::text, ',' ORDER BY t.id) FROM inbox.view t), ''),
		coalesce((SELECT string_agg(t::text, ',' ORDER BY t.space_id, t.view, t.agent_id, t.shard) FROM inbox.view_count t), ''),
		coalesce((SELECT string_agg(t::text, ',' ORDER BY t.id) FROM inbox.contact_merge t), ''),
		coalesce((SELECT string_agg(t::text, ',' ORDER BY t.id) FROM inbox.comment t), ''),
		coalesce((SELECT string_agg(t::text, ',' ORDER BY t.space_id, t.db_role) FROM inbox.space_admin t), ''),
		coalesce((SELECT string_agg(t::text, ',' ORDER BY t.space_id, t.agent_id) FROM inbox.agent_state t), ''),
		coalesce((SELECT string_agg(t::text, ',' ORDER BY t.space_id, t.agent_id) FROM inbox.agent_activity t), '')))
$$;

-- the n-th conversation of its contact (1 = the first), NULL for none
CREATE FUNCTION regress.conversation_number(bigint) RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM inbox.conversation c
	WHERE c.contact_id = (SELECT contact_id FROM inbox.conversation WHERE id = $1)
	  AND c.id <= $1
	HAVING $1 IS NOT NULL
$$;

-- a contact's conversations, oldest first
CREATE FUNCTION regress.conversations(bigint)
RETURNS TABLE (conversation bigint, open boolean, opened_by text, opener text, reference text,
			   source_url text, closed_by text, closer text, category text, summary text,
			   messages bigint)
LANGUAGE sql AS $$
	SELECT regress.conversation_number(c.id), c.closed_at IS NULL, c.opened_by_kind, o.name,
		   c.reference, c.source_url, c.closed_by_kind, cl.name, c.category, c.summary,
		   (SELECT count(*) FROM inbox.message m WHERE m.conversation_id = c.id)
	FROM inbox.conversation c
	LEFT JOIN inbox.agent o ON o.id = c.opened_by_agent
	LEFT JOIN inbox.agent cl ON cl.id = c.closed_by_agent
	WHERE c.contact_id = $1
	ORDER BY c.id
$$;

-- a contact's events in the order they were written, with the label history shows
CREATE FUNCTION regress.events(bigint)
RETURNS TABLE (kind text, actor text, label text, actor_agent text, target_agent text,
			   conversation bigint, reference text, source_url text)
LANGUAGE sql AS $$
	SELECT e.kind, e.actor_kind, k.label, a.name, t.name,
		   regress.conversation_number(e.conversation_id), e.reference, e.source_url
	FROM inbox.event e
	JOIN inbox.event_kind k ON k.kind = e.kind AND k.actor_kind = e.actor_kind
	LEFT JOIN inbox.agent a ON a.id = e.actor_agent_id
	LEFT JOIN inbox.agent t ON t.id = e.target_agent_id
	WHERE e.contact_id = $1
	ORDER BY e.id
$$;

-- a contact's messages in the order they were written
CREATE FUNCTION regress.messages(bigint)
RETURNS TABLE (body text, direction text, sender_kind text, sender text, channel text,
			   status text, conversation bigint)
LANGUAGE sql AS $$
	SELECT m.body, m.direction, m.sender_kind, a.name, ch.name, m.status,
		   regress.conversation_number(m.conversation_id)
	FROM inbox.message m
	JOIN inbox.channel ch ON ch.id = m.channel_id
	LEFT JOIN inbox.agent a ON a.id = m.sender_agent_id
	WHERE m.contact_id = $1
	ORDER BY m.id
$$;

-- what the inbox shows of a contact: assignee, open conversation, unread, last message
CREATE FUNCTION regress.contact(bigint)
RETURNS TABLE (assignee text, open_conversation boolean, unread_count integer,
			   last_message text, last_direction text, last_channel text)
LANGUAGE sql AS $$
	SELECT a.name,
		   EXISTS (SELECT 1 FROM inbox.conversation c WHERE c.contact_id = ct.id AND c.closed_at IS NULL),
		   ct.unread_count, m.body, ct.last_message_direction, ch.name
	FROM inbox.contact ct
	LEFT JOIN inbox.agent a ON a.id = ct.assignee_id
	LEFT JOIN inbox.message m ON m.id = ct.last_message_id
	LEFT JOIN inbox.channel ch ON ch.id = ct.last_channel_id
	WHERE ct.id = $1
$$;

-- what a statement says when it is refused: its SQLSTATE and hint (the files
-- show errors by SQLSTATE alone; a hint that tells a user what to do is shown
-- this way), or "accepted"; callable by the roles the files SET ROLE to
CREATE FUNCTION regress.refusal(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	hint text;
BEGIN
	EXECUTE statement;
	RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
	RETURN SQLSTATE || ': ' || hint;
END
$$;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
-- the SQLSTATE and message of a statement, where a test shows what an error names
CREATE FUNCTION regress.error_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE statement;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT * FROM inbox.check_integrity();
