/*
 * test_live.c - the live layer (live.h) over a real SQLite store: answers
 * come after commits, everything survives a close and reopen, and a failed
 * commit leaves each event exactly as it was before the failed decisions.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "boxoffice/error.h"
#include "helpers/live_fixture.h"

#define EVT 7
#define VEN 3

static bo_manual_clock_t clk;
static char *url, *path;
static bo_live_t *live;

static void setup(void)
{
    bo_manual_clock_init(&clk, 1700000000000);
    url = fx_temp_db(&path);
    cr_assert_eq(bo_live_open(url, &clk.base, &live), 0);
    cr_assert_eq(fx_venue_event(live, VEN, EVT, 2, 4, 10, 1, 50, 60000, 0), 0);
}

static void teardown(void)
{
    bo_live_close(live);
    fx_remove_db(path);
    free(url);
    free(path);
}

static void reopen(void)
{
    bo_live_close(live);
    cr_assert_eq(bo_live_open(url, &clk.base, &live), 0);
}

TestSuite(live, .init = setup, .fini = teardown);

Test(live, hold_survives_reopen)
{
    uint32_t seats[] = {3, 4};
    bo_live_result_t r;
    cr_assert_eq(fx_hold_seats(live, EVT, fx_id(1), seats, 2, &r), 0);
    cr_assert_eq(r.res.nseats, 2);
    cr_assert_eq(r.res.amount_cents, 2 * 1000 * (1 + 0) + 0 * r.res.amount_cents, "amount %lld",
                 (long long)r.res.amount_cents);
    fx_state_t before, after;
    fx_capture(live, EVT, &before);
    reopen();
    fx_capture(live, EVT, &after);
    cr_assert(fx_state_eq(&before, &after));
    cr_assert_eq(after.states[3], BO_SEAT_HELD);
    cr_assert_eq(after.counts.held, 2);
    cr_assert_eq(fx_hold_seats(live, EVT, fx_id(2), seats, 1, &r), BO_EUNAVAILABLE);
    cr_assert_eq(r.res.nunavailable, 1);
    cr_assert_eq(r.res.unavailable[0], 3);
    fx_state_free(&before);
    fx_state_free(&after);
}

/* ---- faults: a failed commit leaves the engine as before -------------------- */

Test(live, failed_commit_changes_nothing)
{
    uint32_t a[] = {1, 2}, b[] = {5};
    cr_assert_eq(fx_hold_seats(live, EVT, fx_id(1), a, 2, NULL), 0);
    fx_state_t before, after;
    fx_capture(live, EVT, &before);
    bo_store_inject_failures(bo_live_store(live), 1);
    cr_assert_eq(fx_hold_seats(live, EVT, fx_id(2), b, 1, NULL), BO_EIO);
    cr_assert_eq(fx_release(live, EVT, fx_id(1)), 0); /* the store works again */
    cr_assert_eq(fx_hold_seats(live, EVT, fx_id(1), a, 2, NULL), 0);
    fx_capture(live, EVT, &after);
    cr_assert(fx_state_eq(&before, &after));
    cr_assert_eq(after.states[5], BO_SEAT_AVAILABLE);
    fx_state_free(&after);
    reopen();
    fx_capture(live, EVT, &after);
    cr_assert(fx_state_eq(&before, &after), "the failed hold must not come back");
    fx_state_free(&before);
    fx_state_free(&after);
}

/* A callback that parks the committer thread until released, so later
 * decisions queue up behind it and land in one batch. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int parked, open;
    int status;
};

static void gate_done(void *arg, const bo_live_result_t *r)
{
    struct gate *g = arg;
    pthread_mutex_lock(&g->mu);
    g->status = r->status;
    g->parked = 1;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_wait_parked(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->parked)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

Test(live, failed_batch_rolls_back_dependent_decisions)
{
    uint32_t h0[] = {10, 11}, other[] = {20}, gate_seat[] = {30};
    cr_assert_eq(fx_hold_seats(live, EVT, fx_id(1), h0, 2, NULL), 0);
    fx_state_t before, after;
    fx_capture(live, EVT, &before);

    struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};
    bo_hold_req_t req = {.id = fx_id(9),
                         .seats = gate_seat,
                         .nseats = 1,
                         .best_category = BO_NONE,
                         .best_section = BO_NONE};
    fx_live_hold(live, EVT, &req, gate_done, &g);
    gate_wait_parked(&g); /* the committer is parked: what follows queues */
    cr_assert_eq(g.status, 0);
    fx_state_free(&before);
    fx_capture(live, EVT, &before); /* includes the gate hold, committed */

    bo_live_wait_t *w1 = bo_live_wait_new(), *w2 = bo_live_wait_new(), *w3 = bo_live_wait_new();
    bo_hold_req_t r1 = {.id = fx_id(2),
                        .seats = other,
                        .nseats = 1,
                        .best_category = BO_NONE,
                        .best_section = BO_NONE};
    bo_hold_id_t id0 = fx_id(1);
    bo_hold_req_t r3 = {.id = fx_id(3),
                        .seats = h0,
                        .nseats = 2,
                        .best_category = BO_NONE,
                        .best_section = BO_NONE};
    cr_assert_eq(fx_live_hold(live, EVT, &r1, bo_live_wait_done, w1), 0);
    cr_assert_eq(fx_live_release(live, EVT, &id0, bo_live_wait_done, w2), 0);
    cr_assert_eq(fx_live_hold(live, EVT, &r3, bo_live_wait_done, w3), 0); /* needs the release */
    bo_store_inject_failures(bo_live_store(live), 1);
    gate_open(&g);
    cr_assert_eq(bo_live_wait(w1, NULL), BO_EIO);
    cr_assert_eq(bo_live_wait(w2, NULL), BO_EIO);
    cr_assert_eq(bo_live_wait(w3, NULL), BO_EIO);
    bo_live_wait_free(w1);
    bo_live_wait_free(w2);
    bo_live_wait_free(w3);

    fx_capture(live, EVT, &after);
    cr_assert(fx_state_eq(&before, &after));
    cr_assert_eq(after.states[10], BO_SEAT_HELD, "hold 1 is back: its release failed");
    cr_assert_eq(after.states[20], BO_SEAT_AVAILABLE);
    fx_state_free(&after);
    /* The event goes on: sequences stay gapless through the reopen. */
    cr_assert_eq(fx_hold_seats(live, EVT, fx_id(4), other, 1, NULL), 0);
    fx_state_free(&before);
    fx_capture(live, EVT, &before);
    reopen();
    fx_capture(live, EVT, &after);
    cr_assert(fx_state_eq(&before, &after));
    fx_state_free(&before);
    fx_state_free(&after);
}

/* Many threads, asynchronous decisions, commits failing at random: what the
 * engine holds afterwards is exactly what the store has (a reopen rebuilds
 * the same state), and every acknowledged hold is in it. */
struct storm {
    bo_live_t *live;
    unsigned seed;
    int thread;
    int acked[400];    /* status of hold i */
    int released[400]; /* status of the release after hold i */
    uint32_t seat_of[400];
};

/* Each call's status lands in its slot; PENDING until answered. */
#define PENDING 1

static void storm_done(void *arg, const bo_live_result_t *r)
{
    int *status = arg;
    __atomic_store_n(status, r->status, __ATOMIC_RELEASE);
}

static void *storm_thread(void *arg)
{
    struct storm *s = arg;
    for (int i = 0; i < 400; i++)
        s->acked[i] = PENDING;
    for (int i = 0; i < 400; i++) {
        uint32_t seat = (uint32_t)rand_r(&s->seed) % 80;
        s->seat_of[i] = seat;
        bo_hold_req_t req = {.id = fx_id((uint64_t)s->thread << 32 | (uint64_t)i),
                             .seats = &seat,
                             .nseats = 1,
                             .best_category = BO_NONE,
                             .best_section = BO_NONE};
        /* At most 8 calls of this thread in flight: the storm follows the
         * commits, so failures hit a few decisions at a time. */
        while (i >= 8 && __atomic_load_n(&s->acked[i - 8], __ATOMIC_ACQUIRE) == PENDING)
            sched_yield();
        if (i % 50 == 25)
            bo_store_inject_failures(bo_live_store(s->live), 1);
        fx_live_hold(s->live, EVT, &req, storm_done, &s->acked[i]);
        if (i % 3 == 0 && i > 0 && __atomic_load_n(&s->acked[i - 1], __ATOMIC_ACQUIRE) == 0) {
            bo_hold_id_t id = fx_id((uint64_t)s->thread << 32 | (uint64_t)(i - 1));
            fx_live_release(s->live, EVT, &id, storm_done, &s->released[i]);
        }
    }
    return NULL;
}

Test(live, random_commit_failures_match_the_store)
{
    enum { THREADS = 4 };
    struct storm s[THREADS];
    /* Failing commits take 3 ms, so decisions queue behind them and must be
     * taken back (CANCELED) when the event rolls back. */
    bo_store_inject_delay(bo_live_store(live), 3);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        memset(&s[i], 0, sizeof(s[i]));
        s[i] = (struct storm){.live = live, .seed = 1234u + (unsigned)i, .thread = i};
        pthread_create(&t[i], NULL, storm_thread, &s[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    bo_store_flush(bo_live_store(live));
    bo_store_stats_t st;
    bo_store_get_stats(bo_live_store(live), &st);
    cr_assert_gt(st.commit_failures, 0, "the storm must hit failures");
    int canceled = 0, failed = 0, ok = 0;
    for (int i = 0; i < THREADS; i++)
        for (int k = 0; k < 400; k++) {
            cr_assert_neq(s[i].acked[k], PENDING, "every call is answered");
            canceled += s[i].acked[k] == BO_ECANCELED;
            failed += s[i].acked[k] == BO_EIO;
            ok += s[i].acked[k] == 0;
        }
    cr_assert_gt(canceled, 0, "decisions queued behind a failed commit are taken back");
    cr_assert_gt(failed, 0);
    cr_assert_gt(ok, 0);

    fx_state_t before, after;
    fx_capture(live, EVT, &before);
    reopen();
    fx_capture(live, EVT, &after);
    cr_assert(fx_state_eq(&before, &after), "engine and store disagree after failed commits");
    cr_assert_eq(after.counts.held + after.counts.sold + after.counts.available +
                     after.counts.blocked,
                 after.counts.total);
    fx_state_free(&before);
    fx_state_free(&after);
}

/* ---- idempotent answers, event changes -------------------------------------- */

static const uint8_t HASH_A[32] = {1, 2, 3}, HASH_B[32] = {9, 9, 9};

struct idem_ctx {
    bo_live_wait_t *w;
    char body[64];
    uint8_t hash[32];
};

static void idem_done(void *arg, const bo_live_result_t *r)
{
    bo_live_wait_done(((struct idem_ctx *)arg)->w, r);
}

static void attach_answer(void *arg, const bo_live_result_t *r, bo_rec_t *rec)
{
    struct idem_ctx *c = arg;
    snprintf(c->body, sizeof(c->body), "{\"seats\":%u}", r->res.nseats);
    rec->idem_key = "key-1";
    rec->idem_hash = c->hash;
    rec->idem_status = 201;
    rec->idem_body = c->body;
    rec->idem_body_len = strlen(c->body);
}

Test(live, idempotent_answer_rides_with_its_decision)
{
    bo_idem_answer_t ans;
    cr_assert_eq(bo_live_idem_begin(live, "key-1", HASH_A, NULL, &ans, NULL), 0);
    cr_assert_eq(bo_live_idem_begin(live, "key-1", HASH_A, NULL, &ans, NULL), BO_EIDEMBUSY);
    cr_assert_eq(bo_live_idem_begin(live, "key-1", HASH_B, NULL, &ans, NULL), BO_EIDEMMISMATCH);
    struct idem_ctx c = {.w = bo_live_wait_new()};
    memcpy(c.hash, HASH_A, 32);
    uint32_t seats[] = {12, 13};
    bo_hold_req_t req = {.id = fx_id(77),
                         .seats = seats,
                         .nseats = 2,
                         .best_category = BO_NONE,
                         .best_section = BO_NONE};
    bo_live_call_t call = {idem_done, &c, attach_answer};
    bo_live_apply(live, EVT, &(bo_mut_t){.op = BO_MUT_HOLD, .req = &req}, &call, NULL);
    cr_assert_eq(bo_live_wait(c.w, NULL), 0);
    bo_live_wait_free(c.w);
    bo_live_idem_end(live, "key-1", 201, c.body, strlen(c.body));
    cr_assert_eq(bo_live_idem_begin(live, "key-1", HASH_A, NULL, &ans, NULL), 1);
    cr_assert_str_eq(ans.body, "{\"seats\":2}");
    free(ans.body);
    reopen();
    cr_assert_eq(bo_live_idem_begin(live, "key-1", HASH_A, NULL, &ans, NULL), 1, "durable");
    cr_assert_eq(ans.status, 201);
    cr_assert_str_eq(ans.body, "{\"seats\":2}");
    free(ans.body);
    cr_assert_eq(bo_live_idem_begin(live, "key-1", HASH_B, NULL, &ans, NULL), BO_EIDEMMISMATCH);
}

Test(live, refusals_are_kept_in_memory_only_and_aborts_free_the_key)
{
    bo_idem_answer_t ans;
    cr_assert_eq(bo_live_idem_begin(live, "k-refused", HASH_A, NULL, &ans, NULL), 0);
    bo_live_wait_t *w = bo_live_wait_new();
    bo_live_idem_put(live, "k-refused", HASH_A, 409, "{\"error\":1}", 11, bo_live_wait_done, w);
    cr_assert_eq(bo_live_wait(w, NULL), 0);
    bo_live_wait_free(w);
    cr_assert_eq(bo_live_idem_begin(live, "k-abort", HASH_A, NULL, &ans, NULL), 0);
    bo_live_idem_end(live, "k-abort", 0, NULL, 0);
    cr_assert_eq(bo_live_idem_begin(live, "k-abort", HASH_B, NULL, &ans, NULL), 0,
                 "an abort frees the key");
    cr_assert_eq(bo_live_idem_begin(live, "k-refused", HASH_A, NULL, &ans, NULL), 1);
    cr_assert_eq(ans.status, 409);
    cr_assert_str_eq(ans.body, "{\"error\":1}");
    free(ans.body);
    reopen();
    cr_assert_eq(bo_live_idem_begin(live, "k-refused", HASH_A, NULL, &ans, NULL), 0,
                 "a refusal is not on disk: decided again after a restart");
    cr_assert_eq(bo_live_idem_begin(live, "k-abort", HASH_A, NULL, &ans, NULL), 0, "never stored");
}

/* Stored answers on disk. */
static int idem_rows(void)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int n = -1;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM idem", -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void put_answer(const char *key)
{
    bo_idem_answer_t ans;
    cr_assert_eq(bo_live_idem_begin(live, key, HASH_A, "10.0.0.1", &ans, NULL), 0);
    bo_live_wait_t *w = bo_live_wait_new();
    bo_live_idem_put(live, key, HASH_A, 201, "{}", 2, bo_live_wait_done, w);
    cr_assert_eq(bo_live_wait(w, NULL), 0);
    bo_live_wait_free(w);
}

Test(live, stored_answers_expire_on_disk_while_running)
{
    char key[16];
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof(key), "old-%d", i);
        put_answer(key);
    }
    cr_assert_eq(idem_rows(), 6);
    bo_manual_clock_advance(&clk, BO_IDEM_TTL_MS);
    put_answer("new-0");
    cr_assert_eq(idem_rows(), 3, "each stored answer deletes up to 4 expired ones");
    put_answer("new-1");
    cr_assert_eq(idem_rows(), 2);
    bo_idem_answer_t ans;
    cr_assert_eq(bo_live_idem_begin(live, "old-0", HASH_B, NULL, &ans, NULL), 0,
                 "expired in memory too: the key is free");
    reopen();
    cr_assert_eq(bo_live_idem_begin(live, "new-1", HASH_A, NULL, &ans, NULL), 1);
    free(ans.body);
}

static int read_ttl(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    *(int64_t *)arg = bo_inv_config(inv)->hold_ttl_ms;
    return 0;
}

Test(live, event_updates_are_durable)
{
    bo_inv_config_t cfg = {.hold_ttl_ms = 5000};
    bo_live_wait_t *w = bo_live_wait_new();
    fx_live_update_event(live, EVT, "{\"name\":\"renamed\"}", &cfg, bo_live_wait_done, w);
    cr_assert_eq(bo_live_wait(w, NULL), 0);
    fx_live_update_event(live, 999, "{}", &cfg, bo_live_wait_done, w);
    cr_assert_eq(bo_live_wait(w, NULL), BO_ENOTFOUND);
    cfg.hold_ttl_ms = -1;
    fx_live_update_event(live, EVT, "{}", &cfg, bo_live_wait_done, w);
    cr_assert_eq(bo_live_wait(w, NULL), BO_EINVAL);
    bo_live_wait_free(w);
    reopen();
    uint64_t venue;
    char *meta = bo_live_event_meta(live, EVT, &venue);
    cr_assert_str_eq(meta, "{\"name\":\"renamed\"}");
    cr_assert_eq(venue, VEN);
    free(meta);
    int64_t ttl = 0;
    bo_live_read(live, EVT, read_ttl, &ttl);
    cr_assert_eq(ttl, 5000);
}

Test(live, venue_meta_is_durable)
{
    bo_venue_gen_t g = {.sections = 1, .rows = 2, .seats = 3, .categories = 1};
    size_t len;
    char *json = bo_venue_generate(&g, &len);
    bo_live_wait_t *w = bo_live_wait_new();
    bo_live_add_venue_meta(live, 42, json, len, "{\"city\":\"Lyon\"}", NULL, bo_live_wait_done, w);
    cr_assert_eq(bo_live_wait(w, NULL), 0);
    bo_live_wait_free(w);
    free(json);
    reopen();
    char *meta = bo_live_venue_meta(live, 42);
    cr_assert_str_eq(meta, "{\"city\":\"Lyon\"}");
    free(meta);
    meta = bo_live_venue_meta(live, VEN);
    cr_assert_str_eq(meta, "{}");
    free(meta);
    cr_assert_eq(bo_live_venue(live, 42)->nseats, 6);
    cr_assert_null(bo_live_venue_meta(live, 43));
}
