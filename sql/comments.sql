--
-- comments: psql documents the extension: \d+ and \df+ show a description
-- for every object of schema inbox.
--
-- Proves:
--  * every table, view and sequence of schema inbox has a comment;
--  * every column of those tables and views has one (user columns, not dropped);
--  * every function of schema inbox (API, trigger functions, helpers) has one;
--  * the queries see the schema (so an empty answer is not a wrong name);
--  * a comment is what psql shows: \d+ reads col_description() and \dt+ / \df+
--    read obj_description(), shown here for a sample table, column and function.
--

-- tables, views and sequences without a comment: none
SELECT c.relkind, c.relname
FROM pg_class c
WHERE c.relnamespace = 'inbox'::regnamespace
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  AND obj_description(c.oid, 'pg_class') IS NULL
ORDER BY c.relname;

-- columns without a comment: none
SELECT c.relname, a.attname
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.relnamespace = 'inbox'::regnamespace
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND a.attnum > 0 AND NOT a.attisdropped
  AND col_description(c.oid, a.attnum) IS NULL
ORDER BY c.relname, a.attnum;

-- functions without a comment: none
SELECT p.oid::regprocedure AS function
FROM pg_proc p
WHERE p.pronamespace = 'inbox'::regnamespace
  AND obj_description(p.oid, 'pg_proc') IS NULL
ORDER BY p.oid::regprocedure::text;

-- the queries above look where the objects are
SELECT (SELECT count(*) FROM pg_class
		WHERE relnamespace = 'inbox'::regnamespace AND relkind = 'r') > 0 AS has_tables,
	   (SELECT count(*) FROM pg_class
		WHERE relnamespace = 'inbox'::regnamespace AND relkind = 'S') > 0 AS has_sequences,
	   (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		WHERE c.relnamespace = 'inbox'::regnamespace AND c.relkind = 'r' AND a.attnum > 0) > 0 AS has_columns,
	   (SELECT count(*) FROM pg_proc
		WHERE pronamespace = 'inbox'::regnamespace) > 0 AS has_functions;

-- the description column of \dt+ inbox.space
SELECT obj_description('inbox.space'::regclass, 'pg_class') AS description;

-- the description column of \d+ inbox.contact, for two columns
SELECT a.attname, col_description(a.attrelid, a.attnum) AS description
FROM pg_attribute a
WHERE a.attrelid = 'inbox.contact'::regclass AND a.attname IN ('unread_count', 'merged_into')
ORDER BY a.attnum;

-- the description column of \df+ inbox.mark_read
SELECT obj_description('inbox.mark_read(bigint, bigint, bigint)'::regprocedure, 'pg_proc') AS description;
