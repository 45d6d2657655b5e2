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
 * The policies' helpers, inbox.role_spaces() and inbox.role_agents(),
 * answer for current_user (the role a policy is checked for) and read
 * inbox.agent and inbox.space_admin as the owner, so that the policies of
 * inbox.agent do not recurse into themselves.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "inbox.h"

PG_FUNCTION_INFO_V1(inbox_role_spaces);
PG_FUNCTION_INFO_V1(inbox_role_agents);

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
 * What the caller may do with a contact, which it must see (its space,
 * and under agents_see_only_assigned its assignee), acting for "agent"
 * (0 = none named).
 */
InboxAccess
inbox_contact_access(int64 contact, int64 agent)
{
	static InboxQuery q = {
		"SELECT space_id, assignee_id FROM inbox.contact WHERE id = $1", 1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(contact)};
	InboxAccess access;
	int64		space,
				assignee = 0;

	if (caller_is_owner())
	{
		memset(&access, 0, sizeof(access));
		access.owner = true;
		return access;
	}
	inbox_exec(&q, values, NULL, 1);
	if (!inbox_int8(1, &space))
		deny("contact", contact);
	(void) inbox_int8(2, &assignee);
	access = inbox_space_access(space, "contact", contact);
	if (access.assigned_only && assignee != 0 && assignee != access.agent)
		deny("contact", contact);
	inbox_check_acting_agent(&access, agent);
	return access;
}

/* what the caller may do with a message: as with its space */
InboxAccess
inbox_message_access(int64 message)
{
	static InboxQuery q = {
		"SELECT space_id FROM inbox.message WHERE id = $1", 1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(message)};
	InboxAccess access;
	int64		space;

	if (caller_is_owner())
	{
		memset(&access, 0, sizeof(access));
		access.owner = true;
		return access;
	}
	inbox_exec(&q, values, NULL, 1);
	if (!inbox_int8(1, &space))
		deny("message", message);
	return inbox_space_access(space, "message", message);
}

/*
 * Row-level security helpers
 * --------------------------
 * Each answers for current_user with one array, read once per statement
 * by the policies ("= ANY ((SELECT inbox.role_spaces(...)))" is an
 * InitPlan).  The lookup runs as the function's owner, as the RI triggers
 * of PostgreSQL run theirs as the table's owner.
 */
static Datum
ids_of_role(FunctionCallInfo fcinfo, InboxQuery *q)
{
	Datum		values[1] = {role_name(GetUserId())};
	HeapTuple	proc;
	Oid			owner,
				save_user;
	int			save_sec;
	Datum		result;
	bool		isnull;

	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
	if (!HeapTupleIsValid(proc))
		elog(ERROR, "inbox: cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
	owner = ((Form_pg_proc) GETSTRUCT(proc))->proowner;
	ReleaseSysCache(proc);

	inbox_spi_connect();
	/* an error restores the user id with the (sub)transaction's abort */
	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	inbox_exec(q, values, NULL, 1);
	SetUserIdAndSecContext(save_user, save_sec);
	result = SPI_datumTransfer(inbox_value(1, &isnull), false, -1);
	SPI_finish();
	return result;
}

/* role_spaces(scope): the spaces where current_user is admin / member / sees every contact */
Datum
inbox_role_spaces(PG_FUNCTION_ARGS)
{
	static InboxQuery q_admin = {
		"SELECT ARRAY(SELECT space_id FROM inbox.space_admin WHERE db_role = $1)",
		1, {NAMEOID}
	};
	static InboxQuery q_member = {
		"SELECT ARRAY(SELECT space_id FROM inbox.space_admin WHERE db_role = $1"
		"             UNION SELECT space_id FROM inbox.agent WHERE db_role = $1)",
		1, {NAMEOID}
	};
	static InboxQuery q_all_contacts = {
		"SELECT ARRAY(SELECT space_id FROM inbox.space_admin WHERE db_role = $1"
		"             UNION SELECT a.space_id FROM inbox.agent a JOIN inbox.space s ON s.id = a.space_id"
		"             WHERE a.db_role = $1 AND NOT s.agents_see_only_assigned)",
		1, {NAMEOID}
	};
	char	   *scope;

	INBOX_NOT_NULL(fcinfo, 0, "scope");
	scope = TextDatumGetCString(PG_GETARG_DATUM(0));
	if (strcmp(scope, "admin") == 0)
		return ids_of_role(fcinfo, &q_admin);
	if (strcmp(scope, "member") == 0)
		return ids_of_role(fcinfo, &q_member);
	if (strcmp(scope, "all_contacts") == 0)
		return ids_of_role(fcinfo, &q_all_contacts);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown scope \"%s\"", scope),
			 errhint("A scope is admin, member or all_contacts.")));
	PG_RETURN_NULL();
}

/* role_agents(): the agents bound to current_user */
Datum
inbox_role_agents(PG_FUNCTION_ARGS)
{
	static InboxQuery q = {
		"SELECT ARRAY(SELECT id FROM inbox.agent WHERE db_role = $1)", 1, {NAMEOID}
	};

	return ids_of_role(fcinfo, &q);
}
