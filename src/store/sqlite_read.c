/*
 * sqlite_read.c - reads of documents by any thread (bo_store_reader_t):
 * settled orders read back by id or key, counts by tag, an event's figures.
 * A read-only connection of their own, one reader at a time (rd_mu), so
 * they never wait on the committer's transaction (WAL readers do not).
 *
 * Workload: point reads of microseconds from the page cache (a GET of a
 * settled order, a check-in of its ticket); a report scans one event's
 * figures through an index, never the bodies.
 */
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "store/sqlite_internal.h"
#include "util/assert.h"

int bo__sq_reader_open(struct sq *b, const char *path)
{
    if (sqlite3_open_v2(path, &b->rd_db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        return BO_EIO;
    sqlite3_busy_timeout(b->rd_db, BUSY_TIMEOUT_MS);
    if (sqlite3_prepare_v3(b->rd_db, "SELECT body FROM docs WHERE coll = ?1 AND id = ?2", -1,
                           SQLITE_PREPARE_PERSISTENT, &b->rd_get, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(b->rd_db,
                           "SELECT d.body FROM doc_keys k JOIN docs d ON d.coll = k.coll AND"
                           " d.id = k.id WHERE k.key = ?1",
                           -1, SQLITE_PREPARE_PERSISTENT, &b->rd_key, NULL) != SQLITE_OK)
        return BO_EIO;
    return 0;
}

void bo__sq_reader_close(struct sq *b)
{
    sqlite3_finalize(b->rd_get);
    sqlite3_finalize(b->rd_key);
    sqlite3_close_v2(b->rd_db);
}

static char *copy_text(sqlite3_stmt *st, int col, size_t *len)
{
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, sqlite3_column_blob(st, col), n);
        out[n] = '\0';
        *len = n;
    }
    return out;
}

static int sq_get(void *backend, const char *coll, const char *id, char **body, size_t *len)
{
    struct sq *b = backend;
    int rc;
    pthread_mutex_lock(&b->rd_mu);
    sqlite3_stmt *st = coll ? b->rd_get : b->rd_key;
    if (coll) {
        sqlite3_bind_text(st, 1, coll, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    }
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        rc = (*body = copy_text(st, 0, len)) ? 0 : BO_ENOMEM;
    else
        rc = step == SQLITE_DONE ? BO_ENOTFOUND : BO_EIO;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    pthread_mutex_unlock(&b->rd_mu);
    return rc;
}

/* One query on the read connection, coll and group bound (?1, ?2). */
static int rd_query(struct sq *b, const char *sql, const char *coll, const char *group,
                    sqlite3_stmt **st)
{
    BO_ASSERT(bo_mutex_held(&b->rd_mu) && coll != NULL);
    if (sqlite3_prepare_v2(b->rd_db, sql, -1, st, NULL) != SQLITE_OK)
        return BO_EIO;
    sqlite3_bind_text(*st, 1, coll, -1, SQLITE_STATIC);
    if (group)
        sqlite3_bind_text(*st, 2, group, -1, SQLITE_STATIC);
    return 0;
}

static int sq_tags(void *backend, const char *coll, const char *group,
                   int (*fn)(void *arg, const char *tag, uint64_t count), void *arg)
{
    struct sq *b = backend;
    sqlite3_stmt *st = NULL;
    int rc, step = SQLITE_DONE;
    pthread_mutex_lock(&b->rd_mu);
    rc = rd_query(b,
                  group ? "SELECT tag, count(*) FROM docs WHERE coll = ?1 AND grp = ?2 GROUP BY tag"
                        : "SELECT tag, count(*) FROM docs WHERE coll = ?1 GROUP BY tag",
                  coll, group, &st);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
        if (sqlite3_column_type(st, 0) != SQLITE_NULL)
            rc = fn(arg, (const char *)sqlite3_column_text(st, 0),
                    (uint64_t)sqlite3_column_int64(st, 1));
    if (rc == 0 && step != SQLITE_DONE)
        rc = BO_EIO;
    sqlite3_finalize(st);
    pthread_mutex_unlock(&b->rd_mu);
    return rc;
}

static int sq_each(void *backend, const char *coll, const char *group,
                   int (*fn)(void *arg, const char *tag, const char *figures), void *arg)
{
    struct sq *b = backend;
    sqlite3_stmt *st = NULL;
    int rc, step = SQLITE_DONE;
    pthread_mutex_lock(&b->rd_mu);
    /* index docs_tags covers it: no body is read */
    rc =
        rd_query(b, "SELECT tag, figures FROM docs WHERE coll = ?1 AND grp = ?2", coll, group, &st);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
        if (sqlite3_column_type(st, 0) != SQLITE_NULL && sqlite3_column_type(st, 1) != SQLITE_NULL)
            rc = fn(arg, (const char *)sqlite3_column_text(st, 0),
                    (const char *)sqlite3_column_text(st, 1));
    if (rc == 0 && step != SQLITE_DONE)
        rc = BO_EIO;
    sqlite3_finalize(st);
    pthread_mutex_unlock(&b->rd_mu);
    return rc;
}

const bo_store_reader_t bo__sq_reader = {.get = sq_get, .tags = sq_tags, .each = sq_each};
