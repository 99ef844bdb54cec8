/*
 * pg.c - the PostgreSQL backend of the store ("postgresql://..." or
 * "postgres://...", the whole URL is libpq's conninfo): one batch of
 * records becomes one transaction sent in one pipeline (pg_batch.c);
 * recovery reads it back (pg_load.c), settled documents are read on demand
 * (pg_read.c), the schema is numbered migrations (pg_schema.c).
 *
 * A lost connection: the commit fails with BO_EIO (STORE_UNAVAILABLE
 * above) and the backend is down: bo_store_ready is false, submissions are
 * refused with BO_EIO, and the idle committer reconnects (ops->poke), at
 * most once per backoff (50 ms doubling to 2 s). A connection the server
 * closed while idle (a restart, a terminated backend) is noticed before a
 * batch is sent on it, so that batch fails cleanly. A batch whose COMMIT was sent but not answered
 * has an unknown outcome: reporting a failure would make the engine roll back a decision that may
 * be durable, and reporting success one that may not be. So the committer resolves it before
 * answering: it reconnects (with the same backoff, as long as it takes) and reads this writer's row
 * of store_commits, which every batch sets to its number first thing in its transaction; reading it
 * FOR UPDATE waits for the old transaction if the server still runs it. The number there says
 * whether the batch committed.
 *
 * Workload: one commit per ~1 ms under load on the committer thread; the
 * reconnect path only while PostgreSQL is away. Only SQL that PostgreSQL-
 * protocol distributed engines share: no advisory locks, no LISTEN/NOTIFY.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "boxoffice/error.h"
#include "boxoffice/store.h"
#include "store/pg_internal.h"
#include "util/assert.h"

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Notices (a table that exists already, a cascade) are not errors. */
static void quiet(void *arg, const char *message)
{
}

PGconn *bo__pg_connect(const char *url)
{
    /* the URL's own settings win over these defaults (they come after) */
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const vals[] = {BO_PG_CONNECT_TIMEOUT, "boxoffice", url, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c)
        PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

int bo__pg_exec(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    PQclear(res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : BO_EIO;
}

int bo__pg_result_err(const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    /* class 23: integrity constraints; 22012: the checks of pg_batch.c */
    if (state && (strncmp(state, "23", 2) == 0 || strcmp(state, "22012") == 0))
        return BO_ECORRUPT;
    return BO_EIO;
}

uint64_t bo__pg_be64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | (unsigned char)p[i];
    return v;
}

/* ---- the connection ---------------------------------------------------------- */

static void drop(struct pg *b)
{
    PQfinish(b->wr);
    b->wr = NULL;
    __atomic_store_n(&b->down, 1, __ATOMIC_RELEASE);
}

/* One attempt to connect and prepare: 0, or BO_EIO with the next attempt
 * put off by the (doubled) backoff. */
static int connect_once(struct pg *b)
{
    BO_ASSERT(b->wr == NULL);
    b->wr = bo__pg_connect(b->url);
    if (b->wr && PQstatus(b->wr) == CONNECTION_OK && bo__pg_prepare(b->wr) == 0) {
        b->delay_ms = BO_PG_BACKOFF_FIRST_MS;
        __atomic_store_n(&b->down, 0, __ATOMIC_RELEASE);
        return 0;
    }
    drop(b);
    b->next_try_us = now_us() + (uint64_t)b->delay_ms * 1000u;
    b->delay_ms = b->delay_ms * 2 > BO_PG_BACKOFF_MAX_MS ? BO_PG_BACKOFF_MAX_MS : b->delay_ms * 2;
    return BO_EIO;
}

/* Connected, or a new attempt if the backoff allows one: 0 or BO_EIO. */
static int ensure_connected(struct pg *b)
{
    if (b->wr)
        return 0;
    return now_us() < b->next_try_us ? BO_EIO : connect_once(b);
}

/* Is batch (this writer's) in the database? Waits for its transaction if
 * the server still runs it. 1, 0, or BO_EIO (ask again). */
static int batch_committed(struct pg *b, uint64_t batch)
{
    char writer[24];
    const char *v[1] = {writer};
    snprintf(writer, sizeof(writer), "%lld", (long long)b->writer);
    if (bo__pg_exec(b->wr, "BEGIN"))
        return BO_EIO;
    PGresult *res =
        PQexecParams(b->wr, "SELECT batch FROM store_commits WHERE writer = $1::int8 FOR UPDATE", 1,
                     NULL, v, NULL, NULL, 0);
    int rc = BO_EIO;
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        rc = PQntuples(res) == 1 && strtoull(PQgetvalue(res, 0, 0), NULL, 10) == batch;
    PQclear(res);
    if (bo__pg_exec(b->wr, "COMMIT"))
        rc = BO_EIO;
    return rc;
}

/* Resolve the unknown outcome of batch: 0 (it committed) or BO_EIO (it did
 * not), after as many reconnections as it takes. */
static int resolve(struct pg *b, uint64_t batch)
{
    for (;;) {
        uint64_t now = now_us();
        if (now < b->next_try_us)
            usleep((useconds_t)(b->next_try_us - now));
        if (connect_once(b) != 0)
            continue;
        int rc = batch_committed(b, batch);
        if (rc >= 0)
            return rc == 1 ? 0 : BO_EIO;
        drop(b);
        b->next_try_us = now_us() + (uint64_t)b->delay_ms * 1000u;
    }
}

/* Has the server said anything on an idle connection? It only does to
 * close it (a restart, a terminated backend): a farewell, then EOF. */
static bool closed_while_idle(PGconn *c)
{
    struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
    return PQstatus(c) != CONNECTION_OK || poll(&p, 1, 0) != 0;
}

static int pg_commit(void *backend, bo_rec_t *const *recs, size_t n)
{
    struct pg *b = backend;
    bool lost, in_doubt;
    int rc;

    BO_ASSERT(recs != NULL && n > 0 && n <= BO_STORE_MAX_BATCH);
    if ((rc = ensure_connected(b)))
        return rc;
    /* A connection the server closed while idle left its farewell (or
     * EOF) in the socket: start over on a new one before sending. */
    if (closed_while_idle(b->wr)) {
        drop(b);
        if ((rc = connect_once(b)))
            return rc;
    }
    rc = bo__pg_send_batch(b, recs, n, &lost, &in_doubt);
    if (lost) {
        drop(b);
        b->next_try_us = 0; /* the first reconnection at once */
        if (in_doubt)
            rc = resolve(b, b->batch);
    }
    return rc;
}

/* ---- open, ready, close --------------------------------------------------------- */

/* Connected: commits may succeed. Any thread. */
static bool pg_ready(void *backend)
{
    return !__atomic_load_n(&((struct pg *)backend)->down, __ATOMIC_ACQUIRE);
}

/* While down and idle: reconnect if the backoff allows (the committer). */
static void pg_poke(void *backend)
{
    ensure_connected(backend);
}

static void pg_inject_cut(void *backend, bool sent)
{
    __atomic_store_n(&((struct pg *)backend)->cut, sent ? 2 : 1, __ATOMIC_RELEASE);
}

static void pg_close(void *backend)
{
    struct pg *b = backend;
    if (!b)
        return;
    bo__pg_reader_close(b);
    if (b->wr && PQstatus(b->wr) == CONNECTION_OK) { /* this writer's row is no longer needed */
        char sql[96];
        snprintf(sql, sizeof(sql), "DELETE FROM store_commits WHERE writer = %lld",
                 (long long)b->writer);
        bo__pg_exec(b->wr, sql);
    }
    PQfinish(b->wr);
    pthread_mutex_destroy(&b->rd_mu);
    free(b->url);
    free(b);
}

static const bo_store_ops_t pg_ops = {
    .name = "postgresql",
    .commit = pg_commit,
    .load = bo__pg_load,
    .close = pg_close,
    .reader = &bo__pg_reader,
    .ready = pg_ready,
    .poke = pg_poke,
    .inject_cut = pg_inject_cut,
};

int bo__pg_check(const char *url, char *why, size_t cap)
{
    PGconn *c = bo__pg_connect(url);
    int rc;
    if (!c)
        return BO_ENOMEM;
    if (PQstatus(c) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(c);
        snprintf(why, cap, "cannot connect: %.*s", (int)strcspn(msg, "\n"), msg);
        rc = BO_EIO;
    } else {
        rc = bo__pg_check_conn(c, why, cap);
    }
    PQfinish(c);
    return rc;
}

int bo__pg_open(const char *url, const bo_store_ops_t **ops, void **backend)
{
    struct pg *b = calloc(1, sizeof(*b));
    char why[256];
    int rc = BO_ENOMEM;

    if (!b || !(b->url = strdup(url)))
        goto out;
    pthread_mutex_init(&b->rd_mu, NULL);
    b->delay_ms = BO_PG_BACKOFF_FIRST_MS;
    if (getrandom(&b->writer, sizeof(b->writer), 0) != sizeof(b->writer))
        goto out;
    b->writer &= INT64_MAX; /* a positive bigint */
    if ((rc = bo__pg_check(url, why, sizeof(why))))
        goto out; /* bo_store_check says why */
    rc = BO_EIO;
    b->wr = bo__pg_connect(url);
    if (!b->wr || PQstatus(b->wr) != CONNECTION_OK)
        goto out;
    if ((rc = bo__pg_migrate(b->wr)) || (rc = bo__pg_prepare(b->wr)) ||
        (rc = bo__pg_reader_open(b)))
        goto out;
    *ops = &pg_ops;
    *backend = b; /* the caller owns it now: ops->close */
    b = NULL;
out:
    if (b && !b->url)
        free(b), b = NULL;
    pg_close(b);
    return rc;
}
