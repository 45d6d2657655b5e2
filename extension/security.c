/*-------------------------------------------------------------------------
 *
 * security.c
 *	  Who may do what: the spaces, agents and admin rights of a database
 *	  role, for the API functions and for the row-level security policies.
 *
 * A role acts in a space as
 *   owner  a superuser or a member of the extension's owner: everything;
 *   admin  inbox.space_admin names it for the space: everything there,
 *          also on behalf of any agent of the space;
 *   agent  inbox.agent.db_role binds it to an agent of the space: it acts
 *          as that agent only and, when the space has
 *          agents_see_only_assigned, sees only the contacts assigned to
 *          it or to nobody.
 *
 * The API functions are SECURITY DEFINER: they run as the extension's
 * owner, so that the rules their writes fire see every row they need.
 * Inside them current_user is the owner, so the caller is the session's
 * current role (GetOuterUserId: the role SET ROLE chose).  Each function
 * asks here whether the caller may act in the space of the ids it got and
 * for the agent it names.  An id of a space the caller may not act in is
 * reported as not existing (P0002), like an id that does not exist, so
 * that ids of other spaces are not revealed; a role that is neither bound
 * to an agent nor admin of a space gets 42501 from every call.
 *
 * The policies' helpers, inbox.role_spaces(), inbox.role_agents() and
 * inbox.role_sees_contact(), answer for current_user (the role a policy
 * is checked for) and read inbox.agent, inbox.space_admin and inbox.contact
 * as the owner, so that the policies of those tables do not recurse into
 * themselves.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/syscache.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_role_spaces);
PG_FUNCTION_INFO_V1(inbox_role_agents);
PG_FUNCTION_INFO_V1(inbox_role_sees_contact);

/* a role's name as a Datum of type name, for the db_role columns */
static Datum
role_name(Oid role)
{
	return DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(role, false)));
}

/*
 * Whether the caller of an API function is a superuser or acts as the
 * extension's owner (inside a SECURITY DEFINER function GetUserId() is the
 * function's owner).  Such a caller passes every check.
 */
static bool
caller_is_owner(void)
{
	Oid			caller = GetOuterUserId();

	return superuser_arg(caller) || has_privs_of_role(caller, GetUserId());
}

/*
 * The caller may not see what it asked for: not found (P0002) when it acts
 * in some space, 42501 when it is bound to no agent and admin of no space.
 */
static void
deny(const char *what, int64 id)
{
	static InboxQuery q = {
		"SELECT EXISTS (SELECT FROM inbox.space_admin WHERE db_role = $1)"
		"    OR EXISTS (SELECT FROM inbox.agent WHERE db_role = $1)",
		1, {NAMEOID}
	};
	Datum		values[1] = {role_name(GetOuterUserId())};
	bool		isnull;

	inbox_exec(&q, values, NULL, 1);
	if (!DatumGetBool(inbox_value(1, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" is not an agent or admin of any inbox space",
						GetUserNameFromId(GetOuterUserId(), false)),
				 errhint("Bind the role to an agent (inbox.agent.db_role) or make it an admin of a space (inbox.space_admin).")));
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("%s %lld does not exist", what, (long long) id)));
}

/*
 * What the caller of an API function may do in a space; "what" and "id"
 * name the argument that led there, for the error when it may do nothing.
 */
InboxAccess
inbox_space_access(int64 space, const char *what, int64 id)
{
	static InboxQuery q = {
		"SELECT s.agents_see_only_assigned,"
		" EXISTS (SELECT FROM inbox.space_admin a WHERE a.space_id = s.id AND a.db_role = $2),"
		" (SELECT g.id FROM inbox.agent g WHERE g.space_id = s.id AND g.db_role = $2)"
		" FROM inbox.space s WHERE s.id = $1",
		2, {INT8OID, NAMEOID}
	};
	InboxAccess access;
	Datum		values[2];
	bool		isnull;

	memset(&access, 0, sizeof(access));
	access.space = space;
	if (caller_is_owner())
	{
		access.owner = true;
		return access;
	}

	values[0] = Int64GetDatum(space);
	values[1] = role_name(GetOuterUserId());
	if (inbox_exec(&q, values, NULL, 1) == 0)
		deny(what, id);
	access.admin = DatumGetBool(inbox_value(2, &isnull));
	(void) inbox_int8(3, &access.agent);
	if (!access.admin && access.agent == 0)
		deny(what, id);
	access.assigned_only = !access.admin && DatumGetBool(inbox_value(1, &isnull));
	return access;
}

/*
 * An agent named as the one who acts (agent, actor_agent) must be the
 * caller's own, unless the caller is an admin of the space.  Whether the
 * agent is one of the space is the rules' check.
 */
void
inbox_check_acting_agent(const InboxAccess *access, int64 agent)
{
	if (agent == 0 || access->owner || access->admin || agent == access->agent)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("role \"%s\" may not act for agent %lld",
					GetUserNameFromId(GetOuterUserId(), false), (long long) agent),
			 errhint("An agent acts as itself (inbox.agent.db_role); an admin of the space may act for any of its agents.")));
}

/* what only an admin of the space may do */
void
inbox_require_admin(const InboxAccess *access, const char *action)
{
	if (access->owner || access->admin)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s in space %lld", action, (long long) access->space),
			 errhint("Only an admin of the space (inbox.space_admin) may.")));
}

/*
 * What the caller may do with a contact of a space, which it must see (the
 * space, and under agents_see_only_assigned the contact's assignee),
 * acting for "agent" (0 = none named), who thereby acts (or the caller's
 * own agent, when it names none).  A contact the space does not have
 * is not seen: P0002, as for one that does not exist (for an owner, the
 * rules' own look-ups by space and id say so).
 */
InboxAccess
inbox_contact_access(int64 space, int64 contact, int64 agent)
{
	static InboxQuery q = {
		"SELECT assignee_id FROM inbox.contact WHERE space_id = $1 AND id = $2", 2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(space), Int64GetDatum(contact)};
	InboxAccess access;
	int64		assignee = 0;

	if (caller_is_owner())
	{
		memset(&access, 0, sizeof(access));
		access.space = space;
		access.owner = true;
		inbox_note_activity(space, agent);
		return access;
	}
	if (inbox_exec(&q, values, NULL, 1) == 0)
		deny("contact", contact);
	(void) inbox_int8(1, &assignee);
	access = inbox_space_access(space, "contact", contact);
	if (access.assigned_only && assignee != 0 && assignee != access.agent)
		deny("contact", contact);
	inbox_check_acting_agent(&access, agent);
	/* the call acts as that agent, or as the caller's own (auto-away: availability.c) */
	inbox_note_activity(space, agent != 0 ? agent : access.agent);
	return access;
}

/*
 * Row-level security helpers
 * --------------------------
 * Each answers for current_user.  The policies call them without a
 * subquery (Citus accepts none in the policies of distributed tables), so
 * they are called for every row a policy filters: each keeps its answers
 * in fn_extra, which lives as long as the statement's executor state, and
 * asks the tables once per statement (role_sees_contact once per contact).
 * The look-ups run as the function's owner, as the RI triggers of
 * PostgreSQL run theirs as the table's owner, so that the policies of
 * inbox.agent and inbox.contact do not recurse into themselves.
 */
#define ADMIN_SPACES "SELECT space_id FROM inbox.space_admin WHERE db_role = $1"
#define MEMBER_SPACES ADMIN_SPACES " UNION SELECT space_id FROM inbox.agent WHERE db_role = $1"
#define ALL_CONTACTS_SPACES ADMIN_SPACES \
	" UNION SELECT a.space_id FROM inbox.agent a JOIN inbox.space s ON s.id = a.space_id" \
	" WHERE a.db_role = $1 AND NOT s.agents_see_only_assigned"
#define ROLE_AGENTS "SELECT id FROM inbox.agent WHERE db_role = $1"

/* the scopes of role_spaces(), and role_agents() */
typedef enum PolicyAnswer
{
	ANSWER_ADMIN,
	ANSWER_MEMBER,
	ANSWER_ALL_CONTACTS,
	ANSWER_AGENTS,
	ANSWER_COUNT
} PolicyAnswer;

/*
 * role_sees_contact looks contacts up one by one, keeping the answers (at
 * most POLICY_MAX_CONTACTS, then it starts again); after
 * POLICY_SINGLE_LOOKUPS of them in one space, the statement reads many
 * contacts of that space, and reads the ids of all those the role sees
 * there at once (for at most POLICY_MAX_SPACES spaces).
 */
#define POLICY_MAX_CONTACTS 65536
#define POLICY_SINGLE_LOOKUPS 256
#define POLICY_MAX_SPACES 8

/* what role_sees_contact knows of one space */
typedef struct SpaceContacts
{
	int64		space;
	int			lookups;		/* contacts looked up one by one */
	int			nvisible;		/* -1 until the ids below are read */
	int64	   *visible;		/* the contacts the role sees, sorted, in fn_mcxt */
} SpaceContacts;

typedef struct ContactKey
{
	int64		space;
	int64		contact;
} ContactKey;

typedef struct SeenContact
{
	ContactKey	key;
	bool		seen;
} SeenContact;

typedef struct PolicyCache
{
	Oid			role;			/* current_user the answers are for */
	Oid			owner;			/* the function's owner, who reads the tables */
	Datum		answers[ANSWER_COUNT];	/* bigint[] in fn_mcxt, (Datum) 0 until asked */
	HTAB	   *contacts;		/* role_sees_contact: ContactKey -> SeenContact */
	int			nspaces;
	SpaceContacts spaces[POLICY_MAX_SPACES];
} PolicyCache;

/* the cache of the calling function, for current_user */
static PolicyCache *
policy_cache(FunctionCallInfo fcinfo)
{
	PolicyCache *cache = (PolicyCache *) fcinfo->flinfo->fn_extra;
	Oid			role = GetUserId();

	if (cache == NULL)
	{
		HeapTuple	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));

		if (!HeapTupleIsValid(proc))
			elog(ERROR, "inbox: cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(PolicyCache));
		cache->owner = ((Form_pg_proc) GETSTRUCT(proc))->proowner;
		cache->role = role;
		ReleaseSysCache(proc);
		fcinfo->flinfo->fn_extra = cache;
	}
	else if (cache->role != role)
	{
		/* a statement run for another role (the answers are small: let them go) */
		memset(cache->answers, 0, sizeof(cache->answers));
		if (cache->contacts != NULL)
			hash_destroy(cache->contacts);
		cache->contacts = NULL;
		cache->nspaces = 0;
		cache->role = role;
	}
	return cache;
}

/*
 * Run a policy helper's query as the function's owner; the first column
 * of its first row (NULL when there is none), valid until SPI_finish.  The
 * caller is connected to SPI.
 *
 * The query runs with search_path pinned (it is prepared under it) and, on
 * a Citus cluster, with citus.allow_nested_distributed_execution on: a
 * policy is evaluated inside a query Citus sent to a shard, where a query of
 * another table is refused unless that setting is on.  The functions set
 * them here, for their few look-ups, rather than in a SET clause of their
 * SQL definition, which PostgreSQL would apply and undo at every call, that
 * is for every row a policy filters (ten times the cost of a scan by an
 * agent, measured).  Without Citus the second setting is a placeholder.
 */
static Datum
query_as_owner(PolicyCache *cache, InboxQuery *q, Datum *values, bool *isnull)
{
	Oid			save_user;
	int			save_sec;
	int			save_nestlevel;

	/* an error restores the user id and the settings with the (sub)transaction's abort */
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("citus.allow_nested_distributed_execution", "on", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(cache->owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	inbox_exec(q, values, NULL, 1);
	SetUserIdAndSecContext(save_user, save_sec);
	AtEOXact_GUC(true, save_nestlevel);
	return inbox_value(1, isnull);
}

/* one of the role's arrays (ids of spaces or agents), asked once per statement */
static Datum
policy_answer(FunctionCallInfo fcinfo, PolicyCache *cache, PolicyAnswer which)
{
	static InboxQuery queries[ANSWER_COUNT] = {
		[ANSWER_ADMIN] = {"SELECT ARRAY(" ADMIN_SPACES ")", 1, {NAMEOID}},
		[ANSWER_MEMBER] = {"SELECT ARRAY(" MEMBER_SPACES ")", 1, {NAMEOID}},
		[ANSWER_ALL_CONTACTS] = {"SELECT ARRAY(" ALL_CONTACTS_SPACES ")", 1, {NAMEOID}},
		[ANSWER_AGENTS] = {"SELECT ARRAY(" ROLE_AGENTS ")", 1, {NAMEOID}},
	};

	if (cache->answers[which] == (Datum) 0)
	{
		Datum		values[1] = {role_name(cache->role)};
		Datum		array;
		bool		isnull;
		MemoryContext old;

		inbox_spi_connect();
		array = query_as_owner(cache, &queries[which], values, &isnull);
		Assert(!isnull);		/* ARRAY(...) is never NULL */
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		cache->answers[which] = datumCopy(array, false, -1);
		MemoryContextSwitchTo(old);
		SPI_finish();
	}
	return cache->answers[which];
}

/* whether a bigint[] holds a value */
static bool
array_has(Datum array, int64 value)
{
	ArrayType  *a = DatumGetArrayTypeP(array);
	int			n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	const int64 *ids = (const int64 *) ARR_DATA_PTR(a);

	/* the arrays are built by ARRAY(SELECT ...) of NOT NULL columns: no NULLs */
	for (int i = 0; i < n; i++)
		if (ids[i] == value)
			return true;
	return false;
}

/* role_spaces(scope): the spaces where current_user is admin / member / sees every contact */
Datum
inbox_role_spaces(PG_FUNCTION_ARGS)
{
	char	   *scope;
	PolicyAnswer which;

	INBOX_NOT_NULL(fcinfo, 0, "scope");
	scope = TextDatumGetCString(PG_GETARG_DATUM(0));
	if (strcmp(scope, "admin") == 0)
		which = ANSWER_ADMIN;
	else if (strcmp(scope, "member") == 0)
		which = ANSWER_MEMBER;
	else if (strcmp(scope, "all_contacts") == 0)
		which = ANSWER_ALL_CONTACTS;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown scope \"%s\"", scope),
				 errhint("A scope is admin, member or all_contacts.")));
	/* a copy: the caller's memory, not the cache's, is the result's */
	PG_RETURN_DATUM(datumCopy(policy_answer(fcinfo, policy_cache(fcinfo), which), false, -1));
}

/* role_agents(): the agents bound to current_user */
Datum
inbox_role_agents(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(datumCopy(policy_answer(fcinfo, policy_cache(fcinfo), ANSWER_AGENTS), false, -1));
}

/* what role_sees_contact knows of a space, NULL when it keeps no more spaces */
static SpaceContacts *
space_contacts(PolicyCache *cache, int64 space)
{
	SpaceContacts *sc;

	for (int i = 0; i < cache->nspaces; i++)
		if (cache->spaces[i].space == space)
			return &cache->spaces[i];
	if (cache->nspaces == POLICY_MAX_SPACES)
		return NULL;
	sc = &cache->spaces[cache->nspaces++];
	sc->space = space;
	sc->lookups = 0;
	sc->nvisible = -1;
	sc->visible = NULL;
	return sc;
}

/* read the ids of every contact of the space that the role sees */
static void
read_visible_contacts(FunctionCallInfo fcinfo, PolicyCache *cache, SpaceContacts *sc)
{
	static InboxQuery q = {
		"SELECT ARRAY(SELECT id FROM inbox.contact"
		"             WHERE space_id = $1 AND (assignee_id IS NULL OR assignee_id = ANY ($2)) ORDER BY id)",
		2, {INT8OID, INT8ARRAYOID}
	};
	Datum		values[2];
	bool		isnull;
	ArrayType  *ids;
	int			n;

	values[0] = Int64GetDatum(sc->space);
	values[1] = policy_answer(fcinfo, cache, ANSWER_AGENTS);
	inbox_spi_connect();
	ids = DatumGetArrayTypeP(query_as_owner(cache, &q, values, &isnull));
	n = ArrayGetNItems(ARR_NDIM(ids), ARR_DIMS(ids));
	sc->visible = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, Max(n, 1) * sizeof(int64));
	if (n > 0)
		memcpy(sc->visible, ARR_DATA_PTR(ids), n * sizeof(int64));
	sc->nvisible = n;
	SPI_finish();
}

static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * role_sees_contact(space, contact): whether current_user sees a contact
 * of a space, and so its identities, conversations, messages and events:
 * a member of the space that sees every contact there, or one limited to
 * assigned contacts when the contact is assigned to its agent or to
 * nobody.  A scan of many rows of few contacts looks each contact up once;
 * a scan of many contacts reads those the role sees in one query.
 */
Datum
inbox_role_sees_contact(PG_FUNCTION_ARGS)
{
	static InboxQuery q_seen = {
		"SELECT assignee_id IS NULL OR assignee_id = ANY ($3) FROM inbox.contact"
		" WHERE space_id = $1 AND id = $2",
		3, {INT8OID, INT8OID, INT8ARRAYOID}
	};
	PolicyCache *cache;
	SpaceContacts *sc;
	ContactKey	key;
	SeenContact *entry;
	bool		found;

	INBOX_NOT_NULL(fcinfo, 0, "space");
	INBOX_NOT_NULL(fcinfo, 1, "contact");
	memset(&key, 0, sizeof(key));
	key.space = PG_GETARG_INT64(0);
	key.contact = PG_GETARG_INT64(1);

	cache = policy_cache(fcinfo);
	if (!array_has(policy_answer(fcinfo, cache, ANSWER_MEMBER), key.space))
		PG_RETURN_BOOL(false);
	if (array_has(policy_answer(fcinfo, cache, ANSWER_ALL_CONTACTS), key.space))
		PG_RETURN_BOOL(true);

	sc = space_contacts(cache, key.space);
	if (sc != NULL && sc->nvisible < 0 && sc->lookups >= POLICY_SINGLE_LOOKUPS)
		read_visible_contacts(fcinfo, cache, sc);
	if (sc != NULL && sc->nvisible >= 0)
		PG_RETURN_BOOL(bsearch(&key.contact, sc->visible, sc->nvisible, sizeof(int64), int64_cmp) != NULL);

	if (cache->contacts != NULL && hash_get_num_entries(cache->contacts) >= POLICY_MAX_CONTACTS)
	{
		hash_destroy(cache->contacts);
		cache->contacts = NULL;
	}
	if (cache->contacts == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(ContactKey);
		ctl.entrysize = sizeof(SeenContact);
		ctl.hcxt = fcinfo->flinfo->fn_mcxt;
		cache->contacts = hash_create("inbox contacts a role sees", 64, &ctl,
									  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(cache->contacts, &key, HASH_ENTER, &found);
	if (!found)
	{
		Datum		values[3];
		bool		isnull;

		entry->seen = false;	/* until the look-up says otherwise, also if it fails */
		values[0] = Int64GetDatum(key.space);
		values[1] = Int64GetDatum(key.contact);
		values[2] = policy_answer(fcinfo, cache, ANSWER_AGENTS);
		inbox_spi_connect();
		/* unassigned, or assigned to the role's agent; no such contact: nothing to see */
		entry->seen = DatumGetBool(query_as_owner(cache, &q_seen, values, &isnull)) && !isnull;
		SPI_finish();
		if (sc != NULL)
			sc->lookups++;
	}
	PG_RETURN_BOOL(entry->seen);
}
