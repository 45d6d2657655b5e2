--
-- search_by_space: a search of contact_list reads the matches of its own
-- space only.
--
-- Proves:
--  * the trigram index of the search leads with the space (btree_gin), and a
--    search of names and e-mails is planned as one scan of that index bounded
--    by the space and the words at once (EXPLAIN, costs off);
--  * contact_list's search reads that index (the index scans it counts in the
--    calling transaction);
--  * the results are those of the space only, the same as a plain scan of
--    the space's contacts finds, in every built-in view, for a word that many
--    contacts of a big neighbour also match, and for a search too short for a
--    trigram.
--
\set VERBOSITY sqlstate
SET client_min_messages = warning;

SELECT inbox.create_space('small') AS small \gset
SELECT inbox.create_space('big neighbour') AS big \gset
SELECT inbox.create_agent(:small, 'Ana') AS ana \gset
SELECT inbox.create_agent(:big, 'Bo') AS bo \gset
SELECT inbox.create_channel(:small, 'webchat', 'web') AS web \gset
SELECT inbox.create_channel(:big, 'webchat', 'web') AS big_web \gset

-- the small space: three contacts called Aisha, one assigned, and one other
SELECT count(inbox.receive_message(:small, :web, 'u' || g, 'hello', at => '2026-01-01 08:00+00'::timestamptz + g * interval '1 minute',
       profile => jsonb_build_object('first_name', CASE WHEN g < 4 THEN 'Aisha' ELSE 'Omar' END,
                                     'last_name', 'Small' || g, 'email', 'person' || g || '@small.example'))) AS received
FROM generate_series(1, 4) g;
SELECT count(*) AS assigned FROM (SELECT inbox.assign(:small, c.id, :ana, 'user', :ana) FROM inbox.contact c
WHERE c.space_id = :small AND c.last_name = 'Small1') a;

-- the big neighbour: 7500 contacts called Aisha (a few with messages), 2500
-- others, with some notes in custom fields (so that its rows fill pages as a
-- real space's do)
INSERT INTO inbox.contact (space_id, first_name, last_name, email, custom)
SELECT :big, CASE WHEN g % 4 = 0 THEN 'Omar' ELSE 'Aisha' END, 'Big' || g, 'aisha' || g || '@big.example',
       jsonb_build_object('notes', repeat(md5(g::text), 10))
FROM generate_series(1, 10000) g;
SELECT count(inbox.receive_message(:big, :big_web, 'b' || g, 'hello',
       profile => jsonb_build_object('first_name', 'Aisha', 'last_name', 'Writer' || g))) AS received
FROM generate_series(1, 3) g;
-- (VACUUM moves the new entries out of the index's pending list, as
-- autovacuum does on a live table; the planner counts that list's pages)
VACUUM ANALYZE inbox.contact;

-- the index: the space, then the trigrams of the name and e-mail
SELECT pg_get_indexdef('inbox.contact_search_text_idx'::regclass);

-- a search of names and e-mails is one scan of that index, bounded by the
-- space and the words together (the condition contact_list's search puts on
-- the space's contacts; generic plan, so that no id shows)
PREPARE matches(bigint, text) AS
SELECT c.id FROM inbox.contact c
WHERE c.space_id = $1 AND c.search_text LIKE $2;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE matches(:big, '%aisha big12%');
RESET plan_cache_mode;
DEALLOCATE matches;

-- contact_list's search reads the index: index scans counted in this transaction
BEGIN;
SELECT pg_stat_get_xact_numscans('inbox.contact_search_text_idx'::regclass) AS scans_before \gset
SELECT name FROM inbox.contact_list(:big, :bo, 'all', 'aisha writer2');
SELECT pg_stat_get_xact_numscans('inbox.contact_search_text_idx'::regclass) > :scans_before AS search_used_the_index;
COMMIT;

-- the small space finds its own three Aishas, in every view, whatever its neighbour holds
SELECT name, assignee_id = :ana AS assigned FROM inbox.contact_list(:small, :ana, 'all', 'aisha');
SELECT name FROM inbox.contact_list(:small, :ana, 'mine', 'aisha');
SELECT name FROM inbox.contact_list(:small, :ana, 'unassigned', 'aisha');
-- by e-mail, and by a search too short for a trigram
SELECT name FROM inbox.contact_list(:small, :ana, 'all', 'son2@small');
SELECT name FROM inbox.contact_list(:small, :ana, 'all', 'ai');
-- the big space's Aishas with a message, none of the small space's
SELECT name FROM inbox.contact_list(:big, :bo, 'all', 'aisha');

-- the same results as a plain scan of each space's listed contacts, for every search above
SELECT s.space = :small AS small_space, s.search,
       array(SELECT contact_id FROM inbox.contact_list(s.space, NULL, 'all', s.search, page_size => 1000) ORDER BY 1)
       = array(SELECT c.id FROM inbox.contact c
               WHERE c.space_id = s.space AND c.last_message_at IS NOT NULL AND c.snoozed_until IS NULL
                 AND c.merged_into IS NULL
                 AND lower(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '') || ' ' || coalesce(c.email, ''))
                     LIKE '%' || s.search || '%'
               ORDER BY 1) AS same_as_a_plain_scan
FROM (VALUES (:small::bigint, 'aisha'), (:small, 'son2@small'), (:small, 'ai'), (:small, 'omar small4'),
             (:big, 'aisha'), (:big, 'aisha writer2'), (:big, 'ai')) s (space, search)
ORDER BY 1 DESC, 2;
