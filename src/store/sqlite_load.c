/*
 * sqlite_load.c - recovery from the SQLite store (ops->load): venues and
 * events, then each event's snapshot and the log records after it in
 * (event, seq) order, idempotent answers still fresh, and the unsettled
 * documents, handed to the store's visitor.
 *
 * Workload: once per start; the log is bounded by how often the engine
 * snapshots, documents by what is unsettled (settled ones are read on
 * demand, sqlite_read.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "store/sqlite_internal.h"
#include "util/assert.h"

int bo__sq_cur_open(sqlite3 *db, struct bo_sq_cursor *c, const char *sql)
{
    if (sqlite3_prepare_v2(db, sql, -1, &c->st, NULL) != SQLITE_OK)
        return BO_EIO;
    c->rc = sqlite3_step(c->st);
    return c->rc == SQLITE_ROW || c->rc == SQLITE_DONE ? 0 : BO_EIO;
}

static int cur_next(struct bo_sq_cursor *c)
{
    c->rc = sqlite3_step(c->st);
    return c->rc == SQLITE_ROW || c->rc == SQLITE_DONE ? 0 : BO_EIO;
}

/* Is the cursor on a row whose first column is event? */
static bool cur_at(const struct bo_sq_cursor *c, sqlite3_int64 event)
{
    return c->rc == SQLITE_ROW && sqlite3_column_int64(c->st, 0) == event;
}

/* Is the cursor on a row whose first column sorts before event? */
static bool cur_before(const struct bo_sq_cursor *c, sqlite3_int64 event)
{
    return c->rc == SQLITE_ROW && sqlite3_column_int64(c->st, 0) < event;
}

/* The record of an (event, seq, at_ms, body) row; valid until the next step. */
static bo_rec_t row_rec(sqlite3_stmt *st, uint8_t kind)
{
    BO_ASSERT(kind == BO_REC_MUT || kind == BO_REC_SNAPSHOT);
    bo_rec_t r = {.kind = kind};

    r.id = (uint64_t)sqlite3_column_int64(st, 0);
    r.seq = (uint64_t)sqlite3_column_int64(st, 1);
    r.at_ms = sqlite3_column_int64(st, 2);
    r.body = sqlite3_column_blob(st, 3);
    r.body_len = (size_t)sqlite3_column_bytes(st, 3);
    return r;
}

static int visit_rec(const bo_store_visitor_t *v, void *ctx, const bo_rec_t *r)
{
    return v->rec ? v->rec(ctx, r) : 0;
}

/* Deliver one event's snapshot and the log rows after it, checking that the
 * seqs follow each other. */
static int load_event_recs(struct bo_sq_cursor *snap, struct bo_sq_cursor *log, sqlite3_int64 event,
                           const bo_store_visitor_t *v, void *ctx)
{
    uint64_t covered = 0, next = 1;
    bo_rec_t r;
    int rc;

    if (cur_at(snap, event)) {
        r = row_rec(snap->st, BO_REC_SNAPSHOT);
        covered = r.seq;
        next = r.seq + 1;
        if ((rc = visit_rec(v, ctx, &r)) || (rc = cur_next(snap)))
            return rc;
    }
    while (cur_at(log, event)) {
        r = row_rec(log->st, BO_REC_MUT);
        if (r.seq > covered) {
            if (r.seq != next++)
                return BO_ECORRUPT;
            if ((rc = visit_rec(v, ctx, &r)))
                return rc;
        }
        if ((rc = cur_next(log)))
            return rc;
    }
    return 0;
}

/* Walk events, snapshots and the log, all sorted by event, side by side. */
static int load_recs(struct sq *b, const bo_store_visitor_t *v, void *ctx)
{
    struct bo_sq_cursor ev = {0}, snap = {0}, log = {0};
    sqlite3_int64 event;
    int rc;

    if ((rc = bo__sq_cur_open(b->db, &ev, "SELECT id FROM events ORDER BY id")) ||
        (rc = bo__sq_cur_open(b->db, &snap,
                              "SELECT event, seq, at_ms, body FROM snapshots ORDER BY event")) ||
        (rc = bo__sq_cur_open(b->db, &log,
                              "SELECT event, seq, at_ms, body FROM log ORDER BY event, seq")))
        goto out;
    while (ev.rc == SQLITE_ROW) {
        event = sqlite3_column_int64(ev.st, 0);
        rc = BO_ECORRUPT; /* a record of an event that does not exist */
        if (cur_before(&snap, event) || cur_before(&log, event))
            goto out;
        if ((rc = load_event_recs(&snap, &log, event, v, ctx)) || (rc = cur_next(&ev)))
            goto out;
    }
    rc = snap.rc == SQLITE_ROW || log.rc == SQLITE_ROW ? BO_ECORRUPT : 0;
out:
    sqlite3_finalize(log.st);
    sqlite3_finalize(snap.st);
    sqlite3_finalize(ev.st);
    return rc;
}

/* Deliver the venues (events false) or the events (true) in id order. */
static int load_bodies(struct sq *b, bool events, const bo_store_visitor_t *v, void *ctx)
{
    struct bo_sq_cursor c = {0};
    uint64_t id, venue;
    const char *body;
    size_t len;
    int rc;

    rc = bo__sq_cur_open(b->db, &c,
                         events ? "SELECT id, body, venue FROM events ORDER BY id"
                                : "SELECT id, body FROM venues ORDER BY id");
    while (rc == 0 && c.rc == SQLITE_ROW) {
        id = (uint64_t)sqlite3_column_int64(c.st, 0);
        body = sqlite3_column_blob(c.st, 1);
        len = (size_t)sqlite3_column_bytes(c.st, 1);
        if (events) {
            venue = (uint64_t)sqlite3_column_int64(c.st, 2);
            rc = v->event ? v->event(ctx, id, venue, body, len) : 0;
        } else {
            rc = v->venue ? v->venue(ctx, id, body, len) : 0;
        }
        if (rc == 0)
            rc = cur_next(&c);
    }
    sqlite3_finalize(c.st);
    return rc;
}

/* Forget answers older than since_ms, then deliver the newest idem_max of
 * the rest, oldest first. */
static int load_idem(struct sq *b, const bo_store_visitor_t *v, void *ctx)
{
    struct bo_sq_cursor c = {0};
    char sql[192];
    int rc;

    snprintf(sql, sizeof(sql), "DELETE FROM idem WHERE at_ms < %lld", (long long)v->idem_since_ms);
    if (bo__sq_exec(b->db, sql))
        return BO_EIO;
    if (!v->idem)
        return 0;
    snprintf(sql, sizeof(sql),
             "SELECT key, hash, status, body, at_ms FROM (SELECT * FROM idem"
             " ORDER BY at_ms DESC LIMIT %lld) ORDER BY at_ms",
             v->idem_max ? (long long)v->idem_max : -1LL);
    rc = bo__sq_cur_open(b->db, &c, sql);
    while (rc == 0 && c.rc == SQLITE_ROW) {
        const uint8_t *hash = sqlite3_column_blob(c.st, 1);
        if (sqlite3_column_bytes(c.st, 1) != 32)
            rc = BO_ECORRUPT;
        else
            rc = v->idem(ctx, (const char *)sqlite3_column_text(c.st, 0), hash,
                         sqlite3_column_int(c.st, 2), sqlite3_column_blob(c.st, 3),
                         (size_t)sqlite3_column_bytes(c.st, 3), sqlite3_column_int64(c.st, 4));
        if (rc == 0)
            rc = cur_next(&c);
    }
    sqlite3_finalize(c.st);
    return rc;
}

static int load_docs(struct sq *b, const bo_store_visitor_t *v, void *ctx)
{
    struct bo_sq_cursor c = {0};
    int rc;
    if (!v->doc)
        return 0;
    /* settled documents are read on demand (bo_store_doc_get) */
    rc = bo__sq_cur_open(b->db, &c,
                         "SELECT coll, id, body FROM docs WHERE settled = 0 ORDER BY coll, rowid");
    while (rc == 0 && c.rc == SQLITE_ROW) {
        rc = v->doc(ctx, (const char *)sqlite3_column_text(c.st, 0),
                    (const char *)sqlite3_column_text(c.st, 1), sqlite3_column_blob(c.st, 2),
                    (size_t)sqlite3_column_bytes(c.st, 2));
        if (rc == 0)
            rc = cur_next(&c);
    }
    sqlite3_finalize(c.st);
    return rc;
}

/* One write transaction (old answers are pruned), so every pass sees the
 * same database. */
int bo__sq_load(void *backend, const bo_store_visitor_t *v, void *ctx)
{
    struct sq *b = backend;
    int rc;

    if (bo__sq_exec(b->db, "BEGIN IMMEDIATE"))
        return BO_EIO;
    if ((rc = load_idem(b, v, ctx)) == 0 && (rc = load_docs(b, v, ctx)) == 0 &&
        (rc = load_bodies(b, false, v, ctx)) == 0 && (rc = load_bodies(b, true, v, ctx)) == 0)
        rc = load_recs(b, v, ctx);
    bo__sq_exec(b->db, rc ? "ROLLBACK" : "COMMIT");
    return rc;
}
