/*-------------------------------------------------------------------------
 *
 * arguments.c
 *	  Checks of the arguments of the SQL API, shared by its functions.
 *
 * Every API function checks its arguments before it writes anything,
 * naming the bad one with SQLSTATE 22023 (invalid_parameter_value).  The
 * checks of what people write (a body that shows something, a time not
 * ahead of the clock) are shared with the rules, which make them for
 * plain INSERTs too.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

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

/*
 * A code point that shows nothing: the Unicode white space, and the
 * format characters of zero width that a keyboard or a paste leaves in a
 * text that looks empty (zero width space and joiners, word joiner,
 * byte order mark, Mongolian vowel separator).
 */
static bool
invisible_code_point(pg_wchar c)
{
	return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 ||
		c == 0x1680 || c == 0x180E || (c >= 0x2000 && c <= 0x200D) ||
		c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x2060 ||
		c == 0x3000 || c == 0xFEFF;
}

/*
 * Whether the first len bytes of a text show nothing.  In a UTF-8
 * database every character is decoded (a character cut by len is left
 * out); in another encoding only ASCII white space counts (any other byte
 * shows something).
 */
bool
inbox_is_blank_prefix(const char *text, int len)
{
	bool		utf8 = GetDatabaseEncoding() == PG_UTF8;
	const unsigned char *s = (const unsigned char *) text;
	const unsigned char *end = s + len;

	while (s < end)
	{
		if (*s < 0x80)
		{
			if (!invisible_code_point(*s))
				return false;
			s++;
		}
		else if (utf8)
		{
			int			charlen = pg_utf_mblen(s);

			if (charlen > end - s)
				break;			/* cut: what follows decides */
			/* the text is valid UTF-8 (PostgreSQL checked it on input) */
			if (!invisible_code_point(utf8_to_unicode(s)))
				return false;
			s += charlen;
		}
		else
			return false;
	}
	return true;
}

/* whether a text shows nothing */
bool
inbox_is_blank(const char *text)
{
	return inbox_is_blank_prefix(text, strlen(text));
}

/*
 * A body (of a message, of a note) someone wrote: given and not blank,
 * unless the message carries content (a picture needs no caption).
 */
void
inbox_check_text_written(const char *text, bool has_content, const char *what)
{
	if (has_content)
		return;
	if (text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a %s needs a body%s", what, strcmp(what, "message") == 0 ? " or content" : "")));
	if (inbox_is_blank(text))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the body of a %s must not be empty or only white space", what),
				 strcmp(what, "message") == 0
				 ? errhint("A message without text carries content (a picture, a template, ...).")
				 : 0));
}

/* a time of a message or note that is not more than INBOX_MAX_TIME_AHEAD ahead of the clock */
void
inbox_check_time_not_ahead(TimestampTz at, const char *what)
{
	TimestampTz clock = GetCurrentTimestamp();

	if (at > clock && at - clock > INBOX_MAX_TIME_AHEAD)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the time of a %s, %s, is more than 5 minutes ahead of the clock", what,
						timestamptz_to_str(at)),
				 errhint("Give the time the %s was sent or written, not one to come.", what)));
}
