/*-------------------------------------------------------------------------
 *
 * plan_cache.c
 *	  Running the rules' queries through SPI with plans prepared once per
 *	  backend, and small helpers to read results and trigger tuples.
 *
 * Like PostgreSQL's RI triggers, a query is prepared on first use, kept
 * with SPI_keepplan, and prepared again when SPI_plan_is_valid says the
 * plan went stale (for instance after DROP/CREATE EXTENSION in the same
 * session).  Every query is run non-read-only, so in READ COMMITTED each
 * one takes a fresh snapshot: a rule that waited for a row lock sees what
 * the transaction it waited for committed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "inbox.h"

static SPIPlanPtr
prepared_plan(InboxQuery *query)
{
	if (query->plan != NULL && SPI_plan_is_valid(query->plan))
		return query->plan;

	if (query->plan != NULL)
	{
		SPI_freeplan(query->plan);
		query->plan = NULL;
	}

	{
		SPIPlanPtr	plan = SPI_prepare_cursor(query->sql, query->nargs, query->argtypes,
											  query->custom_plan ? CURSOR_OPT_CUSTOM_PLAN : 0);

		if (plan == NULL)
			elog(ERROR, "inbox: SPI_prepare failed for \"%s\": %s",
				 query->sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "inbox: SPI_keepplan failed");
		query->plan = plan;
	}
	return query->plan;
}

/*
 * Run a query; returns the number of rows it returned or touched.  The
 * caller must be connected to SPI.  nulls is NULL or has 'n' for each
 * NULL argument, as SPI_execute_plan wants.
 */
int
inbox_exec(InboxQuery *query, Datum *values, const char *nulls, long limit)
{
	SPIPlanPtr	plan = prepared_plan(query);
	int			rc;

	rc = SPI_execute_plan(plan, values, nulls, false, limit);
	if (rc < 0)
		elog(ERROR, "inbox: SPI_execute_plan failed for \"%s\": %s",
			 query->sql, SPI_result_code_string(rc));
	return (int) SPI_processed;
}

/*
 * Run a read-only query with the given snapshot (the channel cache reads
 * with the latest one, as catalog caches do).
 */
int
inbox_exec_snapshot(InboxQuery *query, Datum *values, const char *nulls, long limit,
					Snapshot snapshot)
{
	SPIPlanPtr	plan = prepared_plan(query);
	int			rc;

	rc = SPI_execute_snapshot(plan, values, nulls, snapshot, InvalidSnapshot, true, false, limit);
	if (rc < 0)
		elog(ERROR, "inbox: SPI_execute_snapshot failed for \"%s\": %s",
			 query->sql, SPI_result_code_string(rc));
	return (int) SPI_processed;
}

/* column col (1-based) of the first row of the last query's result */
Datum
inbox_value(int col, bool *isnull)
{
	if (SPI_tuptable == NULL || SPI_processed == 0)
	{
		*isnull = true;
		return (Datum) 0;
	}
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, isnull);
}

/* a bigint of the first result row; false when there is no row or it is NULL */
bool
inbox_int8(int col, int64 *value)
{
	bool		isnull;
	Datum		d = inbox_value(col, &isnull);

	if (isnull)
		return false;
	*value = DatumGetInt64(d);
	return true;
}

/* a text of the first result row, palloc'd in the caller's context; NULL if NULL */
char *
inbox_text(int col)
{
	bool		isnull;
	Datum		d = inbox_value(col, &isnull);

	if (isnull)
		return NULL;
	return TextDatumGetCString(d);
}

/* a trigger function called directly refuses to run */
void
inbox_check_called_as_trigger(FunctionCallInfo fcinfo, const char *name)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by the trigger manager", name)));
}

/* ... and a row trigger function fired for a statement too */
void
inbox_check_trigger(FunctionCallInfo fcinfo, const char *name)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	inbox_check_called_as_trigger(fcinfo, name);
	if (!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired for each row", name)));
}

/*
 * How a table's trigger of that name fires (pg_trigger.tgenabled: 'O'
 * origin, 'A' always, 'R' replica, 'D' disabled), '\0' when there is
 * none: the C code of a newer release runs on the schema of an older one
 * until ALTER EXTENSION inbox UPDATE, and must then do what that schema
 * expects of it.
 */
char
inbox_trigger_state(Relation rel, const char *name)
{
	TriggerDesc *triggers = rel->trigdesc;

	for (int i = 0; triggers != NULL && i < triggers->numtriggers; i++)
		if (strcmp(triggers->triggers[i].tgname, name) == 0)
			return triggers->triggers[i].tgenabled;
	return '\0';
}

static int
column_number(TupleDesc desc, const char *column)
{
	int			attnum = SPI_fnumber(desc, column);

	if (attnum <= 0)
		elog(ERROR, "inbox: column \"%s\" not found", column);
	return attnum;
}

int64
inbox_get_int8(HeapTuple tuple, TupleDesc desc, const char *column, bool *isnull)
{
	Datum		d = SPI_getbinval(tuple, desc, column_number(desc, column), isnull);

	return *isnull ? 0 : DatumGetInt64(d);
}

/* a text column as a C string, NULL when SQL NULL */
char *
inbox_get_text(HeapTuple tuple, TupleDesc desc, const char *column)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, column_number(desc, column), &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

bool
inbox_column_changed(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc, const char *column)
{
	int			attnum = column_number(desc, column);
	Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);
	bool		oldnull,
				newnull;
	Datum		oldval = SPI_getbinval(oldtuple, desc, attnum, &oldnull);
	Datum		newval = SPI_getbinval(newtuple, desc, attnum, &newnull);

	if (oldnull || newnull)
		return oldnull != newnull;
	return !datumIsEqual(oldval, newval, att->attbyval, att->attlen);
}

/*
 * A deleted agent: ON DELETE SET NULL clears it from the conversations,
 * messages and events that name it, which otherwise do not change (the
 * history stays, without the agent).  True when the only change from
 * oldtuple to newtuple is the clearing of agent_columns whose agent no
 * longer exists.  The caller is connected to SPI.
 */
bool
inbox_only_agents_cleared(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc,
						  const char *const *agent_columns)
{
	bool		cleared = false;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *const *agent_column = agent_columns;
		bool		isnull;

		if (att->attisdropped || !inbox_column_changed(oldtuple, newtuple, desc, NameStr(att->attname)))
			continue;
		while (*agent_column != NULL && strcmp(*agent_column, NameStr(att->attname)) != 0)
			agent_column++;
		if (*agent_column == NULL)
			return false;
		(void) SPI_getbinval(newtuple, desc, i + 1, &isnull);
		if (!isnull)
			return false;
		if (inbox_agent_exists(DatumGetInt64(SPI_getbinval(oldtuple, desc, i + 1, &isnull))))
			return false;
		cleared = true;
	}
	return cleared;
}

/*
 * Changes a BEFORE trigger makes to the row it returns, applied at once
 * with heap_modify_tuple_by_cols.  Call inbox_edit_init before
 * SPI_connect: values and the result row are kept in the trigger's own
 * memory context, which outlives SPI_finish.
 */
void
inbox_edit_init(InboxTupleEdit *edit)
{
	memset(edit, 0, sizeof(*edit));
	edit->context = CurrentMemoryContext;
}

void
inbox_edit_set(InboxTupleEdit *edit, TupleDesc desc, const char *column, Datum value, bool isnull)
{
	int			attnum = column_number(desc, column);
	Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);
	MemoryContext old;

	if (edit->count >= INBOX_MAX_EDITS)
		elog(ERROR, "inbox: too many column edits");
	old = MemoryContextSwitchTo(edit->context);
	edit->attnums[edit->count] = attnum;
	edit->values[edit->count] = isnull ? (Datum) 0 : datumCopy(value, att->attbyval, att->attlen);
	edit->nulls[edit->count] = isnull;
	edit->count++;
	MemoryContextSwitchTo(old);
}

HeapTuple
inbox_edit_apply(InboxTupleEdit *edit, HeapTuple tuple, TupleDesc desc)
{
	MemoryContext old;
	HeapTuple	result;

	if (edit->count == 0)
		return tuple;
	old = MemoryContextSwitchTo(edit->context);
	result = heap_modify_tuple_by_cols(tuple, desc, edit->count, edit->attnums,
									   edit->values, edit->nulls);
	MemoryContextSwitchTo(old);
	return result;
}
