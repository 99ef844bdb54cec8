/*
 * pg_read.c - reads of documents by any thread (bo_store_reader_t) on the
 * PostgreSQL store: settled orders read back by id or key, counts by tag,
 * an event's figures. A connection of their own, one reader at a time
 * (rd_mu); a connection the server dropped is made again once per read.
 *
 * Workload: point reads (a GET of a settled order, a check-in of its
 * ticket), one round trip each; a report scans one event's figures through
 * the docs_tags index, never the bodies.
 */
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "store/pg_internal.h"
#include "util/assert.h"

int bo__pg_reader_open(struct pg *b)
{
    b->rd = bo__pg_connect(b->url);
    return b->rd && PQstatus(b->rd) == CONNECTION_OK ? 0 : BO_EIO;
}

void bo__pg_reader_close(struct pg *b)
{
    PQfinish(b->rd);
    b->rd = NULL;
}

/* sql with text parameters on the read connection (held): its rows, or
 * NULL when it failed twice (a fresh connection the second time). */
static PGresult *rd_query(struct pg *b, const char *sql, int n, const char *const *v)
{
    BO_ASSERT(bo_mutex_held(&b->rd_mu));
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!b->rd || PQstatus(b->rd) != CONNECTION_OK) {
            bo__pg_reader_close(b);
            if (bo__pg_reader_open(b))
                continue;
        }
        PGresult *res = PQexecParams(b->rd, sql, n, NULL, v, NULL, NULL, 0);
        if (PQresultStatus(res) == PGRES_TUPLES_OK)
            return res;
        PQclear(res);
        if (PQstatus(b->rd) == CONNECTION_OK)
            return NULL; /* the query failed, not the connection */
    }
    return NULL;
}

static int pg_get(void *backend, const char *coll, const char *id, char **body, size_t *len)
{
    struct pg *b = backend;
    int rc = BO_EIO;
    pthread_mutex_lock(&b->rd_mu);
    PGresult *res = coll ? rd_query(b, "SELECT body FROM docs WHERE coll = $1 AND id = $2", 2,
                                    (const char *[]){coll, id})
                         : rd_query(b,
                                    "SELECT d.body FROM doc_keys k JOIN docs d ON d.coll = k.coll"
                                    " AND d.id = k.id WHERE k.key = $1",
                                    1, (const char *[]){id});
    if (res && PQntuples(res) == 0)
        rc = BO_ENOTFOUND;
    else if (res) {
        *len = (size_t)PQgetlength(res, 0, 0);
        *body = malloc(*len + 1);
        rc = *body ? 0 : BO_ENOMEM;
        if (*body)
            memcpy(*body, PQgetvalue(res, 0, 0), *len + 1); /* libpq ends it with NUL */
    }
    PQclear(res);
    pthread_mutex_unlock(&b->rd_mu);
    return rc;
}

static int pg_tags(void *backend, const char *coll, const char *group,
                   int (*fn)(void *arg, const char *tag, uint64_t count), void *arg)
{
    struct pg *b = backend;
    int rc = 0;
    pthread_mutex_lock(&b->rd_mu);
    PGresult *res =
        group ? rd_query(b,
                         "SELECT tag, count(*) FROM docs WHERE coll = $1 AND grp = $2"
                         " AND tag IS NOT NULL GROUP BY tag",
                         2, (const char *[]){coll, group})
              : rd_query(b,
                         "SELECT tag, count(*) FROM docs WHERE coll = $1 AND tag IS NOT NULL"
                         " GROUP BY tag",
                         1, (const char *[]){coll});
    if (!res)
        rc = BO_EIO;
    for (int i = 0; res && rc == 0 && i < PQntuples(res); i++)
        rc = fn(arg, PQgetvalue(res, i, 0), strtoull(PQgetvalue(res, i, 1), NULL, 10));
    PQclear(res);
    pthread_mutex_unlock(&b->rd_mu);
    return rc;
}

static int pg_each(void *backend, const char *coll, const char *group,
                   int (*fn)(void *arg, const char *tag, const char *figures), void *arg)
{
    struct pg *b = backend;
    int rc = 0;
    pthread_mutex_lock(&b->rd_mu);
    PGresult *res = rd_query(b,
                             "SELECT tag, figures FROM docs WHERE coll = $1 AND grp = $2"
                             " AND tag IS NOT NULL AND figures IS NOT NULL",
                             2, (const char *[]){coll, group});
    if (!res)
        rc = BO_EIO;
    for (int i = 0; res && rc == 0 && i < PQntuples(res); i++)
        rc = fn(arg, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    PQclear(res);
    pthread_mutex_unlock(&b->rd_mu);
    return rc;
}

const bo_store_reader_t bo__pg_reader = {.get = pg_get, .tags = pg_tags, .each = pg_each};
