/*-------------------------------------------------------------------------
 *
 * plan_cache.c
 *	  Running the queries of the rules and the API through SPI with plans
 *	  prepared once per backend, and reading their results.
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

#include "inbox.h"

/* every C function that runs queries connects first */
void
inbox_spi_connect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inbox: SPI_connect failed");
}

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

/*
 * Drop a query's plan: the next call prepares it again, for the tables as
 * they are then (see snooze.c).
 */
void
inbox_forget_plan(InboxQuery *query)
{
	if (query->plan != NULL)
		SPI_freeplan(query->plan);
	query->plan = NULL;
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
