/*
 * test_store.c - the store against a real SQLite file in a temporary
 * directory: group commit, recovery, the database's last line of defence,
 * cancel, back-pressure and shutdown.
 *
 * test_store_pg.c compiles this file again with BO_TEST_PG: then every
 * test runs on the PostgreSQL backend instead, each in a schema of its own
 * in the cluster at BOXOFFICE_TEST_PG_URL (make test-unit starts one). The
 * tests of the SQLite file itself (its modes, its checks of foreign or
 * damaged files, its WAL and checkpointer) run on SQLite only;
 * test_store_pg.c adds PostgreSQL's own (check, reconnect, unknown
 * outcomes).
 *
 * Batches are made deterministic by submitting before bo_store_start (the
 * first batch then holds every queued record), or by parking the committer
 * inside a done callback (a gate) while the test queues records behind it.
 * Assertions about what is durable reopen the file and load it, or read the
 * tables directly.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boxoffice/error.h"
#include "boxoffice/store.h"

#ifdef BO_TEST_PG
#include <libpq-fe.h>
#include <time.h>
#endif

static char dir[64], path[128], url[512];

#ifdef BO_TEST_PG
static char schema[48];

/* A connection to the test cluster's URL with its search_path at the
 * test's schema (with_schema) or not. */
static PGconn *pg_conn(bool with_schema)
{
    const char *base = getenv("BOXOFFICE_TEST_PG_URL");
    cr_assert(base && *base, "BOXOFFICE_TEST_PG_URL is not set (make test-unit sets it)");
    PGconn *c = PQconnectdb(with_schema ? url : base);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    PQclear(PQexec(c, "SET client_min_messages = warning")); /* no notices of a cascade */
    return c;
}

static void pg_run(bool with_schema, const char *sql)
{
    PGconn *c = pg_conn(with_schema);
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
              PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(c);
}

/* A schema of its own for each test (tests run in processes of their own,
 * several at once). */
static void setup_pg(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(schema, sizeof(schema), "t_%d_%ld", (int)getpid(), (long)(ts.tv_nsec % 1000000));
    snprintf(url, sizeof(url), "%s?options=-csearch_path%%3D%s", getenv("BOXOFFICE_TEST_PG_URL"),
             schema);
    char sql[96];
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
    pg_run(false, sql);
}
#endif

static void setup(void)
{
    strcpy(dir, "/tmp/bo_store_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/store.db", dir);
#ifdef BO_TEST_PG
    setup_pg();
#else
    snprintf(url, sizeof(url), "sqlite:%s", path);
#endif
}

static void teardown(void)
{
    char p[160];

    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
    rmdir(dir);
#ifdef BO_TEST_PG
    snprintf(p, sizeof(p), "DROP SCHEMA %s CASCADE", schema);
    pg_run(false, p);
#endif
}

TestSuite(store, .init = setup, .fini = teardown, .timeout = 60);

/* ---- records ------------------------------------------------------------ */

/* Parks the committer inside a done callback until the test opens it. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool entered, open;
};
#define GATE_INIT                                                                                  \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false                          \
    }

static void gate_pass(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_wait_entered(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->entered)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

struct trec {
    bo_rec_t rec; /* first: done gets &trec.rec */
    int status;
    atomic_int ncalls;
    struct gate *gate;               /* if set, done parks here */
    void (*then)(struct trec *self); /* if set, done calls it last */
    void *ctx;
    uint32_t seats[4];
    int32_t ga[4];
    uint32_t cap[4];
    uint8_t body[128];
};

static void on_done(bo_rec_t *r, int status)
{
    struct trec *t = (struct trec *)r;

    t->status = status;
    atomic_fetch_add(&t->ncalls, 1);
    if (t->gate)
        gate_pass(t->gate);
    if (t->then)
        t->then(t);
}

/* The opaque body of MUT (event, seq): 1..100 bytes, a pattern of both. */
static size_t mut_body(uint8_t *buf, uint64_t event, uint64_t seq)
{
    size_t len = 1 + (size_t)((event * 31 + seq * 7) % 100);

    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(event * 7 + seq * 13 + i);
    return len;
}

static void mk_base(struct trec *t, uint8_t kind, uint64_t id)
{
    memset(t, 0, sizeof(*t));
    t->rec.kind = kind;
    t->rec.id = id;
    t->rec.done = on_done;
    t->status = 1; /* not completed */
}

static void mk_venue(struct trec *t, uint64_t venue)
{
    mk_base(t, BO_REC_VENUE, venue);
    t->rec.body = t->body;
    t->rec.body_len =
        (size_t)snprintf((char *)t->body, sizeof(t->body), "{\"venue\":%lu}", (unsigned long)venue);
}

static void mk_event(struct trec *t, uint64_t event, uint64_t venue, const uint32_t *cap,
                     uint32_t ncap)
{
    mk_base(t, BO_REC_EVENT, event);
    t->rec.venue = venue;
    t->rec.body = t->body;
    t->rec.body_len =
        (size_t)snprintf((char *)t->body, sizeof(t->body), "{\"event\":%lu}", (unsigned long)event);
    if (ncap)
        memcpy(t->cap, cap, ncap * sizeof(*cap));
    t->rec.ga_capacity = t->cap;
    t->rec.nga_capacity = ncap;
}

static void mk_mut(struct trec *t, uint64_t event, uint64_t seq)
{
    mk_base(t, BO_REC_MUT, event);
    t->rec.seq = seq;
    t->rec.at_ms = (int64_t)(seq * 1000 + event);
    t->rec.body = t->body;
    t->rec.body_len = mut_body(t->body, event, seq);
}

/* A MUT that sells seat (sell) or stops it being sold (!sell). */
static void mk_seat(struct trec *t, uint64_t event, uint64_t seq, uint32_t seat, bool sell)
{
    mk_mut(t, event, seq);
    t->seats[0] = seat;
    *(sell ? &t->rec.sold_add : &t->rec.sold_del) = t->seats;
    *(sell ? &t->rec.nsold_add : &t->rec.nsold_del) = 1;
}
#define mk_sell(t, event, seq, seat)   mk_seat((t), (event), (seq), (seat), true)
#define mk_unsell(t, event, seq, seat) mk_seat((t), (event), (seq), (seat), false)

static void mk_ga(struct trec *t, uint64_t event, uint64_t seq, int32_t d0, int32_t d1)
{
    mk_mut(t, event, seq);
    t->ga[0] = d0;
    t->ga[1] = d1;
    t->rec.ga_sold_delta = t->ga;
    t->rec.nga_delta = 2;
}

static void mk_snapshot(struct trec *t, uint64_t event, uint64_t seq)
{
    mk_base(t, BO_REC_SNAPSHOT, event);
    t->rec.seq = seq;
    t->rec.at_ms = (int64_t)seq;
    t->rec.body = t->body;
    t->rec.body_len = (size_t)snprintf((char *)t->body, sizeof(t->body), "snap-%lu-%lu",
                                       (unsigned long)event, (unsigned long)seq);
}

static bo_store_t *open_store(void)
{
    bo_store_t *s = NULL;

    cr_assert_eq(bo_store_open(url, &s), 0);
    cr_assert_not_null(s);
    return s;
}

static void submit_ok(bo_store_t *s, struct trec *t)
{
    cr_assert_eq(bo_store_submit(s, &t->rec), 0);
}

/* Open, queue recs before the committer starts (so they form one batch),
 * start, flush and close. Returns the store's stats. */
static bo_store_stats_t one_batch(struct trec *recs, size_t n)
{
    bo_store_t *s = open_store();
    bo_store_stats_t st;

    for (size_t i = 0; i < n; i++)
        submit_ok(s, &recs[i]);
    cr_assert_eq(bo_store_start(s), 0);
    bo_store_flush(s);
    bo_store_get_stats(s, &st);
    bo_store_close(s);
    cr_assert_eq(st.commits + st.commit_failures, 1, "one batch, got %lu",
                 (unsigned long)(st.commits + st.commit_failures));
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(atomic_load(&recs[i].ncalls), 1);
    return st;
}

static void expect_status(struct trec *recs, size_t n, int status)
{
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(recs[i].status, status, "record %zu: status %d, want %d", i, recs[i].status,
                     status);
}

/* Venue 1 and events 1..nevents (GA capacities cap[0..ncap) on event 1). */
static void create_events(uint64_t nevents, const uint32_t *cap, uint32_t ncap)
{
    struct trec t[17];

    cr_assert(nevents < 17);
    mk_venue(&t[0], 1);
    for (uint64_t e = 1; e <= nevents; e++)
        mk_event(&t[e], e, 1, cap, e == 1 ? ncap : 0);
    one_batch(t, nevents + 1);
    expect_status(t, nevents + 1, 0);
}

/* ---- reading back ------------------------------------------------------- */

struct seen_rec {
    uint8_t kind;
    uint64_t event, seq;
    int64_t at_ms;
    size_t len;
    uint8_t body[128];
};

struct seen {
    uint64_t venues[8], events[20], event_venue[20];
    char venue_body[8][64], event_body[20][64];
    size_t nvenues, nevents;
    struct seen_rec *recs;
    size_t nrecs, cap;
    size_t stop_at; /* if nonzero: the rec callback returns 42 on this record */
};

static void copy_body(char *dst, size_t cap, const char *src, size_t len)
{
    cr_assert(len < cap);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static int see_venue(void *ctx, uint64_t venue, const char *json, size_t len)
{
    struct seen *sn = ctx;

    cr_assert(sn->nvenues < 8);
    copy_body(sn->venue_body[sn->nvenues], 64, json, len);
    sn->venues[sn->nvenues++] = venue;
    return 0;
}

static int see_event(void *ctx, uint64_t event, uint64_t venue, const char *json, size_t len)
{
    struct seen *sn = ctx;

    cr_assert(sn->nevents < 20);
    cr_assert_eq(sn->nrecs, 0, "events come before records");
    copy_body(sn->event_body[sn->nevents], 64, json, len);
    sn->event_venue[sn->nevents] = venue;
    sn->events[sn->nevents++] = event;
    return 0;
}

static int see_rec(void *ctx, const bo_rec_t *r)
{
    struct seen *sn = ctx;
    struct seen_rec *x;

    if (sn->stop_at && sn->nrecs + 1 == sn->stop_at)
        return 42;
    if (sn->nrecs == sn->cap) {
        sn->cap = sn->cap ? 2 * sn->cap : 1024;
        sn->recs = realloc(sn->recs, sn->cap * sizeof(*sn->recs));
        cr_assert_not_null(sn->recs);
    }
    x = &sn->recs[sn->nrecs++];
    cr_assert(r->body_len <= sizeof(x->body));
    *x = (struct seen_rec){r->kind, r->id, r->seq, r->at_ms, r->body_len, {0}};
    memcpy(x->body, r->body, r->body_len);
    cr_assert_eq(r->nsold_add + r->nsold_del + r->nga_delta + r->nga_capacity, 0);
    return 0;
}

static const bo_store_visitor_t visitor = {see_venue, see_event, see_rec, NULL, 0, NULL, 0};

/* Reopen the file and load everything into *sn (zeroed first). */
static int load_all(struct seen *sn)
{
    bo_store_t *s = open_store();
    int rc;

    free(sn->recs);
    memset(sn, 0, sizeof(*sn));
    rc = bo_store_load(s, &visitor, sn);
    bo_store_close(s);
    return rc;
}

/* Expect, from sn->recs[*i], event's snapshot at snap_seq (if nonzero), then
 * its MUTs first..last with their bodies; advance *i past them. */
static void expect_run(const struct seen *sn, size_t *i, uint64_t event, uint64_t snap_seq,
                       uint64_t first, uint64_t last)
{
    uint8_t body[128];
    char snap[64];
    size_t len;

    if (snap_seq) {
        cr_assert(*i < sn->nrecs);
        const struct seen_rec *x = &sn->recs[(*i)++];
        len = (size_t)snprintf(snap, sizeof(snap), "snap-%lu-%lu", (unsigned long)event,
                               (unsigned long)snap_seq);
        cr_assert_eq(x->kind, BO_REC_SNAPSHOT);
        cr_assert_eq(x->event, event);
        cr_assert_eq(x->seq, snap_seq);
        cr_assert_eq(x->len, len);
        cr_assert_eq(memcmp(x->body, snap, len), 0);
    }
    for (uint64_t seq = first; seq <= last; seq++) {
        cr_assert(*i < sn->nrecs, "event %lu: missing seq %lu", (unsigned long)event,
                  (unsigned long)seq);
        const struct seen_rec *x = &sn->recs[(*i)++];
        len = mut_body(body, event, seq);
        cr_assert_eq(x->kind, BO_REC_MUT);
        cr_assert_eq(x->event, event, "want event %lu seq %lu, got event %lu seq %lu",
                     (unsigned long)event, (unsigned long)seq, (unsigned long)x->event,
                     (unsigned long)x->seq);
        cr_assert_eq(x->seq, seq, "event %lu: want seq %lu, got %lu", (unsigned long)event,
                     (unsigned long)seq, (unsigned long)x->seq);
        cr_assert_eq(x->at_ms, (int64_t)(seq * 1000 + event));
        cr_assert_eq(x->len, len);
        cr_assert_eq(memcmp(x->body, body, len), 0);
    }
}

#ifdef BO_TEST_PG
/* The first column of the first row of sql, run on the test's schema. */
static long long sql_int(const char *sql)
{
    PGconn *c = pg_conn(true);
    PGresult *res = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(res));
    cr_assert_gt(PQntuples(res), 0, "%s", sql);
    long long v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(c);
    return v;
}

static void sql_exec(const char *sql)
{
    pg_run(true, sql);
}
#else
/* The first column of the first row of sql, run on the file directly. */
static long long sql_int(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long long v;

    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* sql on the file at path (created when missing). */
static void sql_exec(const char *sql)
{
    sqlite3 *db;

    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

#endif

/* ---- opening ------------------------------------------------------------ */

Test(store, open_rejects_unknown_urls)
{
    bo_store_t *s = (bo_store_t *)1;

    cr_assert_eq(bo_store_open("postgresql://", &s), BO_EINVAL);
    cr_assert_null(s);
    cr_assert_eq(bo_store_open("postgresql://127.0.0.1:1/boxoffice", &s), BO_EIO); /* no server */
    cr_assert_null(s);
    cr_assert_eq(bo_store_open("", &s), BO_EINVAL);
    cr_assert_eq(bo_store_open("sqlite:", &s), BO_EINVAL);
    cr_assert_eq(bo_store_open("sqlite", &s), BO_EINVAL);
    cr_assert_eq(bo_store_open("SQLITE:/tmp/x.db", &s), BO_EINVAL);
    cr_assert_eq(bo_store_open("sqlite:/nonexistent-dir/x/store.db", &s), BO_EIO); /* below */
    cr_assert_null(s);
    bo_store_close(NULL);
}

#ifndef BO_TEST_PG /* the SQLite file itself */
static unsigned mode_of(const char *suffix)
{
    char p[160];
    struct stat st;

    snprintf(p, sizeof(p), "%s%s", path, suffix);
    cr_assert_eq(stat(p, &st), 0, "%s exists", p);
    return st.st_mode & 0777;
}

Test(store, a_new_database_and_its_wal_are_readable_by_their_owner_only)
{
    struct trec t;
    bo_store_t *s;
    mode_t old = umask(022); /* the usual one, whatever the test runner's */

    create_events(1, NULL, 0);
    s = open_store();
    cr_assert_eq(bo_store_start(s), 0);
    mk_mut(&t, 1, 1);
    submit_ok(s, &t);
    bo_store_flush(s);
    cr_assert_eq(t.status, 0);
    cr_assert_eq(mode_of(""), 0600, "database mode %o", mode_of(""));
    cr_assert_eq(mode_of("-wal"), 0600, "WAL mode %o", mode_of("-wal"));
    bo_store_close(s);
    /* an existing database keeps the mode its operator gave it */
    cr_assert_eq(chmod(path, 0640), 0);
    s = open_store();
    bo_store_close(s);
    cr_assert_eq(mode_of(""), 0640);
    umask(old);
}

/* bo_store_check and bo_store_open both refuse the file at path with code,
 * the reason naming the problem (want: a part of it). */
static void expect_store_refused(int code, const char *want)
{
    char why[256];
    bo_store_t *s = (bo_store_t *)1;

    cr_assert_eq(bo_store_check(url, why, sizeof(why)), code, "check: want %d (%s), got: %s", code,
                 want, why);
    cr_assert(strstr(why, want), "reason: want '%s' in '%s'", want, why);
    cr_assert_eq(bo_store_open(url, &s), code, "open refuses it too");
    cr_assert_null(s);
}

static void write_file(const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, len, f), len);
    fclose(f);
}

static long long db_size(void)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    return (long long)st.st_size;
}

Test(store, check_accepts_nothing_yet_and_a_store)
{
    char why[256] = "x";

    cr_assert_eq(bo_store_check(url, why, sizeof(why)), 0, "nothing there: %s", why);
    cr_assert_str_empty(why);
    create_events(2, NULL, 0);
    cr_assert_eq(bo_store_check(url, why, sizeof(why)), 0, "a store: %s", why);
    cr_assert_eq(bo_store_check("sqlite::memory:", why, sizeof(why)), 0);
    cr_assert_eq(bo_store_check("mysql:x", why, sizeof(why)), BO_EINVAL);
    /* an SQLite file with nothing in it yet becomes a store */
    unlink(path);
    sql_exec("VACUUM");
    cr_assert_gt(db_size(), 0);
    cr_assert_eq(bo_store_check(url, why, sizeof(why)), 0, "a blank SQLite file: %s", why);
    bo_store_close(open_store());
    cr_assert_eq(sql_int("PRAGMA user_version"), 4);
}

Test(store, an_empty_file_is_not_taken_for_a_new_store)
{
    write_file("", 0);
    expect_store_refused(BO_ECORRUPT, "it is empty (0 bytes), not a boxoffice store");
    cr_assert_eq(db_size(), 0, "left as it was");
}

Test(store, a_file_that_is_not_sqlite_is_refused)
{
    static const char text[] = "name,email\nAda,ada@example.com\n";
    write_file(text, sizeof(text) - 1);
    expect_store_refused(BO_ECORRUPT, "it is not an SQLite database, so not a boxoffice store");
    cr_assert_eq(db_size(), (long long)sizeof(text) - 1, "left as it was");
}

Test(store, another_programs_database_is_refused)
{
    sql_exec("CREATE TABLE contacts(name TEXT, email TEXT)");
    expect_store_refused(BO_ECORRUPT, "it is an SQLite database but not a boxoffice store");
    cr_assert_eq(sql_int("SELECT count(*) FROM sqlite_schema"), 1, "no table was added");
    unlink(path);
    sql_exec("PRAGMA user_version = 3"); /* boxoffice's version, but none of its tables */
    expect_store_refused(BO_ECORRUPT, "it is not a boxoffice store (schema version 3 but no table "
                                      "'venues')");
    unlink(path);
    sql_exec("PRAGMA user_version = 99");
    expect_store_refused(BO_ECORRUPT,
                         "it was written by a newer boxoffice (schema version 99; this "
                         "one knows up to 4)");
}

Test(store, a_truncated_store_is_refused)
{
    char want[128];

    create_events(8, NULL, 0);
    long long size = db_size();
    cr_assert_eq(truncate(path, size / 2), 0);
    snprintf(want, sizeof(want), "it is truncated: %lld bytes where its header says %lld", size / 2,
             size);
    expect_store_refused(BO_ECORRUPT, want);
    cr_assert_eq(truncate(path, 50), 0); /* not even a whole header */
    expect_store_refused(BO_ECORRUPT, "it is not an SQLite database");
}

Test(store, a_read_only_store_or_a_directory_is_refused)
{
    create_events(1, NULL, 0);
    /* root could write it: the mode is the operator's word */
    cr_assert_eq(chmod(path, 0400), 0);
    expect_store_refused(BO_EIO, "it is read-only (mode 0400)");
    cr_assert_eq(chmod(path, 0600), 0);
    bo_store_close(open_store());
    unlink(path);
    cr_assert_eq(mkdir(path, 0700), 0);
    expect_store_refused(BO_EIO, "it is a directory, not a database file");
    rmdir(path);
    snprintf(url, sizeof(url), "sqlite:%s/no-such-dir/store.db", dir);
    expect_store_refused(BO_EIO, "it does not exist and its directory");
}

#endif

Test(store, empty_database_loads_nothing_and_has_the_schema)
{
    struct seen sn = {0};
    bo_store_t *s = open_store();

    cr_assert_eq(bo_store_load(s, &visitor, &sn), 0);
    cr_assert_eq(sn.nvenues + sn.nevents + sn.nrecs, 0);
    cr_assert_eq(bo_store_start(s), 0);
    cr_assert_eq(bo_store_start(s), BO_ESTATE);
    cr_assert_eq(bo_store_load(s, &visitor, &sn), BO_ESTATE);
    bo_store_flush(s); /* nothing queued: returns at once */
    bo_store_close(s);
#ifdef BO_TEST_PG
    cr_assert_eq(sql_int("SELECT version FROM schema_version"), 1);
    cr_assert_eq(sql_int("SELECT count(*) FROM information_schema.tables WHERE table_schema ="
                         " current_schema() AND table_name IN ('venues','events','ga','sold',"
                         "'log','snapshots','idem','docs','outbox','doc_keys','store_commits')"),
                 11);
    cr_assert_eq(load_all(&sn), 0); /* reopening runs no migration again */
    cr_assert_eq(sql_int("SELECT version FROM schema_version"), 1);
#else
    cr_assert_eq(sql_int("PRAGMA user_version"), 4);
    cr_assert_eq(sql_int("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                         "('venues','events','ga','sold','log','snapshots','idem','docs',"
                         "'outbox')"),
                 9);
    cr_assert_eq(sql_int("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND "
                         "tbl_name = 'log'"),
                 0, "the log is append-only, without an index");
    /* Reopening runs no migration again and keeps WAL. */
    cr_assert_eq(load_all(&sn), 0);
    cr_assert_eq(sql_int("PRAGMA user_version"), 4);
    cr_assert_eq(sql_int("SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
#endif
}

/* ---- round trip --------------------------------------------------------- */

#define RT_THREADS 4
#define RT_PER     600 /* records per event; each thread owns two events */

struct worker {
    bo_store_t *s;
    uint64_t first_event, nevents;
    size_t per_event;
    struct trec *recs;
    bool wait_each; /* wait for each record's completion, like a request */
};

static void *submit_worker(void *arg)
{
    struct worker *w = arg;
    size_t k = 0;

    for (uint64_t seq = 1; seq <= w->per_event; seq++) {
        for (uint64_t e = 0; e < w->nevents; e++, k++) {
            mk_mut(&w->recs[k], w->first_event + e, seq);
            cr_assert_eq(bo_store_submit(w->s, &w->recs[k].rec), 0);
            while (w->wait_each && atomic_load(&w->recs[k].ncalls) == 0)
                sched_yield();
        }
    }
    return NULL;
}

Test(store, records_from_threads_come_back_once_in_seq_order)
{
    struct trec setup_recs[2 * RT_THREADS + 2];
    struct worker w[RT_THREADS];
    pthread_t th[RT_THREADS];
    struct seen sn = {0};
    bo_store_t *s = open_store();
    size_t i = 0;

    cr_assert_eq(bo_store_load(s, &visitor, &sn), 0);
    cr_assert_eq(bo_store_start(s), 0);
    mk_venue(&setup_recs[0], 1);
    mk_venue(&setup_recs[1], 2);
    submit_ok(s, &setup_recs[0]);
    submit_ok(s, &setup_recs[1]);
    for (uint64_t e = 1; e <= 2 * RT_THREADS; e++) {
        mk_event(&setup_recs[e + 1], e, 1 + e % 2, NULL, 0);
        submit_ok(s, &setup_recs[e + 1]);
    }
    for (int t = 0; t < RT_THREADS; t++) {
        w[t] = (struct worker){s, 1 + 2 * (uint64_t)t, 2, RT_PER, NULL, t % 2 == 0};
        w[t].recs = calloc(2 * RT_PER, sizeof(struct trec));
        cr_assert_not_null(w[t].recs);
        cr_assert_eq(pthread_create(&th[t], NULL, submit_worker, &w[t]), 0);
    }
    for (int t = 0; t < RT_THREADS; t++)
        pthread_join(th[t], NULL);
    bo_store_flush(s);
    expect_status(setup_recs, 2 * RT_THREADS + 2, 0);
    for (int t = 0; t < RT_THREADS; t++) {
        for (size_t k = 0; k < 2 * RT_PER; k++)
            cr_assert_eq(atomic_load(&w[t].recs[k].ncalls), 1);
        expect_status(w[t].recs, 2 * RT_PER, 0);
        free(w[t].recs);
    }
    bo_store_close(s);

    cr_assert_eq(load_all(&sn), 0);
    cr_assert_eq(sn.nvenues, 2);
    cr_assert_eq(sn.venues[0], 1);
    cr_assert_eq(sn.venues[1], 2);
    cr_assert_str_eq(sn.venue_body[1], "{\"venue\":2}");
    cr_assert_eq(sn.nevents, 2 * RT_THREADS);
    for (uint64_t e = 1; e <= 2 * RT_THREADS; e++) {
        char want[32];
        snprintf(want, sizeof(want), "{\"event\":%lu}", (unsigned long)e);
        cr_assert_eq(sn.events[e - 1], e);
        cr_assert_eq(sn.event_venue[e - 1], 1 + e % 2);
        cr_assert_str_eq(sn.event_body[e - 1], want);
    }
    /* Events one after the other, each in seq order, every record once. */
    for (uint64_t e = 1; e <= 2 * RT_THREADS; e++)
        expect_run(&sn, &i, e, 0, 1, RT_PER);
    cr_assert_eq(sn.nrecs, i);
    free(sn.recs);
}

/* ---- the last line of defence ------------------------------------------- */

Test(store, a_seat_sold_twice_fails_the_whole_batch)
{
    struct trec first[1], batch[3], dup_in_batch[2], later[2];
    bo_store_stats_t st;
    struct seen sn = {0};
    size_t i = 0;

    create_events(2, NULL, 0);
    mk_sell(&first[0], 1, 1, 5);
    one_batch(first, 1);
    expect_status(first, 1, 0);

    /* Sold in an earlier commit. */
    mk_mut(&batch[0], 2, 1);
    mk_sell(&batch[1], 1, 2, 6);
    mk_sell(&batch[2], 1, 3, 5);
    st = one_batch(batch, 3);
    expect_status(batch, 3, BO_ECORRUPT);
    cr_assert_eq(st.commit_failures, 1);
    cr_assert_eq(st.records, 0);

    /* Sold twice within one batch. */
    mk_sell(&dup_in_batch[0], 1, 2, 7);
    mk_sell(&dup_in_batch[1], 1, 3, 7);
    one_batch(dup_in_batch, 2);
    expect_status(dup_in_batch, 2, BO_ECORRUPT);

    cr_assert_eq(sql_int("SELECT count(*) FROM sold"), 1);
    cr_assert_eq(sql_int("SELECT seat FROM sold WHERE event = 1"), 5);
    cr_assert_eq(sql_int("SELECT count(*) FROM log"), 1);
    cr_assert_eq(load_all(&sn), 0);
    expect_run(&sn, &i, 1, 0, 1, 1);
    cr_assert_eq(sn.nrecs, 1);

    /* The same seqs and seat 6 commit once the duplicate is gone. */
    mk_mut(&later[0], 2, 1);
    mk_sell(&later[1], 1, 2, 6);
    one_batch(later, 2);
    expect_status(later, 2, 0);
    cr_assert_eq(sql_int("SELECT count(*) FROM sold"), 2);
    free(sn.recs);
}

static void expect_ga_sold(int area, long long sold)
{
    char sql[96];

    snprintf(sql, sizeof(sql), "SELECT sold FROM ga WHERE event = 1 AND area = %d", area);
    cr_assert_eq(sql_int(sql), sold, "area %d", area);
}

/* One batch of one record that the database must refuse. */
static void expect_refused(struct trec *t)
{
    one_batch(t, 1);
    expect_status(t, 1, BO_ECORRUPT);
}

Test(store, ga_past_capacity_fails_the_whole_batch)
{
    const uint32_t cap[2] = {10, 3}, low[2] = {3, 3}, high[2] = {12, 3};
    struct trec first[1], batch[3], t[1], ok[2];
    struct seen sn = {0};
    size_t i = 0;

    create_events(1, cap, 2);
    cr_assert_eq(sql_int("SELECT count(*) FROM ga WHERE event = 1 AND sold = 0"), 2);
    mk_ga(&first[0], 1, 1, 4, 0);
    one_batch(first, 1);
    expect_status(first, 1, 0);

    mk_ga(&batch[0], 1, 2, 6, 0); /* 10 of 10: fine alone */
    mk_ga(&batch[1], 1, 3, 0, 3);
    mk_ga(&batch[2], 1, 4, 1, 0); /* 11 of 10 */
    one_batch(batch, 3);
    expect_status(batch, 3, BO_ECORRUPT);
    expect_ga_sold(0, 4);
    expect_ga_sold(1, 0);

    mk_ga(&t[0], 1, 2, -5, 0); /* below zero */
    expect_refused(t);
    mk_ga(&t[0], 1, 2, 0, 0);
    t[0].ga[2] = 1; /* an area that does not exist */
    t[0].rec.nga_delta = 3;
    expect_refused(t);
    mk_event(&t[0], 1, 1, low, 2); /* capacity below what is sold */
    expect_refused(t);

    mk_event(&ok[0], 1, 1, high, 2);
    mk_ga(&ok[1], 1, 2, 8, 3); /* 12 of 12, 3 of 3 */
    one_batch(ok, 2);
    expect_status(ok, 2, 0);
    expect_ga_sold(0, 12);
    expect_ga_sold(1, 3);
    cr_assert_eq(sql_int("SELECT capacity FROM ga WHERE event = 1 AND area = 0"), 12);
    cr_assert_eq(load_all(&sn), 0);
    expect_run(&sn, &i, 1, 0, 1, 2);
    cr_assert_eq(sn.nrecs, 2);
    free(sn.recs);
}

Test(store, unselling_an_unsold_seat_fails_the_whole_batch)
{
    struct trec first[1], batch[3], ok[1];

    create_events(2, NULL, 0);
    mk_sell(&first[0], 1, 1, 1);
    one_batch(first, 1);

    mk_mut(&batch[0], 2, 1);
    mk_unsell(&batch[1], 1, 2, 1); /* fine alone */
    mk_unsell(&batch[2], 1, 3, 2); /* never sold */
    one_batch(batch, 3);
    expect_status(batch, 3, BO_ECORRUPT);
    cr_assert_eq(sql_int("SELECT count(*) FROM sold WHERE event = 1 AND seat = 1"), 1);
    cr_assert_eq(sql_int("SELECT count(*) FROM log"), 1);

    mk_unsell(&ok[0], 1, 2, 1);
    one_batch(ok, 1);
    expect_status(ok, 1, 0);
    cr_assert_eq(sql_int("SELECT count(*) FROM sold"), 0);
}

/* ---- faults, cancel, back-pressure -------------------------------------- */

Test(store, injected_failures_write_nothing)
{
    struct trec a, b, c;
    bo_store_stats_t st;
    struct seen sn = {0};
    bo_store_t *s;
    size_t i = 0;

    create_events(1, NULL, 0);
    s = open_store();
    cr_assert_eq(bo_store_start(s), 0);
    bo_store_inject_failures(s, 2);
    mk_sell(&a, 1, 1, 9);
    submit_ok(s, &a);
    bo_store_flush(s);
    cr_assert_eq(a.status, BO_EIO);
    mk_sell(&b, 1, 1, 9);
    submit_ok(s, &b);
    bo_store_flush(s);
    cr_assert_eq(b.status, BO_EIO);
    mk_sell(&c, 1, 1, 9); /* the seat is free: the failures wrote nothing */
    submit_ok(s, &c);
    bo_store_flush(s);
    cr_assert_eq(c.status, 0);
    bo_store_get_stats(s, &st);
    cr_assert_eq(st.commit_failures, 2);
    cr_assert_eq(st.commits, 1);
    cr_assert_eq(st.records, 1);
    cr_assert_eq(st.commit_us_total > 0, true);
    bo_store_close(s);
    cr_assert_eq(atomic_load(&a.ncalls) + atomic_load(&b.ncalls) + atomic_load(&c.ncalls), 3);
    cr_assert_eq(load_all(&sn), 0);
    expect_run(&sn, &i, 1, 0, 1, 1);
    cr_assert_eq(sn.nrecs, 1);
    cr_assert_eq(sql_int("SELECT count(*) FROM sold"), 1);
    free(sn.recs);
}

/* What the batch hooks and done callbacks saw, in order (committer only). */
static char hook_trace[32];

static void trace(char c)
{
    size_t n = strlen(hook_trace);
    if (n + 1 < sizeof(hook_trace))
        hook_trace[n] = c;
}

static void hook_before(void)
{
    trace('(');
}

static void hook_after(void)
{
    trace(')');
}

static void traced_done(struct trec *t)
{
    trace('d');
}

Test(store, batch_hooks_bracket_each_batch_of_done_callbacks)
{
    struct trec t[5];
    bo_store_stats_t st;
    uint64_t timed = 0;
    bo_store_t *s;

    create_events(1, NULL, 0);
    s = open_store();
    bo_store_set_batch_hooks(s, hook_before, hook_after);
    for (int i = 0; i < 5; i++) {
        mk_mut(&t[i], 1, (uint64_t)i + 1);
        t[i].then = traced_done;
    }
    for (int i = 0; i < 3; i++) /* queued before the start: one batch */
        submit_ok(s, &t[i]);
    cr_assert_eq(bo_store_start(s), 0);
    bo_store_flush(s);
    for (int i = 3; i < 5; i++) { /* a batch each */
        submit_ok(s, &t[i]);
        bo_store_flush(s);
    }
    bo_store_get_stats(s, &st);
    bo_store_close(s);
    cr_assert_str_eq(hook_trace, "(ddd)(d)(d)");
    expect_status(t, 5, 0);
    for (int i = 0; i < BO_STORE_COMMIT_BUCKETS; i++)
        timed += st.commit_us_hist[i];
    cr_assert_eq(timed, st.commits); /* every commit in one bucket of the time histogram */
    cr_assert_eq(st.commits, 3);
}

Test(store, cancel_takes_back_queued_records_of_one_event)
{
    struct gate gate = GATE_INIT;
    struct trec g, b, c, d, e, f;
    bo_store_stats_t st;
    struct seen sn = {0};
    bo_store_t *s;
    size_t i = 0;

    create_events(9, NULL, 0);
    s = open_store();
    cr_assert_eq(bo_store_start(s), 0);
    mk_mut(&g, 9, 1);
    g.gate = &gate;
    submit_ok(s, &g);
    gate_wait_entered(&gate); /* the committer is parked in g's done */
    mk_mut(&b, 1, 1);
    mk_mut(&c, 2, 1);
    mk_mut(&d, 1, 2);
    mk_event(&e, 1, 1, NULL, 0); /* not a seq'd record: never cancelled */
    mk_mut(&f, 1, 3);
    submit_ok(s, &b);
    submit_ok(s, &c);
    submit_ok(s, &d);
    submit_ok(s, &e);
    submit_ok(s, &f);
    cr_assert_eq(bo_store_cancel(s, 1, 1), 2);
    cr_assert_eq(d.status, BO_ECANCELED);
    cr_assert_eq(f.status, BO_ECANCELED);
    cr_assert_eq(atomic_load(&d.ncalls) + atomic_load(&f.ncalls), 2);
    cr_assert_eq(atomic_load(&b.ncalls) + atomic_load(&c.ncalls) + atomic_load(&e.ncalls), 0);
    cr_assert_eq(bo_store_cancel(s, 1, 1), 0);
    cr_assert_eq(bo_store_cancel(s, 9, 0), 0, "the committing batch is not taken back");
    bo_store_get_stats(s, &st);
    cr_assert_eq(st.pending, 3);
    gate_open(&gate);
    bo_store_flush(s);
    cr_assert_eq(g.status, 0);
    cr_assert_eq(b.status, 0);
    cr_assert_eq(c.status, 0);
    cr_assert_eq(e.status, 0);
    cr_assert_eq(atomic_load(&d.ncalls) + atomic_load(&f.ncalls), 2, "completed once");
    bo_store_close(s);
    cr_assert_eq(load_all(&sn), 0);
    expect_run(&sn, &i, 1, 0, 1, 1);
    expect_run(&sn, &i, 2, 0, 1, 1);
    expect_run(&sn, &i, 9, 0, 1, 1);
    cr_assert_eq(sn.nrecs, 3);
    free(sn.recs);
}

/* The engine's reaction to a failed commit, run inside a done callback:
 * cancel the event's later records, and submit something new. */
struct reaction {
    bo_store_t *s;
    struct gate gate;
    struct trec *extra;
    uint32_t cancelled;
    int submit_rc;
};

static void react(struct trec *t)
{
    struct reaction *re = t->ctx;

    if (t->status != 0)
        re->cancelled = bo_store_cancel(re->s, t->rec.id, t->rec.seq - 1);
    re->submit_rc = bo_store_submit(re->s, &re->extra->rec);
}

Test(store, done_callbacks_may_cancel_and_submit)
{
    struct gate first_gate = GATE_INIT;
    struct reaction re = {.gate = GATE_INIT, .submit_rc = 1};
    struct trec g, a, b, c, d;
    struct seen sn = {0};
    size_t i = 0;

    create_events(9, NULL, 0);
    re.s = open_store();
    cr_assert_eq(bo_store_start(re.s), 0);
    mk_mut(&g, 9, 1);
    g.gate = &first_gate;
    submit_ok(re.s, &g);
    gate_wait_entered(&first_gate);
    bo_store_inject_failures(re.s, 1); /* for the next batch: a alone */
    mk_mut(&a, 1, 1);
    a.gate = &re.gate;
    a.then = react;
    a.ctx = &re;
    mk_mut(&d, 3, 1);
    re.extra = &d;
    submit_ok(re.s, &a);
    gate_open(&first_gate);
    gate_wait_entered(&re.gate); /* a failed; its done is parked */
    mk_mut(&b, 1, 2);
    mk_mut(&c, 2, 1);
    submit_ok(re.s, &b);
    submit_ok(re.s, &c);
    gate_open(&re.gate);
    bo_store_flush(re.s); /* a, b and c; d was submitted during a's done */
    bo_store_flush(re.s);
    cr_assert_eq(a.status, BO_EIO);
    cr_assert_eq(re.cancelled, 1);
    cr_assert_eq(b.status, BO_ECANCELED);
    cr_assert_eq(re.submit_rc, 0);
    cr_assert_eq(c.status, 0);
    cr_assert_eq(d.status, 0);
    bo_store_close(re.s);
    cr_assert_eq(load_all(&sn), 0);
    expect_run(&sn, &i, 2, 0, 1, 1);
    expect_run(&sn, &i, 3, 0, 1, 1);
    expect_run(&sn, &i, 9, 0, 1, 1);
    cr_assert_eq(sn.nrecs, 3);
    free(sn.recs);
}

struct small_rec {
    bo_rec_t rec;
    int status;
    atomic_int ncalls;
};

static void small_done(bo_rec_t *r, int status)
{
    struct small_rec *t = (struct small_rec *)r;

    t->status = status;
    atomic_fetch_add(&t->ncalls, 1);
}

Test(store, submit_says_busy_past_the_bound)
{
    const size_t n = BO_STORE_MAX_PENDING + 1;
    struct gate gate = GATE_INIT;
    struct small_rec *r = calloc(n, sizeof(*r));
    struct trec g;
    bo_store_stats_t st;
    bo_store_t *s;

    cr_assert_not_null(r);
    create_events(2, NULL, 0);
    s = open_store();
    cr_assert_eq(bo_store_start(s), 0);
    mk_mut(&g, 2, 1);
    g.gate = &gate;
    submit_ok(s, &g);
    gate_wait_entered(&gate);
    for (size_t k = 0; k < n; k++)
        r[k].rec = (bo_rec_t){.kind = BO_REC_MUT, .id = 1, .seq = k + 1, .done = small_done};
    for (size_t k = 0; k < n - 1; k++)
        cr_assert_eq(bo_store_submit(s, &r[k].rec), 0);
    cr_assert_eq(bo_store_submit(s, &r[n - 1].rec), BO_EBUSY);
    bo_store_get_stats(s, &st);
    cr_assert_eq(st.pending, BO_STORE_MAX_PENDING);
    gate_open(&gate);
    bo_store_flush(s);
    bo_store_get_stats(s, &st);
    bo_store_close(s);
    cr_assert_eq(st.pending, 0);
    cr_assert_eq(st.records, BO_STORE_MAX_PENDING + 1);
    cr_assert_eq(st.max_batch, BO_STORE_MAX_BATCH, "a batch is capped");
    cr_assert_eq(st.batch_hist[13], BO_STORE_MAX_PENDING / BO_STORE_MAX_BATCH);
    for (size_t k = 0; k < n - 1; k++)
        cr_assert(r[k].status == 0 && atomic_load(&r[k].ncalls) == 1, "record %zu", k);
    cr_assert_eq(atomic_load(&r[n - 1].ncalls), 0, "a refused record is not completed");
    cr_assert_eq(sql_int("SELECT count(*) FROM log WHERE event = 1"), BO_STORE_MAX_PENDING);
    free(r);
}

/* ---- snapshots ------------------------------------------------------------ */

static void commit_all(bo_store_t *s, struct trec *t, size_t n)
{
    for (size_t k = 0; k < n; k++)
        submit_ok(s, &t[k]);
    bo_store_flush(s);
    expect_status(t, n, 0);
}

Test(store, a_snapshot_replaces_older_log_records)
{
    struct trec t[32];
    struct seen sn = {0};
    bo_store_t *s;
    size_t n = 0, i = 0;

    create_events(2, NULL, 0);
    s = open_store();
    cr_assert_eq(bo_store_start(s), 0);
    for (uint64_t seq = 1; seq <= 10; seq++) { /* the two events interleaved */
        mk_mut(&t[n++], 1, seq);
        if (seq <= 5)
            mk_mut(&t[n++], 2, seq);
    }
    mk_snapshot(&t[n++], 1, 7); /* taken before 8..10 were committed */
    mk_mut(&t[n++], 1, 11);
    mk_mut(&t[n++], 1, 12);
    commit_all(s, t, n);
    cr_assert_eq(sql_int("SELECT count(*) FROM log WHERE event = 1"), 5);
    cr_assert_eq(sql_int("SELECT min(seq) FROM log WHERE event = 1"), 8);
    cr_assert_eq(sql_int("SELECT count(*) FROM log WHERE event = 2"), 5);
    bo_store_close(s);
    cr_assert_eq(load_all(&sn), 0);
    expect_run(&sn, &i, 1, 7, 8, 12);
    expect_run(&sn, &i, 2, 0, 1, 5);
    cr_assert_eq(sn.nrecs, i);

    s = open_store();
    cr_assert_eq(bo_store_start(s), 0);
    mk_snapshot(&t[0], 1, 12);
    commit_all(s, t, 1);
    cr_assert_eq(sql_int("SELECT count(*) FROM log WHERE event = 1"), 0);
    mk_snapshot(&t[0], 1, 5); /* older than the stored one: changes nothing */
    mk_mut(&t[1], 1, 13);
    commit_all(s, t, 2);
    bo_store_close(s);
    cr_assert_eq(sql_int("SELECT seq FROM snapshots WHERE event = 1"), 12);
    cr_assert_eq(load_all(&sn), 0);
    i = 0;
    expect_run(&sn, &i, 1, 12, 13, 13);
    expect_run(&sn, &i, 2, 0, 1, 5);
    cr_assert_eq(sn.nrecs, i);
    free(sn.recs);
}

/* A snapshot that deletes the newest log rows must not let SQLite hand their
 * rowids out again below its log_upto, or the next snapshot misses rows
 * (across a restart too). */
Test(store, snapshots_cover_rows_written_after_deleting_the_log_tail)
{
    struct trec t[4];
    struct seen sn = {0};
    bo_store_t *s;
    size_t i = 0;

    create_events(2, NULL, 0);
    s = open_store();
    cr_assert_eq(bo_store_start(s), 0);
    mk_mut(&t[0], 2, 1);
    mk_mut(&t[1], 1, 1);
    mk_mut(&t[2], 1, 2);
    mk_snapshot(&t[3], 1, 2); /* deletes the two newest rows */
    commit_all(s, t, 4);
    mk_mut(&t[0], 1, 3);
    mk_snapshot(&t[1], 1, 3);
    commit_all(s, t, 2);
    cr_assert_eq(sql_int("SELECT count(*) FROM log WHERE event = 1"), 0);
    bo_store_close(s);
    sql_exec("DELETE FROM log WHERE event = 2"); /* the log is empty now */
    s = open_store();
    cr_assert_eq(bo_store_start(s), 0);
    mk_mut(&t[0], 1, 4);
    mk_snapshot(&t[1], 1, 4);
    commit_all(s, t, 2);
    bo_store_close(s);
    cr_assert_eq(sql_int("SELECT count(*) FROM log"), 0);
    cr_assert_eq(load_all(&sn), 0);
    expect_run(&sn, &i, 1, 4, 5, 4);
    cr_assert_eq(sn.nrecs, 1);
    free(sn.recs);
}

/* ---- group commit and shutdown ------------------------------------------ */

#define GC_THREADS 8
#define GC_PER     1000

Test(store, concurrent_submitters_share_commits)
{
    struct worker w[GC_THREADS];
    pthread_t th[GC_THREADS];
    bo_store_stats_t st;
    struct seen sn = {0};
    bo_store_t *s;
    uint64_t nbatches = 0;
    size_t i = 0;

    create_events(GC_THREADS, NULL, 0);
    s = open_store();
    cr_assert_eq(bo_store_start(s), 0);
    for (int t = 0; t < GC_THREADS; t++) {
        w[t] = (struct worker){s, 1 + (uint64_t)t, 1, GC_PER, NULL, false};
        w[t].recs = calloc(GC_PER, sizeof(struct trec));
        cr_assert_not_null(w[t].recs);
        cr_assert_eq(pthread_create(&th[t], NULL, submit_worker, &w[t]), 0);
    }
    for (int t = 0; t < GC_THREADS; t++)
        pthread_join(th[t], NULL);
    bo_store_flush(s);
    bo_store_get_stats(s, &st);
    bo_store_close(s);
    for (int t = 0; t < GC_THREADS; t++) {
        expect_status(w[t].recs, GC_PER, 0);
        free(w[t].recs);
    }
    cr_assert_eq(st.records, GC_THREADS * GC_PER);
    cr_assert_eq(st.commit_failures, 0);
    cr_assert_lt(st.commits, st.records);
    cr_assert_gt(st.max_batch, 1);
    for (int b = 0; b < 16; b++)
        nbatches += st.batch_hist[b];
    cr_assert_eq(nbatches, st.commits);
    cr_assert_eq(load_all(&sn), 0);
    for (uint64_t e = 1; e <= GC_THREADS; e++)
        expect_run(&sn, &i, e, 0, 1, GC_PER);
    cr_assert_eq(sn.nrecs, i);
    free(sn.recs);
}

#ifndef BO_TEST_PG /* the SQLite file itself */
static long long file_size(const char *p)
{
    struct stat stbuf;

    return stat(p, &stbuf) == 0 ? (long long)stbuf.st_size : -1;
}

/* The checkpointer copies committed pages into the database file on its own
 * (every 100 ms), while the store stays open and idle: the committer never
 * has to. Its connection must first find the WAL, or its checkpoints do
 * nothing and the WAL only grows. */
Test(store, the_checkpointer_copies_the_wal_into_the_database)
{
    enum { N = 3000 };
    struct trec *t = calloc(N, sizeof(*t));
    long long before, after = 0;
    bo_store_t *s;

    cr_assert_not_null(t);
    create_events(1, NULL, 0); /* closed: checkpointed and truncated */
    before = file_size(path);
    s = open_store();
    cr_assert_eq(bo_store_start(s), 0);
    for (uint64_t seq = 1; seq <= N; seq++)
        mk_mut(&t[seq - 1], 1, seq);
    commit_all(s, t, N); /* ~150 KB of log rows */
    for (int tries = 0; tries < 100 && after < before + 100 * 1024; tries++) {
        usleep(20 * 1000);
        after = file_size(path);
    }
    bo_store_close(s);
    cr_assert_geq(after, before + 100 * 1024, "database %lld bytes, then %lld", before, after);
    free(t);
}

#endif

static void submit_during_close(struct trec *t)
{
    *(int *)t->ctx = bo_store_submit(t->rec.arg, &t[1].rec);
}

Test(store, close_drains_the_queue_and_refuses_later_submissions)
{
    enum { N = 1000 };
    struct trec *t = calloc(N + 1, sizeof(*t));
    struct seen sn = {0};
    bo_store_t *s;
    int late_rc = 1;
    size_t i = 0;

    cr_assert_not_null(t);
    create_events(2, NULL, 0);
    s = open_store();
    cr_assert_eq(bo_store_start(s), 0);
    for (uint64_t k = 0; k <= N; k++)
        mk_mut(&t[k], 1, k + 1);
    t[N - 1].then = submit_during_close;
    t[N - 1].ctx = &late_rc;
    t[N - 1].rec.arg = s;
    for (size_t k = 0; k < N; k++)
        submit_ok(s, &t[k]);
    bo_store_close(s); /* no flush */
    expect_status(t, N, 0);
    cr_assert_eq(late_rc, BO_EIO);
    cr_assert_eq(atomic_load(&t[N].ncalls), 0);

    /* Never started: close commits on the caller's thread. */
    s = open_store();
    mk_mut(&t[0], 2, 1);
    mk_mut(&t[1], 2, 2);
    submit_ok(s, &t[0]);
    submit_ok(s, &t[1]);
    bo_store_close(s);
    expect_status(t, 2, 0);
    cr_assert_eq(load_all(&sn), 0);
    expect_run(&sn, &i, 1, 0, 1, N);
    expect_run(&sn, &i, 2, 0, 1, 2);
    cr_assert_eq(sn.nrecs, i);
    free(sn.recs);
    free(t);
}

/* ---- recovery checks ---------------------------------------------------- */

static void commit_seqs(uint64_t event, uint64_t first, uint64_t last)
{
    struct trec t[16];
    size_t n = 0;

    for (uint64_t seq = first; seq <= last; seq++)
        mk_mut(&t[n++], event, seq);
    one_batch(t, n);
    expect_status(t, n, 0);
}

Test(store, load_refuses_gaps_and_orphans_and_stops_on_request)
{
    struct seen sn = {0};

    create_events(2, NULL, 0);
    commit_seqs(1, 1, 3);
    commit_seqs(2, 1, 2);
    sn.stop_at = 4;
    {
        bo_store_t *s = open_store();
        cr_assert_eq(bo_store_load(s, &visitor, &sn), 42);
        cr_assert_eq(sn.nrecs, 3);
        bo_store_close(s);
    }
    sql_exec("DELETE FROM log WHERE event = 1 AND seq = 2");
    cr_assert_eq(load_all(&sn), BO_ECORRUPT);
    commit_seqs(1, 2, 2); /* now 1, 3, 2 in the log: sorted, whole again */
    cr_assert_eq(load_all(&sn), 0);
    cr_assert_eq(sn.nrecs, 5);
#ifdef BO_TEST_PG
    /* PostgreSQL's log is keyed by (event, seq): a duplicate is refused */
    cr_assert_eq(sql_int("SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema()"
                         " AND tablename = 'log' AND indexdef LIKE '%UNIQUE%(event, seq)%'"),
                 1);
    sql_exec("INSERT INTO log(event, seq, at_ms, body) VALUES(77, 1, 0, '\\x00')");
    cr_assert_eq(load_all(&sn), BO_ECORRUPT, "a record of an unknown event");
    sql_exec("DELETE FROM log WHERE event = 77");
    sql_exec("INSERT INTO snapshots VALUES(0, 1, 0, '\\x00')");
#else
    commit_seqs(1, 2, 2); /* a duplicate seq */
    cr_assert_eq(load_all(&sn), BO_ECORRUPT);
    sql_exec("DELETE FROM log WHERE id = (SELECT max(id) FROM log)");
    cr_assert_eq(load_all(&sn), 0);
    sql_exec("INSERT INTO log(event, seq, at_ms, body) VALUES(77, 1, 0, x'00')");
    cr_assert_eq(load_all(&sn), BO_ECORRUPT, "a record of an unknown event");
    sql_exec("DELETE FROM log WHERE event = 77");
    sql_exec("INSERT INTO snapshots VALUES(0, 1, 0, x'00', 0)");
#endif
    cr_assert_eq(load_all(&sn), BO_ECORRUPT, "a snapshot of an unknown event");
    free(sn.recs);
}

/* ---- documents ------------------------------------------------------------ */

struct seen_docs {
    char lines[16][96];
    size_t n;
};

static int see_doc(void *ctx, const char *coll, const char *id, const char *body, size_t len)
{
    struct seen_docs *sd = ctx;
    cr_assert_lt(sd->n, 16);
    snprintf(sd->lines[sd->n++], sizeof(sd->lines[0]), "%s/%s=%.*s", coll, id, (int)len, body);
    return 0;
}

Test(store, documents_ride_with_records_and_come_back_in_write_order)
{
    struct trec t[3];
    bo_doc_t first[] = {{.coll = "order", .id = "ord_1", .body = "{\"v\":1}", .len = 7},
                        {.coll = "outbox", .id = "ord_1:paid", .body = "m1", .len = 2}};
    bo_doc_t second[] = {{.coll = "key", .id = "k", .body = "K", .len = 1},
                         {.coll = "order", .id = "ord_1", .body = "{\"v\":2}", .len = 7},
                         {.coll = "outbox", .id = "ord_1:paid", .body = "m2", .len = 2}};
    create_events(1, NULL, 0);
    mk_mut(&t[0], 1, 1);
    t[0].rec.docs = first;
    t[0].rec.ndocs = 2;
    mk_base(&t[1], BO_REC_DOCS, 0);
    t[1].rec.docs = second;
    t[1].rec.ndocs = 3;
    one_batch(t, 2);
    expect_status(t, 2, 0);

    /* the order was rewritten (moving after the key), the outbox message
     * of the same id was kept as first written */
    cr_assert_eq(sql_int("SELECT count(*) FROM docs"), 2);
    cr_assert_eq(sql_int("SELECT count(*) FROM outbox WHERE body = 'm1'"), 1);
    cr_assert_eq(sql_int("SELECT count(*) FROM outbox"), 1);
    struct seen_docs sd = {0};
    bo_store_visitor_t v = {.doc = see_doc};
    bo_store_t *s = open_store();
    cr_assert_eq(bo_store_load(s, &v, &sd), 0);
    bo_store_close(s);
    cr_assert_eq(sd.n, 2);
    cr_assert_str_eq(sd.lines[0], "key/k=K");
    cr_assert_str_eq(sd.lines[1], "order/ord_1={\"v\":2}");
}

Test(store, a_failed_batch_writes_no_documents)
{
    struct trec t[2];
    bo_doc_t d[] = {{.coll = "order", .id = "ord_9", .body = "{}", .len = 2}};
    create_events(1, NULL, 0);
    mk_sell(&t[0], 1, 1, 5);
    t[0].rec.docs = d;
    t[0].rec.ndocs = 1;
    mk_sell(&t[1], 1, 2, 5); /* the same seat again: the batch fails */
    one_batch(t, 2);
    cr_assert_neq(t[0].status, 0);
    cr_assert_eq(sql_int("SELECT count(*) FROM docs"), 0);
}

static int count_tags(void *arg, const char *tag, uint64_t count)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 128 - n, "%s%s=%llu", n ? " " : "", tag, (unsigned long long)count);
    return 0;
}

static int each_figures(void *arg, const char *tag, const char *figures)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 128 - n, "%s%s:%s", n ? " " : "", tag, figures);
    return 0;
}

Test(store, settled_documents_stay_on_disk_and_are_read_back_by_id_or_key)
{
    struct trec t[1];
    const char *keys1[] = {"pi_1", "tkt_a", "tkt_b"}, *keys2[] = {"pi_2"};
    bo_doc_t d[] = {{.coll = "order",
                     .id = "ord_1",
                     .body = "{\"paid\":1}",
                     .len = 10,
                     .settled = true,
                     .group = "evt_1",
                     .tag = "paid",
                     .figures = "7 2 900 1",
                     .keys = keys1,
                     .nkeys = 3},
                    {.coll = "order",
                     .id = "ord_2",
                     .body = "{\"v\":2}",
                     .len = 7,
                     .group = "evt_1",
                     .tag = "pending_payment",
                     .figures = "0 0 500 0",
                     .keys = keys2,
                     .nkeys = 1},
                    {.coll = "order",
                     .id = "ord_3",
                     .body = "{\"v\":3}",
                     .len = 7,
                     .settled = true,
                     .group = "evt_2",
                     .tag = "paid"}};
    create_events(1, NULL, 0);
    mk_base(&t[0], BO_REC_DOCS, 0);
    t[0].rec.docs = d;
    t[0].rec.ndocs = 3;
    one_batch(t, 1);
    expect_status(t, 1, 0);

    /* only the unsettled one comes back at start */
    struct seen_docs sd = {0};
    bo_store_visitor_t v = {.doc = see_doc};
    bo_store_t *s = open_store();
    cr_assert(bo_store_can_read(s));
    cr_assert_eq(bo_store_load(s, &v, &sd), 0);
    cr_assert_eq(sd.n, 1);
    cr_assert_str_eq(sd.lines[0], "order/ord_2={\"v\":2}");

    /* the others by id or by key */
    char *body = NULL;
    size_t len = 0;
    cr_assert_eq(bo_store_doc_get(s, "order", "ord_1", &body, &len), 0);
    cr_assert_str_eq(body, "{\"paid\":1}");
    cr_assert_eq(len, 10);
    free(body);
    cr_assert_eq(bo_store_doc_get(s, NULL, "tkt_b", &body, &len), 0);
    cr_assert_str_eq(body, "{\"paid\":1}");
    free(body);
    cr_assert_eq(bo_store_doc_get(s, NULL, "pi_2", &body, &len), 0);
    cr_assert_str_eq(body, "{\"v\":2}");
    free(body);
    cr_assert_eq(bo_store_doc_get(s, NULL, "tkt_z", &body, &len), BO_ENOTFOUND);
    cr_assert_eq(bo_store_doc_get(s, "order", "ord_9", &body, &len), BO_ENOTFOUND);

    /* counted by tag, all or by group; a group's bodies */
    char tags[128] = "";
    cr_assert_eq(bo_store_doc_tags(s, "order", NULL, count_tags, tags), 0);
    cr_assert_str_eq(tags, "paid=2 pending_payment=1");
    tags[0] = '\0';
    cr_assert_eq(bo_store_doc_tags(s, "order", "evt_2", count_tags, tags), 0);
    cr_assert_str_eq(tags, "paid=1");
    /* a group's figures (ord_3 has none: not handed back) */
    char figs[128] = "";
    cr_assert_eq(bo_store_doc_each(s, "order", "evt_1", each_figures, figs), 0);
    cr_assert_str_eq(figs, "paid:7 2 900 1 pending_payment:0 0 500 0");
    figs[0] = '\0';
    cr_assert_eq(bo_store_doc_each(s, "order", "evt_2", each_figures, figs), 0);
    cr_assert_str_eq(figs, "");
    bo_store_close(s);
}
