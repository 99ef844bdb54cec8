/*
 * pg_load.c - recovery from the PostgreSQL store (ops->load), in the
 * SQLite backend's order (store.h): fresh idempotent answers, unsettled
 * documents, venues, events, then each event's snapshot and its log
 * records after it in seq order, one event after the other.
 *
 * Workload: once per start, in one REPEATABLE READ transaction (old
 * answers are deleted, so every pass sees the same database). One query
 * per event for its log, whose length is bounded by how often the engine
 * snapshots. Results are binary: bodies arrive as they were written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "store/pg_internal.h"
#include "util/assert.h"

/* A query with text parameters (up to 2) and binary results; NULL when it
 * failed (the caller answers BO_EIO). */
static PGresult *query(PGconn *c, const char *sql, const char *p1, const char *p2)
{
    const char *v[2] = {p1, p2};
    PGresult *res = PQexecParams(c, sql, p2 ? 2 : p1 ? 1 : 0, NULL, v, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        return NULL;
    }
    return res;
}

static int64_t get_i64(const PGresult *res, int row, int col)
{
    BO_ASSERT(PQgetlength(res, row, col) == 8);
    return (int64_t)bo__pg_be64(PQgetvalue(res, row, col));
}

static int32_t get_i32(const PGresult *res, int row, int col)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(res, row, col);
    BO_ASSERT(PQgetlength(res, row, col) == 4);
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* The record of an (event, seq, at_ms, body) row. */
static bo_rec_t row_rec(const PGresult *res, int row, uint8_t kind)
{
    bo_rec_t r = {.kind = kind};
    r.id = (uint64_t)get_i64(res, row, 0);
    r.seq = (uint64_t)get_i64(res, row, 1);
    r.at_ms = get_i64(res, row, 2);
    r.body = PQgetvalue(res, row, 3);
    r.body_len = (size_t)PQgetlength(res, row, 3);
    return r;
}

/* One event's snapshot and the log rows after it, gapless. */
static int load_event_recs(PGconn *c, int64_t event, const bo_store_visitor_t *v, void *ctx)
{
    char ev[24], after[24];
    uint64_t next = 1;
    int rc = 0;
    bo_rec_t r;

    snprintf(ev, sizeof(ev), "%lld", (long long)event);
    PGresult *res =
        query(c, "SELECT event, seq, at_ms, body FROM snapshots WHERE event = $1::int8", ev, NULL);
    if (!res)
        return BO_EIO;
    if (PQntuples(res) == 1) {
        r = row_rec(res, 0, BO_REC_SNAPSHOT);
        next = r.seq + 1;
        rc = v->rec ? v->rec(ctx, &r) : 0;
    }
    PQclear(res);
    if (rc)
        return rc;
    snprintf(after, sizeof(after), "%llu", (unsigned long long)next - 1);
    res = query(c,
                "SELECT event, seq, at_ms, body FROM log WHERE event = $1::int8 AND seq > $2::int8"
                " ORDER BY seq",
                ev, after);
    if (!res)
        return BO_EIO;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        r = row_rec(res, i, BO_REC_MUT);
        if (r.seq != next++)
            rc = BO_ECORRUPT;
        else if (v->rec)
            rc = v->rec(ctx, &r);
    }
    PQclear(res);
    return rc;
}

static int load_recs(PGconn *c, const PGresult *events, const bo_store_visitor_t *v, void *ctx)
{
    PGresult *res = query(c,
                          "SELECT (SELECT count(*) FROM log WHERE event NOT IN"
                          " (SELECT id FROM events)) + (SELECT count(*) FROM snapshots"
                          " WHERE event NOT IN (SELECT id FROM events))",
                          NULL, NULL);
    if (!res)
        return BO_EIO;
    int rc = get_i64(res, 0, 0) == 0 ? 0 : BO_ECORRUPT; /* records of no event */
    PQclear(res);
    for (int i = 0; rc == 0 && i < PQntuples(events); i++)
        rc = load_event_recs(c, get_i64(events, i, 0), v, ctx);
    return rc;
}

/* Venues, then events (their ids stay in *events for load_recs). */
static int load_bodies(PGconn *c, const bo_store_visitor_t *v, void *ctx, PGresult **events)
{
    int rc = 0;
    PGresult *res = query(c, "SELECT id, body FROM venues ORDER BY id", NULL, NULL);
    if (!res)
        return BO_EIO;
    for (int i = 0; rc == 0 && v->venue && i < PQntuples(res); i++)
        rc = v->venue(ctx, (uint64_t)get_i64(res, i, 0), PQgetvalue(res, i, 1),
                      (size_t)PQgetlength(res, i, 1));
    PQclear(res);
    if (rc)
        return rc;
    *events = res = query(c, "SELECT id, body, venue FROM events ORDER BY id", NULL, NULL);
    if (!res)
        return BO_EIO;
    for (int i = 0; rc == 0 && v->event && i < PQntuples(res); i++)
        rc = v->event(ctx, (uint64_t)get_i64(res, i, 0), (uint64_t)get_i64(res, i, 2),
                      PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1));
    return rc;
}

/* Forget answers older than since_ms, then deliver the newest idem_max of
 * the rest, oldest first. */
static int load_idem(PGconn *c, const bo_store_visitor_t *v, void *ctx)
{
    char since[24], max[24];
    int rc = 0;

    snprintf(since, sizeof(since), "%lld", (long long)v->idem_since_ms);
    PGresult *res = PQexecParams(c, "DELETE FROM idem WHERE at_ms < $1::int8", 1, NULL,
                                 (const char *[]){since}, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok)
        return BO_EIO;
    if (!v->idem)
        return 0;
    snprintf(max, sizeof(max), "%lld", v->idem_max ? (long long)v->idem_max : INT64_MAX);
    res = query(c,
                "SELECT key, hash, status, body, at_ms FROM (SELECT * FROM idem"
                " ORDER BY at_ms DESC LIMIT $1::int8) t ORDER BY at_ms",
                max, NULL);
    if (!res)
        return BO_EIO;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        if (PQgetlength(res, i, 1) != 32)
            rc = BO_ECORRUPT;
        else
            rc = v->idem(ctx, PQgetvalue(res, i, 0), (const uint8_t *)PQgetvalue(res, i, 1),
                         get_i32(res, i, 2), PQgetvalue(res, i, 3), (size_t)PQgetlength(res, i, 3),
                         get_i64(res, i, 4));
    }
    PQclear(res);
    return rc;
}

static int load_docs(PGconn *c, const bo_store_visitor_t *v, void *ctx)
{
    int rc = 0;
    if (!v->doc)
        return 0;
    /* settled documents are read on demand (bo_store_doc_get) */
    PGresult *res = query(
        c, "SELECT coll, id, body FROM docs WHERE NOT settled ORDER BY coll, wseq", NULL, NULL);
    if (!res)
        return BO_EIO;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++)
        rc = v->doc(ctx, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                    (size_t)PQgetlength(res, i, 2));
    PQclear(res);
    return rc;
}

int bo__pg_load(void *backend, const bo_store_visitor_t *v, void *ctx)
{
    struct pg *b = backend;
    PGresult *events = NULL;
    int rc;

    if (!b->wr || bo__pg_exec(b->wr, "BEGIN ISOLATION LEVEL REPEATABLE READ"))
        return BO_EIO;
    if ((rc = load_idem(b->wr, v, ctx)) == 0 && (rc = load_docs(b->wr, v, ctx)) == 0 &&
        (rc = load_bodies(b->wr, v, ctx, &events)) == 0)
        rc = load_recs(b->wr, events, v, ctx);
    PQclear(events);
    if (bo__pg_exec(b->wr, rc ? "ROLLBACK" : "COMMIT") && rc == 0)
        rc = BO_EIO;
    return rc;
}
