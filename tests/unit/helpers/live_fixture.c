/*
 * live_fixture.c - see live_fixture.h.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boxoffice/error.h"
#include "live/record.h"
#include "live_fixture.h"

char *fx_temp_db(char **path_out)
{
    char tmpl[] = "/tmp/boxoffice-test-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return NULL;
    close(fd);
    unlink(tmpl);
    char *url = malloc(strlen(tmpl) + 16);
    sprintf(url, "sqlite:%s.db", tmpl);
    *path_out = strdup(url + 7);
    return url;
}

void fx_remove_db(const char *path)
{
    char buf[512];
    unlink(path);
    snprintf(buf, sizeof(buf), "%s-wal", path);
    unlink(buf);
    snprintf(buf, sizeof(buf), "%s-shm", path);
    unlink(buf);
}

static int wait_for(bo_live_wait_t *w, bo_live_result_t *r)
{
    int rc = bo_live_wait(w, r);
    bo_live_wait_free(w);
    return rc;
}

int fx_venue_event(bo_live_t *live, uint64_t venue, uint64_t event, uint32_t sections,
                   uint32_t rows, uint32_t seats, uint32_t ga_areas, uint32_t ga_cap,
                   int64_t ttl_ms, uint32_t per_customer_limit)
{
    bo_venue_gen_t g = {.sections = sections,
                        .rows = rows,
                        .seats = seats,
                        .ga_areas = ga_areas,
                        .ga_capacity = ga_cap,
                        .categories = 3};
    size_t len;
    char *json = bo_venue_generate(&g, &len);
    if (!json)
        return BO_EINVAL;
    bo_live_wait_t *w = bo_live_wait_new();
    int rc = bo_live_add_venue(live, venue, json, len, NULL, bo_live_wait_done, w);
    free(json);
    rc = rc ? rc : bo_live_wait(w, NULL);
    bo_live_wait_free(w);
    if (rc)
        return rc;
    bo_inv_config_t cfg = {.hold_ttl_ms = ttl_ms, .per_customer_limit = per_customer_limit};
    for (uint32_t c = 0; c < BO_LAYOUT_MAX_CATEGORIES; c++)
        cfg.price_cents[c] = 1000 * (c + 1);
    w = bo_live_wait_new();
    rc = bo_live_add_event(live, event, venue, "{\"name\":\"test\"}", &cfg, bo_live_wait_done, w);
    rc = rc ? rc : bo_live_wait(w, NULL);
    bo_live_wait_free(w);
    return rc;
}

bo_hold_id_t fx_id(uint64_t n)
{
    bo_hold_id_t id;
    memset(&id, 0, sizeof(id));
    memcpy(id.b, &n, sizeof(n));
    id.b[15] = 0xb0;
    return id;
}

/* ---- every call answered through done --------------------------------------- */

static int fx_apply(bo_live_t *live, uint64_t event, const bo_mut_t *m, bo_live_done_fn done,
                    void *arg)
{
    bo_live_result_t refusal;
    bo_live_call_t c = {done, arg, NULL};
    int rc = bo_live_apply(live, event, m, &c, &refusal);
    if (rc) /* no callback for an error return: the test's done gets it now */
        done(arg, &refusal);
    return rc;
}

int fx_live_hold(bo_live_t *live, uint64_t event, const bo_hold_req_t *req, bo_live_done_fn done,
                 void *arg)
{
    bo_mut_t m = {.op = BO_MUT_HOLD, .req = req};
    return fx_apply(live, event, &m, done, arg);
}

int fx_live_release(bo_live_t *live, uint64_t event, const bo_hold_id_t *id, bo_live_done_fn done,
                    void *arg)
{
    bo_mut_t m = {.op = BO_MUT_RELEASE, .id = *id};
    return fx_apply(live, event, &m, done, arg);
}

int fx_live_pay_start(bo_live_t *live, uint64_t event, const bo_hold_id_t *id, int64_t deadline_ms,
                      bo_live_done_fn done, void *arg)
{
    bo_mut_t m = {.op = BO_MUT_PAY_START, .id = *id, .deadline_ms = deadline_ms};
    return fx_apply(live, event, &m, done, arg);
}

int fx_live_pay_failed(bo_live_t *live, uint64_t event, const bo_hold_id_t *id,
                       bo_live_done_fn done, void *arg)
{
    bo_mut_t m = {.op = BO_MUT_PAY_FAILED, .id = *id};
    return fx_apply(live, event, &m, done, arg);
}

int fx_live_confirm(bo_live_t *live, uint64_t event, const bo_hold_id_t *id, const uint32_t *seats,
                    uint32_t nseats, const bo_ga_line_t *ga, uint32_t nga, uint64_t customer,
                    int64_t amount_cents, bo_live_done_fn done, void *arg)
{
    bo_mut_t m = {.op = BO_MUT_CONFIRM,
                  .id = *id,
                  .customer = customer,
                  .amount_cents = amount_cents,
                  .seats = seats,
                  .nseats = nseats,
                  .ga = ga,
                  .nga = nga};
    return fx_apply(live, event, &m, done, arg);
}

int fx_live_cancel(bo_live_t *live, uint64_t event, const bo_hold_id_t *id, bo_live_done_fn done,
                   void *arg)
{
    bo_mut_t m = {.op = BO_MUT_CANCEL, .id = *id};
    return fx_apply(live, event, &m, done, arg);
}

int fx_live_block(bo_live_t *live, uint64_t event, const uint32_t *seats, uint32_t nseats,
                  int unblock, bo_live_done_fn done, void *arg)
{
    bo_mut_t m = {.op = unblock ? BO_MUT_UNBLOCK : BO_MUT_BLOCK, .seats = seats, .nseats = nseats};
    return fx_apply(live, event, &m, done, arg);
}

int fx_live_update_event(bo_live_t *live, uint64_t event, const char *meta_json,
                         const bo_inv_config_t *cfg, bo_live_done_fn done, void *arg)
{
    int rc = bo_live_update_event(live, event, meta_json, cfg, done, arg);
    if (rc) /* no callback for an error return: the test's done gets it now */
        done(arg, &(bo_live_result_t){.status = rc});
    return rc;
}

/* ---- waiting calls ------------------------------------------------------------ */

int fx_hold(bo_live_t *live, uint64_t event, const bo_hold_req_t *req, bo_live_result_t *r)
{
    bo_live_wait_t *w = bo_live_wait_new();
    fx_live_hold(live, event, req, bo_live_wait_done, w);
    return wait_for(w, r);
}

int fx_hold_seats(bo_live_t *live, uint64_t event, bo_hold_id_t id, const uint32_t *seats,
                  uint32_t n, bo_live_result_t *r)
{
    bo_hold_req_t req = {
        .id = id, .seats = seats, .nseats = n, .best_category = BO_NONE, .best_section = BO_NONE};
    return fx_hold(live, event, &req, r);
}

int fx_release(bo_live_t *live, uint64_t event, bo_hold_id_t id)
{
    bo_live_wait_t *w = bo_live_wait_new();
    fx_live_release(live, event, &id, bo_live_wait_done, w);
    return wait_for(w, NULL);
}

int fx_pay_start(bo_live_t *live, uint64_t event, bo_hold_id_t id, int64_t deadline_ms)
{
    bo_live_wait_t *w = bo_live_wait_new();
    fx_live_pay_start(live, event, &id, deadline_ms, bo_live_wait_done, w);
    return wait_for(w, NULL);
}

int fx_confirm(bo_live_t *live, uint64_t event, bo_hold_id_t id)
{
    bo_live_wait_t *w = bo_live_wait_new();
    fx_live_confirm(live, event, &id, NULL, 0, NULL, 0, 0, 0, bo_live_wait_done, w);
    return wait_for(w, NULL);
}

int fx_cancel(bo_live_t *live, uint64_t event, bo_hold_id_t id)
{
    bo_live_wait_t *w = bo_live_wait_new();
    fx_live_cancel(live, event, &id, bo_live_wait_done, w);
    return wait_for(w, NULL);
}

int fx_block(bo_live_t *live, uint64_t event, const uint32_t *seats, uint32_t n, int unblock)
{
    bo_live_wait_t *w = bo_live_wait_new();
    fx_live_block(live, event, seats, n, unblock, bo_live_wait_done, w);
    return wait_for(w, NULL);
}

static int capture(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    fx_state_t *s = arg;
    const bo_layout_t *l = bo_inv_layout(inv);
    bo_inv_counts(inv, now_ms, &s->counts);
    s->nseats = l->nseats;
    s->states = malloc(l->nseats ? l->nseats : 1);
    bo_inv_snapshot(inv, now_ms, s->states);
    s->nga = l->nga < 16 ? l->nga : 16;
    for (uint32_t a = 0; a < s->nga; a++) {
        s->ga_avail[a] = bo_inv_ga_available(inv, a, now_ms);
        s->ga_sold[a] = bo_inv_ga_sold(inv, a);
    }
    return 0;
}

int fx_capture(bo_live_t *live, uint64_t event, fx_state_t *s)
{
    memset(s, 0, sizeof(*s));
    return bo_live_read(live, event, capture, s);
}

int fx_state_eq(const fx_state_t *a, const fx_state_t *b)
{
    bo_inv_counts_t ca = a->counts, cb = b->counts;
    ca.version = cb.version = 0;
    return memcmp(&ca, &cb, sizeof(ca)) == 0 && a->nseats == b->nseats &&
           memcmp(a->states, b->states, a->nseats) == 0 && a->nga == b->nga &&
           memcmp(a->ga_avail, b->ga_avail, sizeof(a->ga_avail)) == 0 &&
           memcmp(a->ga_sold, b->ga_sold, sizeof(a->ga_sold)) == 0;
}

void fx_state_free(fx_state_t *s)
{
    free(s->states);
    s->states = NULL;
}

/* ---- holds -------------------------------------------------------------- */

struct get_hold_arg {
    bo_hold_id_t id;
    fx_hold_t *h;
};

static int get_hold(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    struct get_hold_arg *a = arg;
    bo_hold_view_t v;
    int rc = bo_inv_get_hold(inv, &a->id, now_ms, &v);
    if (rc)
        return rc;
    memset(a->h, 0, sizeof(*a->h));
    a->h->status = v.status;
    a->h->pay_failures = v.pay_failures;
    a->h->expires_at_ms = v.expires_at_ms;
    a->h->nseats = v.nseats < BO_HOLD_MAX_SEATS ? v.nseats : BO_HOLD_MAX_SEATS;
    a->h->nga = v.nga < BO_HOLD_MAX_GA ? v.nga : BO_HOLD_MAX_GA;
    memcpy(a->h->seats, v.seats, a->h->nseats * sizeof(uint32_t));
    memcpy(a->h->ga, v.ga, a->h->nga * sizeof(bo_ga_line_t));
    return 0;
}

int fx_get_hold(bo_live_t *live, uint64_t event, bo_hold_id_t id, fx_hold_t *h)
{
    struct get_hold_arg a = {id, h};
    return bo_live_read(live, event, get_hold, &a);
}

/* ---- asynchronous calls -------------------------------------------------- */

struct fx_async {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fx_call_t *head, *tail; /* answered, oldest first */
    int waiting;
    void (*hook)(fx_call_t *c);
    /* the owning thread's alone */
    uint32_t window, inflight, nfree;
    size_t call_size;
    fx_call_t **free;
    unsigned char *calls;
};

fx_async_t *fx_async_new(uint32_t window, size_t call_size, void (*hook)(fx_call_t *c))
{
    fx_async_t *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->calls = calloc(window, call_size);
    a->free = calloc(window, sizeof(fx_call_t *));
    if (!a->calls || !a->free) {
        fx_async_free(a);
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    a->hook = hook;
    a->window = window;
    a->call_size = call_size;
    for (uint32_t i = 0; i < window; i++)
        a->free[a->nfree++] = (fx_call_t *)(a->calls + (size_t)i * call_size);
    return a;
}

void fx_async_free(fx_async_t *a)
{
    if (!a)
        return;
    if (a->calls) {
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->cv);
    }
    free(a->calls);
    free(a->free);
    free(a);
}

fx_call_t *fx_async_begin(fx_async_t *a)
{
    if (a->nfree == 0)
        return NULL;
    fx_call_t *c = a->free[--a->nfree];
    memset(c, 0, a->call_size);
    c->owner = a;
    a->inflight++;
    return c;
}

void fx_async_done(void *arg, const bo_live_result_t *r)
{
    fx_call_t *c = arg;
    fx_async_t *a = c->owner;
    c->r = *r;
    if (a->hook)
        a->hook(c);
    pthread_mutex_lock(&a->mu);
    c->next = NULL;
    if (a->tail)
        a->tail->next = c;
    else
        a->head = c;
    a->tail = c;
    if (a->waiting)
        pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

fx_call_t *fx_async_take(fx_async_t *a, int wait)
{
    pthread_mutex_lock(&a->mu);
    while (!a->head && wait && a->inflight > 0) {
        a->waiting = 1;
        pthread_cond_wait(&a->cv, &a->mu);
        a->waiting = 0;
    }
    fx_call_t *c = a->head;
    if (c) {
        a->head = c->next;
        if (!a->head)
            a->tail = NULL;
        a->inflight--;
    }
    pthread_mutex_unlock(&a->mu);
    return c;
}

void fx_async_end(fx_async_t *a, fx_call_t *c)
{
    a->free[a->nfree++] = c;
}

void fx_async_drop(fx_async_t *a, fx_call_t *c)
{
    pthread_mutex_lock(&a->mu);
    a->inflight--;
    pthread_mutex_unlock(&a->mu);
    a->free[a->nfree++] = c;
}

uint32_t fx_async_inflight(const fx_async_t *a)
{
    return a->inflight;
}

/* ---- the database file, read directly ------------------------------------- */

static sqlite3 *db_open(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

int fx_db_log_each(const char *path, uint64_t event, int (*fn)(void *ctx, const fx_logrec_t *r),
                   void *ctx)
{
    sqlite3 *db = db_open(path);
    sqlite3_stmt *st = NULL;
    uint32_t *seats = malloc(BO_LAYOUT_MAX_SEATS * sizeof(uint32_t));
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    int rc = BO_EIO;
    if (!db || !seats ||
        sqlite3_prepare_v2(db, "SELECT seq, at_ms, body FROM log WHERE event = ?1 ORDER BY seq", -1,
                           &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)event);
    int step;
    rc = 0;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        bo_mut_t m;
        fx_logrec_t r = {.seq = (uint64_t)sqlite3_column_int64(st, 0),
                         .at_ms = sqlite3_column_int64(st, 1)};
        rc = bo_mut_decode(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), &m,
                           seats, BO_LAYOUT_MAX_SEATS, ga);
        if (rc)
            break;
        r.op = m.op;
        r.id = m.id;
        r.expires_at_ms = m.expires_at_ms;
        r.deadline_ms = m.deadline_ms;
        r.amount_cents = m.amount_cents;
        r.seats = m.seats;
        r.nseats = m.nseats;
        r.ga = m.ga;
        r.nga = m.nga;
        rc = fn(ctx, &r);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = BO_EIO;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(seats);
    return rc;
}

int64_t fx_db_snapshot_seq(const char *path, uint64_t event)
{
    sqlite3 *db = db_open(path);
    sqlite3_stmt *st = NULL;
    int64_t seq = -1;
    if (db && sqlite3_prepare_v2(db, "SELECT seq FROM snapshots WHERE event = ?1", -1, &st, NULL) ==
                  SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)event);
        int step = sqlite3_step(st);
        seq = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : step == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return seq;
}

static int sales_fail(char *why, size_t len, const char *fmt, long long a, long long b)
{
    snprintf(why, len, fmt, a, b);
    return -1;
}

/* The sold rows of event against s. */
static int check_sold_rows(sqlite3 *db, uint64_t event, const fx_state_t *s, char *why, size_t len)
{
    sqlite3_stmt *st = NULL;
    uint32_t rows = 0;
    int rc = 0, step;
    if (sqlite3_prepare_v2(db, "SELECT seat FROM sold WHERE event = ?1 ORDER BY seat", -1, &st,
                           NULL) != SQLITE_OK)
        return sales_fail(why, len, "prepare sold %lld %lld", 0, 0);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)event);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        long long seat = sqlite3_column_int64(st, 0);
        rows++;
        if (seat < 0 || seat >= s->nseats || s->states[seat] != BO_SEAT_SOLD)
            rc = sales_fail(why, len, "sold row for seat %lld, engine state %lld", seat,
                            seat >= 0 && seat < s->nseats ? s->states[seat] : -1);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sales_fail(why, len, "reading sold failed %lld %lld", step, 0);
    if (rc == 0 && rows != s->counts.sold)
        rc = sales_fail(why, len, "%lld sold rows, engine has %lld SOLD seats", rows,
                        s->counts.sold);
    sqlite3_finalize(st);
    return rc;
}

/* The first column of the first row of sql with ?1 = event. */
static long long db_int(sqlite3 *db, const char *sql, uint64_t event)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)event);
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

static int check_ga_rows(sqlite3 *db, uint64_t event, const fx_state_t *s, char *why, size_t len)
{
    sqlite3_stmt *st = NULL;
    uint32_t rows = 0;
    int rc = 0;
    if (sqlite3_prepare_v2(db, "SELECT area, capacity, sold FROM ga WHERE event = ?1 ORDER BY area",
                           -1, &st, NULL) != SQLITE_OK)
        return sales_fail(why, len, "prepare ga %lld %lld", 0, 0);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)event);
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        long long area = sqlite3_column_int64(st, 0), cap = sqlite3_column_int64(st, 1);
        long long sold = sqlite3_column_int64(st, 2);
        if (area != rows++ || area >= s->nga)
            rc = sales_fail(why, len, "unexpected ga row for area %lld (row %lld)", area, rows);
        else if (sold != s->ga_sold[area])
            rc = sales_fail(why, len, "ga.sold %lld, engine GA sold %lld", sold, s->ga_sold[area]);
        else if (sold > cap || sold + s->ga_avail[area] > cap)
            rc = sales_fail(why, len, "ga.sold %lld past capacity %lld", sold, cap);
    }
    if (rc == 0 && rows != s->nga)
        rc = sales_fail(why, len, "%lld ga rows for %lld areas", rows, s->nga);
    sqlite3_finalize(st);
    return rc;
}

int fx_db_check_sales(const char *path, uint64_t event, const fx_state_t *s, char *why,
                      size_t why_len)
{
    sqlite3 *db = db_open(path);
    if (!db)
        return sales_fail(why, why_len, "cannot open the database %lld %lld", 0, 0);
    int rc = check_sold_rows(db, event, s, why, why_len);
    long long dups = db_int(db,
                            "SELECT COUNT(*) FROM (SELECT event, seat FROM sold"
                            " GROUP BY event, seat HAVING COUNT(*) > 1) WHERE ?1 IS NOT NULL",
                            event);
    if (rc == 0 && dups != 0)
        rc = sales_fail(why, why_len, "%lld (event, seat) pairs sold twice %lld", dups, 0);
    if (rc == 0)
        rc = check_ga_rows(db, event, s, why, why_len);
    sqlite3_close(db);
    return rc;
}
