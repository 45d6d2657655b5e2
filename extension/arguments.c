/*-------------------------------------------------------------------------
 *
 * arguments.c
 *	  Checks of the arguments of the SQL API, shared by its functions.
 *
 * Every API function checks its arguments before it writes anything,
 * naming the bad one with SQLSTATE 22023 (invalid_parameter_value).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "inbox.h"

/*
 * A platform id (a sender's id, a message id): given, not empty, and short
 * enough to be a key (the index would refuse a long one less clearly).
 */
#define INBOX_MAX_ID_BYTES 1024

/* an id argument that may be NULL: 0 then */
int64
inbox_optional_int8(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? 0 : PG_GETARG_INT64(n);
}

/* an argument that may be NULL, as a query parameter: its value and nulls flag */
void
inbox_optional_param(FunctionCallInfo fcinfo, int n, Datum *value, char *null)
{
	*value = PG_ARGISNULL(n) ? (Datum) 0 : PG_GETARG_DATUM(n);
	*null = PG_ARGISNULL(n) ? 'n' : ' ';
}

/* a text argument that must be given and not empty */
char *
inbox_required_text(FunctionCallInfo fcinfo, int n, const char *name)
{
	char	   *value;

	INBOX_NOT_NULL(fcinfo, n, name);
	value = TextDatumGetCString(PG_GETARG_DATUM(n));
	if (value[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", name)));
	return value;
}

char *
inbox_required_id(FunctionCallInfo fcinfo, int n, const char *name)
{
	char	   *value = inbox_required_text(fcinfo, n, name);

	if (strlen(value) > INBOX_MAX_ID_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is longer than %d bytes", name, INBOX_MAX_ID_BYTES)));
	return value;
}

/* a jsonb argument, if given, must be an object */
void
inbox_require_object(FunctionCallInfo fcinfo, int n, const char *name)
{
	Jsonb	   *value;

	if (PG_ARGISNULL(n))
		return;
	value = PG_GETARG_JSONB_P(n);
	if (!JB_ROOT_IS_OBJECT(value) || JB_ROOT_IS_SCALAR(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", name)));
}

/*
 * The API functions of 2.0 take the space first, one argument more than in
 * 1.x.  Between installing the 2.0 library and ALTER EXTENSION inbox
 * UPDATE, the 1.x SQL functions still call the same C functions with the
 * 1.x arguments: refused before any argument is read (an argument past
 * PG_NARGS() is not there).
 */
void
inbox_check_nargs(FunctionCallInfo fcinfo, int nargs)
{
	if (PG_NARGS() != nargs)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("inbox's SQL objects are of version 1.x"),
				 errdetail("Function %s of the inbox 2.0 library takes %d arguments, the space first; it was called with %d.",
						   get_func_name(fcinfo->flinfo->fn_oid), nargs, PG_NARGS()),
				 errhint("Run ALTER EXTENSION inbox UPDATE.")));
}

void
inbox_check_page_size(int32 page_size)
{
	if (page_size < 1 || page_size > INBOX_MAX_PAGE_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("page_size must be between 1 and %d", INBOX_MAX_PAGE_SIZE)));
}

/*
 * A page cursor, as the list and history functions hand them out: nparts
 * decimal integers separated by dots ("<time>.<id>" for a list).  False
 * when the text is not that; what each part may be is the caller's check.
 */
bool
inbox_parse_cursor(const char *cursor, int nparts, int64 *parts)
{
	const char *start = cursor;

	for (int i = 0; i < nparts; i++)
	{
		char	   *end;
		long long	value;

		errno = 0;
		value = strtoll(start, &end, 10);
		if (errno != 0 || end == start || *end != (i == nparts - 1 ? '\0' : '.'))
			return false;
		parts[i] = (int64) value;
		start = end + 1;
	}
	return true;
}
