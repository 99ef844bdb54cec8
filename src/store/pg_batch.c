/*
 * pg_batch.c - one batch of records as one PostgreSQL transaction, sent in
 * one pipeline (libpq's pipeline mode, the connection non-blocking): BEGIN,
 * the batch's mark, every MUT record's log row in one INSERT of unnest()ed
 * arrays, then each record's other statements in order, COMMIT, one sync;
 * only then are the answers read. The schema refuses an oversell (sold's
 * primary key, ga's CHECK) and the statements that must change exactly so
 * many rows divide by zero otherwise, so that a refusal aborts the whole
 * transaction before its COMMIT (BO_ECORRUPT, nothing written).
 *
 * Workload: the committer's, once per group commit (~1 ms apart under
 * load), batches of 1..8192 records, mostly MUT records without sales: a
 * hot batch is a handful of statements whatever its size, one round trip.
 * Parameters are binary (integers big-endian, arrays in PostgreSQL's array
 * format), built in a per-batch arena freed when the batch is done.
 */
#include <poll.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "store/pg_internal.h"
#include "util/assert.h"

#define OID_BOOL    16
#define OID_BYTEA   17
#define OID_INT8    20
#define OID_INT4    23
#define OID_TEXT    25
#define OID_BYTEA_A 1001
#define OID_INT4_A  1007
#define OID_INT8_A  1016
#define MAXP        8 /* parameters of one statement, at most */

static const struct {
    const char *sql;
    int n;
    Oid types[MAXP];
} stmts[P_COUNT] = {
    [P_MARK] = {"INSERT INTO store_commits(writer, batch) VALUES($1, $2)"
                " ON CONFLICT(writer) DO UPDATE SET batch = excluded.batch",
                2,
                {OID_INT8, OID_INT8}},
    [P_VENUE] = {"INSERT INTO venues(id, body) VALUES($1, $2)"
                 " ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                 2,
                 {OID_INT8, OID_BYTEA}},
    [P_EVENT] = {"INSERT INTO events(id, venue, body) VALUES($1, $2, $3) ON CONFLICT(id)"
                 " DO UPDATE SET venue = excluded.venue, body = excluded.body",
                 3,
                 {OID_INT8, OID_INT8, OID_BYTEA}},
    [P_GA_CAPACITY] = {"INSERT INTO ga(event, area, capacity) SELECT $1, (t.a - 1)::int4, t.c"
                       " FROM unnest($2::int8[]) WITH ORDINALITY AS t(c, a)"
                       " ON CONFLICT(event, area) DO UPDATE SET capacity = excluded.capacity",
                       2,
                       {OID_INT8, OID_INT8_A}},
    [P_LOG] = {"INSERT INTO log(event, seq, at_ms, body)"
               " SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::bytea[])",
               4,
               {OID_INT8_A, OID_INT8_A, OID_INT8_A, OID_BYTEA_A}},
    [P_SOLD_ADD] = {"INSERT INTO sold(event, seat) SELECT $1, unnest($2::int4[])",
                    2,
                    {OID_INT8, OID_INT4_A}},
    /* Every seat must have been sold: otherwise 1 / 0 aborts the batch. */
    [P_SOLD_DEL] = {"WITH d AS (DELETE FROM sold WHERE event = $1 AND seat = ANY($2)"
                    " RETURNING 1) SELECT 1 / (CASE WHEN count(*) = cardinality($2)"
                    " THEN 1 ELSE 0 END) FROM d",
                    2,
                    {OID_INT8, OID_INT4_A}},
    [P_GA_SOLD] = {"WITH u AS (UPDATE ga SET sold = ga.sold + d.delta"
                   " FROM unnest($2::int4[], $3::int8[]) AS d(area, delta)"
                   " WHERE ga.event = $1 AND ga.area = d.area RETURNING 1)"
                   " SELECT 1 / (CASE WHEN count(*) = cardinality($2) THEN 1 ELSE 0 END) FROM u",
                   3,
                   {OID_INT8, OID_INT4_A, OID_INT8_A}},
    /* A stored snapshot that is newer stays. */
    [P_SNAP_PUT] = {"INSERT INTO snapshots(event, seq, at_ms, body) VALUES($1, $2, $3, $4)"
                    " ON CONFLICT(event) DO UPDATE SET seq = excluded.seq,"
                    " at_ms = excluded.at_ms, body = excluded.body"
                    " WHERE snapshots.seq <= excluded.seq",
                    4,
                    {OID_INT8, OID_INT8, OID_INT8, OID_BYTEA}},
    [P_LOG_COVER] = {"DELETE FROM log WHERE event = $1 AND seq <= $2", 2, {OID_INT8, OID_INT8}},
    /* A key answered twice is a bug upstream: the constraint refuses it. */
    [P_IDEM] = {"INSERT INTO idem(key, hash, status, body, at_ms) VALUES($1, $2, $3, $4, $5)",
                5,
                {OID_TEXT, OID_BYTEA, OID_INT4, OID_BYTEA, OID_INT8}},
    [P_IDEM_EXPIRE] = {"DELETE FROM idem WHERE key IN (SELECT key FROM idem WHERE at_ms < $1"
                       " ORDER BY at_ms LIMIT $2)",
                       2,
                       {OID_INT8, OID_INT8}},
    /* A rewritten document moves to the end (wseq): load order is the
     * order of last writes. */
    [P_DOC] = {"INSERT INTO docs(coll, id, body, at_ms, settled, grp, tag, figures)"
               " VALUES($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT(coll, id) DO UPDATE SET"
               " body = excluded.body, at_ms = excluded.at_ms, settled = excluded.settled,"
               " grp = excluded.grp, tag = excluded.tag, figures = excluded.figures,"
               " wseq = nextval('docs_wseq')",
               8,
               {OID_TEXT, OID_TEXT, OID_TEXT, OID_INT8, OID_BOOL, OID_TEXT, OID_TEXT, OID_TEXT}},
    [P_DOC_KEY] = {"INSERT INTO doc_keys(key, coll, id) VALUES($1, $2, $3)"
                   " ON CONFLICT(key) DO UPDATE SET coll = excluded.coll, id = excluded.id",
                   3,
                   {OID_TEXT, OID_TEXT, OID_TEXT}},
    [P_OUTBOX] = {"INSERT INTO outbox(id, body, at_ms) VALUES($1, $2, $3)"
                  " ON CONFLICT(id) DO NOTHING",
                  3,
                  {OID_TEXT, OID_TEXT, OID_INT8}},
};

static const char *const stmt_names[P_COUNT] = {
    "bo_mark",     "bo_venue",       "bo_event",   "bo_ga_capacity", "bo_log",
    "bo_sold_add", "bo_sold_del",    "bo_ga_sold", "bo_snap_put",    "bo_log_cover",
    "bo_idem",     "bo_idem_expire", "bo_doc",     "bo_doc_key",     "bo_outbox",
};

int bo__pg_prepare(PGconn *c)
{
    for (int i = 0; i < P_COUNT; i++) {
        BO_ASSERT(stmts[i].sql != NULL && stmts[i].n <= MAXP);
        PGresult *res = PQprepare(c, stmt_names[i], stmts[i].sql, stmts[i].n, stmts[i].types);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok)
            return BO_EIO;
    }
    return 0;
}

/* ---- parameters: a per-batch arena ------------------------------------------ */

struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
};

struct batch {
    PGconn *c;
    struct chunk *chunks;
    bool oom;
    size_t sent; /* statements queued in the pipeline */
    /* one statement's parameters, being built */
    const char *v[MAXP];
    int len[MAXP], fmt[MAXP], np;
};

static char *alloc(struct batch *bt, size_t n)
{
    struct chunk *ch = bt->chunks;
    if (!ch || ch->cap - ch->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        ch = malloc(sizeof(*ch) + cap);
        if (!ch) {
            bt->oom = true;
            return NULL;
        }
        *ch = (struct chunk){.next = bt->chunks, .cap = cap};
        bt->chunks = ch;
    }
    char *p = ch->data + ch->used;
    ch->used += (n + 7) & ~(size_t)7;
    if (ch->used > ch->cap)
        ch->used = ch->cap;
    return p;
}

static void put_be(char *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (char)(v & 0xff);
}

/* Append one binary parameter of n bytes at p (NULL p with n 0: SQL NULL). */
static void param(struct batch *bt, const void *p, size_t n)
{
    BO_ASSERT(bt->np < MAXP);
    bt->v[bt->np] = p;
    bt->len[bt->np] = (int)n;
    bt->fmt[bt->np++] = 1;
}

static void param_i64(struct batch *bt, int64_t v)
{
    char *p = alloc(bt, 8);
    if (p)
        put_be(p, (uint64_t)v, 8);
    param(bt, p ? p : "", 8);
}

static void param_i32(struct batch *bt, int32_t v)
{
    char *p = alloc(bt, 4);
    if (p)
        put_be(p, (uint32_t)v, 4);
    param(bt, p ? p : "", 4);
}

static void param_text(struct batch *bt, const char *s)
{
    param(bt, s ? s : NULL, s ? strlen(s) : 0);
}

static void param_bytes(struct batch *bt, const void *body, size_t len)
{
    BO_ASSERT(body != NULL || len == 0);
    param(bt, len ? body : "", len); /* an empty body stays empty, not NULL */
}

/* A one-dimensional array of n elements of oid: elems[i] of lens[i] bytes
 * each when elems is set, else n integers of size bytes from ints. */
static void param_array(struct batch *bt, Oid oid, size_t n, const void *const *elems,
                        const size_t *lens, const int64_t *ints, int size)
{
    size_t total = 20;
    for (size_t i = 0; i < n; i++)
        total += 4 + (elems ? lens[i] : (size_t)size);
    char *p = alloc(bt, total), *w = p;
    if (!p) {
        param(bt, "", 0);
        return;
    }
    put_be(w, 1, 4), put_be(w + 4, 0, 4), put_be(w + 8, oid, 4);
    put_be(w + 12, n, 4), put_be(w + 16, 1, 4);
    w += 20;
    for (size_t i = 0; i < n; i++) {
        size_t l = elems ? lens[i] : (size_t)size;
        put_be(w, l, 4);
        if (elems && l)
            memcpy(w + 4, elems[i], l);
        else if (!elems)
            put_be(w + 4, (uint64_t)ints[i], size);
        w += 4 + l;
    }
    param(bt, p, total);
}

/* Queue the statement whose parameters were built, and start the next. */
static void queue(struct batch *bt, enum bo_pg_stmt s)
{
    BO_ASSERT(bt->np == stmts[s].n);
    if (!bt->oom && PQsendQueryPrepared(bt->c, stmt_names[s], bt->np, bt->v, bt->len, bt->fmt, 1))
        bt->sent++;
    else
        bt->oom = true; /* a send that fails: the connection or memory */
    bt->np = 0;
}

static void send_sql(struct batch *bt, const char *sql)
{
    if (!bt->oom && PQsendQueryParams(bt->c, sql, 0, NULL, NULL, NULL, NULL, 1))
        bt->sent++;
    else
        bt->oom = true;
}

static void free_batch(struct batch *bt)
{
    while (bt->chunks) {
        struct chunk *next = bt->chunks->next;
        free(bt->chunks);
        bt->chunks = next;
    }
}

/* ---- the statements of a batch -------------------------------------------------- */

/* Every MUT record's log row, in one statement. */
static void put_log(struct batch *bt, bo_rec_t *const *recs, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += recs[i]->kind == BO_REC_MUT;
    if (m == 0)
        return;
    int64_t *ints = (int64_t *)alloc(bt, 3 * m * sizeof(int64_t));
    const void **bodies = (const void **)alloc(bt, m * sizeof(void *));
    size_t *lens = (size_t *)alloc(bt, m * sizeof(size_t));
    if (!ints || !bodies || !lens)
        return;
    for (size_t i = 0, j = 0; i < n; i++) {
        const bo_rec_t *r = recs[i];
        if (r->kind != BO_REC_MUT)
            continue;
        BO_ASSERT(r->seq > 0 && (r->body != NULL || r->body_len == 0));
        ints[j] = (int64_t)r->id;
        ints[m + j] = (int64_t)r->seq;
        ints[2 * m + j] = r->at_ms;
        bodies[j] = r->body;
        lens[j++] = r->body_len;
    }
    param_array(bt, OID_INT8, m, NULL, NULL, ints, 8);
    param_array(bt, OID_INT8, m, NULL, NULL, ints + m, 8);
    param_array(bt, OID_INT8, m, NULL, NULL, ints + 2 * m, 8);
    param_array(bt, OID_BYTEA, m, bodies, lens, NULL, 0);
    queue(bt, P_LOG);
}

static void put_event(struct batch *bt, const bo_rec_t *r)
{
    BO_ASSERT(r->nga_capacity == 0 || r->ga_capacity != NULL);
    param_i64(bt, (int64_t)r->id);
    param_i64(bt, (int64_t)r->venue);
    param_bytes(bt, r->body, r->body_len);
    queue(bt, P_EVENT);
    if (r->nga_capacity == 0)
        return;
    int64_t *cap = (int64_t *)alloc(bt, r->nga_capacity * sizeof(int64_t));
    if (!cap)
        return;
    for (uint32_t i = 0; i < r->nga_capacity; i++)
        cap[i] = r->ga_capacity[i];
    param_i64(bt, (int64_t)r->id);
    param_array(bt, OID_INT8, r->nga_capacity, NULL, NULL, cap, 8);
    queue(bt, P_GA_CAPACITY);
}

/* Seats sold (add) or unsold, as one statement. */
static void put_seats(struct batch *bt, const bo_rec_t *r, const uint32_t *seats, uint32_t n,
                      enum bo_pg_stmt s)
{
    int64_t *v = (int64_t *)alloc(bt, n * sizeof(int64_t));
    if (!v)
        return;
    for (uint32_t i = 0; i < n; i++)
        v[i] = seats[i];
    param_i64(bt, (int64_t)r->id);
    param_array(bt, OID_INT4, n, NULL, NULL, v, 4);
    queue(bt, s);
}

/* The last line of defence: the seat and GA changes of a MUT record. */
static void put_sales(struct batch *bt, const bo_rec_t *r)
{
    BO_ASSERT((r->nsold_add == 0 || r->sold_add) && (r->nsold_del == 0 || r->sold_del));
    BO_ASSERT(r->nga_delta == 0 || r->ga_sold_delta != NULL);
    if (r->nsold_add)
        put_seats(bt, r, r->sold_add, r->nsold_add, P_SOLD_ADD);
    if (r->nsold_del)
        put_seats(bt, r, r->sold_del, r->nsold_del, P_SOLD_DEL);
    uint32_t m = 0;
    for (uint32_t i = 0; i < r->nga_delta; i++)
        m += r->ga_sold_delta[i] != 0;
    if (m == 0)
        return;
    int64_t *v = (int64_t *)alloc(bt, 2 * m * sizeof(int64_t));
    if (!v)
        return;
    for (uint32_t i = 0, j = 0; i < r->nga_delta; i++)
        if (r->ga_sold_delta[i] != 0) {
            v[j] = i;
            v[m + j++] = r->ga_sold_delta[i];
        }
    param_i64(bt, (int64_t)r->id);
    param_array(bt, OID_INT4, m, NULL, NULL, v, 4);
    param_array(bt, OID_INT8, m, NULL, NULL, v + m, 8);
    queue(bt, P_GA_SOLD);
}

static void put_snapshot(struct batch *bt, const bo_rec_t *r)
{
    param_i64(bt, (int64_t)r->id);
    param_i64(bt, (int64_t)r->seq);
    param_i64(bt, r->at_ms);
    param_bytes(bt, r->body, r->body_len);
    queue(bt, P_SNAP_PUT);
    param_i64(bt, (int64_t)r->id);
    param_i64(bt, (int64_t)r->seq);
    queue(bt, P_LOG_COVER);
}

static void put_idem(struct batch *bt, const bo_rec_t *r)
{
    param_text(bt, r->idem_key);
    param_bytes(bt, r->idem_hash, 32);
    param_i32(bt, r->idem_status);
    param_bytes(bt, r->idem_body, r->idem_body_len);
    param_i64(bt, r->at_ms);
    queue(bt, P_IDEM);
    if (r->idem_expired_before_ms > 0) {
        param_i64(bt, r->idem_expired_before_ms);
        param_i64(bt, BO_STORE_IDEM_EXPIRE_STEP);
        queue(bt, P_IDEM_EXPIRE);
    }
}

static void put_doc(struct batch *bt, const bo_rec_t *r, const bo_doc_t *d)
{
    bool outbox = strcmp(d->coll, "outbox") == 0;
    if (!outbox)
        param_text(bt, d->coll);
    param_text(bt, d->id);
    param_bytes(bt, d->body ? d->body : "", d->body ? d->len : 0); /* JSON text */
    param_i64(bt, r->at_ms);
    if (outbox) {
        queue(bt, P_OUTBOX);
        return;
    }
    char *settled = alloc(bt, 1);
    if (settled)
        *settled = d->settled;
    param(bt, settled ? settled : "", 1);
    param_text(bt, d->group);
    param_text(bt, d->tag);
    param_text(bt, d->figures);
    queue(bt, P_DOC);
    BO_ASSERT(d->nkeys == 0 || d->keys != NULL);
    for (uint32_t k = 0; k < d->nkeys; k++) {
        param_text(bt, d->keys[k]);
        param_text(bt, d->coll);
        param_text(bt, d->id);
        queue(bt, P_DOC_KEY);
    }
}

/* A record's statements but its log row (put_log). BO_ECORRUPT for a
 * record the engine should never make. */
static int put(struct batch *bt, const bo_rec_t *r)
{
    switch (r->kind) {
    case BO_REC_VENUE:
        param_i64(bt, (int64_t)r->id);
        param_bytes(bt, r->body, r->body_len);
        queue(bt, P_VENUE);
        break;
    case BO_REC_EVENT:
        put_event(bt, r);
        break;
    case BO_REC_MUT:
        put_sales(bt, r);
        break;
    case BO_REC_SNAPSHOT:
        put_snapshot(bt, r);
        break;
    case BO_REC_IDEM:
    case BO_REC_DOCS:
        break;
    default:
        return BO_ECORRUPT;
    }
    if (r->idem_key || r->kind == BO_REC_IDEM) {
        if (!r->idem_key || !r->idem_hash)
            return BO_ECORRUPT;
        put_idem(bt, r);
    }
    for (uint32_t i = 0; i < r->ndocs; i++) {
        if (!r->docs[i].coll || !r->docs[i].id)
            return BO_ECORRUPT;
        put_doc(bt, r, &r->docs[i]);
    }
    return 0;
}

/* ---- the pipeline ----------------------------------------------------------------- */

/* Send what libpq buffered, reading answers meanwhile (the server stops
 * reading when its answers fill the socket). 0 or BO_EIO. */
static int flush_all(PGconn *c)
{
    int f;
    while ((f = PQflush(c)) == 1) {
        struct pollfd p = {.fd = PQsocket(c), .events = POLLIN | POLLOUT};
        if (poll(&p, 1, -1) < 0 || ((p.revents & POLLIN) && !PQconsumeInput(c)))
            return BO_EIO;
    }
    return f == 0 ? 0 : BO_EIO;
}

/* Read the answers of bt->sent statements and the sync. The first
 * failure's code, or 0; *lost when the connection failed, *in_doubt when
 * so before COMMIT's answer (the last statement) and after no refusal. */
static int read_all(struct batch *bt, bool *lost, bool *in_doubt)
{
    int rc = 0;
    PGresult *res;
    for (size_t i = 0; i < bt->sent; i++) {
        res = PQgetResult(bt->c);
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_FATAL_ERROR && rc == 0)
            rc = res && PQstatus(bt->c) == CONNECTION_OK ? bo__pg_result_err(res) : BO_EIO;
        else if (st == PGRES_PIPELINE_ABORTED && rc == 0)
            rc = BO_EIO;
        PQclear(res);
        if (PQstatus(bt->c) != CONNECTION_OK) {
            *lost = true;
            *in_doubt = rc == BO_EIO || rc == 0; /* no refusal seen: COMMIT may have run */
            return BO_EIO;
        }
        if (res)
            while ((res = PQgetResult(bt->c)) != NULL) /* the statement's end */
                PQclear(res);
    }
    res = PQgetResult(bt->c);
    bool synced = res && PQresultStatus(res) == PGRES_PIPELINE_SYNC;
    PQclear(res);
    if (!synced) {
        *lost = PQstatus(bt->c) != CONNECTION_OK;
        *in_doubt = *lost && rc == 0;
        return BO_EIO;
    }
    return rc;
}

/* Queue the whole transaction; 0 or the first record's refusal (then the
 * pipeline ends with ROLLBACK instead of COMMIT). */
static int queue_all(struct batch *bt, struct pg *b, bo_rec_t *const *recs, size_t n)
{
    int rc = 0;
    send_sql(bt, "BEGIN");
    /* First: this writer's row stays locked until the transaction ends,
     * which is what resolving an unknown outcome waits for (pg.c). */
    param_i64(bt, (int64_t)b->writer);
    param_i64(bt, (int64_t)++b->batch);
    queue(bt, P_MARK);
    put_log(bt, recs, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put(bt, recs[i]);
    send_sql(bt, rc == 0 && !bt->oom ? "COMMIT" : "ROLLBACK");
    return rc;
}

int bo__pg_send_batch(struct pg *b, bo_rec_t *const *recs, size_t n, bool *lost, bool *in_doubt)
{
    struct batch bt = {.c = b->wr};
    int rc, sent;

    BO_ASSERT(b->wr != NULL && recs != NULL && n > 0);
    *lost = *in_doubt = false;
    if (PQsetnonblocking(bt.c, 1) != 0 || !PQenterPipelineMode(bt.c)) {
        *lost = PQstatus(bt.c) != CONNECTION_OK;
        return BO_EIO;
    }
    rc = queue_all(&bt, b, recs, n);
    bool oom = bt.oom;
    int cut = __atomic_exchange_n(&b->cut, 0, __ATOMIC_ACQ_REL); /* tests */
    if (cut == 1)
        shutdown(PQsocket(bt.c), SHUT_RDWR); /* COMMIT never leaves */
    sent = PQpipelineSync(bt.c) == 1 && flush_all(bt.c) == 0;
    if (sent && cut == 2)
        shutdown(PQsocket(bt.c), SHUT_RDWR); /* the answer to COMMIT never comes */
    int rd = sent ? read_all(&bt, lost, in_doubt) : BO_EIO;
    if (!sent) { /* the connection is not to be trusted: it is dropped */
        *lost = true;
        *in_doubt = rc == 0 && !oom; /* COMMIT may have left */
    }
    if (rc == 0)
        rc = oom ? BO_EIO : rd;
    if (!*lost) {
        PQexitPipelineMode(bt.c);
        PQsetnonblocking(bt.c, 0);
        if (PQtransactionStatus(bt.c) != PQTRANS_IDLE)
            bo__pg_exec(bt.c, "ROLLBACK");
    }
    free_batch(&bt);
    return rc;
}
